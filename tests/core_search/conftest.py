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
