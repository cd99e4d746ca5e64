"""Field rules on the pages: cards, lists, the board, CSV/XLSX exports and forms leave a
hidden field out; a read-only one is shown but not writable; imports refuse to map it."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse

from svyaz.accounts.roles import ensure_default_roles
from tests.field_rules.conftest import AMOUNT, INN, MARGIN, contains_amount

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_it_leaves_the_amount_off_the_deal_card(seller_client, admin_client, deal):
    url = reverse("sales:deal_detail", args=[deal.pk])
    page = _text(seller_client.get(url))
    assert "Big one" in page
    assert 'id="deal-amount"' not in page
    assert not contains_amount(page)
    assert MARGIN not in page and "555" not in page

    full = _text(admin_client.get(url))
    assert 'id="deal-amount"' in full and contains_amount(full)
    assert MARGIN in full


def test_it_leaves_the_amount_off_the_deal_list(seller_client, admin_client, deal):
    url = reverse("sales:deal_list")
    page = _text(seller_client.get(url))
    assert "Big one" in page
    assert not contains_amount(page)
    assert ">Amount<" not in page and "Margin" not in page
    # Sorting by a hidden field would reveal its order: the key is ignored.
    assert _text(seller_client.get(url, {"sort": "amount"}))
    full = _text(admin_client.get(url))
    assert contains_amount(full) and "Margin" in full


def test_it_leaves_amounts_and_money_totals_off_the_board(seller_client, admin_client, deal):
    url = reverse("sales:board")
    page = _text(seller_client.get(url))
    assert "Big one" in page
    assert not contains_amount(page)
    assert "stage-total" not in page
    assert 'class="badge text-bg-secondary stage-count">1<' in page  # counts stay
    full = _text(admin_client.get(url))
    assert contains_amount(full) and "stage-total" in full


def test_it_leaves_the_amount_out_of_the_csv_export(seller_client, admin_client, deal):
    url = reverse("sales:deal_list")
    response = seller_client.get(url, {"export": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Big one" in body
    assert not contains_amount(body) and "Amount" not in body
    assert MARGIN not in body and "Margin" not in body

    full = b"".join(admin_client.get(url, {"export": "csv"}).streaming_content).decode()
    assert contains_amount(full) and MARGIN in full


def _xlsx_cells(response) -> list[str]:
    from openpyxl import load_workbook

    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]


def test_it_leaves_the_amount_out_of_the_xlsx_export(seller_client, admin_client, deal):
    url = reverse("sales:deal_list")
    cells = _xlsx_cells(seller_client.get(url, {"export": "xlsx"}))
    assert "Big one" in cells
    text = "\n".join(cells)
    assert not contains_amount(text) and "Amount" not in cells and MARGIN not in text
    full = "\n".join(_xlsx_cells(admin_client.get(url, {"export": "xlsx"})))
    assert contains_amount(full) and MARGIN in full


def test_it_shows_the_amount_when_another_role_does_not_hide_it(seller, seller_client, deal):
    seller.roles.add(ensure_default_roles()["manager"])
    page = _text(seller_client.get(reverse("sales:deal_detail", args=[deal.pk])))
    assert 'id="deal-amount"' in page and contains_amount(page)
    board = _text(seller_client.get(reverse("sales:board")))
    assert "stage-total" in board


def test_it_leaves_the_amount_off_the_deal_form_and_ignores_a_posted_one(seller_client, deal):
    url = reverse("sales:deal_edit", args=[deal.pk])
    form = _text(seller_client.get(url))
    assert 'name="amount"' not in form and 'name="custom_margin"' not in form
    assert not contains_amount(form)

    response = seller_client.post(
        url,
        {
            "title": "Renamed",
            "amount": "1.00",
            "custom_margin": "1",
            "currency": deal.currency,
            "owner": deal.owner_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    deal.refresh_from_db()
    assert deal.title == "Renamed"
    assert deal.amount == AMOUNT
    assert deal.custom["margin"] == MARGIN  # kept: the form never sent it


def test_it_leaves_line_prices_off_the_card_and_its_line_form(seller_client, deal):
    from svyaz.sales.services import deal_line_add

    deal_line_add(actor=None, deal=deal, name="Service", quantity=1, price=AMOUNT)
    page = _text(seller_client.get(reverse("sales:deal_detail", args=[deal.pk])))
    assert "Service" in page and not contains_amount(page)
    assert 'name="price"' not in page


def test_it_shows_a_read_only_inn_disabled_and_keeps_it_on_save(seller_client, company):
    url = reverse("contacts:company_edit", args=[company.pk])
    form = _text(seller_client.get(url))
    assert f'value="{INN}"' in form
    inn_input = form[form.index('name="inn"') - 200 : form.index('name="inn"') + 200]
    assert "disabled" in inn_input
    assert 'name="custom_potential"' in form

    response = seller_client.post(
        url, {"name": "Acme renamed", "inn": "500100732259", "custom_potential": "low"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    company.refresh_from_db()
    assert company.name == "Acme renamed"
    assert company.inn == INN
    assert company.custom["potential"] == "high"

    card = _text(seller_client.get(reverse("contacts:company_detail", args=[company.pk])))
    assert INN in card and "high" in card  # read-only is still shown


def test_it_masks_a_hidden_fields_values_on_the_timeline(seller_client, admin, deal):
    from svyaz.sales.services import deal_update

    deal_update(actor=admin, deal=deal, data={"amount": Decimal("123456.78")})
    url = reverse("core:timeline") + f"?deal={deal.pk}"
    page = _text(seller_client.get(url))
    assert "123456" not in page and "123 456" not in page and "123\xa0456" not in page
    assert not contains_amount(page)
    assert "(hidden)" in page


def test_it_refuses_to_map_an_import_column_onto_a_ruled_field(seller):
    from django.core.exceptions import ValidationError

    from svyaz.dataquality.models import ImportJob
    from svyaz.dataquality.services import import_set_mapping

    job = ImportJob.objects.create(
        user=seller,
        entity="deal",
        original_name="deals.csv",
        file_kind="csv",
        headers=["Title", "Amount"],
    )
    with pytest.raises(ValidationError) as exc:
        import_set_mapping(
            actor=seller,
            job=job,
            mapping={"0": "title", "1": "amount"},
            mode="create",
            key_field="",
        )
    assert any("Amount" in m for m in exc.value.message_dict["mapping"])
    job.refresh_from_db()
    assert job.mapping == {}

    ok = import_set_mapping(
        actor=seller, job=job, mapping={"0": "title"}, mode="create", key_field=""
    )
    assert ok.mapping == {"0": "title"}


def test_it_refuses_a_read_only_company_column_but_lets_it_find_records(seller):
    from django.core.exceptions import ValidationError

    from svyaz.dataquality.models import ImportJob
    from svyaz.dataquality.services import import_set_mapping

    job = ImportJob.objects.create(
        user=seller,
        entity="company",
        original_name="c.csv",
        file_kind="csv",
        headers=["Name", "INN"],
    )
    mapping = {"0": "name", "1": "inn"}
    with pytest.raises(ValidationError):
        import_set_mapping(actor=seller, job=job, mapping=mapping, mode="create", key_field="")
    ok = import_set_mapping(actor=seller, job=job, mapping=mapping, mode="update", key_field="inn")
    assert ok.mapping == mapping
