"""The journeys of issue #2, walked in headless Chromium as a person would.

(a) log in, create a lead, convert it, drag the deal to won on the board, see the order and
    the "customer" status on the client card;
(b) log a call with "call back tomorrow", find the callback on tomorrow's My day, let it
    become overdue (the clock moved), see it flagged;
(c) switch the UI to English and back to Russian; find a contact by typing its phone in
    another format.
Screenshots of the board, the card and My day land in test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from e2e.conftest import url
from svyaz.contacts import services as contacts
from svyaz.contacts.models import Contact
from svyaz.followups.models import Followup
from svyaz.sales.models import Deal, Lead, Order
from tests.factories import PipelineFactory, UserFactory

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def anna(transactional_db, settings):
    # Sessions outlive the moved clock of journey (b).
    settings.SESSION_COOKIE_AGE = 14 * 24 * 3600
    return UserFactory(
        username="anna", first_name="Anna", last_name="Petrova", timezone="Europe/Moscow"
    )


def test_b2b_journey_lead_to_won_deal_to_customer(anna, live_server, page, login, screenshot):
    pipeline = PipelineFactory(name="B2B")
    won = pipeline.stages.get(kind="won")

    login(page, anna)
    page.goto(url(live_server, "sales:lead_create"))
    page.fill("#id_title", "Website request: 20 pumps")
    page.fill("#id_first_name", "Ivan")
    page.fill("#id_last_name", "Sidorov")
    page.fill("#id_phone", "8 (916) 555-12-34")
    page.fill("#id_email", "ivan@hydro.example")
    page.fill("#id_company_name", "Hydro LLC")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/sales/leads?/\d+/?"))
    lead = Lead.objects.get(title="Website request: 20 pumps")

    page.locator("#convert-form #id_amount").fill("240000")
    page.locator("#convert-submit").click()
    page.wait_for_url(re.compile(r"/deals?/\d+"))
    lead.refresh_from_db()
    deal = Deal.objects.get(pk=lead.deal_id)
    assert lead.status == "converted" and deal.contact.phones.get().number == "+79165551234"

    page.goto(url(live_server, "sales:board") + f"?pipeline={pipeline.pk}")
    card = page.locator(f'[data-deal-id="{deal.pk}"]')
    expect(card).to_be_visible()
    card.drag_to(page.locator(f'[data-stage-id="{won.pk}"] .board-cards'))
    expect(page.locator(f'[data-stage-id="{won.pk}"] [data-deal-id="{deal.pk}"]')).to_be_visible()
    expect(page.locator(f'[data-stage-id="{won.pk}"] .stage-count')).to_have_text("1")
    screenshot(page, "journey-board")
    deal.refresh_from_db()
    assert deal.stage == won
    order = Order.objects.get(deal=deal)
    assert order.amount == 240000

    page.goto(url(live_server, "contacts:contact_detail", deal.contact_id))
    expect(page.locator("#client-status")).to_have_attribute("data-status", "customer")
    expect(page.locator("#client-orders")).to_contain_text(order.number)
    expect(page.locator("#client-orders")).to_contain_text("240,000.00")
    expect(page.locator("#client-deals")).to_contain_text(deal.title)
    screenshot(page, "journey-card")


def test_callback_journey_from_call_to_overdue(anna, live_server, page, login, screenshot):
    contact = contacts.contact_create(
        actor=anna, first_name="Olga", last_name="Kuznetsova", phones=["+7 903 111-22-33"]
    )
    login(page, anna)
    page.goto(url(live_server, "contacts:contact_detail", contact.pk))
    page.get_by_role("link", name="Log call").first.click()
    page.wait_for_url(re.compile(r"activit"))
    page.select_option("#id_kind", "call")
    page.select_option("#id_direction", "out")
    page.fill("#id_subject", "Discussed the offer")
    page.locator('[data-callback="tomorrow"]').click()
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(rf"/contacts/{contact.pk}/"))

    callback = Followup.objects.get(contact=contact, kind="callback")
    local_due = timezone.localtime(callback.due_at, timezone=dt.UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Moscow")
    )
    tomorrow = (timezone.now().astimezone(local_due.tzinfo) + dt.timedelta(days=1)).date()
    assert local_due.date() == tomorrow

    page.goto(url(live_server, "followups:my_day") + f"?date={tomorrow.isoformat()}")
    row = page.locator(f'[data-followup-id="{callback.pk}"]')
    expect(row).to_be_visible()
    expect(row).not_to_contain_text("Overdue")
    screenshot(page, "journey-my-day-tomorrow")

    # The day after tomorrow, nobody called back: the callback is overdue on My day.
    with time_machine.travel(callback.due_at + dt.timedelta(days=1), tick=True):
        page.goto(url(live_server, "followups:my_day"))
        row = page.locator(f'[data-followup-id="{callback.pk}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("Overdue")
        expect(row.locator(".overdue").first).to_be_visible()
        screenshot(page, "journey-my-day-overdue")


@pytest.mark.parametrize("browser_locale", ["ru-RU"])
def test_language_switch_and_phone_search(anna, live_server, page, login, screenshot):
    contact = contacts.contact_create(
        actor=anna, first_name="Пётр", last_name="Соколов", phones=["+7 916 123-45-67"]
    )
    login(page, anna)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ru")
    expect(page.locator("nav.navbar")).to_contain_text("Мой день")

    page.locator("#user-menu").click()
    page.locator('#language-switch button[value="en"]').click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("nav.navbar")).to_contain_text("My day")

    page.locator("#user-menu").click()
    page.locator('#language-switch button[value="ru"]').click()
    expect(html).to_have_attribute("lang", "ru")
    expect(page.locator("nav.navbar")).to_contain_text("Мой день")

    page.locator("#global-search").press_sequentially("8 (916) 123-45-67", delay=20)
    result = page.locator("#search-results").get_by_text("Соколов Пётр")
    expect(result).to_be_visible()
    result.click()
    page.wait_for_url(re.compile(rf"/contacts/{contact.pk}/"))
    expect(page.locator("h1")).to_contain_text("Соколов")
    assert Contact.objects.count() == 1
