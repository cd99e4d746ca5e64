"""Fixtures of the field-rule tests (issue #3: "A hidden field is absent from pages, API
responses, exports and the OpenAPI schema for that role; writing it is refused").

- `field_role`: the shipped manager's grants (own records, export included) plus field
  rules: deals.amount and the deal custom field `margin` hidden; companies.inn and the
  company custom field `potential` read-only.
- `seller` (that role only), `seller_client`, `seller_api`.
- `deal`, `company`: the seller's records with distinctive values (AMOUNT, MARGIN, INN).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from svyaz.accounts.models import Role
from svyaz.accounts.roles import default_roles
from svyaz.core.models import CustomField
from tests.factories import UserFactory

AMOUNT = Decimal("987654.32")
# How the amount may be spelled on a page or in a file (plain, grouped by locale).
AMOUNT_SPELLINGS = ("987654", "987 654", "987\xa0654", "987,654", "987.654,32")
MARGIN = "555444.33"
INN = "7707083893"

RULES = {
    "deals": {"amount": "hidden", "cf_margin": "hidden"},
    "companies": {"inn": "readonly", "cf_potential": "readonly"},
}


def contains_amount(text: str) -> bool:
    return any(s in text for s in AMOUNT_SPELLINGS)


@pytest.fixture
def custom_fields(db):
    return [
        CustomField.objects.create(
            entity="deal", code="margin", label="Margin", field_type="money", show_in_list=True
        ),
        CustomField.objects.create(
            entity="company", code="potential", label="Potential", field_type="text"
        ),
    ]


@pytest.fixture
def field_role(custom_fields):
    manager = next(r for r in default_roles() if r["code"] == "manager")
    role = Role(
        code="no_money",
        name="Manager without money",
        grants=copy.deepcopy(manager["grants"]),
        field_rules=copy.deepcopy(RULES),
    )
    role.full_clean()  # the rules are valid ones (cf_ names of existing custom fields)
    role.save()
    return role


@pytest.fixture
def seller(sales_dept, field_role):
    return UserFactory(username="seller", department=sales_dept, roles=[field_role])


@pytest.fixture
def seller_client(seller):
    c = Client()
    c.force_login(seller)
    return c


@pytest.fixture
def seller_api(seller):
    c = APIClient()
    c.force_authenticate(seller)
    return c


@pytest.fixture
def admin_client(admin):
    c = Client()
    c.force_login(admin)
    return c


@pytest.fixture
def admin_api(admin):
    c = APIClient()
    c.force_authenticate(admin)
    return c


@pytest.fixture
def deal(seller, pipeline):
    from svyaz.sales.services import deal_create

    return deal_create(
        actor=None,
        title="Big one",
        pipeline=pipeline,
        amount=AMOUNT,
        owner=seller,
        custom={"margin": MARGIN},
    )


@pytest.fixture
def company(seller, custom_fields):
    from svyaz.contacts.services import company_create

    return company_create(
        actor=None, name="Acme", inn=INN, owner=seller, custom={"potential": "high"}
    )
