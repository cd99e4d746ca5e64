"""Celery jobs of intake: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from svyaz.intake import webforms
from svyaz.intake.telephony import services as telephony


@shared_task(name="svyaz.intake.tasks.submission_process")
def submission_process(submission_id: int) -> int | None:
    """Turn one stored web-form submission into a lead (idempotent)."""
    lead = webforms.submission_process(submission_id)
    return lead.pk if lead is not None else None


@shared_task(name="svyaz.intake.tasks.submissions_retry")
def submissions_retry() -> int:
    """Periodically: process submissions left "received" (the queue was down, a failure)."""
    return webforms.submissions_retry()


@shared_task(name="svyaz.intake.tasks.call_event_process")
def call_event_process(event_id: int) -> None:
    """Put one stored call event on the timeline / into a lead (idempotent)."""
    telephony.call_event_process(event_id)


@shared_task(name="svyaz.intake.tasks.call_events_retry")
def call_events_retry() -> int:
    """Periodically: process call events left without effect."""
    return telephony.call_events_retry()


# The chat's jobs live in their package; importing them here registers them with Celery.
from svyaz.intake.chat import tasks as chat_tasks  # noqa: E402, F401


@shared_task(name="svyaz.intake.tasks.mail_poll")
def mail_poll() -> dict[int, int]:
    """Periodically: import new mail of every active mailbox (each message exactly once)."""
    from svyaz.intake.mail.imap import mail_poll_all

    return {pk: result.imported for pk, result in mail_poll_all().items()}
