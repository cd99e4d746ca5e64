from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.sales import services as s
from svyaz.sales.models import Deal, DealStageChange, Lead, LeadStatus, Order, OrderStatus, Pipeline
from tests.factories import ContactFactory, PipelineFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


# --- leads ---------------------------------------------------------------------------


def test_it_creates_reads_updates_and_deletes_a_lead(api_client):
    r = api_client.post(
        "/api/v1/leads/",
        {"title": "Pumps", "first_name": "Ivan", "phone": "8 916 123-45-67", "tags": ["hot"]},
        format="json",
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["phone"] == "+79161234567" and r.json()["tags"] == ["hot"]
    r = api_client.patch(f"/api/v1/leads/{pk}/", {"title": "Pumps x3"}, format="json")
    assert r.status_code == 200 and r.json()["title"] == "Pumps x3"
    assert api_client.delete(f"/api/v1/leads/{pk}/").status_code == 204
    assert api_client.get(f"/api/v1/leads/{pk}/").status_code == 404
    assert Lead.all_objects.filter(pk=pk, deleted_at__isnull=False).exists()


def test_a_bad_lead_is_a_400_with_field_errors(api_client):
    r = api_client.post("/api/v1/leads/", {"title": "", "phone": "abc"}, format="json")
    assert r.status_code == 400 and "title" in r.json()
    r = api_client.post("/api/v1/leads/", {"title": "Pumps", "phone": "abc"}, format="json")
    assert r.status_code == 400 and "phone" in r.json()
    assert Lead.objects.count() == 0


def test_it_converts_a_lead_once(api_client, manager, pipeline):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan", company_name="Romashka")
    r = api_client.post(f"/api/v1/leads/{lead.pk}/convert/", {"amount": "100"}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert Deal.objects.get(pk=body["deal"]).amount == Decimal("100")
    r = api_client.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json")
    assert r.status_code == 400 and "already been converted" in r.json()["non_field_errors"][0]
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED


def test_an_outsider_gets_404_on_a_lead(manager, outsider):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan")
    c = _client(outsider)
    assert c.get(f"/api/v1/leads/{lead.pk}/").status_code == 404
    assert c.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json").status_code == 404
    assert c.get("/api/v1/leads/").json()["results"] == []


def test_the_lead_list_query_count_is_constant(api_client, manager, django_assert_num_queries):
    s.lead_create(actor=manager, title="Lead 0", tags=["a"])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get("/api/v1/leads/?search=lead&ordering=title").status_code == 200
    for i in range(10):
        s.lead_create(actor=manager, title=f"Lead {i + 1}", tags=["b"])
    with django_assert_num_queries(len(ctx.captured_queries)):
        r = api_client.get("/api/v1/leads/?search=lead&ordering=title")
    assert r.json()["count"] == 11


# --- pipelines -----------------------------------------------------------------------


def test_pipelines_are_readable_and_staff_writable(api_client, admin, pipeline):
    r = api_client.get("/api/v1/pipelines/")
    assert r.status_code == 200 and len(r.json()["results"][0]["stages"]) == 4
    assert api_client.post("/api/v1/pipelines/", {"name": "X"}, format="json").status_code == 403
    r = _client(admin).post("/api/v1/pipelines/", {"name": "Service"}, format="json")
    assert r.status_code == 201 and Pipeline.objects.filter(name="Service").exists()


# --- deals ---------------------------------------------------------------------------


def test_deal_crud_and_stage_only_through_move(api_client, manager, pipeline, stages, lost_reason):
    contact = ContactFactory(owner=manager)
    r = api_client.post(
        "/api/v1/deals/",
        {
            "title": "Pumps",
            "pipeline": pipeline.pk,
            "amount": "300",
            "contact": contact.pk,
            "tags": ["vip"],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["stage"] == stages["New"].pk and r.json()["tags"] == ["vip"]
    r = api_client.patch(f"/api/v1/deals/{pk}/", {"stage": stages["Won"].pk}, format="json")
    assert r.status_code == 400 and "move" in r.json()["stage"][0]
    r = api_client.patch(f"/api/v1/deals/{pk}/", {"title": "Big pumps"}, format="json")
    assert r.status_code == 200 and r.json()["title"] == "Big pumps"
    r = api_client.post(f"/api/v1/deals/{pk}/move/", {"stage": stages["Lost"].pk}, format="json")
    assert r.status_code == 400 and "lost_reason" in r.json()
    r = api_client.post(f"/api/v1/deals/{pk}/move/", {"stage": stages["Won"].pk}, format="json")
    assert r.status_code == 200 and r.json()["stage_kind"] == "won" and r.json()["closed_at"]
    assert Order.objects.filter(deal_id=pk).count() == 1
    assert DealStageChange.objects.filter(deal_id=pk).count() == 2
    assert TimelineEntry.objects.filter(deal_id=pk, kind=TimelineKind.STAGE).count() == 1
    assert api_client.delete(f"/api/v1/deals/{pk}/").status_code == 204
    assert api_client.get(f"/api/v1/deals/{pk}/").status_code == 404


def test_a_bad_deal_is_a_400(api_client, manager, pipeline, outsider):
    other = PipelineFactory()
    foreign = ContactFactory(owner=outsider)
    r = api_client.post(
        "/api/v1/deals/",
        {
            "title": "X",
            "pipeline": pipeline.pk,
            "stage": other.stages.first().pk,
            "contact": foreign.pk,
            "currency": "XXX",
        },
        format="json",
    )
    assert r.status_code == 400 and {"contact", "currency"} <= set(r.json())
    r = api_client.post(
        "/api/v1/deals/",
        {"title": "X", "pipeline": pipeline.pk, "stage": other.stages.first().pk},
        format="json",
    )
    assert r.status_code == 400 and "stage" in r.json()
    assert Deal.objects.count() == 0


def test_an_outsider_cannot_see_or_move_a_deal(deal, outsider, stages):
    c = _client(outsider)
    assert c.get(f"/api/v1/deals/{deal.pk}/").status_code == 404
    assert (
        c.post(
            f"/api/v1/deals/{deal.pk}/move/", {"stage": stages["Won"].pk}, format="json"
        ).status_code
        == 404
    )
    assert c.delete(f"/api/v1/deals/{deal.pk}/").status_code == 404


def test_the_deal_list_query_count_is_constant(
    api_client, manager, pipeline, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    contact = ContactFactory(owner=manager)
    deal = s.deal_create(actor=manager, title="D0", pipeline=pipeline, contact=contact, tags=["a"])
    s.deal_line_add(actor=manager, deal=deal, name="Service", price="5")
    url = f"/api/v1/deals/?pipeline={pipeline.pk}&ordering=-amount&search=D"
    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get(url).status_code == 200
    for i in range(10):
        d = s.deal_create(
            actor=manager, title=f"D{i + 1}", pipeline=pipeline, contact=contact, tags=["b"]
        )
        s.deal_line_add(actor=manager, deal=d, name="Service", price="5")
    with django_assert_num_queries(len(ctx.captured_queries)):
        r = api_client.get(url)
    assert r.json()["count"] == 11


def test_deal_lines_through_the_api(api_client, manager, deal, outsider):
    product = ProductFactory(price=Decimal("20"))
    r = api_client.post(
        "/api/v1/deal-lines/",
        {"deal": deal.pk, "product": product.pk, "quantity": "3"},
        format="json",
    )
    assert r.status_code == 201, r.content
    line = r.json()["id"]
    deal.refresh_from_db()
    assert deal.amount == Decimal("60.00")
    r = api_client.patch(f"/api/v1/deal-lines/{line}/", {"quantity": "1"}, format="json")
    assert r.status_code == 200
    deal.refresh_from_db()
    assert deal.amount == Decimal("20.00")
    r = api_client.post("/api/v1/deal-lines/", {"deal": deal.pk, "quantity": "1"}, format="json")
    assert r.status_code == 400 and "product" in r.json()
    assert (
        _client(outsider)
        .post("/api/v1/deal-lines/", {"deal": deal.pk, "name": "x", "price": "1"}, format="json")
        .status_code
        == 400
    )
    assert api_client.get(f"/api/v1/deal-lines/?deal={deal.pk}").json()["count"] == 1
    assert api_client.delete(f"/api/v1/deal-lines/{line}/").status_code == 204


# --- products, price lists, orders ---------------------------------------------------


def test_products_and_price_lists(api_client, admin):
    product = {"name": "Pump", "price": "10", "currency": "RUB"}
    # The catalogue is the Administrator's (products create/edit); managers only read it.
    assert api_client.post("/api/v1/products/", product, format="json").status_code == 403
    r = _client(admin).post("/api/v1/products/", product, format="json")
    assert r.status_code == 201
    r = _client(admin).post("/api/v1/products/", {"name": "Pump", "price": "-1"}, format="json")
    assert r.status_code == 400 and "price" in r.json()
    assert api_client.get("/api/v1/products/?search=pum").json()["count"] == 1
    assert (
        api_client.post("/api/v1/price-lists/", {"name": "Dealers"}, format="json").status_code
        == 403
    )
    assert (
        _client(admin).post("/api/v1/price-lists/", {"name": "Dealers"}, format="json").status_code
        == 201
    )
    assert api_client.get("/api/v1/price-lists/").status_code == 200


def test_order_crud_and_cancel(api_client, manager, contact):
    product = ProductFactory(price=Decimal("30"))
    r = api_client.post(
        "/api/v1/orders/",
        {
            "contact": contact.pk,
            "lines": [{"product": product.pk, "quantity": "2"}, {"name": "Delivery", "price": "5"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["amount"] == "65.00" and len(r.json()["lines"]) == 2
    r = api_client.patch(f"/api/v1/orders/{pk}/", {"status": OrderStatus.PAID}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "paid"
    r = api_client.post(f"/api/v1/orders/{pk}/cancel/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert api_client.post(f"/api/v1/orders/{pk}/cancel/", {}, format="json").status_code == 400
    assert api_client.delete(f"/api/v1/orders/{pk}/").status_code == 204
    assert api_client.get(f"/api/v1/orders/{pk}/").status_code == 404


def test_a_bad_order_is_a_400(api_client):
    r = api_client.post("/api/v1/orders/", {"amount": "10"}, format="json")
    assert r.status_code == 400 and "contact" in r.json()
    r = api_client.post(
        "/api/v1/orders/", {"lines": [{"quantity": "1"}], "contact": None}, format="json"
    )
    assert r.status_code == 400
    assert Order.objects.count() == 0


def test_the_order_list_query_count_is_constant(
    api_client, manager, contact, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    s.order_create(actor=manager, contact=contact, lines=[{"name": "A", "price": "1"}])
    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get("/api/v1/orders/?status=new&ordering=-amount").status_code == 200
    for _ in range(10):
        s.order_create(actor=manager, contact=contact, lines=[{"name": "A", "price": "1"}])
    with django_assert_num_queries(len(ctx.captured_queries)):
        r = api_client.get("/api/v1/orders/?status=new&ordering=-amount")
    assert r.json()["count"] == 11


def test_an_outsider_gets_404_on_an_order(manager, outsider, contact):
    order = s.order_create(actor=manager, contact=contact, amount=Decimal("1"))
    assert _client(outsider).get(f"/api/v1/orders/{order.pk}/").status_code == 404


def test_put_cannot_change_the_stage(api_client, deal, stages):
    body = {"title": "Pumps", "pipeline": deal.pipeline_id, "stage": stages["Won"].pk}
    r = api_client.put(f"/api/v1/deals/{deal.pk}/", body, format="json")
    assert r.status_code == 400 and "stage" in r.json()
    deal.refresh_from_db()
    assert deal.stage == stages["New"]
