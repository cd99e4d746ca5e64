"""The API list's planned output (core.api_output.PlannedOutputMixin) gives exactly what
DRF's own Serializer.to_representation gives: same keys, same order, same values — for
the contact and company lists and details, an admin and a role with hidden and read-only
fields (issue #6: the speed work must not change a byte)."""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from svyaz.accounts.models import Role
from svyaz.accounts.roles import default_roles
from svyaz.contacts.api import CompanyOutputSerializer, ContactOutputSerializer
from svyaz.contacts.services import company_create, contact_create
from svyaz.core.api_output import PlannedOutputMixin
from svyaz.core.models import CustomField
from svyaz.sales.services import order_create
from tests.factories import UserFactory

RULES = {
    "contacts": {"birthday": "hidden", "cf_segment": "hidden", "job_title": "readonly"},
    "companies": {"inn": "hidden", "cf_potential": "readonly"},
}


@pytest.fixture
def records(manager, admin, sales_dept):
    CustomField.objects.create(entity="contact", code="segment", label="Segment", field_type="text")
    CustomField.objects.create(entity="contact", code="score", label="Score", field_type="number")
    CustomField.objects.create(
        entity="company", code="potential", label="Potential", field_type="text"
    )
    acme = company_create(
        actor=None, name="Acme", inn="7707083893", owner=manager, phones=["+7 495 123-45-67"],
        emails=["info@acme.ru"], custom={"potential": "high"}, tags=["vip"],
    )  # fmt: skip
    company_create(actor=None, name="Без ИНН", owner=admin)
    ivan = contact_create(
        actor=None, first_name="Иван", last_name="Петров", phones=["8 916 123-45-67", "+7 903 000-11-22"],
        emails=["ivan@example.com"], company=acme, role="CEO", owner=manager, source="website",
        custom={"segment": "A", "score": 7}, job_title="Директор", birthday=datetime.date(1980, 2, 29),
        tags=["vip", "новый"], addresses=[{"kind": "legal", "country": "RU", "city": "Москва"}],
    )  # fmt: skip
    contact_create(actor=None, first_name="Пустой", owner=manager)  # no phones, no summary rows
    contact_create(actor=None, last_name="Admin's", owner=admin, description="<b>html</b> & co")
    order_create(actor=None, contact=ivan, company=acme, amount=Decimal("1234.50"), owner=manager)
    role = Role(
        code="no_birthday",
        name="Head without birthdays",
        grants=copy.deepcopy(
            next(r for r in default_roles() if r["code"] == "head_of_sales")["grants"]
        ),
        field_rules=copy.deepcopy(RULES),
    )
    role.full_clean()
    role.save()
    return {"ruled": UserFactory(username="ruled", department=sales_dept, roles=[role])}


def _get(user, url):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(url)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


@pytest.mark.parametrize("who", ["admin", "manager", "ruled"])
@pytest.mark.parametrize("path", ["contacts", "companies"])
def test_the_planned_output_equals_drfs_own(records, admin, manager, who, path, monkeypatch):
    user = {"admin": admin, "manager": manager, "ruled": records["ruled"]}[who]
    urls = [f"/api/v1/{path}/", f"/api/v1/{path}/?ordering=-id&page_size=2&page=2"]
    planned_list = _get(user, urls[0])
    ids = [row["id"] for row in planned_list["results"]]
    assert ids, "the user sees some records"
    urls += [f"/api/v1/{path}/{pk}/" for pk in ids]
    planned = [_get(user, url) for url in urls]

    # DRF's generic path: what the serializers gave before the mixin existed.
    assert PlannedOutputMixin in ContactOutputSerializer.__mro__
    assert PlannedOutputMixin in CompanyOutputSerializer.__mro__
    monkeypatch.setattr(
        PlannedOutputMixin,
        "to_representation",
        lambda self, instance: serializers.Serializer.to_representation(self, instance),
    )
    generic = [_get(user, url) for url in urls]
    assert planned == generic
    # Same key order too (json.loads keeps it): the bytes a client gets are the same.
    assert [json.dumps(p, ensure_ascii=False) for p in planned] == [
        json.dumps(g, ensure_ascii=False) for g in generic
    ]


def test_the_rules_still_apply_to_the_planned_output(records):
    rows = _get(records["ruled"], "/api/v1/contacts/")["results"]
    ivan = next(r for r in rows if r["first_name"] == "Иван")
    assert "birthday" not in ivan
    assert "segment" not in ivan["custom"] and "score" in ivan["custom"]
    assert ivan["job_title"] == "Директор"  # read-only is still shown
    companies = _get(records["ruled"], "/api/v1/companies/")["results"]
    assert companies and all("inn" not in c for c in companies)


def test_a_null_foreign_key_and_a_null_date_come_out_as_null(records, admin):
    rows = _get(admin, "/api/v1/contacts/")["results"]
    empty = next(r for r in rows if r["first_name"] == "Пустой")
    assert empty["birthday"] is None
    assert empty["department"] is None or isinstance(empty["department"], int)
    assert isinstance(empty["owner"], int)
