"""Late acknowledgement and idempotency with a real Celery worker on the local Redis.

Needs PostgreSQL (the worker is another process and must see the test database) and Redis
on 127.0.0.1; skipped otherwise. CI runs the suite on PostgreSQL with Redis up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from svyaz.core.jobs import run_once
from svyaz.core.models import JobRun, TimelineEntry

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_worker(queue: str, log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}",
        "SVYAZ_EMBEDDED_SCHEDULER": "0",
    }
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "svyaz",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "-Q",
        queue,
        "-I",
        "tests.worker.jobs",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "info",
    ]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def _count(title: str) -> int:
    return TimelineEntry.objects.filter(title=title).count()


needs_real_services = pytest.mark.skipif(
    "postgres" not in os.environ.get("DATABASE_URL", "") or not _redis_up(),
    reason="needs PostgreSQL (DATABASE_URL) and Redis on 127.0.0.1",
)


@needs_real_services
@pytest.mark.django_db(transaction=True)
def test_it_loses_nothing_and_doubles_nothing_when_a_worker_is_killed_mid_job(tmp_path):
    from celery import Celery

    queue = f"svyaz-test-{uuid.uuid4().hex[:8]}"
    sender = Celery(broker=BROKER, set_as_current=False)
    log = tmp_path / "worker.log"
    keys = [f"job-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)]
    worker = _start_worker(queue, log)
    try:
        for key in keys:
            sender.send_task("tests.worker.slow_mark", args=[key, 3.0], queue=queue)
        # Kill -9 while the first job sleeps inside its transaction.
        assert _wait(
            lambda: b"Task tests.worker.slow_mark" in log.read_bytes()
            and b"received" in log.read_bytes(),
            30,
        ), log.read_text()
        time.sleep(1.0)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert sum(_count(k) for k in keys) == 0  # the killed job left nothing behind
        time.sleep(5)  # past the visibility timeout: the restarted worker re-queues it at once
        worker = _start_worker(queue, log)
        # Redelivered after the visibility timeout; every job done exactly once.
        assert _wait(lambda: all(_count(k) == 1 for k in keys), 60), log.read_text()[-3000:]
        time.sleep(2)
        assert [_count(k) for k in keys] == [1, 1, 1]
        assert JobRun.objects.filter(key__in=[f"test:{k}" for k in keys]).count() == 3
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        import redis

        redis.Redis.from_url(BROKER).flushdb()


@pytest.mark.django_db
def test_run_once_skips_a_job_that_already_finished():
    calls = []
    assert run_once("k1", "t", lambda: calls.append(1) or "done") == "done"
    assert run_once("k1", "t", lambda: calls.append(2) or "done") is None
    assert calls == [1]


@pytest.mark.django_db
def test_run_once_leaves_nothing_when_the_effect_fails():
    def boom():
        TimelineEntry.objects.create(kind="change", title="half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run_once("k2", "t", boom)
    assert not JobRun.objects.filter(key="k2").exists()
    assert _count("half") == 0
    assert run_once("k2", "t", lambda: "second try") == "second try"
