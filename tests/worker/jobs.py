"""A job used only by the worker tests: slow, with a countable effect in the database.

Loaded into a real Celery worker with `-I tests.worker.jobs`.
"""

from __future__ import annotations

import time

from celery import shared_task

from svyaz.core.jobs import run_once


@shared_task(name="tests.worker.slow_mark")
def slow_mark(key: str, seconds: float) -> str:
    from svyaz.core.models import TimelineEntry, TimelineKind

    def effect() -> str:
        # Sleep inside the transaction: a kill during the sleep must leave nothing behind.
        time.sleep(seconds)
        TimelineEntry.objects.create(kind=TimelineKind.CHANGE, title=key)
        return key

    return run_once(f"test:{key}", "slow_mark", effect) or "skipped"
