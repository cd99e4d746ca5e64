"""Smoke: the real login form, the navbar, the language switch — in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import url
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e]


def test_it_logs_in_and_lands_on_my_day(transactional_db, live_server, page, login, screenshot):
    user = UserFactory(username="anna", first_name="Anna", last_name="Petrova")
    login(page, user)
    expect(page).to_have_url(re.compile(r"/tasks/my-day/$"))
    # My day may still be a placeholder; every real page carries the navbar.
    page.goto(url(live_server, "accounts:profile"))
    expect(page.locator("nav.navbar")).to_be_visible()
    expect(page.locator("#user-menu")).to_have_text("Anna Petrova")
    screenshot(page, "smoke-profile")


def test_it_rejects_a_wrong_password(transactional_db, live_server, page):
    UserFactory(username="anna")
    page.goto(url(live_server, "accounts:login"))
    page.fill("#id_username", "anna")
    page.fill("#id_password", "wrong")
    page.locator("form:has(#id_username) button[type=submit]").click()
    expect(page.locator(".alert-danger")).to_be_visible()
    expect(page.locator("nav.navbar")).to_have_count(0)


def test_it_switches_the_language_with_the_login_page_buttons(
    transactional_db, live_server, page, screenshot
):
    page.goto(url(live_server, "accounts:login"))
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")  # from the browser's Accept-Language
    page.get_by_role("button", name="Русский").click()
    expect(html).to_have_attribute("lang", "ru")
    screenshot(page, "smoke-login-ru")
    page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")


@pytest.mark.parametrize("browser_locale", ["ru-RU"])
def test_it_speaks_russian_to_a_russian_browser(transactional_db, live_server, page):
    page.goto(url(live_server, "accounts:login"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
