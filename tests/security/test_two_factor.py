"""TOTP two-factor authentication (django-otp), with real codes from the device's key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
MY_DAY = reverse("followups:my_day")


def code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _password_login(username: str = "manager") -> Client:
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": username, "password": "password"})
    assert response.status_code == 302
    return c


@pytest.fixture
def device(manager):
    return TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)


def test_the_profile_links_to_the_setup(manager_client):
    html = manager_client.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:two_factor") in html
    assert "Log out of all other sessions" in html


def test_it_enrols_with_a_qr_code_and_a_confirming_code(manager_client, manager):
    with time_machine.travel(T0, tick=False):
        response = manager_client.get(reverse("accounts:two_factor"))
        html = response.content.decode()
        assert "<svg" in html and 'id="two-factor-secret"' in html
        device = TOTPDevice.objects.get(user=manager, confirmed=False)
        import base64

        assert base64.b32encode(device.bin_key).decode() in html
        # Reloading shows the same secret.
        manager_client.get(reverse("accounts:two_factor"))
        assert TOTPDevice.objects.filter(user=manager).count() == 1
        url = reverse("accounts:two_factor")
        bad = manager_client.post(url, {"action": "confirm", "token": "000000"})
        assert "The code is wrong or expired" in bad.content.decode()
        device.refresh_from_db()
        assert not device.confirmed
    with time_machine.travel(T0 + timedelta(seconds=40), tick=False):
        ok = manager_client.post(url, {"action": "confirm", "token": code(device)})
        assert ok.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        # This session stays verified.
        assert manager_client.get(MY_DAY).status_code == 200


def test_after_the_password_a_code_is_needed(manager, device):
    with time_machine.travel(T0, tick=False):
        c = _password_login()
        response = c.get(MY_DAY)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
        assert c.get(reverse("contacts:contact_list")).status_code == 302
        # The API through the session is refused too (403, not a redirect).
        assert c.get("/api/v1/me/").status_code == 403
        # HTMX requests get a client-side redirect.
        htmx = c.get(MY_DAY, HTTP_HX_REQUEST="true")
        assert htmx.headers["HX-Redirect"].startswith(reverse("accounts:two_factor_verify"))
        verify = reverse("accounts:two_factor_verify")
        wrong = c.post(verify, {"token": "123456"})
        assert "The code is wrong or expired" in wrong.content.decode()
        assert c.get(MY_DAY).status_code == 302
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        ok = c.post(verify, {"token": code(device), "next": "/contacts/"})
        assert ok.status_code == 302 and ok["Location"] == "/contacts/"
        assert c.get(MY_DAY).status_code == 200
        assert c.get("/api/v1/me/").status_code == 200


def test_the_verify_page_refuses_an_outside_next(manager, device):
    with time_machine.travel(T0, tick=False):
        c = _password_login()
        ok = c.post(
            reverse("accounts:two_factor_verify"),
            {"token": code(device), "next": "https://evil.example/"},
        )
        assert ok["Location"] == MY_DAY


def test_api_token_auth_is_unaffected(manager, device):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token = Token.objects.create(user=manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").status_code == 200


def test_a_department_can_require_it(manager, sales_dept):
    sales_dept.require_2fa = True
    sales_dept.save()
    with time_machine.travel(T0, tick=False):
        c = _password_login()
        response = c.get(MY_DAY)
        assert response["Location"].startswith(reverse("accounts:two_factor"))
        page = c.get(reverse("accounts:two_factor"))
        assert "requires two-factor authentication" in page.content.decode()
        device = TOTPDevice.objects.get(user=manager)
        response = c.post(
            reverse("accounts:two_factor"), {"action": "confirm", "token": code(device)}
        )
        assert response.status_code == 302
        assert c.get(MY_DAY).status_code == 200
    # It cannot be turned off while required.
    with time_machine.travel(T0 + timedelta(seconds=40), tick=False):
        response = c.post(
            reverse("accounts:two_factor"), {"action": "disable", "token": code(device)}
        )
        assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()


def test_staff_can_be_required_by_a_setting(settings, admin):
    settings.SVYAZ_REQUIRE_2FA_FOR_STAFF = True
    with time_machine.travel(T0, tick=False):
        c = _password_login("admin")
        assert c.get(MY_DAY)["Location"].startswith(reverse("accounts:two_factor"))
    settings.SVYAZ_REQUIRE_2FA_FOR_STAFF = False
    with time_machine.travel(T0, tick=False):
        assert _password_login("admin").get(MY_DAY).status_code == 200


def test_users_without_2fa_are_unaffected(manager_client):
    assert manager_client.get(MY_DAY).status_code == 200


def test_it_can_be_turned_off_with_a_code(manager, device):
    with time_machine.travel(T0, tick=False):
        c = _password_login()
        c.post(reverse("accounts:two_factor_verify"), {"token": code(device)})
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        bad = c.post(reverse("accounts:two_factor"), {"action": "disable", "token": "000000"})
        assert "The code is wrong" in bad.content.decode()
        assert TOTPDevice.objects.filter(user=manager).exists()
        c.post(reverse("accounts:two_factor"), {"action": "disable", "token": code(device)})
        assert not TOTPDevice.objects.filter(user=manager).exists()
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        assert _password_login().get(MY_DAY).status_code == 200


def test_logout_works_before_the_code(manager, device):
    with time_machine.travel(T0, tick=False):
        c = _password_login()
        response = c.post(reverse("accounts:logout"))
        assert response.status_code == 302
        assert "_auth_user_id" not in c.session


def test_a_role_can_require_it(manager, teammate):
    """An administrator requires 2FA per role: only holders of that role are sent to set
    it up; the same department's other people are not."""
    from svyaz.accounts.models import Role

    role = Role.objects.get(code="manager")
    role.require_2fa = True
    role.save()
    teammate.roles.set([Role.objects.create(code="plain", name="Plain", grants={})])
    with time_machine.travel(T0, tick=False):
        c = _password_login()
        response = c.get(MY_DAY)
        assert response["Location"].startswith(reverse("accounts:two_factor"))
        assert _password_login("teammate").get(MY_DAY).status_code == 200
