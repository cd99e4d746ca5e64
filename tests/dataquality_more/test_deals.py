from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from svyaz.contacts import services as contact_services
from svyaz.contacts.models import ClientSummary
from svyaz.dataquality import services
from svyaz.dataquality.fields import guess_mapping
from svyaz.sales.models import Deal, DealStageChange, Order
from tests.dataquality_more.conftest import errors_by_row, run_import

RU = ["Название сделки", "Воронка", "Этап", "Результат", "Сумма", "Валюта", "Дата создания"]
RU += ["Дата закрытия", "Причина отказа", "Клиент", "E-mail", "Компания", "ИНН", "ID"]
EN = ["Deal Name", "Pipeline", "Stage", "Outcome", "Amount", "Currency", "Created"]
EN += ["Close Date", "Lost Reason", "Contact", "Email", "Company", "INN", "External ID"]
FIELDS = [
    "title",
    "pipeline",
    "stage",
    "outcome",
    "amount",
    "currency",
    "created_at",
    "closed_at",
    "lost_reason",
    "full_name",
    "email",
    "company",
    "company_inn",
    "external_id",
]


def day(moment) -> str:
    return timezone.localtime(moment).date().isoformat()


@pytest.fixture
def clients(manager):
    ivan = contact_services.contact_create(
        actor=manager, first_name="Иван", last_name="Иванов", emails=["ivan@example.com"]
    )
    romashka = contact_services.company_create(actor=manager, name="Ромашка", inn="7707083893")
    return ivan, romashka


def _row(**cells) -> list[str]:
    return [cells.get(f, "") for f in FIELDS]


def _history() -> list[list[str]]:
    return [
        RU,
        _row(
            title="Поставка 1",
            pipeline="sales",
            stage="negotiation",
            amount="100 000",
            currency="RUB",
            created_at="10.01.2024",
            email="ivan@example.com",
            external_id="D-1",
        ),
        _row(
            title="Поставка 2",
            outcome="Выиграна",
            amount="50 000,50",
            created_at="01.02.2024",
            closed_at="15.03.2024",
            company="Ромашка",
            external_id="D-2",
        ),
        _row(
            title="Поставка 3",
            stage="Lost",
            amount="10",
            created_at="01.02.2024",
            closed_at="20.02.2024",
            lost_reason="too expensive",
            email="ivan@example.com",
            external_id="D-3",
        ),
        _row(
            title="Поставка 4",
            outcome="проиграна",
            lost_reason="Ушли к конкуренту",
            company_inn="7707083893",
            external_id="D-4",
        ),
        _row(title="Плохая 1", pipeline="Sales", stage="Космос", email="ivan@example.com"),
        _row(title="Плохая 2", full_name="Никто Никтоевич"),
        _row(
            title="Плохая 3",
            amount="много",
            created_at="10.03.2024",
            closed_at="01.03.2024",
            email="ivan@example.com",
        ),
    ]


def test_it_guesses_deal_columns_from_russian_and_english_headers():
    expected = {str(i): f for i, f in enumerate(FIELDS)}
    assert guess_mapping(RU, "deal") == expected
    assert guess_mapping(EN, "deal") == expected
    assert guess_mapping(["Сделка", "Бюджет", "Ответственный", "Вероятность"], "deal") == {
        "0": "title",
        "1": "amount",
        "2": "owner",
        "3": "probability",
    }


def test_it_imports_deal_history_with_stages_dates_and_orders(
    manager, pipeline, lost_reasons, clients, upload
):
    ivan, romashka = clients
    job = run_import(manager, upload, _history(), entity="deal")
    assert (job.created, job.errors) == (4, 3)

    open_deal = Deal.objects.get(title="Поставка 1")
    assert open_deal.stage.name == "Negotiation" and open_deal.contact == ivan
    assert open_deal.amount == Decimal("100000.00") and open_deal.closed_at is None
    assert day(open_deal.created_at) == "2024-01-10" == day(open_deal.stage_changed_at)
    first = DealStageChange.objects.get(deal=open_deal)
    assert first.from_stage is None and day(first.changed_at) == "2024-01-10"

    won = Deal.objects.get(title="Поставка 2")
    assert won.stage.kind == "won" and won.company == romashka
    assert (day(won.created_at), day(won.closed_at)) == ("2024-02-01", "2024-03-15")
    changes = list(DealStageChange.objects.filter(deal=won).order_by("changed_at"))
    assert [c.to_stage.kind for c in changes] == ["open", "won"]
    assert day(changes[0].changed_at) == "2024-02-01" and day(changes[1].changed_at) == "2024-03-15"
    assert changes[1].seconds_in_from == int((won.closed_at - won.created_at).total_seconds())
    order = Order.objects.get(deal=won)  # the sales rule: a won deal records its sale
    assert order.amount == Decimal("50000.50") and order.company == romashka
    assert day(order.ordered_at) == "2024-03-15"
    summary = ClientSummary.objects.get(company=romashka)
    assert summary.orders_count == 1 and day(summary.last_purchase_at) == "2024-03-15"

    lost = Deal.objects.get(title="Поставка 3")
    assert lost.lost_reason == lost_reasons["expensive"] and day(lost.closed_at) == "2024-02-20"
    assert not Order.objects.filter(deal=lost).exists()
    fallback = Deal.objects.get(title="Поставка 4")
    assert fallback.lost_reason == lost_reasons["other"]
    assert fallback.lost_comment == "Ушли к конкуренту" and fallback.company == romashka

    errors = errors_by_row(job)
    assert set(errors) == {6, 7, 8}
    assert errors[6] == [("Этап", "Unknown stage “Космос” in the pipeline “Sales”.")]
    assert errors[7][0][0] == "Клиент" and "import the contacts" in errors[7][0][1]
    assert {c for c, _m in errors[8]} == {"Сумма", "Дата закрытия"}

    services.import_undo(actor=manager, job=job)
    assert not Deal.objects.exists() and not Order.objects.exists()
    summary.refresh_from_db()
    assert summary.orders_count == 0


