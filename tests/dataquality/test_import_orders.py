from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from svyaz.contacts import services as contact_services
from svyaz.contacts.models import ClientSummary
from svyaz.dataquality import services
from svyaz.dataquality.models import ImportRowError
from svyaz.sales.models import Order
from tests.dataquality.conftest import csv_bytes


def _import(actor, upload, rows, *, mode="create", key=""):
    job = services.import_upload(actor=actor, entity="order", upload=upload(csv_bytes(rows)))
    job = services.import_set_mapping(
        actor=actor, job=job, mapping=job.mapping, mode=mode, key_field=key
    )
    services.import_start(actor=actor, job=job)
    return services.import_run(job_id=job.pk)


def test_it_imports_sales_history_onto_existing_clients(manager, outsider, upload):
    ivan = contact_services.contact_create(
        actor=manager, first_name="Иван", last_name="Иванов", emails=["ivan@example.com"]
    )
    acme = contact_services.company_create(actor=manager, name="Ромашка", inn="7707083893")
    contact_services.contact_create(actor=outsider, first_name="Hidden", emails=["h@example.com"])
    rows = [
        ["Номер", "Дата", "Сумма", "Статус", "E-mail", "ИНН", "Клиент"],
        ["A-1", "01.02.2024", "1 234,50", "Оплачен", "ivan@example.com", "", ""],
        ["A-2", "2024-03-05", "100", "completed", "", "7707083893", ""],
        ["A-3", "05.04.2024", "50", "", "", "", "Иванов Иван"],
        ["A-4", "вчера", "x", "", "ivan@example.com", "", ""],  # bad date and amount
        ["A-5", "05.04.2024", "10", "", "nobody@example.com", "", ""],  # no such client
        ["A-6", "05.04.2024", "10", "", "h@example.com", "", ""],  # out of scope
    ]
    job = _import(manager, upload, rows)
    assert (job.created, job.errors) == (3, 3)
    first = Order.objects.get(number="A-1")
    assert first.contact == ivan and first.amount == Decimal("1234.50") and first.status == "paid"
    assert timezone.localtime(first.ordered_at).date().isoformat() == "2024-02-01"
    assert Order.objects.get(number="A-2").company == acme
    assert Order.objects.get(number="A-3").contact == ivan
    errors = {e.row: e.message for e in ImportRowError.objects.filter(job=job)}
    assert "not a date" in errors[5] or "not an amount" in errors[5]
    assert "import the contacts" in errors[6] and "access" in errors[7]
    summary = ClientSummary.objects.get(contact=ivan)
    assert summary.orders_count == 2

    services.import_undo(actor=manager, job=job)
    assert not Order.objects.exists()
    summary.refresh_from_db()
    assert summary.orders_count == 0


def test_orders_update_by_number_and_undo_restores(manager, upload):
    ivan = contact_services.contact_create(
        actor=manager, first_name="Ivan", emails=["i@example.com"]
    )
    rows = [["Номер", "Сумма", "E-mail"], ["A-1", "100", "i@example.com"]]
    _import(manager, upload, rows)
    job = _import(
        manager,
        upload,
        [
            ["Номер", "Сумма", "E-mail"],
            ["A-1", "150", "i@example.com"],
            ["A-9", "1", "i@example.com"],
        ],
        mode="update",
        key="number",
    )
    assert (job.updated, job.skipped, job.created) == (1, 1, 0)
    order = Order.objects.get()
    assert order.amount == Decimal("150.00") and order.contact == ivan
    services.import_undo(actor=manager, job=job)
    order.refresh_from_db()
    assert order.amount == Decimal("100.00")


def test_amounts_in_every_spreadsheet_format():
    from svyaz.dataquality.orders import parse_amount

    assert parse_amount("1 234,50") == Decimal("1234.50")
    assert parse_amount("1,234.50") == Decimal("1234.50")
    assert parse_amount("1.234,50 ₽") == Decimal("1234.50")
    assert parse_amount("100") == Decimal("100.00")
