from __future__ import annotations

import pytest

from svyaz.sales.models import LostReason, Stage, StageKind
from tests.factories import ContactFactory


@pytest.fixture
def stages(pipeline):
    """{name: Stage} of the default test pipeline: New, Negotiation, Won, Lost."""
    return {s.name: s for s in Stage.objects.filter(pipeline=pipeline)}


@pytest.fixture
def lost_reason(db):
    return LostReason.objects.create(name="Too expensive")


@pytest.fixture
def contact(manager):
    return ContactFactory(owner=manager)


@pytest.fixture
def deal(manager, pipeline, contact):
    from svyaz.sales.services import deal_create

    return deal_create(
        actor=manager, title="Pumps", pipeline=pipeline, amount="1000", contact=contact
    )


def stage_of(pipeline, kind=StageKind.OPEN):
    return Stage.objects.filter(pipeline=pipeline, kind=kind).first()