def test_the_file_dates_written_over_the_services_own_are_in_the_audit(
    manager, pipeline, lost_reasons, clients, upload
):
    from svyaz.audit.models import AuditEntry

    run_import(manager, upload, _history(), entity="deal")
    won = Deal.objects.get(title="Поставка 2")
    order = Order.objects.get(deal=won)

    def last(obj, field):
        entry = (
            AuditEntry.objects.filter(
                object_id=obj.pk, field=field, content_type__model=obj._meta.model_name
            )
            .order_by("-id")
            .first()
        )
        assert entry is not None, f"no audit row for {field}"
        return entry

    closed = last(won, "closed_at")
    assert closed.source == "import" and "2024-03-15" in str(closed.new_value)
    assert "2024-03-15" in str(last(order, "ordered_at").new_value)


def test_update_by_external_id_moves_the_stage_and_undo_moves_it_back(
    manager, pipeline, lost_reasons, clients, upload
):
    run_import(manager, upload, _history()[:2], entity="deal")
    rows = [
        ["ID", "Этап", "Дата закрытия", "Сумма"],
        ["D-1", "Won", "01.04.2024", "120000"],
        ["D-404", "Won", "", ""],
    ]
    job = run_import(manager, upload, rows, entity="deal", mode="update", key="external_id")
    assert (job.updated, job.skipped, job.created, job.errors) == (1, 1, 0, 0)
    deal = Deal.objects.get()
    assert deal.stage.name == "Won" and deal.amount == Decimal("120000.00")
    order = Order.objects.get(deal=deal)
    assert order.amount == Decimal("120000.00") and day(order.ordered_at) == "2024-04-01"

    services.import_undo(actor=manager, job=job)
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation" and deal.amount == Decimal("100000.00")
    assert deal.closed_at is None and not Order.objects.exists()


def test_title_key_with_the_client_and_create_only(manager, pipeline, clients, upload):
    run_import(manager, upload, _history()[:2], entity="deal")
    rows = [
        ["Название сделки", "E-mail", "Сумма"],
        ["поставка 1", "ivan@example.com", "5"],
        ["Поставка 9", "", "7"],
    ]
    job = run_import(manager, upload, rows, entity="deal", mode="create", key="title")
    assert (job.created, job.skipped) == (1, 1)
    assert Deal.objects.get(title="Поставка 1").amount == Decimal("100000.00")
    new = Deal.objects.get(title="Поставка 9")
    assert new.contact is None and new.stage.name == "New"  # the first open stage

    job = run_import(manager, upload, rows[:2], entity="deal", mode="upsert", key="title")
    assert job.updated == 1
    updated = Deal.objects.get(contact__isnull=False)
    assert updated.amount == Decimal("5.00") and updated.title == "Поставка 1"


def test_another_pipeline_and_outsiders_deal_are_row_errors(
    manager, outsider, pipeline, clients, upload
):
    from svyaz.sales import services as sales_services

    contact_services.contact_create(actor=outsider, first_name="Скрытый", emails=["h@example.com"])
    sales_services.deal_create(actor=outsider, title="Чужая", pipeline=pipeline)
    rows = [
        ["Сделка", "Воронка", "E-mail"],
        ["Новая", "Нет такой", "ivan@example.com"],
        ["Тоже", "", "h@example.com"],
        ["Чужая", "", ""],
    ]
    job = run_import(manager, upload, rows, entity="deal", mode="upsert", key="title")
    assert (job.created, job.errors) == (0, 3)
    errors = errors_by_row(job)
    assert errors[2] == [("Воронка", "Unknown pipeline “Нет такой”.")]
    assert "access" in errors[3][0][1] and "access" in errors[4][0][1]
    assert Deal.objects.count() == 1


def test_the_deal_mapping_needs_a_title(manager, upload):
    from django.core.exceptions import ValidationError

    job = services.import_upload(
        actor=manager, entity="deal", upload=upload(b"Amount;Stage\r\n1;New\r\n")
    )
    with pytest.raises(ValidationError) as exc:
        services.import_set_mapping(
            actor=manager, job=job, mapping=job.mapping, mode="create", key_field=""
        )
    assert exc.value.message_dict["mapping"] == ["Map a column to the deal title."]
