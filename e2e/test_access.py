"""Browser (issue #3): a manager of one department cannot reach a deal of another department
by search, board or typed URL; that department's head can, changes it, and the audit shows
who changed what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from e2e.conftest import url
from svyaz.sales import services as sales
from tests.factories import DepartmentFactory, PipelineFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_cannot_reach_another_departments_deal_but_its_head_can(
    new_page, live_server, login, screenshot
):
    north = DepartmentFactory(name="North")
    south = DepartmentFactory(name="South")
    anna = UserFactory(username="anna", first_name="Anna", last_name="N", department=north)
    oleg = UserFactory(
        username="oleg",
        first_name="Oleg",
        last_name="S",
        department=south,
        roles=["head_of_sales"],
    )
    south.head = oleg
    south.save()
    sergey = UserFactory(username="sergey", first_name="Sergey", department=south)
    pipeline = PipelineFactory(name="Sales")
    deal = sales.deal_create(
        actor=sergey,
        title="Turbine South",
        pipeline=pipeline,
        owner=sergey,
        amount=Decimal("100"),
    )
    sales.deal_create(actor=anna, title="Turbine North", pipeline=pipeline, owner=anna)

    # Anna (manager, North): not by search, not on the board, not by typed URL.
    page = login(new_page(), anna)
    page.goto(url(live_server, "sales:board"))
    expect(page.get_by_text("Turbine North")).to_be_visible()
    expect(page.locator(f'[data-deal-id="{deal.pk}"]')).to_have_count(0)
    screenshot(page, "access-board-manager")
    page.locator("#global-search").press_sequentially("Turbine", delay=20)
    results = page.locator("#search-results")
    expect(results).to_contain_text("Turbine North")
    expect(results).not_to_contain_text("Turbine South")
    response = page.goto(url(live_server, "sales:deal_detail", deal.pk))
    assert response.status == 404
    page.close()

    # Oleg (head of South): finds it, sees it on the board, opens and changes it.
    page = login(new_page(), oleg)
    page.goto(url(live_server, "sales:board"))
    expect(page.locator(f'[data-deal-id="{deal.pk}"]')).to_be_visible()
    page.locator("#global-search").press_sequentially("Turbine", delay=20)
    expect(page.locator("#search-results")).to_contain_text("Turbine South")
    page.goto(url(live_server, "sales:deal_edit", deal.pk))
    page.fill("#id_amount", "250")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda u: "/edit/" not in u)

    # The audit: Oleg changed the amount from 100 to 250, through the page.
    page.goto(live_server.url + f"/audit/deal/{deal.pk}/")
    row = page.locator("tr", has_text="amount")
    expect(row.first).to_contain_text("Oleg")
    expect(row.first).to_contain_text("100")
    expect(row.first).to_contain_text("250")
    screenshot(page, "access-audit-head")
