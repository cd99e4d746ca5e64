"""GET /api/v1/audit/: read-only, audit readers only (settings/view), filters, constant
queries, hidden fields left out."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from svyaz.audit.context import audit_source
from svyaz.audit.denials import log_denial
from svyaz.contacts.services import contact_create, contact_update

pytestmark = pytest.mark.django_db
URL = "/api/v1/audit/"


@pytest.fixture
def reader_api(auditor):
    api = APIClient()
    api.force_authenticate(auditor)
    return api


def _changes(actor, n):
    for i in range(n):
        with audit_source("api", actor=actor):
            contact = contact_create(actor=actor, first_name=f"C{i}")
            contact_update(actor=actor, contact=contact, data={"job_title": f"J{i}"})


def test_it_lists_rows_with_filters(reader_api, manager):
    _changes(manager, 2)
    response = reader_api.get(URL, {"field": "job_title", "source": "api"})
    assert response.status_code == 200
    body = response.json()
    assert [r["new_value"] for r in body["results"]] == ["J1", "J0"]
    first = body["results"][0]
    assert first["entity"] == "contacts.contact" and first["actor"] == manager.pk
    assert first["actor_name"] == "Anna Petrova" and first["action"] == "update"
    assert reader_api.get(URL, {"entity": "contact", "action": "create"}).json()["results"]
    assert reader_api.get(URL, {"actor": manager.pk + 1000}).status_code == 400
    assert reader_api.get(URL, {"date_from": "2026-02-31"}).status_code == 400


def test_it_is_for_audit_readers_only(api_client, manager):
    _changes(manager, 1)
    assert api_client.get(URL).status_code == 403
    assert api_client.get(f"{URL}denials/").status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)


def test_query_count_is_the_same_for_1_and_50_rows(reader_api, manager):
    _changes(manager, 1)
    with CaptureQueriesContext(connection) as one:
        assert len(reader_api.get(URL, {"field": "job_title"}).json()["results"]) == 1
    _changes(manager, 55)
    with CaptureQueriesContext(connection) as many:
        assert len(reader_api.get(URL, {"field": "job_title"}).json()["results"]) == 50
    assert len(many.captured_queries) == len(one.captured_queries)


def test_denials_are_listed(reader_api, outsider):
    log_denial(user=outsider, entity="deals", action="edit", obj_id=3, reason="scope")
    body = reader_api.get(f"{URL}denials/", {"user": outsider.pk}).json()
    assert [(d["entity"], d["action"], d["object_id"]) for d in body["results"]] == [
        ("deals", "edit", "3")
    ]


def test_fields_hidden_by_the_readers_roles_are_left_out(manager, pipeline):
    from decimal import Decimal

    from svyaz.accounts.models import Role
    from svyaz.sales import services as sales
    from tests.factories import UserFactory

    role = Role.objects.create(
        code="amountless",
        name="Auditor without amounts",
        grants={"deals": {"view": "all"}, "settings": {"view": "all"}},
        field_rules={"deals": {"amount": "hidden"}},
    )
    reader = UserFactory(roles=[role])
    deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline, amount=Decimal(7))
    sales.deal_update(actor=manager, deal=deal, data={"amount": "9", "title": "Boiler 2"})
    api = APIClient()
    api.force_authenticate(reader)
    rows = api.get(URL, {"entity": "deal", "object_id": deal.pk}).json()["results"]
    assert rows and "amount" not in {r["field"] for r in rows}
    assert "title" in {r["field"] for r in rows}
    type(deal).all_objects.get(pk=deal.pk).delete()  # purge: the snapshot keeps no amount
    purge = api.get(URL, {"entity": "deal", "action": "purge"}).json()["results"][0]
    assert "amount" not in json.loads(purge["old_value"]) and "title" in purge["old_value"]
