from __future__ import annotations

import pytest


@pytest.fixture
def fast_passwords(settings):
    # The demo users' hash is computed once per load; MD5 keeps that instant in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo_data(db, fast_passwords):
    """The demo data set at 5 % of its size, loaded through the real command."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", "--scale", "0.05", "--seed", "7", stdout=out)
    return out.getvalue()
