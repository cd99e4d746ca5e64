"""Browser: lockout message, TOTP enrolment and the second login step, recycle bin."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from e2e.conftest import url
from svyaz.core.services import record_soft_delete
from tests.factories import CompanyFactory, DepartmentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _submit_login(page, live_server, username, password):
    page.goto(url(live_server, "accounts:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form:has(#id_username) button[type=submit]")


def test_lockout_message_after_five_failures(page, live_server, screenshot):
    UserFactory(username="anna", department=DepartmentFactory())
    for _ in range(5):
        _submit_login(page, live_server, "anna", "wrong")
    _submit_login(page, live_server, "anna", "password")
    locked = page.locator("#login-locked")
    locked.wait_for()
    assert "Too many failed login attempts" in locked.inner_text()
    screenshot(page, "security-lockout")


def test_enrol_then_second_step_at_login(page, live_server, login, screenshot):
    user = UserFactory(username="vera", department=DepartmentFactory(require_2fa=True))
    login(page, user)
    page.wait_for_url(lambda u: "/two-factor/" in u)
    page.locator("#two-factor-qr svg").wait_for()
    screenshot(page, "security-2fa-enrol")
    device = TOTPDevice.objects.get(user=user)
    page.fill("#id_token", _code(device))
    page.click("#two-factor-confirm button[type=submit]")
    page.wait_for_url(lambda u: "/two-factor/" not in u)
    # Log out and in again: the code is asked after the password.
    page.goto(url(live_server, "accounts:profile"))
    page.evaluate("document.querySelector('form[action$=\"/logout/\"]').submit()")
    page.wait_for_url(lambda u: "/accounts/login/" in u)
    _submit_login(page, live_server, "vera", "password")
    page.wait_for_url(lambda u: "/two-factor/verify/" in u)
    screenshot(page, "security-2fa-verify")
    # Maybe the same 30-second window: let the code be used once more.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    page.fill("#id_token", _code(device))
    page.click("#two-factor-verify button[type=submit]")
    page.wait_for_url(lambda u: "/two-factor/" not in u)
    assert page.url.endswith(("/tasks/my-day/",))


def test_recycle_bin_restores_over_htmx(page, live_server, login, screenshot):
    user = UserFactory(username="gleb", first_name="Gleb", department=DepartmentFactory())
    company = CompanyFactory(owner=user, name="Romashka LLC")
    record_soft_delete(actor=user, obj=company)
    login(page, user)
    page.goto(url(live_server, "core:recycle_bin"))
    row = page.locator(f"#recycled-company-{company.pk}")
    assert "Romashka LLC" in row.inner_text()
    screenshot(page, "security-recycle-bin")
    row.locator("button", has_text="Restore").click()
    row.get_by_text("Restored").wait_for()
    company.refresh_from_db()
    assert company.deleted_at is None
