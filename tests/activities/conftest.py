"""Clients for activity and follow-up tests: a contact, a company and a deal of the
manager's, and a contact of the outsider's (another department)."""

from __future__ import annotations

import pytest

from svyaz.sales.models import Deal
from tests.factories import CompanyFactory, ContactFactory


@pytest.fixture
def contact(manager):
    return ContactFactory(
        first_name="Ivan", last_name="Petrov", full_name="Ivan Petrov", owner=manager
    )


@pytest.fixture
def company(manager):
    return CompanyFactory(name="Romashka LLC", owner=manager)


@pytest.fixture
def deal(manager, pipeline, contact, company):
    return Deal.objects.create(
        title="Big order",
        pipeline=pipeline,
        stage=pipeline.stages.order_by("position")[0],
        owner=manager,
        department=manager.department,
        contact=contact,
        company=company,
    )


@pytest.fixture
def foreign_contact(outsider):
    return ContactFactory(
        first_name="Olga", last_name="Sidorova", full_name="Olga Sidorova", owner=outsider
    )
