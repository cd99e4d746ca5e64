"""Fixtures of the list-page speed tests (issue #6): records made through the services,
as tests/contacts does."""

from __future__ import annotations

import pytest

from svyaz.contacts import services


@pytest.fixture
def make_contact(manager):
    def make(*, actor=None, first_name="Иван", last_name="Петров", **kwargs):
        return services.contact_create(
            actor=actor or manager, first_name=first_name, last_name=last_name, **kwargs
        )

    return make


@pytest.fixture
def make_company(manager):
    def make(*, actor=None, name="ООО Ромашка", **kwargs):
        return services.company_create(actor=actor or manager, name=name, **kwargs)

    return make


@pytest.fixture
def small_pages(settings):
    """Pages of 2 rows, counts capped at 3."""
    settings.SVYAZ_PAGE_SIZE = 2
    settings.SVYAZ_COUNT_CAP = 3
