"""Field rules on the API: hidden fields are absent from responses and from the OpenAPI
schema of that user; writing a hidden or read-only field is a 400 and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from svyaz.accounts.roles import ensure_default_roles
from svyaz.sales.models import Deal
from tests.field_rules.conftest import AMOUNT, INN, MARGIN, contains_amount

REFUSED = "You may not change this field."
pytestmark = pytest.mark.django_db


def test_it_leaves_the_hidden_amount_out_of_the_deal_list_and_detail(seller_api, deal):
    listed = seller_api.get("/api/v1/deals/")
    assert listed.status_code == 200
    row = listed.json()["results"][0]
    assert row["id"] == deal.pk
    assert "amount" not in row
    assert "margin" not in row["custom"]
    assert not contains_amount(listed.content.decode())
    assert MARGIN not in listed.content.decode()

    detail = seller_api.get(f"/api/v1/deals/{deal.pk}/")
    assert detail.status_code == 200
    assert "amount" not in detail.json()
    assert detail.json()["title"] == "Big one"  # the rest is there
    assert not contains_amount(detail.content.decode())


def test_it_shows_the_amount_to_a_superuser(admin_api, deal):
    data = admin_api.get(f"/api/v1/deals/{deal.pk}/").json()
    assert Decimal(data["amount"]) == AMOUNT
    assert data["custom"]["margin"] == MARGIN


def test_it_hides_line_money_along_with_the_deal_amount(seller_api, deal):
    from svyaz.sales.services import deal_line_add

    deal_line_add(actor=None, deal=deal, name="Service", quantity=1, price=AMOUNT)
    data = seller_api.get(f"/api/v1/deals/{deal.pk}/").json()
    assert data["lines"] and "price" not in data["lines"][0] and "total" not in data["lines"][0]
    lines = seller_api.get(f"/api/v1/deal-lines/?deal={deal.pk}")
    assert lines.status_code == 200 and not contains_amount(lines.content.decode())


def test_it_refuses_a_patch_of_the_hidden_amount_and_writes_nothing(seller_api, deal):
    response = seller_api.patch(
        f"/api/v1/deals/{deal.pk}/", {"amount": "1.00", "title": "Renamed"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["amount"] == [REFUSED]
    deal.refresh_from_db()
    assert deal.amount == AMOUNT
    assert deal.title == "Big one"  # nothing of the request was written


def test_it_refuses_a_hidden_custom_value(seller_api, deal):
    response = seller_api.patch(
        f"/api/v1/deals/{deal.pk}/", {"custom": {"margin": "1"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["custom.margin"] == [REFUSED]
    deal.refresh_from_db()
    assert deal.custom["margin"] == MARGIN


def test_it_refuses_the_amount_on_create_and_creates_nothing(seller_api, seller, pipeline):
    before = Deal.objects.count()
    response = seller_api.post(
        "/api/v1/deals/",
        {"title": "New", "pipeline": pipeline.pk, "amount": "5.00", "owner": seller.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["amount"] == [REFUSED]
    assert Deal.objects.count() == before
    ok = seller_api.post("/api/v1/deals/", {"title": "New", "pipeline": pipeline.pk}, format="json")
    assert ok.status_code == 201, ok.content
    assert "amount" not in ok.json()


def test_it_shows_a_read_only_inn_and_refuses_to_change_it(seller_api, company):
    data = seller_api.get(f"/api/v1/companies/{company.pk}/").json()
    assert data["inn"] == INN
    assert data["custom"]["potential"] == "high"  # read-only, not hidden

    response = seller_api.patch(
        f"/api/v1/companies/{company.pk}/", {"inn": "500100732259"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["inn"] == [REFUSED]
    response = seller_api.patch(
        f"/api/v1/companies/{company.pk}/", {"custom": {"potential": "low"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["custom.potential"] == [REFUSED]
    company.refresh_from_db()
    assert company.inn == INN and company.custom["potential"] == "high"

    # Other fields stay writable.
    ok = seller_api.patch(f"/api/v1/companies/{company.pk}/", {"name": "Acme 2"}, format="json")
    assert ok.status_code == 200, ok.content
    company.refresh_from_db()
    assert company.name == "Acme 2" and company.inn == INN


def test_it_adds_grants_up_a_second_role_without_the_rule_shows_the_field(seller, seller_api, deal):
    seller.roles.add(ensure_default_roles()["manager"])
    data = seller_api.get(f"/api/v1/deals/{deal.pk}/").json()
    assert Decimal(data["amount"]) == AMOUNT
    assert data["custom"]["margin"] == MARGIN
    ok = seller_api.patch(f"/api/v1/deals/{deal.pk}/", {"amount": "10.00"}, format="json")
    assert ok.status_code == 200
    deal.refresh_from_db()
    assert deal.amount == Decimal("10.00")


def test_it_refuses_the_amount_when_converting_a_lead(seller, seller_api, pipeline):
    from svyaz.sales.services import lead_create

    lead = lead_create(actor=None, title="Inbound", first_name="Ivan", owner=seller)
    response = seller_api.post(
        f"/api/v1/leads/{lead.pk}/convert/", {"amount": "7.00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["amount"] == [REFUSED]
    lead.refresh_from_db()
    assert lead.deal_id is None


def _schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()["components"]["schemas"]


def test_it_leaves_hidden_fields_out_of_the_users_openapi_schema(seller_api, admin_api):
    schemas = _schema(seller_api)
    assert "amount" not in schemas["DealOutput"]["properties"]
    assert "amount" not in schemas["DealInputRequest"]["properties"]
    assert "price" not in schemas["DealLine"]["properties"]
    # Read-only: in the answer, not in what may be sent.
    assert "inn" in schemas["CompanyOutput"]["properties"]
    assert "inn" not in schemas["CompanyInputRequest"]["properties"]
    assert "currency" in schemas["DealOutput"]["properties"]  # nothing else is lost

    full = _schema(admin_api)
    assert "amount" in full["DealOutput"]["properties"]
    assert "amount" in full["DealInputRequest"]["properties"]
    assert "inn" in full["CompanyInputRequest"]["properties"]


def test_it_neither_sorts_nor_filters_by_a_hidden_field(seller, seller_api, pipeline):
    from svyaz.sales.services import deal_create

    for title, amount in (("Small", "1.00"), ("Large", "900.00"), ("Middle", "50.00")):
        deal_create(
            actor=None, title=title, pipeline=pipeline, amount=Decimal(amount), owner=seller
        )
    default = [d["title"] for d in seller_api.get("/api/v1/deals/").json()["results"]]
    by_amount = seller_api.get("/api/v1/deals/", {"ordering": "-amount"}).json()["results"]
    assert [d["title"] for d in by_amount] == default  # the term is ignored


def test_it_ignores_a_filter_on_a_hidden_field(seller, seller_client, pipeline):
    from django.urls import reverse

    from svyaz.sales.services import deal_create

    deal_create(
        actor=None,
        title="Closing soon",
        pipeline=pipeline,
        owner=seller,
        expected_close="2030-01-10",
    )
    role = seller.roles.get()
    role.field_rules = {**role.field_rules, "deals": {"expected_close": "hidden"}}
    role.save()
    page = seller_client.get(reverse("sales:deal_list"), {"close_from": "2031-01-01"})
    assert page.status_code == 200
    assert "Closing soon" in page.content.decode()  # the filter was dropped, not applied
    assert 'name="close_from"' not in page.content.decode()
