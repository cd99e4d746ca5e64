"""The generic list machinery (core/lists.py) as contacts and companies use it:
bulk actions, saved views, CSV export, pagination helpers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from svyaz.contacts.models import Company, Contact
from svyaz.core.lists import REGISTRY, neutralize, paginate
from svyaz.core.models import SavedView, TimelineEntry

pytestmark = pytest.mark.django_db
LIST = reverse("contacts:contact_list")


def bulk(client, entity, **data):
    return client.post(reverse("core:bulk", args=[entity]), {"next": LIST, **data})


def test_it_registers_both_specs():
    assert {"contact", "company"} <= set(REGISTRY)


def test_it_assigns_an_owner_only_to_records_in_scope(
    manager_client, manager, teammate, outsider, make_contact
):
    mine = make_contact()
    foreign = make_contact(actor=outsider, first_name="Чужой")
    response = bulk(
        manager_client,
        "contact",
        action="assign_owner",
        value=teammate.pk,
        ids=[mine.pk, foreign.pk],
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert mine.owner == teammate and mine.department == teammate.department
    assert foreign.owner == outsider
    assert TimelineEntry.objects.filter(contact=mine, title__startswith="Owner").count() == 1


def test_it_adds_a_tag_in_bulk(manager_client, outsider, make_contact):
    mine = make_contact()
    foreign = make_contact(actor=outsider)
    bulk(manager_client, "contact", action="add_tag", value="VIP", ids=[mine.pk, foreign.pk])
    assert list(mine.tags.values_list("name", flat=True)) == ["VIP"]
    assert not foreign.tags.exists()


def test_it_soft_deletes_in_bulk(manager_client, outsider, make_company):
    mine = make_company()
    foreign = make_company(actor=outsider)
    bulk(manager_client, "company", action="delete", ids=[mine.pk, foreign.pk])
    assert list(Company.objects.all()) == [foreign]
    assert Company.all_objects.get(pk=mine.pk).deleted_at is not None


def test_it_rejects_unknown_bulk_input(manager_client, make_contact):
    contact = make_contact()
    assert bulk(manager_client, "contact", action="explode", ids=[contact.pk]).status_code == 400
    assert bulk(manager_client, "nothing", action="delete", ids=[contact.pk]).status_code == 404
    response = bulk(manager_client, "contact", action="assign_owner", value="", ids=[contact.pk])
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.deleted_at is None
    assert manager_client.get(reverse("core:bulk", args=["contact"])).status_code == 405


def test_it_saves_and_deletes_a_view(manager_client, manager, outsider):
    url = reverse("core:saved_view_create", args=["contact"])
    manager_client.post(url, {"name": "VIP в Москве", "query": "tag=1&city=Москва", "next": LIST})
    view = SavedView.objects.get()
    assert (view.user, view.entity, view.query) == (manager, "contact", "tag=1&city=Москва")
    assert "VIP в Москве" in manager_client.get(LIST).content.decode()
    manager_client.post(url, {"name": "", "query": "x"})
    assert SavedView.objects.count() == 1
    assert (
        manager_client.post(
            reverse("core:saved_view_create", args=["nope"]), {"name": "x"}
        ).status_code
        == 404
    )
    manager_client.post(reverse("core:saved_view_delete", args=[view.pk]))
    assert SavedView.objects.count() == 0


def test_it_does_not_delete_another_users_view(client, manager, outsider):
    view = SavedView.objects.create(user=manager, entity="contact", name="Mine", query="")
    client.force_login(outsider)
    assert client.post(reverse("core:saved_view_delete", args=[view.pk])).status_code == 404


def test_it_exports_the_current_view_as_csv_with_formulas_neutralized(
    manager_client, outsider, make_contact
):
    make_contact(first_name="=cmd", last_name="", phones=["+79161234567"])
    make_contact(first_name="Обычный", last_name="Клиент")
    make_contact(actor=outsider, first_name="Чужой")
    response = manager_client.get(LIST, {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Name,Company,Phones")
    assert any(line.startswith("'=cmd,") for line in lines)
    assert "Клиент Обычный" in body and "Чужой" not in body
    filtered = b"".join(
        manager_client.get(LIST, {"export": "csv", "q": "обычный"}).streaming_content
    ).decode()
    assert "=cmd" not in filtered and "Клиент Обычный" in filtered


@pytest.mark.parametrize(
    ("value", "out"),
    [("=1+1", "'=1+1"), ("+7", "'+7"), ("-x", "'-x"), ("@a", "'@a"), ("ok", "ok"), (None, "")],
)
def test_it_neutralizes_formula_cells(value, out):
    assert neutralize(value) == out


def test_it_paginates_with_a_cap(manager, make_contact, settings):
    settings.SVYAZ_COUNT_CAP = 2
    for i in range(4):
        make_contact(first_name=f"N{i}")
    page = paginate(Contact.objects.all(), "1", page_size=3)
    assert page.has_next and page.count == 2 and page.count_capped
    page = paginate(Contact.objects.all(), "bad", page_size=3)
    assert page.number == 1
    last = paginate(Contact.objects.all(), "2", page_size=3)
    assert (last.start, last.end, last.has_next, last.has_previous) == (4, 4, False, True)
