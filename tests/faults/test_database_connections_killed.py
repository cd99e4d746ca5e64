"""PostgreSQL connections killed mid-load (issue #6, "Load, soak and faults").

gunicorn (3 workers, persistent connections as in production) serves a mixed workload of
API reads and writes and pages from 4 client threads, while another thread terminates every
server connection of the test database with `pg_terminate_backend` a few times. Then:

- the app recovers by itself: every request started after the last kill succeeds;
- a request that failed got a 5xx or a broken connection, never a 4xx or a wrong 2xx;
- no partial writes: every contact has its 2 phones, its e-mail and its timeline row,
  every activity its timeline row, every deal's stage history and amount history are
  unbroken chains that end at the deal's current stage and amount;
- no write the client saw succeed is missing.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token

from svyaz.activities.models import Activity
from svyaz.contacts.models import Contact, Email, Phone
from svyaz.contacts.services import contact_create
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.sales.models import Deal, DealStageChange, StageKind
from svyaz.sales.services import deal_create
from tests.faults import stack

pytestmark = [pytest.mark.faults, stack.needs_postgres]

THREADS = 4
KILLS = 4
KILL_EVERY = 1.5  # seconds between kills
WARMUP = 2.0  # load before the first kill
AFTER = 4.0  # load after the last kill: must be all successes


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int  # 0: the connection broke
    detail: str = ""
    data: dict = field(default_factory=dict)


class Load:
    """Client threads: each owns one deal, so its PATCH/move sequence is known."""

    def __init__(self, port, token, sessionid, deals, stages, contact_id, marker):
        self.port = port
        self.api = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.page = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={sessionid}"}
        self.deals = deals
        self.stages = stages
        self.contact_id = contact_id
        self.marker = marker
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def call(self, kind, method, path, *, body=None, headers=None, ok=(200,), data=None):
        started = time.monotonic()
        try:
            status, content = stack.request(
                self.port, method, path, body=body, headers=headers or self.api
            )
            detail = "" if status in ok else content[:300].decode(errors="replace")
        except Exception as exc:  # noqa: BLE001 - a broken connection is an outcome
            status, content, detail = 0, b"", f"{type(exc).__name__}: {exc}"
        outcome = Outcome(kind, started, time.monotonic(), status, detail, data or {})
        if status in ok and content.startswith(b"{"):
            outcome.data["response"] = json.loads(content)
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def run(self, n: int) -> None:
        rng = random.Random(n)
        deal = self.deals[n]
        amount = 1000 * (n + 1)
        step = 0
        while not self.stop.is_set():
            step += 1
            op = step % 8
            name = f"{self.marker}-{n}-{step}"
            if op == 0:
                self.call(
                    "contact_create", "POST", "/api/v1/contacts/", ok=(201,),
                    body={"first_name": "Fault", "last_name": name,
                          "phones": [f"+7916{n}{step:06d}", f"+7495{n}{step:06d}"],
                          "emails": [f"{name.lower()}@example.com"],
                          "confirm_duplicate": True},  # similar names on purpose: no 409
                )  # fmt: skip
            elif op == 1:
                amount += 1
                self.call(
                    "deal_patch", "PATCH", f"/api/v1/deals/{deal}/",
                    body={"amount": str(amount)}, data={"deal": deal, "amount": amount},
                )  # fmt: skip
            elif op == 2:
                stage = self.stages[step // 8 % 2]
                self.call(
                    "deal_move", "POST", f"/api/v1/deals/{deal}/move/",
                    body={"stage": stage}, data={"deal": deal, "stage": stage},
                )  # fmt: skip
            elif op == 3:
                self.call(
                    "activity_create", "POST", "/api/v1/activities/", ok=(201,),
                    body={"kind": "call", "direction": "out", "subject": name,
                          "contact": self.contact_id, "duration_seconds": rng.randint(5, 600)},
                )  # fmt: skip
            elif op == 4:
                self.call("api_contact_list", "GET", "/api/v1/contacts/?search=Fault")
            elif op == 5:
                self.call("api_contact_detail", "GET", f"/api/v1/contacts/{self.contact_id}/")
            elif op == 6:
                self.call("page_contacts", "GET", "/clients/contacts/", headers=self.page)
            else:
                self.call("page_my_day", "GET", "/tasks/my-day/", headers=self.page)


def _kill_backends(dbname: str, keep_pid: int) -> int:
    """Terminate every connection to `dbname` except this test's own."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
            [dbname, keep_pid],
        ).fetchall()
    return sum(1 for (done,) in rows if done)


