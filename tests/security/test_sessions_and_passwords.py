"""Password reset and change, session expiry, log out of other sessions, deploy check."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.core import mail
from django.test import Client
from django.urls import reverse

MY_DAY = reverse("followups:my_day")
ROOT = Path(__file__).resolve().parents[2]


def _logged_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_password_reset_by_email(client, manager, settings):
    settings.SVYAZ_SITE_URL = "https://crm.example.com"
    manager.email = "anna@example.com"
    manager.save()
    login_page = client.get(reverse("accounts:login")).content.decode()
    assert reverse("accounts:password_reset") in login_page
    response = client.post(reverse("accounts:password_reset"), {"email": "anna@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert '"manager"' in body
    link = re.search(r"https://crm\.example\.com(/\S+)", body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and 'id="password-reset-confirm"' in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Fresh-pass-2026!", "new_password2": "Fresh-pass-2026!"},
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    manager.refresh_from_db()
    assert manager.check_password("Fresh-pass-2026!")
    # The link works once.
    again = client.get(link, follow=True)
    assert 'id="password-reset-invalid"' in again.content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_password_change_keeps_this_session_and_ends_the_others(manager):
    here, elsewhere = _logged_in(manager), _logged_in(manager)
    page = here.get(reverse("accounts:password_change"))
    assert page.status_code == 200
    bad = here.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
    )
    assert bad.status_code == 200
    assert "Your old password was entered incorrectly" in bad.content.decode()
    manager.refresh_from_db()
    assert manager.check_password("password")
    response = here.post(
        reverse("accounts:password_change"),
        {
            "old_password": "password",
            "new_password1": "Another-pass-2026!",
            "new_password2": "Another-pass-2026!",
        },
    )
    assert response["Location"] == reverse("accounts:password_change_done")
    assert here.get(MY_DAY).status_code == 200
    assert elsewhere.get(MY_DAY).status_code == 302  # signed out


def test_log_out_of_all_other_sessions(manager, teammate):
    here, laptop, phone = _logged_in(manager), _logged_in(manager), _logged_in(manager)
    colleague = _logged_in(teammate)
    response = here.post(reverse("accounts:sessions_end_others"), follow=True)
    assert "Other sessions ended: 2." in response.content.decode()
    assert here.get(MY_DAY).status_code == 200
    assert laptop.get(MY_DAY).status_code == 302
    assert phone.get(MY_DAY).status_code == 302
    assert colleague.get(MY_DAY).status_code == 200


def test_ending_sessions_is_post_only(manager_client):
    assert manager_client.get(reverse("accounts:sessions_end_others")).status_code == 405


def test_logout_is_post_only_and_server_side(manager):
    from django.contrib.sessions.models import Session

    c = _logged_in(manager)
    key = c.session.session_key
    assert c.get(reverse("accounts:logout")).status_code == 405
    c.post(reverse("accounts:logout"))
    assert not Session.objects.filter(session_key=key).exists()


def test_security_headers(manager_client):
    response = manager_client.get(MY_DAY)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def _run_settings(code: str, **env) -> subprocess.CompletedProcess:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL",))},
        "DJANGO_SETTINGS_MODULE": "svyaz.settings",
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_with_zero_warnings(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING')\n"
    )
    result = _run_settings(
        code,
        SECRET_KEY=secrets.token_urlsafe(64),
        DEBUG="false",
        SVYAZ_HTTPS="true",
        ALLOWED_HOSTS="crm.example.com",
        SVYAZ_DATA_DIR=str(tmp_path),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output and "ERRORS" not in output


def test_session_settings_come_from_the_environment(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.SESSION_COOKIE_AGE, s.AXES_FAILURE_LIMIT,"
        " s.AXES_COOLOFF_TIME.total_seconds(), s.SVYAZ_REQUIRE_2FA_FOR_STAFF)\n"
    )
    result = _run_settings(
        code,
        SVYAZ_DATA_DIR=str(tmp_path),
        SESSION_EXPIRE_AT_BROWSER_CLOSE="true",
        SESSION_COOKIE_AGE="3600",
        SVYAZ_LOGIN_FAILURE_LIMIT="3",
        SVYAZ_LOGIN_LOCKOUT_MINUTES="30",
        SVYAZ_REQUIRE_2FA_FOR_STAFF="yes",
    )
    assert result.stdout.split() == ["True", "3600", "3", "1800.0", "True"], result.stderr
