"""Writing to a lead from its card (issue #4): the card's "Write email" opens the compose
page addressed to the lead — in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.conftest import url
from svyaz.intake.models import Mailbox
from svyaz.sales.services import lead_create
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e]


def test_the_lead_card_writes_an_email_to_the_lead(
    transactional_db, live_server, page, login, screenshot
):
    anna = UserFactory(username="anna", first_name="Anna", last_name="Petrova")
    Mailbox.objects.create(
        name="Sales", from_address="sales@svyaz.test", smtp_host="smtp.svyaz.test"
    )
    lead = lead_create(actor=anna, title="Pump quote", email="olga@client.ru", owner=anna)

    login(page, anna)
    page.goto(url(live_server, "sales:lead_detail", lead.pk))
    button = page.locator("#lead-mail-write")
    expect(button).to_be_visible()
    screenshot(page, "lead-card-write-email")
    button.click()
    page.wait_for_url("**/mail/write/**")
    expect(page.locator("input[value='olga@client.ru']")).to_have_count(1)
    screenshot(page, "lead-mail-compose")