@pytest.mark.django_db(transaction=True)
def test_it_recovers_from_killed_database_connections_without_partial_writes(
    tmp_path, manager, pipeline
):
    marker = f"F{uuid.uuid4().hex[:6]}"
    token = Token.objects.create(user=manager).key
    browser = Client()
    browser.force_login(manager)
    sessionid = browser.cookies[settings.SESSION_COOKIE_NAME].value
    open_stages = list(
        pipeline.stages.filter(kind=StageKind.OPEN)
        .order_by("position")
        .values_list("pk", flat=True)
    )[:2]
    base = contact_create(
        actor=manager, first_name="Base", last_name=marker, phones=["+79160000000"]
    )
    deals = [
        deal_create(actor=manager, title=f"{marker} deal {i}", pipeline=pipeline, contact=base).pk
        for i in range(THREADS)
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        my_pid = cursor.fetchone()[0]
    dbname = connection.settings_dict["NAME"]

    port = stack.free_port()
    log = tmp_path / "gunicorn.log"
    server = stack.gunicorn(port, stack.app_env(tmp_path / "data"), log, workers=3)
    load = Load(port, token, sessionid, deals, open_stages, base.pk, marker)
    threads: list[threading.Thread] = []
    kills: list[tuple[float, int]] = []
    try:
        assert stack.wait_http(port, server, 60), stack.tail(log)
        threads = [
            threading.Thread(target=load.run, args=(n,), daemon=True) for n in range(THREADS)
        ]
        for t in threads:
            t.start()
        time.sleep(WARMUP)
        for _ in range(KILLS):
            kills.append((time.monotonic(), _kill_backends(dbname, my_pid)))
            time.sleep(KILL_EVERY)
        time.sleep(AFTER)
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
        stack.stop(server)

    outcomes = load.outcomes
    last_kill = kills[-1][0]
    failed = [o for o in outcomes if o.status not in (200, 201)]
    summary = (
        f"{len(outcomes)} requests, {len(failed)} failed, killed backends per round: "
        f"{[n for _, n in kills]}; failures: "
        + "; ".join(f"{o.kind} {o.status} {o.detail[:120]}" for o in failed[:10])
    )
    print(summary)
    assert sum(n for _, n in kills) >= KILLS, summary  # the fault did happen
    # Failures are server errors or broken connections, never a client error or a wrong answer.
    assert all(o.status == 0 or o.status >= 500 for o in failed), summary
    # It recovers by itself: everything started a moment after the last kill succeeded.
    after = [o for o in outcomes if o.started > last_kill + 0.5]
    assert len(after) >= 10, summary
    assert [o for o in after if o.status not in (200, 201)] == [], summary
    for kind in ("contact_create", "deal_patch", "deal_move", "activity_create", "page_contacts"):
        assert any(o.kind == kind and o.status in (200, 201) for o in after), (kind, summary)

    connection.close()  # read the database afresh
    _assert_contacts_complete(marker, outcomes)
    _assert_activities_complete(marker, outcomes)
    _assert_deal_histories(deals, outcomes)


def _assert_contacts_complete(marker, outcomes):
    created = [
        o.data["response"]["id"] for o in outcomes if o.kind == "contact_create" and o.status == 201
    ]
    contacts = list(Contact.objects.filter(last_name__startswith=f"{marker}-"))
    assert len(contacts) >= len(created) > 0
    assert set(created) <= {c.pk for c in contacts}  # every acknowledged write is there
    ids = [c.pk for c in contacts]
    phones = _count_by(Phone.objects.filter(contact_id__in=ids), "contact_id")
    emails = _count_by(Email.objects.filter(contact_id__in=ids), "contact_id")
    timeline = _count_by(
        TimelineEntry.objects.filter(object_type="contact", object_id__in=ids), "object_id"
    )
    for pk in ids:  # all or nothing for each contact
        assert (phones.get(pk), emails.get(pk), timeline.get(pk)) == (2, 1, 1), pk


def _assert_activities_complete(marker, outcomes):
    created = [
        o.data["response"]["id"]
        for o in outcomes
        if o.kind == "activity_create" and o.status == 201
    ]
    ids = set(
        Activity.objects.filter(subject__startswith=f"{marker}-").values_list("pk", flat=True)
    )
    assert set(created) <= ids and created
    timeline = _count_by(
        TimelineEntry.objects.filter(object_type="activity", object_id__in=ids), "object_id"
    )
    assert all(timeline.get(pk) == 1 for pk in ids), timeline


def _assert_deal_histories(deals, outcomes):
    for pk in deals:
        deal = Deal.objects.get(pk=pk)
        # Stage: the recorded moves chain from the first stage to the current one, and
        # each move has its timeline row.
        changes = list(DealStageChange.objects.filter(deal=deal).order_by("changed_at", "id"))
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id, pk
        if changes:
            assert changes[-1].to_stage_id == deal.stage_id, pk
        moves = [c for c in changes if c.from_stage_id is not None]
        stage_rows = TimelineEntry.objects.filter(
            kind=TimelineKind.STAGE, object_type="deal", object_id=pk
        ).count()
        assert stage_rows == len(moves), pk
        # Every acknowledged move is in the history (a no-op move answers with the time of
        # the change that put the deal in that stage, which is in the history too).
        recorded = {(c.to_stage_id, c.changed_at) for c in changes}
        for o in outcomes:
            if o.kind == "deal_move" and o.data["deal"] == pk and o.status == 200:
                answer = o.data["response"]
                assert answer["stage"] == o.data["stage"], answer
                when = parse_datetime(answer["stage_changed_at"])
                assert (answer["stage"], when) in recorded, (pk, answer, recorded)
        # Amount: one timeline row per committed change, chained old → new, ending at the
        # deal's amount; every acknowledged amount is in the chain.
        rows = TimelineEntry.objects.filter(
            kind=TimelineKind.CHANGE, object_type="deal", object_id=pk
        ).order_by("id")
        chain = [
            (Decimal(c["old"] or "0"), Decimal(c["new"]))
            for row in rows
            for c in row.data.get("changes", [])
            if c["field"] == "amount"
        ]
        for (_, new), (old, _) in zip(chain, chain[1:], strict=False):
            assert old == new, (pk, chain)
        acked = {
            Decimal(o.data["amount"])
            for o in outcomes
            if o.kind == "deal_patch" and o.data["deal"] == pk and o.status == 200
        }
        assert acked <= {new for _, new in chain}, (pk, acked, chain)
        if chain:
            assert chain[-1][1] == deal.amount, (pk, chain, deal.amount)


def _count_by(qs, key):
    from django.db.models import Count

    return dict(qs.values_list(key).annotate(n=Count("id")).values_list(key, "n"))
