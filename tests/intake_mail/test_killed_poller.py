"""Exactly once: the poller is killed (SIGKILL) in the middle of an import, runs again,
and every message is there once — none lost, none doubled, no stray lead or activity.

The poller runs in another process against a real Dovecot, so the database must be
shared: on PostgreSQL the test database itself; on SQLite (in-memory in tests) a file copy
of it made with SQLite's backup API, which the test then reads with sqlite3."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.db import connection

from svyaz.contacts.services import contact_create
from tests.intake_mail import mails

ROOT = Path(__file__).resolve().parents[2]
N = 20

# The poller, slowed inside each message's transaction (after the effects are written,
# before the commit with the UID mark): the kill lands there, the worst place.
SLOW_POLLER = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from svyaz.intake.mail import importer
    from svyaz.intake.mail.imap import mailbox_poll
    from svyaz.intake.models import Mailbox

    marker = sys.argv[2]
    real_apply = importer._apply

    def slow_apply(**kwargs):
        message = real_apply(**kwargs)
        with open(marker, "a") as fh:
            fh.write(f"{kwargs['uid']}\\n")
        time.sleep(0.4)
        return message

    importer._apply = slow_apply
    mailbox_poll(Mailbox.objects.get(pk=int(sys.argv[1])))
    """
)


class SharedDatabase:
    """The test database as another process sees it, and raw reads of it."""

    def __init__(self, tmp_path: Path) -> None:
        db = connection.settings_dict
        self.vendor = connection.vendor
        if self.vendor == "postgresql":
            auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
            self.url = (
                f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            )
            return
        name = str(db["NAME"])
        if "memory" in name or name == "":
            self.path = tmp_path / "shared.sqlite3"
            connection.ensure_connection()
            target = sqlite3.connect(self.path)
            connection.connection.backup(target)
            target.close()
        else:
            self.path = Path(name)
        self.url = f"sqlite:///{self.path}"

    def query(self, sql: str, *params):
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall()
        conn = sqlite3.connect(self.path, timeout=20)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def value(self, sql: str, *params):
        return self.query(sql, *params)[0][0]


def _env(shared: SharedDatabase, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=shared.url,
        DJANGO_SETTINGS_MODULE="svyaz.settings",
        PYTHONPATH=f"{ROOT}:{ROOT / 'src'}",
        SVYAZ_DATA_DIR=str(tmp_path / "data"),
        SVYAZ_EMBEDDED_SCHEDULER="0",
    )
    return env


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _state(shared: SharedDatabase, mailbox_id: int) -> dict:
    uids = [
        row[0]
        for row in shared.query(
            "SELECT imap_uid FROM intake_emailmessage WHERE mailbox_id = ? ORDER BY imap_uid",
            mailbox_id,
        )
    ]
    return {
        "uids": uids,
        "distinct_ids": shared.value(
            "SELECT COUNT(DISTINCT message_id) FROM intake_emailmessage WHERE mailbox_id = ?",
            mailbox_id,
        ),
        "last_uid": shared.value("SELECT last_uid FROM intake_mailbox WHERE id = ?", mailbox_id),
        "with_contact": shared.value(
            "SELECT COUNT(*) FROM intake_emailmessage WHERE contact_id IS NOT NULL"
        ),
        "with_lead": shared.value(
            "SELECT COUNT(*) FROM intake_emailmessage WHERE lead_id IS NOT NULL"
        ),
        "activities": shared.value("SELECT COUNT(*) FROM activities_activity WHERE kind = 'email'"),
        "timeline": shared.value(
            "SELECT COUNT(*) FROM core_timelineentry WHERE object_type = 'activity'"
        ),
        "leads": shared.value("SELECT COUNT(*) FROM sales_lead WHERE source = 'email'"),
        "intakes": shared.value("SELECT COUNT(*) FROM intake_leadintake"),
        "tasks": shared.value("SELECT COUNT(*) FROM followups_followup"),
    }


@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_mid_import_loses_nothing_and_doubles_nothing(
    mailbox, deliver, teammate, tmp_path
):
    contact_create(actor=teammate, first_name="Ivan", emails=["ivan@client.ru"])
    # Half from the known client (→ activities), half from new senders (→ leads).
    deliver(
        *(
            mails.plain(subject=f"Known {i}")
            if i % 2
            else mails.plain(sender=f"new{i}@new.ru", subject=f"New {i}")
            for i in range(N)
        )
    )
    shared = SharedDatabase(tmp_path)
    env = _env(shared, tmp_path)
    script = tmp_path / "slow_poller.py"
    script.write_text(SLOW_POLLER)
    marker = tmp_path / "in-transaction.txt"
    marker.touch()

    poller = subprocess.Popen(
        [sys.executable, str(script), str(mailbox.pk), str(marker)],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "poller.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # The 7th message's effects are written, its transaction not committed yet: kill.
        assert _wait(lambda: len(marker.read_text().split()) >= 7, 120), (
            tmp_path / "poller.log"
        ).read_text()
        os.killpg(poller.pid, signal.SIGKILL)
        poller.wait(timeout=10)
    finally:
        if poller.poll() is None:
            os.killpg(poller.pid, signal.SIGKILL)
            poller.wait(timeout=10)
    assert poller.returncode == -signal.SIGKILL

    in_flight = int(marker.read_text().split()[-1])
    killed = _state(shared, mailbox.pk)
    committed = len(killed["uids"])
    assert 0 < committed < N
    assert in_flight == committed + 1  # killed inside that message's transaction …
    assert killed["uids"] == list(range(1, committed + 1))  # … which left nothing behind
    assert killed["last_uid"] == committed
    assert killed["activities"] == killed["timeline"] == killed["with_contact"]
    assert killed["leads"] == killed["intakes"] == killed["with_lead"]
    assert killed["with_contact"] + killed["with_lead"] == committed

    rerun = subprocess.run(
        [sys.executable, "manage.py", "mail_poll", "--mailbox", str(mailbox.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{N - committed} imported, 0 duplicates" in rerun.stdout

    final = _state(shared, mailbox.pk)
    assert final["uids"] == list(range(1, N + 1))  # 0 lost
    assert final["distinct_ids"] == N  # 0 duplicated
    assert final["last_uid"] == N
    assert final["with_contact"] == final["activities"] == final["timeline"] == N // 2
    assert final["with_lead"] == final["leads"] == final["intakes"] == N // 2
    assert final["tasks"] == N // 2  # one "answer the email" task per lead

    again = subprocess.run(
        [sys.executable, "manage.py", "mail_poll", "--mailbox", str(mailbox.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "0 imported, 0 duplicates, 0 quarantined" in again.stdout, again.stderr
    assert _state(shared, mailbox.pk) == final
