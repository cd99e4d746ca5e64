"""Browser (issue #6): the contact list shows its page first and its count a moment later
(one HTMX request with the page's own filters and scope); paging and filtering keep it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.conftest import url
from tests.factories import ContactFactory, DepartmentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_list_count_arrives_after_the_page_and_follows_the_filter(
    page, live_server, login, settings, screenshot
):
    settings.SVYAZ_PAGE_SIZE = 5
    manager = UserFactory(username="anna", department=DepartmentFactory(name="North"))
    outsider = UserFactory(username="oleg", department=DepartmentFactory(name="South"))
    for i in range(12):
        ContactFactory(last_name=f"Own{i:02}", owner=manager)
    for i in range(30):
        ContactFactory(last_name=f"Other{i:02}", owner=outsider)  # another department's
    login(page, manager)
    page.goto(url(live_server, "contacts:contact_list"))
    count = page.locator("#list-table")
    expect(count).to_contain_text("1–5 of 12")
    screenshot(page, "list-count-deferred")
    assert "count=1" not in page.url

    page.get_by_role("link", name="Next →").click()
    expect(count).to_contain_text("6–10 of 12")
    page.locator("#list-q").press_sequentially("Own0", delay=20)
    # Own00…Own09: 10 matches, two pages.
    expect(count).to_contain_text("1–5 of 10")
    assert "count=1" not in page.url
