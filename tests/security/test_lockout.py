"""Login throttling (django-axes): lockout after 5 failures per username + address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.test import Client
from django.urls import reverse

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def _fail(login, username: str, times: int):
    return [login(username, "wrong-password") for _ in range(times)]


def test_a_wrong_password_shows_the_form_error(login, manager):
    response = login("manager", "nope")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert AccessFailureLog.objects.filter(username="manager").count() == 1


def test_five_failures_lock_the_user_out_with_a_clear_message(client, login, manager):
    with time_machine.travel(T0, tick=False):
        responses = _fail(login, "manager", 5)
        assert [r.status_code for r in responses[:4]] == [200] * 4
        assert responses[4].status_code == 429
        response = login("manager", "password")  # the right password is refused too
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed login attempts" in html and "15 minutes" in html
    assert 'id="login-locked"' in html and "<form" in html  # the login page, not a bare 403
    assert "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username="manager")
    assert attempt.failures_since_start >= 5
    assert AccessFailureLog.objects.filter(username="manager", locked_out=True).exists()


def test_other_users_are_unaffected(login, manager, teammate):
    with time_machine.travel(T0, tick=False):
        _fail(login, "manager", 5)
        other = Client()
        response = login("teammate", "password", c=other)
        assert response.status_code == 302
        assert other.session["_auth_user_id"] == str(teammate.pk)


def test_the_same_user_from_another_address_is_unaffected(login, manager):
    with time_machine.travel(T0, tick=False):
        _fail(login, "manager", 5)
        response = login("manager", "password", c=Client(REMOTE_ADDR="10.0.0.7"))
    assert response.status_code == 302


def test_login_works_again_after_the_cool_off(client, login, manager):
    with time_machine.travel(T0, tick=False):
        _fail(login, "manager", 5)
    # (A refused attempt while locked counts as a failure and restarts the 15 minutes.)
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        response = login("manager", "password")
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(manager.pk)


def test_the_limit_and_the_lock_time_come_from_settings(settings, login, manager):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    with time_machine.travel(T0, tick=False):
        _fail(login, "manager", 2)
        response = login("manager", "password")
    assert response.status_code == 429 and "1 minutes" in response.content.decode()
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        assert login("manager", "password").status_code == 302


def test_an_administrator_sees_the_attempts_and_unlocks(login, manager, admin):
    with time_machine.travel(T0, tick=False):
        _fail(login, "manager", 5)
        staff = Client()
        staff.force_login(admin)
        page = staff.get(reverse("admin:axes_accessattempt_changelist"))
        assert page.status_code == 200 and "manager" in page.content.decode()
        assert staff.get(reverse("admin:axes_accessfailurelog_changelist")).status_code == 200
        attempt = AccessAttempt.objects.get(username="manager")
        response = staff.post(
            reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
        )
        assert response.status_code == 302
        assert login("manager", "password", c=Client()).status_code == 302


def test_api_token_auth_is_not_throttled(manager):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token = Token.objects.create(user=manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").json()["username"] == "manager"
