"""Celery app. With no broker configured, tasks run eagerly in-process (embedded mode)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
app = Celery("svyaz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
