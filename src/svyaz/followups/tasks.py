"""Celery jobs of follow-ups: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from svyaz.followups import services


@shared_task(name="svyaz.followups.tasks.reminders_send_due")
def reminders_send_due() -> int:
    """Every minute (beat, or the embedded scheduler): send reminders that are due."""
    return services.reminders_send_due()
