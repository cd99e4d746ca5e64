from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_axes_cache():
    """Axes keeps nothing in the cache with the database handler; make sure of it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login(client):
    """POST the login form; returns the response (not followed)."""
    from django.urls import reverse

    def do(username: str, password: str, c=None, **extra):
        return (c or client).post(
            reverse("accounts:login"), {"username": username, "password": password}, **extra
        )

    return do
