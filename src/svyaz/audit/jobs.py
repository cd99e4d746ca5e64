"""Every Celery task runs with the audit source "job": in a worker, eagerly in-process
(no broker) and from the embedded scheduler (which calls `task.apply()`)."""

from __future__ import annotations

from celery.signals import task_postrun, task_prerun

from svyaz.audit.context import pop, push

_ATTR = "_svyaz_audit_context"


def _started(sender=None, task_id=None, task=None, **kwargs) -> None:
    if task is None:
        return
    # The task's request context lives from before prerun to after postrun, in this thread.
    setattr(task.request, _ATTR, push("job", request_id=str(task_id or "")[:64]))


def _finished(sender=None, task_id=None, task=None, **kwargs) -> None:
    if task is None:
        return
    entered = getattr(task.request, _ATTR, None)
    if entered is not None:
        setattr(task.request, _ATTR, None)
        pop(*entered)


def connect() -> None:
    task_prerun.connect(_started, weak=False, dispatch_uid="svyaz.audit.job_started")
    task_postrun.connect(_finished, weak=False, dispatch_uid="svyaz.audit.job_finished")
