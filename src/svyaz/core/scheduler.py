"""Periodic jobs in the embedded mode (no Celery broker, no beat process).

A daemon thread runs each CELERY_BEAT_SCHEDULE entry's task in-process at its interval.
Only the `svyaz embedded` server starts it (SVYAZ_EMBEDDED_SCHEDULER and the
SVYAZ_SCHEDULER_RUN flag set by that command), so tests and management commands stay quiet.
The jobs are idempotent, so a second process doing the same would only repeat no-ops.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings

log = logging.getLogger(__name__)
_started = threading.Event()


def run_due_jobs(last_run: dict[str, float], now: float) -> list[str]:
    """Run every scheduled task whose interval has passed; return the names that succeeded.

    A failing job is logged and waits for its next interval; the others still run.
    """
    from svyaz.celery import app

    ran = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        interval = float(entry["schedule"])
        if now - last_run.get(name, 0.0) < interval:
            continue
        last_run[name] = now
        task = app.tasks.get(entry["task"])
        if task is None:
            log.error("periodic job %s failed: task %s is not registered", name, entry["task"])
            continue
        # throw=False: the outcome is read from the result, whatever task_eager_propagates says.
        result = task.apply(throw=False)
        if result.failed():
            log.error("periodic job %s failed: %r", name, result.result)
            continue
        ran.append(name)
    return ran


def _loop() -> None:
    last_run: dict[str, float] = {}
    while True:
        run_due_jobs(last_run, time.monotonic())
        time.sleep(5)


def start_if_embedded() -> None:
    if not settings.SVYAZ_EMBEDDED_SCHEDULER or os.environ.get("SVYAZ_SCHEDULER_RUN") != "1":
        return
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_loop, name="svyaz-scheduler", daemon=True).start()
    log.info("embedded scheduler started")
