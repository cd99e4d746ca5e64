"""Global search on PostgreSQL in one statement (core.search._pg_global_search, issue #6).

The one-statement path must return exactly what the ORM path (`orm_global_search`, one
query per group, the reference) returns: same groups, records, order, hints and links,
for every kind of user (scope, field rules) and every kind of input (names, phones in any
format, e-mails, INN, tax id, LIKE wildcards)."""

from __future__ import annotations

import copy

import pytest
from django.db import connection
from django.shortcuts import render
from django.test import RequestFactory
from django.urls import reverse

from svyaz.accounts.models import Role
from svyaz.accounts.roles import default_roles
from svyaz.contacts import selectors, services
from svyaz.contacts.models import Contact
from svyaz.core import search
from svyaz.core.search import global_search, orm_global_search
from svyaz.sales.models import Deal, Lead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL path")
URL = reverse("core:search")

QUERIES = [
    "иван",
    "ИВАН",
    "иван петров",
    "петров иван",
    "ив",
    "ов",
    "ов ив",
    "рябо",
    "ёлка",
    "o'brien",
    "100%",
    "%%",
    "__",
    "_петр",
    "a\\b",
    '"пушкин"',
    "a b c d e f g h",
    # phones: typed whole in any format, fragments, with the trunk prefix, foreign
    "8 (916) 123-45-67",
    "+7 916 1234567",
    "9161234567",
    "79161234567",
    "89161234567",
    "1234567",
    "234567",
    "4567",
    "916",
    "8 916 123",
    "123-45",
    "+44 20 7946 0958",
    "2079460958",
    "8 (903) 555-44-33",
    "²²²",
    "٣٣٣٣",
    # e-mails: whole with a long local part (probe), short local part, domain, fragments
    "ivan.petrov.sales@romashka.ru",
    "IVAN.PETROV.SALES@ROMASHKA.RU",
    "ivan.petrov.sales@",
    "ivan.petrov.sales@other.ru",
    "ivan@romashka.ru",
    "info@",
    "@romashka.ru",
    "romashka.ru",
    ".ru",
    "maria@romashka.ru",
    "иван.петров.продажи@ромашка.рф",
    # companies: INN, its prefix, tax id, legal name
    "7707083893",
    "770708",
    "7707 0838 93",
    "GB123456789",
    "gb123456789",
    "ромашка плюс",
    "ооо",
    # deals and leads
    "поставка",
    "ОБОРУДОВАН",
    "запрос с сайта",
    "мария",
    "несуществующее",
]


@pytest.fixture
def hiding_role(db):
    """The shipped administrator's grants (everything), with the contact's job title and
    the company's INN hidden."""
    base = next(r for r in default_roles() if r["code"] == "administrator")
    role = Role(
        code="hides_hints",
        name="Everything without hints",
        grants=copy.deepcopy(base["grants"]),
        field_rules={"contacts": {"job_title": "hidden"}, "companies": {"inn": "hidden"}},
    )
    role.full_clean()
    role.save()
    return role


@pytest.fixture
def users(manager, teammate, head, outsider, admin, hiding_role, sales_dept):
    return {
        "manager": manager,
        "teammate": teammate,
        "head": head,
        "outsider": outsider,
        "admin": admin,
        "hider": UserFactory(username="hider", department=sales_dept, roles=[hiding_role]),
        "marketer": UserFactory(username="marketer", department=sales_dept, roles=["marketer"]),
        "nobody": UserFactory(username="nobody", department=sales_dept, roles=[]),
    }


