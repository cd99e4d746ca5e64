from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest

from svyaz.followups import services
from tests.activities.conftest import company, contact, deal, foreign_contact  # noqa: F401

MSK = zoneinfo.ZoneInfo("Europe/Moscow")


def msk(*args) -> datetime:
    return datetime(*args, tzinfo=MSK)


@pytest.fixture
def make_task(manager):
    def make(*, actor=None, title="Send the offer", due_at=None, **kwargs):
        return services.followup_create(
            actor=actor or manager, title=title, due_at=due_at or msk(2026, 3, 10, 12), **kwargs
        )

    return make
