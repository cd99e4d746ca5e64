"""The job outbox: on-demand jobs survive a job queue (Redis) that is down.

Periodic jobs need nothing of this: beat fires them again after an outage and they are
idempotent. A job started by a user or a visitor (an import run, a web-form submission, a
call event) is different: `task.delay()` while Redis is down raises, and the job would be
gone. So call sites use

    from svyaz.core.outbox import enqueue
    enqueue(tasks.import_run, job.pk)

which writes an `OutboxMessage` row in the caller's transaction and, once that transaction
commits, publishes it to the broker and deletes the row. If the broker cannot be reached
the row stays; the periodic job `svyaz.core.outbox.flush` (beat, every
SVYAZ_OUTBOX_INTERVAL seconds) publishes what is left as soon as Redis is back. A web
process that dies between the commit and the publish loses nothing either: the row is
already committed. Publishing can happen twice in rare races (a flush and the on-commit
publish of the same row are kept apart by a row lock, but a publish whose answer was lost
is retried); the jobs are idempotent, as every Svyaz job must be.

Embedded mode (no broker): `enqueue` runs the task in-process at once, exactly like
`task.delay()` does there, and writes no row.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)
FLUSH_BATCH = 100


class OutboxMessage(models.Model):
    """A job waiting to be handed to the broker (it was down, or the commit is recent)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_try_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "core"
        ordering = ["pk"]
        verbose_name = _("queued job")
        verbose_name_plural = _("queued jobs")

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)!r}"


def enqueue(task, *args, **kwargs):
    """Run `task(*args, **kwargs)` on a worker after the current transaction commits,
    even if the broker is down right now. Arguments must be JSON-serialisable."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return task.delay(*args, **kwargs)
    message = OutboxMessage.objects.create(task=task.name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: send(message.pk), robust=True)
    return message


def _publish(message: OutboxMessage) -> None:
    from svyaz.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:  # rows left from a time with a broker
        app.tasks[message.task].apply(args=message.args, kwargs=message.kwargs, throw=True)
        return
    app.send_task(message.task, args=message.args, kwargs=message.kwargs)


def _note_failure(pk: int, exc: Exception) -> None:
    OutboxMessage.objects.filter(pk=pk).update(
        attempts=F("attempts") + 1, last_error=str(exc)[:1000], last_try_at=timezone.now()
    )


def send(pk: int) -> bool:
    """Publish one message and delete its row; False (row kept) when the broker failed."""
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            )
            if message is None:  # a flush has it (or sent it already)
                return True
            _publish(message)
            message.delete()
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure: the row waits for a flush
        log.warning("job %s kept in the outbox, the queue is unavailable: %s", pk, exc)
        _note_failure(pk, exc)
        return False


def flush(limit: int = 1000) -> int:
    """Publish waiting messages, oldest first; stop at the first broker failure.
    Returns how many were published."""
    sent = 0
    while sent < limit:
        with transaction.atomic():
            batch = list(
                OutboxMessage.objects.select_for_update(skip_locked=True).order_by("pk")[
                    : min(FLUSH_BATCH, limit - sent)
                ]
            )
            if not batch:
                break
            for message in batch:
                try:
                    _publish(message)
                except Exception as exc:  # noqa: BLE001 - the broker is still down
                    log.warning("outbox: the queue is unavailable, %s wait: %s", message.pk, exc)
                    _note_failure(message.pk, exc)
                    return sent
                message.delete()
                sent += 1
    if sent:
        log.info("outbox: %s queued jobs published", sent)
    return sent


@shared_task(name="svyaz.core.outbox.flush")
def flush_task() -> int:
    """Periodically (beat): hand the jobs stored while the queue was down to the workers."""
    return flush()
