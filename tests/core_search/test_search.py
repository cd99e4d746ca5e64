from __future__ import annotations

import pytest
from django.urls import reverse

from svyaz.core.search import global_search
from svyaz.sales.models import Deal, Lead

pytestmark = pytest.mark.django_db
URL = reverse("core:search")


def groups(user, q) -> dict[str, list[str]]:
    return {g.key: [r["title"] for r in g.results] for g in global_search(user=user, q=q)}


@pytest.mark.parametrize("typed", ["8 (916) 123-45-67", "+7 916 1234567", "9161234567"])
def test_it_finds_a_contact_by_phone_in_any_format(manager_client, make_contact, typed):
    contact = make_contact(phones=["+79161234567"])
    response = manager_client.get(URL, {"q": typed}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("contacts:contact_detail", args=[contact.pk]) in html
    assert "<nav" not in html  # a partial for #search-results


@pytest.mark.parametrize("typed", ["иван", "ИВАН", "Петров", "пЕТРОВ ив"])
def test_it_finds_cyrillic_names_case_insensitively(manager, make_contact, typed):
    make_contact(first_name="Иван", last_name="Петров")
    assert groups(manager, typed) == {"contacts": ["Петров Иван"]}


def test_it_finds_companies_by_inn_and_email(manager, make_company, make_contact):
    make_company(name="Ромашка", inn="7707083893", emails=["info@romashka.ru"])
    make_contact(emails=["ivan@romashka.ru"])
    assert groups(manager, "7707083893") == {"companies": ["Ромашка"]}
    assert groups(manager, "romashka.ru") == {"contacts": ["Петров Иван"], "companies": ["Ромашка"]}


def test_it_finds_deals_and_leads(manager, pipeline):
    stage = pipeline.stages.first()
    Deal.objects.create(
        title="Поставка ОБОРУДОВАНИЯ",
        pipeline=pipeline,
        stage=stage,
        owner=manager,
        department=manager.department,
    )
    Lead.objects.create(
        title="Запрос с сайта",
        first_name="Мария",
        phone="8 (903) 555-44-33",
        owner=manager,
        department=manager.department,
    )
    assert groups(manager, "оборудования") == {"deals": ["Поставка ОБОРУДОВАНИЯ"]}
    assert groups(manager, "мария") == {"leads": ["Запрос с сайта"]}
    assert groups(manager, "+7 903 555 44 33") == {"leads": ["Запрос с сайта"]}


def test_it_groups_at_most_five_per_entity(manager, make_contact):
    for i in range(7):
        make_contact(first_name=f"Анна{i}")
    assert len(groups(manager, "анна")["contacts"]) == 5


def test_it_shows_only_records_in_scope(manager, outsider, make_contact, make_company, pipeline):
    make_contact(phones=["+79161234567"])
    make_company(name="Ромашка")
    Deal.objects.create(
        title="Ромашка сделка", pipeline=pipeline, stage=pipeline.stages.first(), owner=manager
    )
    assert groups(outsider, "ромашка") == {}
    assert groups(outsider, "9161234567") == {}


def test_it_says_nothing_found_and_ignores_one_letter(manager_client, make_contact):
    make_contact()
    assert "Nothing found" in manager_client.get(URL, {"q": "zzz"}).content.decode()
    assert manager_client.get(URL, {"q": "и"}).content.decode().strip() == ""


def test_it_needs_a_login(client):
    assert client.get(URL, {"q": "abc"}).status_code == 302


def test_it_runs_a_fixed_number_of_queries(
    manager_client, make_contact, django_assert_max_num_queries
):
    from django.db import connection

    for i in range(10):
        make_contact(first_name=f"Анна{i}")
    # session, user, roles; then one statement for the four groups on PostgreSQL, one
    # query per group elsewhere
    with django_assert_max_num_queries(4 if connection.vendor == "postgresql" else 7):
        manager_client.get(URL, {"q": "анна"})


def test_it_finds_a_phone_fragment_typed_with_the_trunk_prefix(manager, make_contact):
    make_contact(phones=["+79161234567"])
    assert groups(manager, "8 916 123") == {"contacts": ["Петров Иван"]}
