"""Per-user language (default from the browser) and time zone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from svyaz.accounts.models import User

pytestmark = pytest.mark.django_db


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


def test_it_takes_the_language_from_the_browser_when_the_user_has_none(client):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert _lang(response) == "en"
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    assert _lang(response) == "ru"


def test_it_prefers_the_users_saved_language_over_the_browser(client, manager):
    manager.language = "ru"
    manager.save()
    client.force_login(manager)
    response = client.get(reverse("accounts:profile"), HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(response) == "ru"


def test_it_switches_language_and_remembers_it_on_the_user(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("accounts:language"), {"language": "en", "next": "/accounts/profile/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    manager.refresh_from_db()
    assert manager.language == "en"
    assert _lang(client.get(reverse("accounts:profile"), HTTP_ACCEPT_LANGUAGE="ru")) == "en"
    client.post(reverse("accounts:language"), {"language": "ru"})
    manager.refresh_from_db()
    assert manager.language == "ru"


def test_it_refuses_an_unknown_language_and_changes_nothing(client, manager):
    client.force_login(manager)
    response = client.post(reverse("accounts:language"), {"language": "xx"})
    assert response.status_code == 400
    manager.refresh_from_db()
    assert manager.language == ""


def test_it_never_redirects_to_another_host_after_switching(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("accounts:language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_language_switch_requires_post(client):
    assert client.get(reverse("accounts:language")).status_code == 405


def test_anonymous_switch_sets_only_the_cookie(client):
    response = client.post(
        reverse("accounts:language"), {"language": "en", "next": "/accounts/login/"}
    )
    assert response.cookies["svyaz_language"].value == "en"
    assert _lang(client.get(reverse("accounts:login"))) == "en"


def test_profile_saves_time_zone_and_rejects_an_unknown_one(client, manager):
    client.force_login(manager)
    url = reverse("accounts:profile")
    bad = client.post(
        url,
        {"first_name": "Anna", "last_name": "P", "email": "a@example.com", "timezone": "Mars/Base"},
    )
    assert bad.status_code == 200
    assert "timezone" in bad.context["form"].errors
    manager.refresh_from_db()
    assert manager.timezone == ""
    ok = client.post(
        url,
        {
            "first_name": "Anna",
            "last_name": "P",
            "email": "a@example.com",
            "timezone": "Asia/Vladivostok",
            "language": "en",
        },
    )
    assert ok.status_code == 302
    manager.refresh_from_db()
    assert (manager.timezone, manager.language) == ("Asia/Vladivostok", "en")


def test_it_shows_times_in_the_users_time_zone(client, manager):
    from django.utils import timezone

    manager.timezone = "Asia/Vladivostok"
    manager.save()
    client.force_login(manager)
    response = client.get(reverse("accounts:profile"))
    assert response.context["TIME_ZONE"] == "Asia/Vladivostok"
    assert (
        timezone.get_current_timezone_name() != "Asia/Vladivostok"
    )  # deactivated after the request


def test_profile_rejects_a_bad_email(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("accounts:profile"), {"email": "not-an-email", "first_name": "X"}
    )
    assert "email" in response.context["form"].errors
    assert User.objects.get(pk=manager.pk).email == manager.email


def test_the_profile_page_title_is_only_its_title(client, manager):
    client.force_login(manager)
    html = client.get(reverse("accounts:profile")).content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "<" not in title and "Profile and language" in title
    assert html.count('id="security"') == 1 and html.count('id="api-token"') == 1
