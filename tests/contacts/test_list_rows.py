"""The list page's rows come from ListSpec.load_rows (flat values() queries) and are
rendered by core.lists.rows_html (issue #6, round 2 of speed work): the same cells as the
records' relations give, escaped, and the CSV export the same through its chunks."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from svyaz.contacts.lists import contact_list_spec
from svyaz.contacts.models import Contact

pytestmark = pytest.mark.django_db
LIST = reverse("contacts:contact_list")


def _cells(response, contact) -> dict:
    columns = [c.key for c in response.context["columns"]]
    for obj, cells in response.context["rows"]:
        if obj.pk == contact.pk:
            return dict(zip(columns, cells, strict=True))
    raise AssertionError("contact not listed")


def test_the_rows_show_what_the_relations_hold(manager_client, make_contact, make_company):
    kept = make_company(name="Alpha")
    gone = make_company(name="Gone")
    contact = make_contact(
        phones=["+79161234567", "+79031112233"],
        emails=["b@example.com", "a@example.com"],
        company=kept,
        tags="zeta, alpha",
        addresses=[{"city": ""}, {"city": "Тверь"}],
    )
    from svyaz.contacts.models import ContactCompany

    ContactCompany.objects.create(contact=contact, company=gone)
    gone.deleted_at = timezone.now()
    gone.save(update_fields=["deleted_at"])

    response = manager_client.get(LIST)
    cells = _cells(response, contact)
    fresh = Contact.objects.get(pk=contact.pk)  # the same columns through the relations
    for column in contact_list_spec.columns:
        if column.key != "name":
            assert cells[column.key] == column.cell(fresh), column.key
    assert cells["company"] == "Alpha"  # a deleted company is left out
    assert cells["tags"] == "alpha, zeta"
    assert cells["city"] == "Тверь"
    assert f'href="/clients/contacts/{contact.pk}/"' in str(cells["name"])

    csv = b"".join(manager_client.get(LIST, {"export": "csv"}).streaming_content).decode()
    assert "+7 916 123-45-67, +7 903 111-22-33" in csv and "alpha, zeta" in csv


def test_the_cells_are_escaped(manager_client, make_contact):
    make_contact(first_name="<b>x</b>", tags="<i>t</i>")
    html = manager_client.get(LIST).content.decode()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<i>t</i>" not in html and "&lt;i&gt;t&lt;/i&gt;" in html
