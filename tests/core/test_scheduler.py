"""The embedded scheduler runs each periodic job at its interval, in-process."""

from __future__ import annotations

import pytest
from celery import current_app

from svyaz.core import scheduler

ran: list[str] = []


@current_app.task(name="tests.core.tick")
def tick():
    ran.append("tick")


@current_app.task(name="tests.core.broken")
def broken():
    raise RuntimeError("boom")


@pytest.fixture
def fake_schedule(settings):
    ran.clear()
    settings.CELERY_BEAT_SCHEDULE = {
        "tick": {"task": "tests.core.tick", "schedule": 60.0},
        "broken": {"task": "tests.core.broken", "schedule": 10.0},
    }


def test_it_runs_every_job_on_the_first_pass(fake_schedule):
    last_run: dict[str, float] = {}
    assert scheduler.run_due_jobs(last_run, now=1000.0) == ["tick"]
    assert ran == ["tick"]
    assert last_run == {"tick": 1000.0, "broken": 1000.0}


def test_it_waits_for_the_interval_before_running_again(fake_schedule):
    last_run: dict[str, float] = {}
    scheduler.run_due_jobs(last_run, now=1000.0)
    assert scheduler.run_due_jobs(last_run, now=1059.0) == []
    assert scheduler.run_due_jobs(last_run, now=1060.0) == ["tick"]
    assert ran == ["tick", "tick"]


def test_it_logs_a_failing_job_and_keeps_the_others_running(fake_schedule, caplog):
    last_run: dict[str, float] = {}
    assert scheduler.run_due_jobs(last_run, now=1000.0) == ["tick"]
    assert "periodic job broken failed" in caplog.text
    # The failed job is retried at its own interval, not on every pass.
    assert scheduler.run_due_jobs(last_run, now=1005.0) == []


class FakeThread:
    started: list[str] = []

    def __init__(self, *, target, name, daemon):
        self.name = name

    def start(self):
        FakeThread.started.append(self.name)


@pytest.fixture
def fake_thread(monkeypatch):
    import threading

    FakeThread.started = []
    monkeypatch.setattr(scheduler.threading, "Thread", FakeThread)
    monkeypatch.setattr(scheduler, "_started", threading.Event())
    return FakeThread


def test_it_starts_only_in_the_embedded_server(monkeypatch, settings, fake_thread):
    settings.SVYAZ_EMBEDDED_SCHEDULER = True
    monkeypatch.delenv("SVYAZ_SCHEDULER_RUN", raising=False)
    scheduler.start_if_embedded()
    assert fake_thread.started == []

    monkeypatch.setenv("SVYAZ_SCHEDULER_RUN", "1")
    scheduler.start_if_embedded()
    scheduler.start_if_embedded()
    assert fake_thread.started == ["svyaz-scheduler"]


def test_it_stays_off_when_a_broker_runs_beat(monkeypatch, settings, fake_thread):
    settings.SVYAZ_EMBEDDED_SCHEDULER = False
    monkeypatch.setenv("SVYAZ_SCHEDULER_RUN", "1")
    scheduler.start_if_embedded()
    assert fake_thread.started == []
