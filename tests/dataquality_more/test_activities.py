from __future__ import annotations

import pytest
from django.utils import timezone

from svyaz.activities.models import Activity
from svyaz.contacts import services as contact_services
from svyaz.core.models import TimelineEntry
from svyaz.dataquality import services
from svyaz.dataquality.activities import parse_duration, parse_kind
from svyaz.dataquality.fields import guess_mapping
from svyaz.followups.models import Followup
from svyaz.sales import services as sales_services
from tests.dataquality_more.conftest import errors_by_row, run_import

RU = ["Тип", "Направление", "Тема", "Текст", "Дата", "Длительность", "Результат", "Клиент"]
RU += ["E-mail", "Компания", "ИНН", "Сделка", "ID"]
EN = ["Activity Type", "Direction", "Subject", "Notes", "Date", "Duration", "Outcome", "Contact"]
EN += ["Email", "Company", "INN", "Deal", "External ID"]
FIELDS = [
    "kind",
    "direction",
    "subject",
    "body",
    "occurred_at",
    "duration",
    "outcome",
    "full_name",
    "email",
    "company",
    "company_inn",
    "deal",
    "external_id",
]


def _row(**cells) -> list[str]:
    return [cells.get(f, "") for f in FIELDS]


@pytest.fixture
def world(manager, pipeline):
    ivan = contact_services.contact_create(
        actor=manager, first_name="Иван", last_name="Иванов", emails=["ivan@example.com"]
    )
    romashka = contact_services.company_create(actor=manager, name="Ромашка")
    deal = sales_services.deal_create(
        actor=manager, title="Поставка", pipeline=pipeline, contact=ivan
    )
    return ivan, romashka, deal


def _rows():
    return [
        RU,
        _row(
            kind="Исходящий звонок",
            subject="Договорились",
            body="Обсудили цену",
            occurred_at="05.03.2024 14:30",
            duration="00:05:10",
            outcome="Отвечен",
            email="ivan@example.com",
            external_id="A-1",
        ),
        _row(
            kind="Встреча",
            subject="Демо",
            occurred_at="06.03.2024",
            duration="1 ч",
            company="ромашка",
            external_id="A-2",
        ),
        _row(kind="Заметка", body="Про сделку", deal="поставка", external_id="A-3"),
        _row(kind="Телепорт", email="ivan@example.com"),
        _row(kind="Звонок", direction="вх"),
        _row(kind="Звонок", email="ivan@example.com"),
        _row(kind="Звонок", direction="Исходящий", duration="долго", email="ivan@example.com"),
        _row(
            kind="call",
            direction="incoming",
            outcome="Перезвонить",
            email="ivan@example.com",
            external_id="A-9",
        ),
    ]


def test_it_guesses_activity_columns_from_russian_and_english_headers():
    expected = {str(i): f for i, f in enumerate(FIELDS)}
    assert guess_mapping(RU, "activity") == expected
    assert guess_mapping(EN, "activity") == expected


def test_types_directions_and_durations_people_type():
    assert parse_kind("Исходящий звонок") == ("call", "out")
    assert parse_kind("Incoming Email") == ("email", "in")
    assert parse_kind("встреча") == ("meeting", "")
    assert [parse_duration(t) for t in ("95", "1:35", "00:01:35", "5 мин", "2 min", "1,5 ч")] == [
        95,
        95,
        95,
        300,
        120,
        5400,
    ]


def test_it_logs_history_on_the_clients_timelines(manager, world, upload):
    ivan, romashka, deal = world
    job = run_import(manager, upload, _rows(), entity="activity")
    assert (job.created, job.errors) == (4, 4)

    call = Activity.objects.get(subject="Договорились")
    assert (call.kind, call.direction, call.outcome) == ("call", "out", "answered")
    assert call.duration_seconds == 310 and call.contact == ivan and call.owner == manager
    assert timezone.localtime(call.occurred_at).strftime("%Y-%m-%d %H:%M") == "2024-03-05 14:30"
    entry = TimelineEntry.objects.get(object_type="activity", object_id=call.pk)
    assert entry.occurred_at == call.occurred_at and entry.contact == ivan
    meeting = Activity.objects.get(subject="Демо")
    assert meeting.company == romashka and meeting.duration_seconds == 3600
    note = Activity.objects.get(kind="note")
    assert note.deal == deal and note.contact == ivan  # the deal's client, as the service does
    callback = Activity.objects.get(outcome="callback")
    assert Followup.objects.get(source_activity=callback).kind == "callback"

    errors = errors_by_row(job)
    assert set(errors) == {5, 6, 7, 8}
    assert errors[5] == [("Тип", "Unknown activity type “Телепорт”.")]
    assert errors[6][0][0] == "Клиент" and "Link it" in errors[6][0][1]
    assert errors[7] == [("Направление", "Choose incoming or outgoing.")]
    assert errors[8] == [("Длительность", "“долго” is not a duration.")]

    services.import_undo(actor=manager, job=job)
    assert not Activity.objects.exists()
    assert not Followup.objects.filter(source_activity=callback).exists()


def test_upsert_by_external_id_and_undo(manager, world, upload):
    run_import(manager, upload, _rows()[:2], entity="activity")
    rows = [
        ["ID", "Текст", "Длительность", "Тип"],
        ["A-1", "Новый текст", "120", ""],
        ["A-77", "x", "", ""],
        ["A-1", "", "", "Встреча"],
    ]
    job = run_import(manager, upload, rows, entity="activity", mode="upsert", key="external_id")
    assert (job.updated, job.created, job.errors) == (1, 0, 2)
    call = Activity.objects.get()
    assert call.body == "Новый текст" and call.duration_seconds == 120
    errors = errors_by_row(job)
    assert errors[3] == [("Тип", "Enter the activity type.")]
    assert "keeps its type" in errors[4][0][1]

    services.import_undo(actor=manager, job=job)
    call.refresh_from_db()
    assert call.body == "Обсудили цену" and call.duration_seconds == 310


def test_a_client_out_of_scope_is_a_row_error(manager, outsider, world, upload):
    contact_services.contact_create(actor=outsider, first_name="Скрытый", emails=["h@example.com"])
    rows = [["Тип", "Направление", "E-mail"], ["Звонок", "Исходящий", "h@example.com"]]
    job = run_import(manager, upload, rows, entity="activity")
    assert job.errors == 1 and "access" in job.row_errors.get().message
    assert not Activity.objects.exists()
