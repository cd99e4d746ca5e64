from __future__ import annotations

from decimal import Decimal

from svyaz.dataquality import services
from svyaz.dataquality.fields import guess_mapping
from svyaz.sales import services as sales_services
from svyaz.sales.models import Product
from tests.dataquality_more.conftest import errors_by_row, run_import

RU = ["Наименование", "Артикул", "Ед. изм.", "Цена", "Валюта", "Активен", "Описание", "ID"]
EN = ["Product Name", "SKU", "Unit", "Unit Price", "Currency", "Active", "Description", "GUID"]
FIELDS = ["name", "sku", "unit", "price", "currency", "is_active", "description", "external_id"]


def _rows():
    return [
        RU,
        ["Стол", "СТ-1", "шт", "12 500,00", "RUB", "да", "Дубовый", "P-1"],
        ["Стул", "СТ-2", "шт", "1 200,5", "", "нет", "", "P-2"],
        ["Без цены", "СТ-3", "", "", "", "", "", ""],
        ["Плохая цена", "СТ-4", "", "дёшево", "", "", "", ""],
        ["Странный", "СТ-5", "", "1", "", "может быть", "", ""],
        ["Валюта", "СТ-6", "", "1", "XXX", "", "", ""],
    ]


def test_it_guesses_product_columns_from_russian_and_english_headers():
    expected = {str(i): f for i, f in enumerate(FIELDS)}
    assert guess_mapping(RU, "product") == expected
    assert guess_mapping(EN, "product") == expected
    assert guess_mapping(["Товар", "Код товара", "Стоимость"], "product") == {
        "0": "name",
        "1": "sku",
        "2": "price",
    }


def test_it_creates_products_through_product_save(manager, upload):
    job = run_import(manager, upload, _rows(), entity="product")
    assert (job.created, job.errors) == (2, 4)
    table = Product.objects.get(sku="СТ-1")
    assert table.price == Decimal("12500.00") and table.unit == "шт" and table.is_active
    assert table.description == "Дубовый"
    chair = Product.objects.get(sku="СТ-2")
    assert chair.price == Decimal("1200.50") and not chair.is_active
    errors = errors_by_row(job)
    assert errors[4] == [("Цена", "Enter a price.")]
    assert errors[5][0][0] == "Цена" and "not an amount" in errors[5][0][1]
    assert errors[6] == [("Активен", "“может быть” is neither yes nor no.")]
    assert errors[7][0][0] == "Валюта"


def test_update_by_sku_ignores_case_and_undo_restores(manager, upload):
    run_import(manager, upload, _rows()[:3], entity="product")
    rows = [["Артикул", "Цена"], ["ст-1", "13 000"], ["СТ-99", "1"]]
    job = run_import(manager, upload, rows, entity="product", mode="update", key="sku")
    assert (job.updated, job.skipped) == (1, 1)
    table = Product.objects.get(sku="СТ-1")
    assert table.price == Decimal("13000.00") and table.name == "Стол"
    services.import_undo(actor=manager, job=job)
    table.refresh_from_db()
    assert table.price == Decimal("12500.00")


def test_undo_deletes_unused_products_and_deactivates_used_ones(manager, pipeline, upload):
    job = run_import(manager, upload, _rows()[:3], entity="product")
    deal = sales_services.deal_create(actor=manager, title="Мебель", pipeline=pipeline)
    sales_services.deal_line_add(actor=manager, deal=deal, product=Product.objects.get(sku="СТ-1"))
    services.import_undo(actor=manager, job=job)
    assert list(Product.objects.values_list("sku", "is_active")) == [("СТ-1", False)]


def test_upsert_by_external_id(manager, upload):
    run_import(manager, upload, _rows()[:3], entity="product")
    rows = [["GUID", "Product Name", "Price"], ["P-2", "Chair", "99"], ["P-3", "Lamp", "10"]]
    job = run_import(manager, upload, rows, entity="product", mode="upsert", key="external_id")
    assert (job.updated, job.created) == (1, 1)
    assert Product.objects.get(sku="СТ-2").name == "Chair"
    assert Product.objects.get(name="Lamp").price == Decimal("10.00")
