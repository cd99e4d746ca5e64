"""Field rules beyond deals and companies: activities' text, tasks' results, orders'
amounts, and serializers built by drf-spectacular from @extend_schema (no context)."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from svyaz.accounts.models import Role
from svyaz.accounts.roles import default_roles
from tests.factories import UserFactory
from tests.field_rules.conftest import AMOUNT, contains_amount

pytestmark = pytest.mark.django_db
SECRET = "Confidential-7731"


@pytest.fixture
def quiet(sales_dept):
    """A manager whose role hides activity texts, task results and order amounts."""
    manager = next(r for r in default_roles() if r["code"] == "manager")
    role = Role.objects.create(
        code="quiet",
        name="Quiet",
        grants=copy.deepcopy(manager["grants"]),
        field_rules={
            "activities": {"body": "hidden"},
            "tasks": {"result": "hidden"},
            "orders": {"amount": "hidden"},
            "deals": {"amount": "readonly"},
        },
    )
    return UserFactory(username="quiet", department=sales_dept, roles=[role])


@pytest.fixture
def quiet_api(quiet):
    c = APIClient()
    c.force_authenticate(quiet)
    return c


@pytest.fixture
def quiet_client(quiet):
    c = Client()
    c.force_login(quiet)
    return c


@pytest.fixture
def client_contact(quiet):
    from svyaz.contacts.services import contact_create

    return contact_create(actor=None, first_name="Olga", last_name="K", owner=quiet)


def test_it_hides_an_activity_text_in_the_api_the_list_and_the_schema(
    quiet, quiet_api, quiet_client, client_contact
):
    from svyaz.activities.services import activity_log

    activity_log(actor=quiet, kind="note", body=SECRET, contact=client_contact)
    listed = quiet_api.get("/api/v1/activities/")
    assert listed.status_code == 200
    assert listed.json()["results"] and "body" not in listed.json()["results"][0]
    assert SECRET not in listed.content.decode()
    page = quiet_client.get(reverse("activities:activity_list"))
    assert page.status_code == 200 and SECRET not in page.content.decode()
    card = quiet_client.get(reverse("contacts:contact_detail", args=[client_contact.pk]))
    assert card.status_code == 200 and SECRET not in card.content.decode()

    refused = quiet_api.post(
        "/api/v1/activities/",
        {"kind": "note", "body": "x", "contact": client_contact.pk},
        format="json",
    )
    assert refused.status_code == 400 and "body" in refused.json()

    # Serializers named in @extend_schema are built without a request: still ruled.
    schemas = quiet_api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert "body" not in schemas["ActivityCreateInputRequest"]["properties"]
    assert "body" not in schemas["ActivityOutput"]["properties"]
    assert "result" not in schemas["FollowupOutput"]["properties"]


def test_it_hides_a_task_result_and_ignores_a_posted_one(quiet, quiet_api, quiet_client):
    from svyaz.followups.services import followup_create

    task = followup_create(actor=quiet, title="Call back", due_at=timezone.now() + timedelta(1))
    refused = quiet_api.post(f"/api/v1/followups/{task.pk}/complete/", {"result": "x"})
    assert refused.status_code == 400
    task.refresh_from_db()
    assert task.status == "open"

    done = quiet_client.post(
        reverse("followups:followup_complete", args=[task.pk]), {"result": SECRET}
    )
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.completed_at is not None and task.result == ""
    my_day = quiet_api.get("/api/v1/my-day/")
    assert my_day.status_code == 200 and SECRET not in my_day.content.decode()


def test_it_hides_an_order_amount_on_its_card_and_list(quiet, quiet_client, client_contact):
    from svyaz.sales.services import order_create

    order = order_create(actor=None, contact=client_contact, amount=AMOUNT, owner=quiet)
    card = quiet_client.get(reverse("sales:order_detail", args=[order.pk]))
    assert card.status_code == 200 and not contains_amount(card.content.decode())
    listed = quiet_client.get(reverse("sales:order_list"))
    assert listed.status_code == 200 and not contains_amount(listed.content.decode())
    contact_card = quiet_client.get(reverse("contacts:contact_detail", args=[client_contact.pk]))
    assert contact_card.status_code == 200
    # Related orders, the timeline, and the figures summed from order amounts.
    assert not contains_amount(contact_card.content.decode())
    assert "Total spent" not in contact_card.content.decode()
    listed = quiet_client.get(reverse("contacts:contact_list"))
    assert listed.status_code == 200 and not contains_amount(listed.content.decode())


def test_it_disables_a_read_only_amount_on_the_deal_form_and_keeps_it(
    quiet, quiet_client, pipeline
):
    from svyaz.sales.services import deal_create

    deal = deal_create(actor=None, title="D", pipeline=pipeline, amount=AMOUNT, owner=quiet)
    url = reverse("sales:deal_edit", args=[deal.pk])
    form = quiet_client.get(url).content.decode()
    tag = form[form.index('name="amount"') - 200 : form.index('name="amount"') + 200]
    assert "disabled" in tag
    response = quiet_client.post(
        url, {"title": "D2", "amount": "1", "currency": deal.currency, "owner": quiet.pk}
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "D2" and deal.amount == AMOUNT
    # Read-only: shown on the card.
    card = quiet_client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert contains_amount(card)


def test_it_disables_a_read_only_amount_on_the_lead_convert_form(quiet, quiet_client, pipeline):
    from svyaz.sales.services import lead_create

    lead = lead_create(actor=None, title="Inbound", first_name="Ivan", owner=quiet)
    page = quiet_client.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    tag = page[page.index('name="amount"') - 200 : page.index('name="amount"') + 200]
    assert "disabled" in tag
    response = quiet_client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {"create_deal": "on", "deal_title": "From lead", "amount": "99", "currency": "RUB"},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.deal is not None and lead.deal.amount == Decimal("0")


def test_it_rules_nothing_without_a_request_user(quiet, pipeline):
    """Internal use (jobs, webhooks) serializes everything; the edges pass the user."""
    from svyaz.sales.api import DealOutputSerializer
    from svyaz.sales.services import deal_create

    deal = deal_create(actor=None, title="D", pipeline=pipeline, amount=AMOUNT, owner=quiet)
    assert Decimal(DealOutputSerializer(deal).data["amount"]) == AMOUNT


def test_it_hides_the_board_amounts_in_the_htmx_partial(seller_client, deal):
    response = seller_client.get(
        reverse("sales:board"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board"
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Big one" in page and "<html" not in page
    assert not contains_amount(page) and "stage-total" not in page


def test_it_leaves_order_sums_out_of_the_client_summary_in_the_api(
    quiet, quiet_api, client_contact
):
    from svyaz.sales.services import order_create

    order_create(actor=None, contact=client_contact, amount=AMOUNT, owner=quiet)
    data = quiet_api.get(f"/api/v1/contacts/{client_contact.pk}/").json()
    assert data["summary"]["orders_count"] == 1
    assert "revenue" not in data["summary"] and "average_check" not in data["summary"]
    orders = quiet_api.get("/api/v1/orders/")
    assert orders.status_code == 200 and not contains_amount(orders.content.decode())
