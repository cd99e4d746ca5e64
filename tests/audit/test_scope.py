"""A write out of the user's scope changes nothing: no record change, no audit row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from svyaz.audit.models import AuditEntry
from svyaz.sales import services as sales
from svyaz.sales.models import Deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(manager, pipeline):
    return sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline, amount=Decimal(5))


@pytest.fixture
def outsider_api(outsider):
    api = APIClient()
    api.force_authenticate(outsider)
    return api


def _rows():
    return AuditEntry.objects.count()


def test_out_of_scope_patch_writes_no_audit_row(outsider_api, deal):
    before = _rows()
    response = outsider_api.patch(f"/api/v1/deals/{deal.pk}/", {"amount": "9"}, format="json")
    assert response.status_code in (403, 404)
    assert _rows() == before
    deal.refresh_from_db()
    assert deal.amount == Decimal("5")


def test_out_of_scope_delete_writes_no_audit_row(outsider_api, deal):
    before = _rows()
    assert outsider_api.delete(f"/api/v1/deals/{deal.pk}/").status_code in (403, 404)
    assert _rows() == before
    assert Deal.objects.filter(pk=deal.pk).exists()


def test_out_of_scope_page_move_writes_no_audit_row(client, outsider, deal, pipeline):
    client.force_login(outsider)
    before = _rows()
    response = client.post(
        f"/sales/deals/{deal.pk}/move/", {"stage": pipeline.stages.get(name="Won").pk}
    )
    assert response.status_code in (403, 404)
    assert _rows() == before
    deal.refresh_from_db()
    assert deal.stage.name == "New"


def test_in_scope_patch_writes_one_row_per_changed_field(api_client, manager, deal):
    before = _rows()
    response = api_client.patch(
        f"/api/v1/deals/{deal.pk}/", {"amount": "9", "title": "Boiler"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert list(AuditEntry.objects.order_by("id")[before:].values_list("field", "source")) == [
        ("amount", "api")
    ]
