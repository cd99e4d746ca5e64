"""The contact and company list pages read their rows as values (ListSpec.page_values:
light rows, no model instances) and the rows' phones, e-mails, cities, tags and
companies in one UNION ALL query (issue #6). Every cell must be what the model instance
and its relations give, in both languages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation

from svyaz.contacts import selectors
from svyaz.contacts.lists import company_list_spec, contact_list_spec
from svyaz.contacts.models import ClientSummary, Company, Contact, ContactCompany, LifecycleStatus
from svyaz.core.lists import UserRow
from svyaz.core.models import CustomField
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LIST = reverse("contacts:contact_list")
COMPANIES = reverse("contacts:company_list")


def page_cells(response) -> dict:
    """{pk: {column key: cell}} of a list page."""
    keys = [c.key for c in response.context["columns"]]
    return {obj.pk: dict(zip(keys, cells, strict=True)) for obj, cells in response.context["rows"]}


def instance_cells(spec, obj, columns) -> dict:
    """The cells the model instance gives through its relations (no load_rows)."""
    return {c.key: c.cell(obj) for c in columns}


def instance(user, obj):
    """The record with the relations the list's selector prefetches (and their order)."""
    rows = selectors.contact_list_rows if isinstance(obj, Contact) else selectors.company_list_rows
    return rows(user=user).get(pk=obj.pk)


