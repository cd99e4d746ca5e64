from __future__ import annotations

import pytest

from svyaz.contacts.services import company_create, contact_create


@pytest.fixture
def make_contact():
    def make(actor, **kw):
        return contact_create(actor=actor, **kw)

    return make


@pytest.fixture
def make_company():
    def make(actor, **kw):
        return company_create(actor=actor, **kw)

    return make


@pytest.fixture
def twins(manager, make_contact):
    """Two contacts of the manager that are the same person typed twice."""
    a = make_contact(
        manager, first_name="Юрий", last_name="Щукин", phones=["8 (916) 123-45-67"],
        emails=["yuri@example.com"],
    )  # fmt: skip
    b = make_contact(manager, first_name="Yuri", last_name="Shchukin", phones=["+7 916 1234567"])
    return a, b


@pytest.fixture
def outsider_twins(outsider, make_contact):
    a = make_contact(outsider, first_name="Олег", last_name="Смирнов", phones=["+79035551122"])
    b = make_contact(outsider, first_name="Oleg", last_name="Smirnov", phones=["89035551122"])
    return a, b
