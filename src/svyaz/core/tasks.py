"""Celery jobs of core: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from svyaz.core import recycle


@shared_task(name="svyaz.core.tasks.recycle_bin_purge")
def recycle_bin_purge() -> int:
    """Daily (beat, or the embedded scheduler): remove records deleted over 30 days ago.
    Idempotent: a second run finds nothing left to remove."""
    return recycle.recycle_bin_purge()
