"""Start and stop the production stack's processes for fault tests, on loopback only.

Every process runs in a session of its own (start_new_session) so `stop()` can end it and
its children (gunicorn workers, Celery pool processes) by process group, and the tests
call `stop()` in `finally` blocks. Ports are free ports picked by the kernel.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

needs_postgres = pytest.mark.skipif(
    "postgres" not in os.environ.get("DATABASE_URL", ""),
    reason="fault tests start gunicorn/Celery processes that must share the test database: "
    "PostgreSQL only (set DATABASE_URL=postgres://…)",
)
needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server program"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the test database this test process uses (other processes must share it)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def app_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of an app process: this test's database and secret key (sessions made
    here are valid there), no broker unless given, no embedded scheduler."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "SVYAZ_MANIFEST_STATIC": "0",
        "SVYAZ_DATA_DIR": str(data_dir),
        "SVYAZ_EMBEDDED_SCHEDULER": "0",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - fixed local commands
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """End a process started by `start` and its children: TERM to the main process (it
    stops its workers), then KILL to whatever is left of its process group."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def gunicorn(port: int, env: dict[str, str], log: Path, workers: int = 2) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "svyaz.wsgi", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--timeout", "30", "--graceful-timeout", "3",
           "--log-level", "warning"]  # fmt: skip
    return start(cmd, env, log)


def celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return start([sys.executable, "-m", "celery", "-A", "svyaz", *args], env, log)


def redis_server(port: int, workdir: Path, log: Path) -> subprocess.Popen:
    """A Redis of the test's own on `port` (never the shared 6379), with an append-only
    file in `workdir` as production should have: a restart keeps queued messages."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
           "--save", "", "--appendonly", "yes", "--appendfsync", "always",
           "--protected-mode", "no"]  # fmt: skip
    return start(cmd, dict(os.environ), log)


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: dict | None = None,
    form: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 20,
) -> tuple[int, bytes]:
    """One HTTP request on a new connection; raises OSError/HTTPException on a broken one."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif form is not None:
            data = form.encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=h)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until(predicate, timeout: float, interval: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        time.sleep(interval)
    try:
        return bool(predicate())
    except Exception:  # noqa: BLE001
        return False


def wait_http(port: int, proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Wait for the login page to answer 200; False if the server exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if request(port, "GET", "/accounts/login/", timeout=5)[0] == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.3)
    return False


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""
