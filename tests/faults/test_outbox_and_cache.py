"""The pieces that keep Svyaz working while Redis is down, without real processes (both
databases): the job outbox (svyaz.core.outbox) and the tolerant cache (svyaz.core.cache)."""

from __future__ import annotations

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from svyaz.core import outbox
from svyaz.core.cache import TolerantRedisCache
from svyaz.core.models import TimelineEntry
from svyaz.core.outbox import OutboxMessage
from svyaz.core.tasks import recycle_bin_purge

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def broker(settings, monkeypatch):
    """A broker configured (not eager) whose publishing we control."""
    from svyaz.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple] = []
    state = {"down": False}

    def send_task(name, args=None, kwargs=None, **options):
        if state["down"]:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append((name, list(args or []), dict(kwargs or {})))

    monkeypatch.setattr(app, "send_task", send_task)
    return {"sent": sent, "state": state}


@pytest.mark.django_db
def test_it_publishes_after_commit_and_keeps_no_row(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outbox.enqueue(recycle_bin_purge, 7, dry=True)
        assert broker["sent"] == []  # not before the commit
        assert OutboxMessage.objects.count() == 1  # written with the caller's data
    assert len(callbacks) == 1
    assert broker["sent"] == [("svyaz.core.tasks.recycle_bin_purge", [7], {"dry": True})]
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_nothing_is_published_when_the_transaction_rolls_back(
    broker, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue(recycle_bin_purge)
        raise RuntimeError("the service failed")
    assert callbacks == []
    assert broker["sent"] == [] and not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_a_job_enqueued_while_the_queue_is_down_waits_and_is_sent_once_when_it_is_back(
    broker, django_capture_on_commit_callbacks
):
    broker["state"]["down"] = True
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(recycle_bin_purge, 1)
        outbox.enqueue(recycle_bin_purge, 2)
    assert broker["sent"] == []
    kept = list(OutboxMessage.objects.all())
    assert [m.args for m in kept] == [[1], [2]]
    assert kept[0].attempts == 1 and "Connection refused" in kept[0].last_error
    assert outbox.flush() == 0  # still down: stops at the first failure, keeps all
    assert OutboxMessage.objects.count() == 2

    broker["state"]["down"] = False
    assert outbox.flush() == 2
    assert [args for _, args, _ in broker["sent"]] == [[1], [2]]  # oldest first
    assert outbox.flush() == 0 and not OutboxMessage.objects.exists()
    assert len(broker["sent"]) == 2  # once each


@pytest.mark.django_db
def test_embedded_mode_runs_the_job_in_process_and_writes_no_row(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    result = outbox.enqueue(recycle_bin_purge)
    assert result.successful() and result.get() == 0
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_rows_left_from_a_broker_run_in_process_when_flushed_in_embedded_mode(settings):
    from celery import shared_task

    @shared_task(name="tests.faults.mark")
    def mark(title):
        TimelineEntry.objects.create(kind="change", title=title)

    settings.CELERY_TASK_ALWAYS_EAGER = True
    OutboxMessage.objects.create(task="tests.faults.mark", args=["left over"])
    assert outbox.flush() == 1
    assert TimelineEntry.objects.filter(title="left over").count() == 1
    assert not OutboxMessage.objects.exists()


def test_the_flush_job_is_on_the_beat_schedule(settings):
    from svyaz.celery import app

    names = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "svyaz.core.outbox.flush" in names
    assert "svyaz.core.outbox.flush" in app.tasks


def test_the_cache_acts_empty_while_redis_is_down():
    from django.core.cache.backends.redis import RedisCache
    from redis.exceptions import ConnectionError as RedisConnectionError

    options = {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    plain = RedisCache(CLOSED_PORT_URL, options)
    with pytest.raises(RedisConnectionError):  # why the tolerant one exists
        plain.get("k")

    cache = TolerantRedisCache(CLOSED_PORT_URL, options)
    assert cache.get("k") is None and cache.get("k", "dflt") == "dflt"
    assert cache.add("k", 1) is False
    assert cache.set("k", 1) is None
    assert cache.incr("k") == 1 and cache.incr("k", 5) == 5 and cache.decr("k") == -1
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.delete("k") is False and cache.delete_many(["a"]) is None
    assert cache.has_key("k") is False and cache.touch("k") is False
    assert cache.get_or_set("k", 3) == 3
    assert cache.clear() is False


def test_the_production_settings_use_the_tolerant_cache_with_short_timeouts(monkeypatch):
    import importlib

    import svyaz.settings as live

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    fresh = importlib.reload(live)
    try:
        cache = fresh.CACHES["default"]
        assert cache["BACKEND"] == "svyaz.core.cache.TolerantRedisCache"
        assert cache["OPTIONS"]["socket_connect_timeout"] <= 2
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(live)


@pytest.mark.django_db
def test_an_import_started_while_the_queue_is_down_waits_in_the_outbox(
    broker, admin, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from svyaz.dataquality import services
    from svyaz.dataquality.models import ImportStatus

    settings.MEDIA_ROOT = tmp_path / "media"
    content = "Имя;E-mail\r\nOlga;olga@example.com\r\n".encode()
    job = services.import_upload(
        actor=admin, entity="contact", upload=SimpleUploadedFile("people.csv", content)
    )
    services.import_set_mapping(
        actor=admin, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    broker["state"]["down"] = True
    with django_capture_on_commit_callbacks(execute=True):
        services.import_start(actor=admin, job=job)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING  # started for the user …
    assert OutboxMessage.objects.get().task == "svyaz.dataquality.tasks.import_run"  # … waits

    broker["state"]["down"] = False
    assert outbox.flush() == 1
    assert broker["sent"] == [("svyaz.dataquality.tasks.import_run", [job.pk], {})]
