"""Redis stopped and started again (issue #6, "Load, soak and faults").

The production stack on loopback — gunicorn, a Celery worker and beat — with a Redis of the
test's own on a free port (append-only file, as production should run it). Redis is
stopped; while it is down pages and the API keep answering, a web-form submission (which
uses the cache for its rate limit and enqueues a job) is accepted and its job waits in the
outbox, and a reminder falls due. Redis starts again: the stored job is delivered and the
reminder is sent, each exactly once. README "Production" → "What happens when Redis stops".
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from svyaz.core.outbox import OutboxMessage
from svyaz.followups.models import Followup, Notification
from svyaz.intake.models import ResponseSla, RoutingGroup, RoutingMember, Submission, WebForm
from svyaz.sales.models import Lead
from tests.faults import stack

pytestmark = [pytest.mark.faults, stack.needs_postgres, stack.needs_redis_server]

FIELDS = [
    {"name": "name", "label": "Name", "target": "first_name", "required": True},
    {"name": "email", "label": "Email", "target": "email"},
]


def _reminder(user, title: str) -> Followup:
    now = timezone.now()
    return Followup.objects.create(
        title=title,
        assignee=user,
        owner=user,
        due_at=now + timedelta(hours=1),
        remind_at=now - timedelta(seconds=1),
    )


def _notified(followup: Followup) -> int:
    return Notification.objects.filter(followup=followup).count()


def _mails_about(mail_dir, text: str) -> int:
    if not mail_dir.exists():
        return 0
    return sum(1 for f in mail_dir.iterdir() if text in f.read_text(errors="replace"))


@pytest.mark.django_db(transaction=True)
def test_pages_work_while_redis_is_down_and_no_job_is_lost_when_it_returns(
    tmp_path, manager, pipeline
):
    marker = f"R{uuid.uuid4().hex[:6]}"
    token = Token.objects.create(user=manager).key
    browser = Client()
    browser.force_login(manager)
    page = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies['sessionid'].value}"}
    api = {"Authorization": f"Token {token}", "Accept": "application/json"}
    group = RoutingGroup.objects.create(name=f"{marker} desk")
    RoutingMember.objects.create(group=group, user=manager, position=0)
    ResponseSla.objects.create(channel="web", minutes=15)
    form = WebForm.objects.create(
        name=f"{marker} form", key=f"{marker.lower()}-form", fields=FIELDS, routing_group=group
    )
    before = _reminder(manager, f"{marker} reminder before")

    redis_port, web_port = stack.free_port(), stack.free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    data = tmp_path / "data"
    env = stack.app_env(
        data,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        SVYAZ_REMINDERS_INTERVAL="2",
        SVYAZ_OUTBOX_INTERVAL="2",
        LOG_LEVEL="INFO",
    )
    logs = {name: tmp_path / f"{name}.log" for name in ("redis", "web", "worker", "beat")}
    redis = web = worker = beat = None

    def explain() -> str:
        return "\n".join(f"--- {n}\n{stack.tail(p, 2500)}" for n, p in logs.items())

    def submit(name: str) -> int:
        return stack.request(
            web_port, "POST", f"/intake/f/{form.key}/",
            form=urlencode({"name": name, "email": f"{name.lower()}@example.com"}),
            headers={"Accept": "application/json"},
        )[0]  # fmt: skip

    try:
        redis = stack.redis_server(redis_port, tmp_path / "redis", logs["redis"])
        web = stack.gunicorn(web_port, env, logs["web"], workers=2)
        worker = stack.celery(
            ["worker", "--pool=prefork", "--concurrency=1", "--without-gossip",
             "--without-mingle", "-l", "info"], env, logs["worker"],
        )  # fmt: skip
        beat = stack.celery(
            ["beat", "-l", "info", "--schedule", str(tmp_path / "beat-schedule")],
            env,
            logs["beat"],
        )
        assert stack.wait_http(web_port, web, 60), explain()
        # With Redis up: beat → Redis → worker runs the reminder job.
        assert stack.wait_until(lambda: _notified(before) == 1, 60), explain()

        # --- Redis stops ---------------------------------------------------------------
        stack.stop(redis)
        down_at = time.monotonic()
        paths = ["/clients/contacts/", "/tasks/my-day/", "/sales/board/", "/search/?q=ab"]
        for path in paths:
            status, body = stack.request(web_port, "GET", path, headers=page)
            assert status == 200, (path, status, body[:500], explain())
        assert stack.request(web_port, "GET", "/api/v1/contacts/", headers=api)[0] == 200
        status, body = stack.request(
            web_port, "POST", "/api/v1/contacts/", headers=api,
            body={"first_name": "Outage", "last_name": marker, "phones": ["+79161112233"]},
        )  # fmt: skip
        assert status == 201, (body[:500], explain())
        # The web form: the rate limit uses the cache, processing is a job → outbox.
        assert submit(f"{marker}Visitor") == 200, explain()
        submission = Submission.objects.get(form=form)
        assert submission.status == "received"
        assert OutboxMessage.objects.filter(args=[submission.pk]).count() == 1
        during = _reminder(manager, f"{marker} reminder during")
        time.sleep(3)  # beat fires (and fails to publish) at least once meanwhile
        assert _notified(during) == 0  # no worker can get it: it waits, it is not lost
        assert not Lead.objects.filter(first_name=f"{marker}Visitor").exists()
        outage = time.monotonic() - down_at

        # --- Redis is back (same port, its append-only file) ---------------------------
        redis = stack.redis_server(redis_port, tmp_path / "redis", logs["redis"])
        assert stack.wait_until(lambda: _notified(during) == 1, 75), explain()
        assert stack.wait_until(
            lambda: Lead.objects.filter(first_name=f"{marker}Visitor").count() == 1, 30
        ), explain()
        assert stack.wait_until(lambda: not OutboxMessage.objects.exists(), 10), explain()
        time.sleep(4)  # two more beats: nothing runs twice
        assert [_notified(before), _notified(during)] == [1, 1]
        assert Lead.objects.filter(first_name=f"{marker}Visitor").count() == 1
        submission.refresh_from_db()
        assert submission.status == "processed"
        assert _mails_about(data / "sent-mail", f"{marker} reminder during") == 1
        # After the outage, a new submission goes straight through the queue.
        assert submit(f"{marker}After") == 200
        assert stack.wait_until(
            lambda: Lead.objects.filter(first_name=f"{marker}After").exists(), 30
        ), explain()
        print(f"Redis was down {outage:.1f}s; pages, API and the web form answered meanwhile")
    finally:
        for proc in (beat, worker, web, redis):
            stack.stop(proc)
