"""Celery app. With no broker configured, tasks run eagerly in-process (embedded mode)."""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
app = Celery("svyaz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
log = logging.getLogger(__name__)


@worker_ready.connect
def restore_unacknowledged(sender=None, **kwargs):
    """Re-queue the messages of a worker that died mid-job, as soon as a worker starts.

    With Redis, kombu re-queues unacknowledged messages older than the visibility timeout
    only every ~100 s; a restarted worker should not wait for that. Messages younger than
    the timeout are left alone: their job may still be running elsewhere.
    """
    try:
        with sender.app.connection_for_write() as conn:
            qos = conn.default_channel.qos
            log.info(
                "restoring unacknowledged messages older than %ss",
                getattr(qos, "visibility_timeout", None),
            )
            if hasattr(qos, "restore_visible"):
                qos.restore_visible(num=1000)
    except Exception:  # never keep a worker from starting
        log.exception("could not restore unacknowledged messages")
