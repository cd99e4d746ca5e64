"""Idempotent background jobs.

Celery is configured for late acknowledgement (settings: CELERY_TASK_ACKS_LATE,
CELERY_TASK_REJECT_ON_WORKER_LOST): a message is acknowledged only after the job returns,
so a worker killed mid-job has its message delivered again. Redelivery must then not double
the effect; `run_once` makes that so for jobs whose effect is in the database:

    @shared_task(name="svyaz.imports.tasks.import_chunk")
    def import_chunk(import_id, chunk):
        return run_once(f"import:{import_id}:{chunk}", "import_chunk", lambda: _do_chunk(...))

The effect and the ledger row commit together; if the ledger row exists the job is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction

from svyaz.core.models import JobRun

T = TypeVar("T")


def run_once(key: str, task: str, effect: Callable[[], T]) -> T | None:
    """Run `effect` at most once for `key`; returns None when it had already run."""
    if JobRun.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():
            # Claim first: a concurrent duplicate blocks on the unique key until we commit,
            # then fails with IntegrityError and is treated as "already done".
            JobRun.objects.create(key=key, task=task)
            return effect()
    except IntegrityError:
        if JobRun.objects.filter(key=key).exists():
            return None
        raise
