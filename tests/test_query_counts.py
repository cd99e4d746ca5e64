"""N+1 never comes back: every list page and every API list runs the same number of queries
for 1 row and for 50 rows (issue #2). Rows differ in client, company, owner and tags, so a
missing select_related/prefetch_related shows up as extra queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest
from django.urls import reverse
from django.utils import timezone

from svyaz.activities.services import activity_log
from svyaz.contacts.services import company_create, contact_create
from svyaz.core.services import record_add_tag, tag_get_or_create
from svyaz.followups.services import followup_create
from svyaz.sales import services as sales
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
_n = count()


def _client_pair(actor):
    i = next(_n)
    owner = UserFactory(department=actor.department)
    company = company_create(
        actor=actor, name=f"Company {i}", owner=owner, phones=[f"+7916{i:07d}"]
    )
    contact = contact_create(
        actor=actor,
        first_name=f"Name{i}",
        last_name="Test",
        company=company,
        role="CEO",
        phones=[f"+7903{i:07d}"],
        emails=[f"p{i}@example.com"],
        owner=owner,
    )
    record_add_tag(actor=actor, obj=contact, tag=tag_get_or_create(name=f"tag{i % 3}"))
    return owner, company, contact


def make_contact(actor, pipeline):
    _client_pair(actor)


def make_company(actor, pipeline):
    _client_pair(actor)


def make_lead(actor, pipeline):
    i = next(_n)
    sales.lead_create(
        actor=actor,
        title=f"Request {i}",
        first_name="Ivan",
        phone=f"+7905{i:07d}",
        owner=UserFactory(department=actor.department),
    )


def make_deal(actor, pipeline):
    owner, company, contact = _client_pair(actor)
    deal = sales.deal_create(
        actor=actor,
        title="Deal",
        pipeline=pipeline,
        amount=Decimal("100"),
        contact=contact,
        company=company,
        owner=owner,
    )
    record_add_tag(actor=actor, obj=deal, tag=tag_get_or_create(name="hot"))


def make_order(actor, pipeline):
    owner, company, contact = _client_pair(actor)
    sales.order_create(
        actor=actor,
        contact=contact,
        company=company,
        lines=[{"name": "Item", "quantity": Decimal("2"), "price": Decimal("10")}],
    )


def make_activity(actor, pipeline):
    owner, company, contact = _client_pair(actor)
    activity_log(
        actor=actor,
        kind="call",
        direction="out",
        contact=contact,
        company=company,
        duration_seconds=60,
        outcome="answered",
    )


def make_followup(actor, pipeline):
    owner, company, contact = _client_pair(actor)
    followup_create(
        actor=actor,
        title="Call",
        due_at=timezone.now() + dt.timedelta(hours=1),
        contact=contact,
        company=company,
        assignee=actor,
    )


CASES = [
    ("contacts:contact_list", "/api/v1/contacts/", make_contact),
    ("contacts:company_list", "/api/v1/companies/", make_company),
    ("sales:lead_list", "/api/v1/leads/", make_lead),
    ("sales:deal_list", "/api/v1/deals/", make_deal),
    ("sales:order_list", "/api/v1/orders/", make_order),
    ("activities:activity_list", "/api/v1/activities/", make_activity),
    ("followups:task_list", "/api/v1/followups/", make_followup),
]


def _queries(run, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(10_000) as ctx:
        response = run()
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("page", "api", "make"), CASES, ids=[c[0] for c in CASES])
def test_list_page_and_api_list_run_the_same_queries_for_1_and_50_rows(
    page, api, make, admin, client, pipeline, django_assert_max_num_queries
):
    from rest_framework.test import APIClient

    client.force_login(admin)
    api_client = APIClient()
    api_client.force_authenticate(admin)
    make(admin, pipeline)
    one_page = _queries(lambda: client.get(reverse(page)), django_assert_max_num_queries)
    one_api = _queries(lambda: api_client.get(api), django_assert_max_num_queries)
    for _ in range(49):
        make(admin, pipeline)
    response = api_client.get(api)
    assert len(response.json()["results"]) == 50
    assert _queries(lambda: client.get(reverse(page)), django_assert_max_num_queries) == one_page
    assert _queries(lambda: api_client.get(api), django_assert_max_num_queries) == one_api