@pytest.fixture
def dataset(users, pipeline):
    manager, teammate, outsider, admin = (
        users[k] for k in ("manager", "teammate", "outsider", "admin")
    )
    owners = [manager, teammate, outsider]
    people = [
        ("Иван", "Петров", "+79161234567", "ivan.petrov.sales@romashka.ru"),
        ("ИВАН", "Рябова", "+74951234567", "ivan.petrov.sales@other.ru"),  # same tail, local
        ("Ёлка", "Ёжикова", "+79031112233", "x.ivan.petrov.sales@romashka.ru"),
        ("John", "O'Brien", "+442079460958", "ivan@romashka.ru"),
        ("Анна", "100% Иванова_Петрова", "+79161234500", "info@romashka.ru"),
        ("Мария", 'Кафе "Пушкин"', "+79269161234", "maria@romashka.ru"),
        ("A\\B", "Slash", "+79160001122", "slash@example.com"),
    ]
    contacts = []
    for i, (first, last, phone, email) in enumerate(people):
        contacts.append(
            services.contact_create(
                actor=admin,
                owner=owners[i % 3],
                first_name=first,
                last_name=last,
                phones=[phone],
                emails=[email],
                job_title=f"Должность {i}",
            )
        )
    for i in range(7):  # more than 5 matches for "иван": the LIMIT and the order matter
        services.contact_create(
            actor=admin, owner=owners[i % 2], first_name=f"Иван{i}", last_name=f"Сидоров{7 - i}"
        )
    services.company_create(
        actor=manager,
        name="Ромашка",
        legal_name='ООО "Ромашка Плюс"',
        inn="7707083893",
        emails=["info@romashka.ru"],
        phones=["+44 20 7946 0958"],
    )
    services.company_create(actor=manager, name="Иванов и сыновья", tax_id="GB123456789")
    services.company_create(
        actor=admin, owner=outsider, name="Сёмин и партнёры", phones=["+7 916 123-45-67"]
    )
    stage = pipeline.stages.first()
    for i, title in enumerate(("Поставка ОБОРУДОВАНИЯ", "Ремонт Иванова", 'Сделка "Пушкин" 100%')):
        Deal.objects.create(
            title=title,
            pipeline=pipeline,
            stage=stage,
            owner=owners[i % 3],
            department=owners[i % 3].department,
        )
    Lead.objects.create(
        title="Запрос с сайта",
        first_name="Мария",
        last_name="Сёмина",
        company_name="Ромашка",
        company_inn="7707083893",
        email="maria@romashka.ru",
        phone="8 (903) 555-44-33",
        owner=manager,
        department=manager.department,
    )
    Lead.objects.create(title="Звонок", first_name="Иван", phone="+7 916 123 45 67", owner=manager)
    Lead.objects.create(title="Иван без фамилии", owner=outsider, department=outsider.department)
    # Soft-deleted: never in the results.
    gone = services.contact_create(actor=manager, first_name="Иван", last_name="Удалённый")
    Contact.all_objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    return contacts


def _groups(found):
    return [(g.key, str(g.title), g.results) for g in found]


@postgres_only
@pytest.mark.parametrize("limit", [5, 10_000])
def test_it_returns_exactly_what_the_orm_path_returns(dataset, users, limit):
    compared = 0
    for name, user in users.items():
        for q in QUERIES:
            fast = search._pg_global_search(user, q.strip(), limit)
            assert fast is not None, (name, q)  # the one-statement path ran
            assert _groups(fast) == _groups(orm_global_search(user=user, q=q, limit=limit)), (
                name,
                q,
            )
            compared += 1
    assert compared == len(users) * len(QUERIES)


@postgres_only
def test_the_comparison_means_something(dataset, users):
    """The inputs above do find things, in several groups, and scope and field rules show."""

    def titles(user, q):
        return {g.key: [r["title"] for r in g.results] for g in global_search(user=user, q=q)}

    admin, hider = users["admin"], users["hider"]
    assert len(titles(admin, "иван")["contacts"]) == 5
    assert titles(admin, "8 (916) 123-45-67") == {
        "contacts": ["Петров Иван"],
        "companies": ["Сёмин и партнёры"],
        "leads": ["Звонок"],
    }
    # the probe ("ivan.petrov.sales@") finds 3 addresses; the whole text keeps 2
    found = titles(admin, "ivan.petrov.sales@romashka.ru")["contacts"]
    assert sorted(found) == ["Ёжикова Ёлка", "Петров Иван"]
    assert titles(admin, "gb123456789") == {"companies": ["Иванов и сыновья"]}
    assert titles(users["nobody"], "иван") == {}
    assert "Сёмин и партнёры" not in titles(users["manager"], "сёмин").get("companies", [])
    hints = {g.key: [r["hint"] for r in g.results] for g in global_search(user=hider, q="ромашка")}
    assert hints == {"companies": [""], "leads": ["Сёмина Мария"]}
    assert [r["hint"] for r in global_search(user=hider, q="петров иван")[0].results] == ["", ""]
    assert [r["hint"] for r in global_search(user=admin, q="петров иван")[0].results] == [
        "Должность 4",
        "Должность 0",
    ]
    assert global_search(user=users["manager"], q="ромашка")[0].results[0]["hint"] == "7707083893"


