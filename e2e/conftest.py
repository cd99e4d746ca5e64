"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
live server.

Run from the repository root: `DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/pytest e2e`.
Never run `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium).

Fixtures:
- `browser` (session): headless Chromium.
- `browser_locale`: the locale of `page` ("en-US"); override per test with
  `@pytest.mark.parametrize("browser_locale", ["ru-RU"])`.
- `page`: a fresh context and page per test (cookies never leak between tests).
- `new_page(locale=...)`: more pages, e.g. two users at once.
- `login(page, user_or_username, password="password")`: logs in through the real form.
- `screenshot(page, name)`: saves test-artifacts/<name>.png at the repository root.
- `url(live_server, "app:name", *args)` (import from e2e.conftest): absolute URL of a route.
Every test needs `transactional_db` (the live server runs in another thread) and
`@pytest.mark.e2e`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop running in the main thread; Django would
# otherwise refuse ORM calls made by the test itself.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("SVYAZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture(autouse=True)
def _e2e_settings(settings):
    # The live server serves static files through the finders: no collectstatic, no manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    # Factories hash passwords; PBKDF2 would add seconds per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y --no-install-recommends chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_locale() -> str:
    return "en-US"


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts = []

    def make(locale: str = "en-US", timezone_id: str = "Europe/Moscow") -> Page:
        context = browser.new_context(
            locale=locale, timezone_id=timezone_id, viewport={"width": 1400, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page, browser_locale: str) -> Page:
    return new_page(locale=browser_locale)


def url(live_server, name: str, *args) -> str:
    """Absolute live-server URL of a named route."""
    from django.urls import reverse

    return live_server.url + reverse(name, args=args)


@pytest.fixture
def login(live_server) -> Callable[..., Page]:
    def do(page: Page, user, password: str = "password") -> Page:  # noqa: S107 -- the factories' test password
        username = getattr(user, "username", user)
        page.goto(url(live_server, "accounts:login"))
        form = page.locator("form:has(#id_username)")
        form.locator("#id_username").fill(username)
        form.locator("#id_password").fill(password)
        form.locator("button[type=submit]").click()
        page.wait_for_url(lambda u: "/accounts/login/" not in u)
        return page

    return do


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG into test-artifacts/ (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(name="screenshot")
def screenshot_fixture() -> Callable[[Page, str], Path]:
    return screenshot
