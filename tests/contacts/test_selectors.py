from __future__ import annotations

import pytest

from svyaz.contacts import selectors

pytestmark = pytest.mark.django_db


def test_it_shows_an_outsider_nothing(manager, outsider, make_contact, make_company):
    make_contact()
    make_company()
    assert selectors.contact_list(user=outsider).count() == 0
    assert selectors.company_list(user=outsider).count() == 0


def test_it_shows_the_head_the_whole_department(manager, teammate, head, outsider, make_contact):
    mine = make_contact(actor=manager)
    theirs = make_contact(actor=teammate, first_name="Boris")
    make_contact(actor=outsider, first_name="Gleb")
    assert set(selectors.contact_list(user=head)) == {mine, theirs}
    assert list(selectors.contact_list(user=teammate)) == [theirs]


def test_it_hides_soft_deleted_records(manager, make_contact):
    contact = make_contact()
    contact.deleted_at = contact.created_at
    contact.save()
    assert selectors.contact_list(user=manager).count() == 0


def test_it_searches_names_case_insensitively_in_cyrillic(manager, make_contact):
    contact = make_contact(first_name="Иван", last_name="Петров")
    qs = selectors.contact_list(user=manager)
    for q in ("иван", "ИВАН", "петров иван", "Иван Петров", "етро"):
        assert list(selectors.contact_search(qs, q)) == [contact], q
    assert list(selectors.contact_search(qs, "сидоров")) == []


@pytest.mark.parametrize(
    "typed", ["8 (916) 123-45-67", "+7 916 1234567", "9161234567", "123-45-67"]
)
def test_it_finds_a_contact_by_phone_in_any_format(manager, make_contact, typed):
    contact = make_contact(phones=["+79161234567"])
    make_contact(first_name="Other", phones=["+74950000000"])
    assert list(selectors.contact_search(selectors.contact_list(user=manager), typed)) == [contact]


def test_it_finds_a_company_by_inn_email_and_name(manager, make_company):
    company = make_company(name="Ромашка", inn="7707083893", emails=["info@romashka.ru"])
    qs = selectors.company_list(user=manager)
    assert list(selectors.company_search(qs, "7707083893")) == [company]
    assert list(selectors.company_search(qs, "info@romashka")) == [company]
    assert list(selectors.company_search(qs, "РОМАШ")) == [company]


def test_it_raises_404_for_an_out_of_scope_card(outsider, make_contact):
    from svyaz.core.errors import NotFound  # a 404 on pages and in the API

    contact = make_contact()
    with pytest.raises(NotFound):
        selectors.contact_get(user=outsider, pk=contact.pk)
