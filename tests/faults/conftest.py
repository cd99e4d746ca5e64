"""Fault tests: real gunicorn / Celery / Redis processes against the PostgreSQL test
database. They need PostgreSQL (other processes must see the test's data) and skip on
SQLite; CI runs them in its PostgreSQL stage (`.ci/run` stage 4)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: fault tests with real processes on loopback (PostgreSQL only)"
    )
