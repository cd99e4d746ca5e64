"""The embedded web form, end to end: a plain HTML page on another origin (its own port)
carries the snippet; a visitor submits it in Chromium; the routed manager logs in and
finds the first-response task on My day with its due time and its live SLA timer."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from e2e.conftest import url
from svyaz.followups.models import Followup
from svyaz.intake.models import LeadIntake, ResponseSla, RoutingGroup, RoutingMember, WebForm
from svyaz.intake.webforms import form_fields
from svyaz.sales.models import Lead
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e]

FIELDS = [
    {"name": "name", "label": "Your name", "target": "first_name", "required": True},
    {"name": "phone", "label": "Phone", "target": "phone", "required": True},
    {"name": "email", "label": "Email", "target": "email"},
]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def host_site(tmp_path):
    """A tiny static web server on 127.0.0.1 (another port = another origin)."""
    server = HTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_visitor_submits_the_embedded_form_and_the_manager_sees_it_on_my_day(
    transactional_db, live_server, host_site, page, new_page, login, screenshot
):
    folder, origin = host_site
    anna = UserFactory(username="anna", first_name="Anna", timezone="Europe/Moscow")
    group = RoutingGroup.objects.create(name="Web desk")
    RoutingMember.objects.create(group=group, user=anna)
    ResponseSla.objects.create(channel="web", minutes=20)
    form = WebForm.objects.create(
        name="Call me back",
        key="call-me",
        fields=FIELDS,
        consent_text="I agree to be contacted.",
        allowed_origins=[origin],
        routing_group=group,
    )
    snippet = render_to_string(
        "intake/embed_snippet.html",
        {
            "form": form,
            "fields": form_fields(form),
            "action": live_server.url + reverse("intake:form_submit", args=[form.key]),
            "script": live_server.url + static("intake/embed.js"),
        },
    )
    (folder / "landing.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Pumps</title></head>"
        f"<body><h1>Pumps for sale</h1>{snippet}</body></html>",
        encoding="utf-8",
    )

    landing = f"{origin}/landing.html?utm_source=yandex&utm_medium=cpc&utm_campaign=pumps"
    page.goto(landing)
    page.fill("input[name=name]", "Olga")
    page.fill("input[name=phone]", "not a phone")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    # The server's field error appears inline, without leaving the page.
    expect(page.locator('[data-svyaz-error="phone"]')).to_contain_text("is not a phone number")
    assert page.url == landing

    page.fill("input[name=phone]", "8 (903) 555-12-34")
    page.click("button[type=submit]")
    expect(page.locator("[data-svyaz-message]")).to_have_text(str(form.success_message))
    screenshot(page, "intake-embedded-form-sent")

    lead = Lead.objects.get()
    assert (lead.owner, lead.source, lead.utm_source, lead.utm_campaign) == (
        anna,
        "web_form",
        "yandex",
        "pumps",
    )
    assert lead.intake.landing_page == landing
    task = Followup.objects.get(assignee=anna)
    due_local = timezone.localtime(task.due_at, ZoneInfo("Europe/Moscow"))

    manager_page = new_page()
    login(manager_page, anna)
    manager_page.goto(url(live_server, "followups:my_day"))
    row = manager_page.locator(f"#followup-{task.pk}")
    expect(row).to_contain_text("First response: Call me back: Olga")
    expect(row.locator(".due")).to_contain_text(due_local.strftime("%H:%M"))

    # The SLA timer: the deadline from the server, counting down every second.
    intake = LeadIntake.objects.get(lead=lead)
    timer = row.locator(".sla-timer")
    expect(timer).to_have_attribute("data-sla-deadline", intake.sla_due_at.isoformat())
    text = timer.locator(".sla-text")
    expect(text).to_have_text(re.compile(r"^(19|20):\d\d left$"))  # the 20-minute SLA
    ticked = text.inner_text()
    expect(text).not_to_have_text(ticked, timeout=2_000)
    expect(row).not_to_have_class(re.compile("overdue-row"))
    screenshot(manager_page, "intake-my-day-first-response")

    # A browser whose clock is two hours fast still counts from the server's clock.
    fast_page = new_page()
    fast_page.clock.install(time=timezone.now() + timedelta(hours=2))
    login(fast_page, anna)
    fast_page.goto(url(live_server, "followups:my_day"))
    ahead = fast_page.evaluate("Date.now()") / 1000 - timezone.now().timestamp()
    assert 7_000 < ahead < 7_400, ahead
    expect(fast_page.locator(f"#followup-{task.pk} .sla-text")).to_have_text(
        re.compile(r"^(19|20):\d\d left$")
    )

    # The deadline passes while the page is open: the timer turns into the red overdue
    # badge, "Overdue by …", and the row gets the overdue look.
    LeadIntake.objects.filter(pk=intake.pk).update(sla_due_at=timezone.now() + timedelta(seconds=3))
    manager_page.reload()
    expect(text).to_have_text(re.compile(r"^00:0\d left$"))
    expect(text).to_have_text(re.compile(r"^Overdue by 00:0\d$"), timeout=6_000)
    expect(timer).to_have_class(re.compile("sla-late"))
    expect(row).to_have_class(re.compile("overdue-row"))
    expect(row.locator("[data-overdue]")).to_have_count(1)  # the red timer is the badge
    expect(row.locator("[data-overdue]")).to_contain_text("Overdue by")
    screenshot(manager_page, "intake-my-day-first-response-overdue")