@pytest.fixture
def segment(db):
    return CustomField.objects.create(
        entity="contact", code="segment", label="Segment", field_type="choice",
        choices=["A", "B"], show_in_list=True,
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_contact_rows_cells_are_the_instances_cells(
    client, admin, manager, make_contact, make_company, segment, language
):
    kept = make_company(name="Альфа")
    with_everything = make_contact(
        first_name="Анна",
        phones=["+79161234567", "+74951112233"],
        emails=["b@example.com", "a@example.com"],
        company=kept,
        tags="zeta, alpha",
        addresses=[{"city": ""}, {"city": "Тверь"}, {"city": "Тула"}],
        custom={"segment": "B"},
    )
    ClientSummary.objects.create(
        contact=with_everything,
        status=LifecycleStatus.REPEAT,
        orders_count=12345,
        revenue=Decimal("1234567.50"),
        last_purchase_at=timezone.now(),
    )
    bare = make_contact(first_name="Борис")  # no summary: a lead, no relations, no owner
    Contact.objects.filter(pk=bare.pk).update(owner=None)
    admin.language = language
    admin.save(update_fields=["language"])
    client.force_login(admin)  # sees records without an owner too
    response = client.get(LIST)
    cells = page_cells(response)
    columns = response.context["columns"]
    with translation.override(language):
        for contact in (with_everything, bare):
            fresh = instance(admin, contact)
            assert cells[contact.pk] == instance_cells(contact_list_spec, fresh, columns)
    assert cells[bare.pk]["owner"] == "" and cells[bare.pk]["purchases"] == ""
    assert cells[with_everything.pk]["city"] == "Тверь"
    assert cells[with_everything.pk]["tags"] == "alpha, zeta"
    assert cells[with_everything.pk]["owner"] == str(manager)


def test_a_deleted_company_is_left_out_and_the_primary_comes_first(
    manager, manager_client, make_contact, make_company
):
    first, second, gone = (make_company(name=n) for n in ("Первая", "Вторая", "Удалённая"))
    contact = make_contact(company=second)
    ContactCompany.objects.create(contact=contact, company=first)
    ContactCompany.objects.create(contact=contact, company=gone)
    Company.all_objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    ContactCompany.objects.filter(contact=contact).update(is_primary=False)
    ContactCompany.objects.filter(contact=contact, company=first).update(is_primary=True)
    cells = page_cells(manager_client.get(LIST))[contact.pk]
    assert cells["company"] == "Первая, Вторая"
    fresh = instance(manager, contact)
    company_column = next(c for c in contact_list_spec.columns if c.key == "company")
    assert company_column.cell(fresh) == cells["company"]


def test_a_company_rows_cells_are_the_instances_cells(manager, manager_client, make_company):
    company = make_company(
        name="Бета",
        inn="7707083893",
        phones=["+74951112233"],
        emails=["info@beta.example"],
        tags="опт",
        addresses=[{"city": "Казань"}],
    )
    ClientSummary.objects.create(company=company, status=LifecycleStatus.CUSTOMER, orders_count=2)
    plain = make_company(name="Гамма", tax_id="DE123")
    response = manager_client.get(COMPANIES)
    cells = page_cells(response)
    columns = response.context["columns"]
    for obj in (company, plain):
        fresh = instance(manager, obj)
        assert cells[obj.pk] == instance_cells(company_list_spec, fresh, columns)
    assert cells[plain.pk]["inn"] == "DE123"
    rows = {obj.pk: obj for obj, _cells in response.context["rows"]}
    assert rows[company.pk].name == "Бета" and not hasattr(rows[company.pk], "full_name")


def test_the_rows_are_read_in_a_fixed_number_of_queries(
    manager_client, make_contact, make_company, django_assert_num_queries
):
    company = make_company()
    make_contact(phones=["+79161234567"], emails=["a@example.com"], company=company, tags="a")
    manager_client.get(LIST)
    with django_assert_num_queries(10) as one:
        manager_client.get(LIST)
    relation_reads = [q for q in one.captured_queries if "UNION ALL" in q["sql"]]
    assert len(relation_reads) == 1  # phones, e-mails, cities, tags, companies at once
    for i in range(20):
        make_contact(first_name=f"N{i}", phones=[f"+7916000{i:04d}"], company=company, tags="b")
    with django_assert_num_queries(10):
        manager_client.get(LIST)


def test_hidden_columns_read_no_relations(client, sales_dept, make_contact):
    from svyaz.accounts.models import Role
    from svyaz.accounts.roles import default_roles

    grants = next(r for r in default_roles() if r["code"] == "manager")["grants"]
    role = Role.objects.create(
        code="no_mail",
        name="No e-mail",
        grants=grants,
        field_rules={"contacts": {"emails": "hidden"}, "orders": {"amount": "hidden"}},
    )
    seller = UserFactory(username="seller", department=sales_dept, roles=[role])
    make_contact(actor=seller, emails=["secret@example.com"], phones=["+79161234567"])
    client.force_login(seller)
    response = client.get(LIST)
    keys = [c.key for c in response.context["columns"]]
    assert "email" not in keys and "revenue" not in keys and "phones" in keys
    assert "secret@example.com" not in response.content.decode()


def test_dates_and_statuses_follow_the_language(client, manager, make_contact):
    contact = make_contact()
    moment = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # 1 April in Moscow
    Contact.objects.filter(pk=contact.pk).update(created_at=moment)
    ClientSummary.objects.create(contact=contact, status=LifecycleStatus.INACTIVE)
    client.force_login(manager)
    seen = {}
    for language in ("en", "ru", "en"):
        manager.language = language
        manager.save(update_fields=["language"])
        cells = page_cells(client.get(LIST))[contact.pk]
        with translation.override(language):
            assert cells["created"] == formats.date_format(
                timezone.localtime(moment), "SHORT_DATE_FORMAT"
            )
            assert cells["status"] == str(LifecycleStatus.INACTIVE.label)
        seen[language] = (cells["created"], cells["status"])
    assert seen["en"] != seen["ru"]


def test_a_date_cell_is_the_date_of_a_plain_date(make_contact):
    from svyaz.contacts.lists import _date

    with translation.override("ru"):
        assert _date(date(2024, 2, 29)) == "29.02.2024"
    with translation.override("en"):
        assert _date(date(2024, 2, 29)) == formats.date_format(
            date(2024, 2, 29), "SHORT_DATE_FORMAT"
        )
    assert _date(None) == ""


@pytest.mark.parametrize(
    ("first", "last", "username"),
    [("Анна", "Петрова", "anna"), ("", "", "nobody"), ("Solo", "", "solo"), ("", "Last", "l")],
)
def test_a_user_row_is_named_as_the_user(db, first, last, username):
    user = UserFactory(username=username, first_name=first, last_name=last)
    row = UserRow(user.pk, first, last, username)
    assert str(row) == str(user)
    assert row.instance().pk == user.pk and str(row.instance()) == str(user)
