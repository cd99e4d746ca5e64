"""The audit page: filters, audit readers only, constant queries, CSV, one record's
history, fields hidden by the reader's roles left out."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from svyaz.audit.context import audit_source
from svyaz.audit.denials import log_denial
from svyaz.audit.models import AuditEntry
from svyaz.contacts.services import contact_create, contact_update
from svyaz.sales import services as sales

pytestmark = pytest.mark.django_db
URL = reverse("audit:list")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reader_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture
def story(manager, teammate, pipeline):
    """Anna moves a deal to Won on a page; Boris edits a contact through the API."""
    with audit_source("page", actor=manager):
        deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline)
        sales.deal_stage_change(actor=manager, deal=deal, stage=pipeline.stages.get(name="Won"))
    with audit_source("api", actor=teammate):
        contact = contact_create(actor=teammate, first_name="Olga")
        contact_update(actor=teammate, contact=contact, data={"job_title": "CEO"})
    return {"deal": deal, "contact": contact}


def _rows(response) -> int:
    return response.content.decode().count('class="audit-row"')


def test_the_page_shows_who_changed_what(reader_client, story):
    response = reader_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Anna Petrova" in html and "Boris Ivanov" in html
    assert '<del class="text-muted">New</del> → Won' in html
    assert reverse("audit:record", args=["deal", story["deal"].pk]) in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("field=stage", {"stage"}),
        ("entity=sales.deal&action=update", {"stage", "closed_at"}),
        ("entity=contact&field=job_title", {"job_title"}),
        ("source=api&action=update", {"job_title"}),
    ],
)
def test_filters(reader_client, story, query, expected):
    response = reader_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    fields = {r["entry"].field for r in response.context["rows"]}
    assert fields == expected


def test_filter_by_actor_object_and_period(reader_client, story, manager, teammate):
    deal = story["deal"]
    rows = reader_client.get(f"{URL}?actor={teammate.pk}").context["rows"]
    assert rows and {r["entry"].actor_id for r in rows} == {teammate.pk}
    rows = reader_client.get(f"{URL}?entity=deal&object_id={deal.pk}").context["rows"]
    assert rows and {r["entry"].object_id for r in rows} == {deal.pk}
    today = AuditEntry.objects.first().at.date()
    assert reader_client.get(f"{URL}?date_from={today}&date_to={today}").context["rows"]
    next_year = today.replace(year=today.year + 1)
    assert reader_client.get(f"{URL}?date_from={next_year}").context["rows"] == []


def test_junk_filters_are_field_errors_not_500(reader_client, story):
    response = reader_client.get(f"{URL}?actor=abc&date_from=2026-02-31&entity=nope&cursor=zz~1")
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert response.context["filterset"].errors


def test_others_get_403_and_visitors_the_login_page(client, manager, story):
    assert client.get(URL).status_code == 302
    client.force_login(manager)  # the manager role has no settings/view grant
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}?export=csv").status_code == 403
    assert client.get(f"{URL}?tab=denials").status_code == 403
    from svyaz.audit.models import AccessDenial

    assert AccessDenial.objects.filter(user=manager, entity="settings").count() == 3


def test_a_records_history_is_open_to_whoever_can_see_the_record(client, manager, outsider, story):
    deal = story["deal"]
    record = reverse("audit:record", args=["deal", deal.pk])
    client.force_login(manager)  # the owner
    response = client.get(record)
    assert response.status_code == 200 and response.context["rows"]
    assert f'href="{reverse("audit:list")}"' not in response.content.decode()  # not a reader
    client.force_login(outsider)  # another department
    assert client.get(record).status_code == 404
    # Not a business record of theirs to see (users, stages…): 404 too.
    assert client.get(reverse("audit:record", args=["user", manager.pk])).status_code == 404


def test_fields_hidden_by_the_readers_roles_are_left_out(client, manager, pipeline):
    from svyaz.accounts.models import Role
    from tests.factories import UserFactory

    role = Role.objects.create(
        code="amountless",
        name="Auditor without amounts",
        grants={"deals": {"view": "all"}, "settings": {"view": "all"}},
        field_rules={"deals": {"amount": "hidden"}},
    )
    client.force_login(UserFactory(roles=[role]))
    deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline, amount=Decimal(7))
    sales.deal_update(actor=manager, deal=deal, data={"amount": "9", "title": "Boiler 2"})
    sales.deal_line_add(actor=manager, deal=deal, name="Pump", price=Decimal("3"))
    for page in (f"{URL}?entity=deal", reverse("audit:record", args=["deal", deal.pk])):
        fields = {r["entry"].field for r in client.get(page).context["rows"]}
        assert "title" in fields and "amount" not in fields, page
    line_fields = {r["entry"].field for r in client.get(f"{URL}?entity=dealline").context["rows"]}
    assert "name" in line_fields and "price" not in line_fields  # a line's money is the amount
    body = b"".join(client.get(f"{URL}?entity=deal&export=csv").streaming_content).decode()
    assert "Boiler 2" in body and ",9.00" not in body and ",amount," not in body


def test_the_page_is_read_only(reader_client):
    assert reader_client.post(URL).status_code == 405


def test_query_count_is_the_same_for_1_and_50_rows(reader_client, manager, pipeline):
    def make(n):
        for i in range(n):
            with audit_source("page", actor=manager):
                contact = contact_create(actor=manager, first_name=f"C{i}")
                contact_update(actor=manager, contact=contact, data={"job_title": f"J{i}"})

    make(1)
    with CaptureQueriesContext(connection) as ctx:
        assert _rows(reader_client.get(f"{URL}?field=job_title")) == 1
    make(60)
    with CaptureQueriesContext(connection) as ctx2:
        assert _rows(reader_client.get(f"{URL}?field=job_title")) == 50
    assert len(ctx2.captured_queries) == len(ctx.captured_queries)
    assert not [q for q in ctx2.captured_queries if "COUNT(" in q["sql"] and "audit_" in q["sql"]]


def test_keyset_pages_cover_every_row_once(reader_client, manager):
    for i in range(120):
        with audit_source("page", actor=manager):
            contact_create(actor=manager, first_name=f"C{i}")
    seen = []
    response = reader_client.get(f"{URL}?field=first_name")
    while True:
        seen.extend(r["entry"].pk for r in response.context["rows"])
        page = response.context["page"]
        if not page.has_next:
            break
        cursor = quote(page.next_cursor)
        partial = reader_client.get(f"{URL}?field=first_name&cursor={cursor}", **HTMX)
        html = partial.content.decode()
        assert "<html" not in html and html.count('class="audit-row"') > 0  # the rows
        response = reader_client.get(f"{URL}?field=first_name&cursor={cursor}")
    expected = list(
        AuditEntry.objects.filter(field="first_name")
        .order_by("-at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected and len(seen) > 120  # the contacts and the users


def test_htmx_filtering_returns_the_results_partial(reader_client, story):
    response = reader_client.get(f"{URL}?field=stage", HTTP_HX_TARGET="audit-results", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="audit-results"' in html and "<html" not in html


def test_csv_export_of_the_filtered_rows(reader_client, story):
    response = reader_client.get(f"{URL}?field=stage&action=update&export=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["When", "Who", "Through", "Action"]
    assert len(rows) == 2
    assert rows[1][1] == "Anna Petrova" and rows[1][8:10] == ["New", "Won"]


def test_csv_neutralizes_formulas(reader_client, manager):
    with audit_source("page", actor=manager):
        contact_create(actor=manager, first_name="=HYPERLINK(1)")
    body = b"".join(
        reader_client.get(f"{URL}?field=first_name&export=csv").streaming_content
    ).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body


def test_one_records_history_also_after_purge(reader_client, story):
    contact = story["contact"]
    url = reverse("audit:record", args=["contact", contact.pk])
    response = reader_client.get(url)
    assert response.status_code == 200
    assert {r["entry"].object_id for r in response.context["rows"]} == {contact.pk}
    assert reverse("contacts:contact_detail", args=[contact.pk]) in response.content.decode()
    type(contact).all_objects.filter(pk=contact.pk).get().delete()
    response = reader_client.get(url)
    assert response.context["rows"][0]["entry"].action == "purge"
    assert reader_client.get(reverse("audit:record", args=["sales.deal", 1])).status_code == 200
    assert reader_client.get(reverse("audit:record", args=["nope", 1])).status_code == 404


def test_the_deal_card_links_audit_readers_to_its_history(client, admin, manager, story):
    deal = story["deal"]
    url = reverse("audit:record", args=["deal", deal.pk])
    card = reverse("sales:deal_detail", args=[deal.pk])
    client.force_login(manager)
    assert url not in client.get(card).content.decode()
    client.force_login(admin)
    assert url in client.get(card).content.decode()


def test_the_timeline_reads_who_then_what(manager_client, manager, pipeline):
    deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline, amount=Decimal(1))
    sales.deal_stage_change(actor=manager, deal=deal, stage=pipeline.stages.get(name="Negotiation"))
    sales.deal_stage_change(actor=manager, deal=deal, stage=pipeline.stages.get(name="Won"))
    html = manager_client.get(f"{reverse('core:timeline')}?deal={deal.pk}").content.decode()
    assert '<span class="timeline-actor">Anna Petrova</span>: stage: Negotiation → Won' in html


def test_the_denials_tab(reader_client, manager, outsider):
    log_denial(user=outsider, entity="deals", action="edit", obj_id=7, reason="scope")
    log_denial(user=manager, entity="contacts", action="delete", obj_id=8)
    response = reader_client.get(f"{URL}?tab=denials")
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="denial-row"') == 2
    assert "Gleb Orlov" in html
    response = reader_client.get(f"{URL}?tab=denials&user={outsider.pk}")
    assert [r["denial"].object_id for r in response.context["rows"]] == ["7"]
    assert response.context["rows"][0]["entity"] == "Deals"


def test_values_read_the_way_people_read_them(reader_client, manager, pipeline):
    with audit_source("page", actor=manager):
        deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline)
        sales.deal_stage_change(actor=manager, deal=deal, stage=pipeline.stages.get(name="Won"))
        sales.deal_update(actor=manager, deal=deal, data={"expected_close": "2026-12-24"})
    page = reader_client.get(f"{URL}?entity=deal&action=update")
    rows = {r["entry"].field: r for r in page.context["rows"]}
    assert "T" not in rows["closed_at"]["new"]  # a local date and time, not ISO 8601
    assert rows["expected_close"]["new"] == "12/24/2026"
    assert rows["stage"]["new"] == "Won" and rows["closed_at"]["field"] == "closed"
