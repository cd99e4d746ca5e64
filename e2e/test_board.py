"""The board in headless Chromium: drag a card to won, and to lost through the reason
prompt (cancel puts the card back)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.conftest import url
from svyaz.sales import services as s
from svyaz.sales.models import Deal, LostReason, Order, Stage
from tests.factories import ContactFactory, PipelineFactory, UserFactory

pytestmark = [pytest.mark.e2e]

browser_locale = pytest.fixture(lambda: "en-US", name="browser_locale")


def _drag(pg, deal: Deal, stage: Stage) -> None:
    card = pg.locator(f'[data-deal-id="{deal.pk}"]')
    target = pg.locator(f'[data-stage-id="{stage.pk}"] .board-cards')
    card.drag_to(target)


def test_it_drags_deals_to_won_and_lost(transactional_db, live_server, page, login, screenshot):  # noqa: F811
    manager = UserFactory(username="anna", first_name="Anna", last_name="Petrova")
    pipeline = PipelineFactory(name="Sales")
    stages = {st.name: st for st in pipeline.stages.all()}
    reason = LostReason.objects.create(name="Too expensive")
    contact = ContactFactory(owner=manager)
    won = s.deal_create(
        actor=manager, title="Pumps", pipeline=pipeline, amount="1500", contact=contact
    )
    lost = s.deal_create(
        actor=manager, title="Valves", pipeline=pipeline, amount="700", contact=contact
    )

    login(page, manager)
    page.goto(url(live_server, "sales:board"))
    expect(page.locator(f'[data-stage-id="{stages["New"].pk}"] .stage-count')).to_have_text("2")

    _drag(page, won, stages["Won"])
    expect(page.locator(f'[data-stage-id="{stages["Won"].pk}"] .stage-count')).to_have_text("1")
    won.refresh_from_db()
    assert won.stage == stages["Won"] and Order.objects.filter(deal=won).count() == 1

    _drag(page, lost, stages["Lost"])
    modal = page.locator("#lost-modal")
    expect(modal).to_be_visible()
    modal.locator("#lost-cancel").click()
    expect(modal).to_be_hidden()
    expect(
        page.locator(f'[data-stage-id="{stages["New"].pk}"] [data-deal-id="{lost.pk}"]')
    ).to_be_visible()
    lost.refresh_from_db()
    assert lost.stage == stages["New"]

    _drag(page, lost, stages["Lost"])
    expect(modal).to_be_visible()
    modal.locator('select[name="lost_reason"]').select_option(str(reason.pk))
    modal.locator("#lost-submit").click()
    expect(modal).to_be_hidden()
    expect(page.locator(f'[data-stage-id="{stages["Lost"].pk}"] .stage-count')).to_have_text("1")
    lost.refresh_from_db()
    assert lost.stage == stages["Lost"] and lost.lost_reason == reason
    screenshot(page, "sales-board")

    s.deal_line_add(actor=manager, deal=won, name="Installation", price="300")
    page.goto(url(live_server, "sales:deal_detail", won.pk))
    expect(page.locator("#deal-orders")).to_contain_text(Order.objects.get(deal=won).number)
    screenshot(page, "sales-deal-card")
