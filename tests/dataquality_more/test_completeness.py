from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from svyaz.contacts import selectors
from svyaz.contacts import services as contact_services
from svyaz.dataquality.completeness import (
    CONTACT,
    entity_completeness,
    record_completeness,
)
from svyaz.sales import services as sales_services


def _full_contact(actor, company=None, **extra):
    company = company or contact_services.company_create(actor=actor, name="Ромашка")
    return contact_services.contact_create(
        actor=actor,
        first_name="Иван",
        last_name="Иванов",
        phones=["+79161234567"],
        emails=["ivan@example.com"],
        company=company,
        job_title="Директор",
        addresses=[{"city": "Москва"}],
        source="website",
        **extra,
    )


def test_a_complete_contact_scores_100_and_a_bare_one_lists_what_is_missing(manager):
    full = _full_contact(manager)
    assert record_completeness(full) == {
        "score": 100,
        "missing": [],
        "facets": [
            {"key": f.key, "label": f.label, "weight": f.weight, "filled": True} for f in CONTACT
        ],
    }
    bare = contact_services.contact_create(actor=manager, first_name="Пётр")
    result = record_completeness(bare)
    assert result["score"] == round(100 * 1 / 14)  # only the owner (weight 1 of 14)
    assert [str(m) for m in result["missing"]] == [
        "First and last name",
        "Phone",
        "Email",
        "Company",
        "Job title",
        "City or address",
        "Source",
    ]


def test_the_card_shows_the_badge_without_extra_queries(
    manager_client, manager, django_assert_num_queries
):
    contact = _full_contact(manager)
    loaded = selectors.contact_get(user=manager, pk=contact.pk)
    with django_assert_num_queries(0):  # the card's prefetched relations are enough
        assert record_completeness(loaded)["score"] == 100
    page = manager_client.get(reverse("contacts:contact_detail", args=[contact.pk]))
    html = page.content.decode()
    assert 'id="completeness" data-score="100"' in html and "completeness-missing" not in html

    company = contact.companies.get()
    html = manager_client.get(reverse("contacts:company_detail", args=[company.pk])).content
    html = html.decode()
    assert 'id="completeness"' in html and "Missing" in html and "INN" in html


def _base_rows(manager, outsider, n: int) -> None:
    company = contact_services.company_create(actor=manager, name="Ромашка", inn="7707083893")
    for i in range(n):
        _full_contact(manager, company=company)
        contact_services.contact_create(actor=manager, first_name=f"Голый{i}")
        sales_services.lead_create(actor=manager, title=f"Лид {i}", email=f"l{i}@example.com")
    contact_services.contact_create(actor=outsider, first_name="Чужой")  # not counted


def test_base_figures_match_the_records_and_respect_scope(manager, outsider):
    _base_rows(manager, outsider, 2)
    contacts = entity_completeness(manager, "contact")
    assert contacts["total"] == 4
    missing = {f["key"]: f["missing"] for f in contacts["fields"]}
    assert missing == {
        "name": 2,
        "phone": 2,
        "email": 2,
        "company": 2,
        "job_title": 2,
        "address": 2,
        "source": 2,
        "owner": 0,
    }
    scores = [
        record_completeness(c)["score"] for c in selectors.contact_list(user=manager)
    ]  # 100, 100, 7, 7 — exact mean 53.57
    assert abs(contacts["average"] - sum(scores) / len(scores)) < 0.5
    leads = entity_completeness(manager, "lead")
    assert leads["total"] == 2 and {f["key"]: f["missing"] for f in leads["fields"]}["email"] == 0
    companies = entity_completeness(manager, "company")
    assert companies["total"] == 1
    assert {f["key"]: f["missing"] for f in companies["fields"]}["contacts"] == 0


def _page_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dataquality:quality"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_quality_page_costs_one_query_per_entity_whatever_the_size(
    manager_client, manager, outsider
):
    _base_rows(manager, outsider, 1)
    _page_queries(manager_client)  # warm the session
    small, html = _page_queries(manager_client)
    assert 'data-entity="contact"' in html and 'data-entity="lead"' in html
    assert 'data-field="phone"><td>Phone</td><td class="text-end" data-missing="1"' in html
    _base_rows(manager, outsider, 5)
    with CaptureQueriesContext(connection) as ctx:
        html = manager_client.get(reverse("dataquality:quality")).content.decode()
    assert len(ctx.captured_queries) == small
    assert 'data-field="phone"><td>Phone</td><td class="text-end" data-missing="6"' in html
    aggregates = [q for q in ctx.captured_queries if 'AS "total"' in q["sql"]]
    assert len(aggregates) == 3  # contacts, companies, leads: one query each


def test_the_quality_api(api_client, manager, outsider):
    _base_rows(manager, outsider, 1)
    data = api_client.get("/api/v1/quality/").json()
    by_entity = {e["entity"]: e for e in data["entities"]}
    assert set(by_entity) == {"contact", "company", "lead"}
    assert by_entity["contact"]["total"] == 2
    phone = next(f for f in by_entity["contact"]["fields"] if f["key"] == "phone")
    assert phone == {
        "key": "phone",
        "label": "Phone",
        "weight": 3,
        "missing": 1,
        "missing_percent": 50.0,
    }


def test_an_empty_base_has_no_average(manager_client):
    _count, html = _page_queries(manager_client)
    assert "No records yet." in html


def test_the_figures_are_cached_per_scope_and_recounted_on_demand(
    manager_client, manager, outsider, settings
):
    from django.core.cache import cache

    settings.SVYAZ_COMPLETENESS_CACHE_SECONDS = 300
    cache.clear()
    _base_rows(manager, outsider, 1)
    first = entity_completeness(manager, "contact")
    assert first["total"] == 2
    assert entity_completeness(outsider, "contact")["total"] == 1  # another scope, own key
    contact_services.contact_create(actor=manager, first_name="Новый")
    with CaptureQueriesContext(connection) as ctx:
        again = entity_completeness(manager, "contact")
    assert again["total"] == 2 and again["computed_at"] == first["computed_at"]
    assert not [q for q in ctx.captured_queries if 'AS "total"' in q["sql"]]
    html = manager_client.get(reverse("dataquality:quality") + "?refresh=1").content.decode()
    assert 'id="quality-as-of"' in html
    assert entity_completeness(manager, "contact")["total"] == 3
    cache.clear()