def test_the_page_is_the_same_as_rendered_from_the_orm_path(dataset, users, client):
    """The view renders without the request's context processors: same HTML."""
    for name in ("manager", "admin", "hider"):
        user = users[name]
        client.force_login(user)
        for q in ("иван", "8 (916) 123-45-67", "ivan.petrov.sales@romashka.ru", "ромашка", "zzz"):
            html = client.get(URL, {"q": q}, headers={"HX-Request": "true"}).content.decode()
            request = RequestFactory().get(URL, {"q": q})
            request.user = user
            expected = render(
                request,
                "core/search_results.html",
                {"q": q, "groups": orm_global_search(user=user, q=q)},
            ).content.decode()
            assert html == expected, (name, q)


def test_it_runs_one_query_for_the_four_groups_on_postgresql(
    dataset, manager_client, django_assert_num_queries
):
    # session, user, the user's roles; then one statement (PostgreSQL) or one query per
    # group (SQLite with its FTS5 candidates). No unread-notifications count.
    expected = 4 if connection.vendor == "postgresql" else 7
    for q in ("иван", "8 (916) 123-45-67", "ivan@romashka.ru", "7707083893"):
        with django_assert_num_queries(expected):
            manager_client.get(URL, {"q": q})


def test_it_falls_back_to_the_orm_path_when_a_scope_needs_a_join(dataset, manager, monkeypatch):
    expected = _groups(orm_global_search(user=manager, q="иван"))
    monkeypatch.setattr(
        selectors,
        "contact_list",
        lambda *, user: Contact.objects.filter(owner__username=user.username),
    )
    assert search._pg_global_search(manager, "иван", 5) is None
    assert _groups(global_search(user=manager, q="иван")) == expected


def test_sqlite_keeps_the_orm_path(dataset, manager):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite path")
    assert search._pg_global_search(manager, "иван", 5) is None
    assert _groups(global_search(user=manager, q="иван")) == _groups(
        orm_global_search(user=manager, q="иван")
    )


def test_the_phone_probe_is_a_shared_tail_of_every_key():
    like = connection.ops.prep_for_like_query
    probe = search._phone_cte("8 (916) 123-45-67", like)
    assert probe.params == ["%1234567%", "79161234567", "89161234567"]
    assert "strpos" in probe.sql
    # a short fragment is its own probe: plain LIKEs, as phone_owner_ids
    short = search._phone_cte("4567", like)
    assert short.params == ["%4567%"] and "strpos" not in short.sql
    assert search._phone_cte("иван", like) is None
    assert search._phone_cte("12", like) is None
    assert search._common_suffix(["79161234567", "89161234567"]) == "9161234567"
    assert search._common_suffix(["123", "124"]) == ""


def test_the_email_probe_is_a_long_local_part():
    like = connection.ops.prep_for_like_query
    probe = search._email_cte("ivan.petrov.sales@romashka.ru", like)
    assert probe.params == ["%ivan.petrov.sales@%", "ivan.petrov.sales@romashka.ru"]
    whole = search._email_cte("ivan@romashka.ru", like)  # short local part: the whole text
    assert whole.params == ["%ivan@romashka.ru%"]
    assert search._email_cte("100%_x.ru", like).params == ["%100\\%\\_x.ru%"]
    assert search._email_cte("иван", like) is None
    # a non-ASCII local part: the whole text (UPPER is not always letter by letter)
    assert search._email_cte("иван.петров.продажи@x.ru", like).params == [
        "%иван.петров.продажи@x.ru%"
    ]
