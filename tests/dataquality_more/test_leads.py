from __future__ import annotations

from django.utils import timezone

from svyaz.core.models import TimelineEntry
from svyaz.dataquality import services
from svyaz.dataquality.fields import guess_mapping
from svyaz.dataquality.models import ExternalKey, ImportStatus
from svyaz.sales.models import Lead
from tests.dataquality_more.conftest import errors_by_row, run_import

RU = ["Обращение", "ФИО", "Моб. телефон", "E-mail", "Компания", "ИНН", "Источник", "Канал"]
RU += ["Статус", "Ответственный", "Дата создания", "Комментарий", "ID", "Теги"]
EN = ["Lead Title", "Name", "Phone", "Email", "Company Name", "INN", "Lead Source", "Channel"]
EN += ["Status", "Owner", "Created", "Notes", "External ID", "Tags"]
FIELDS = [
    "title",
    "full_name",
    "phone",
    "email",
    "company_name",
    "company_inn",
    "source",
    "channel",
    "status",
    "owner",
    "created_at",
    "description",
    "external_id",
    "tags",
]


def test_it_guesses_lead_columns_from_russian_and_english_headers():
    expected = {str(i): f for i, f in enumerate(FIELDS)}
    assert guess_mapping(RU, "lead") == expected
    assert guess_mapping(EN, "lead") == expected
    assert guess_mapping(["Фамилия", "Имя", "utm_source", "UTM Campaign"], "lead") == {
        "0": "last_name",
        "1": "first_name",
        "2": "utm_source",
        "3": "utm_campaign",
    }


def _rows(owner: str = "teammate"):
    return [
        RU,
        [
            "Нужен опт",
            "Иванов Иван Иванович",
            "8 (916) 123-45-67",
            "ivan@example.com",
            "Ромашка",
            "7707 083893",
            "Сайт",
            "Телефон",
            "В работе",
            owner,
            "01.02.2024",
            "Перезвонить\nпосле обеда",
            "L-1",
            "опт; vip",
        ],
        ["", "Петрова Мария", "", "maria@example.com", "", "", "", "", "", "", "", "", "L-2", ""],
        ["Плохой", "", "12", "", "", "", "", "", "", "", "", "", "", ""],  # bad phone
        ["Статус", "", "", "x@example.com", "", "", "", "", "Космос", "", "", "", "", ""],
        ["Кто", "", "", "y@example.com", "", "", "", "", "", "nobody", "вчера", "", "", ""],
    ]


def test_it_creates_leads_through_the_service_with_errors_by_row(head, teammate, upload):
    # The head of sales may give leads to the team; the owner column names who gets them.
    job = run_import(head, upload, _rows(), entity="lead", name="leads.xlsx")
    assert job.status == ImportStatus.DONE
    assert (job.created, job.errors) == (2, 3)
    ivan = Lead.objects.get(email="ivan@example.com")
    assert ivan.title == "Нужен опт"
    assert (ivan.last_name, ivan.first_name) == ("Иванов", "Иван Иванович")
    assert ivan.phone == "+79161234567" and ivan.company_inn == "7707083893"
    assert (ivan.source, ivan.channel, ivan.status) == ("website", "phone", "in_progress")
    assert ivan.owner == teammate and ivan.department_id == teammate.department_id
    assert timezone.localtime(ivan.created_at).date().isoformat() == "2024-02-01"
    assert ivan.description == "Перезвонить\nпосле обеда"
    assert sorted(ivan.tags.values_list("name", flat=True)) == ["vip", "опт"]
    entry = TimelineEntry.objects.get(object_type="lead", object_id=ivan.pk)
    assert entry.occurred_at == ivan.created_at
    maria = Lead.objects.get(email="maria@example.com")
    assert maria.title == "Мария Петрова"  # no request column value: the name stands in
    assert maria.source == "import" and maria.owner == head
    errors = errors_by_row(job)
    assert set(errors) == {4, 5, 6}
    assert errors[4][0][0] == "Моб. телефон"
    assert errors[5] == [("Статус", "Unknown status “Космос”.")]
    assert {c for c, _m in errors[6]} == {"Ответственный", "Дата создания"}
    assert ExternalKey.objects.filter(model="sales.lead").count() == 2


def test_update_by_email_and_phone_and_create_only_skip(manager, upload):
    run_import(manager, upload, _rows(owner="")[:3], entity="lead", name="leads.xlsx")
    rows = [
        ["Телефон", "E-mail", "Статус", "Компания"],
        ["+7 916 123 45 67", "", "Отказ", "Лютик"],
        ["+7 900 000 00 00", "", "", "Новая"],
    ]
    job = run_import(manager, upload, rows, entity="lead", mode="update", key="phone")
    assert (job.updated, job.skipped, job.created) == (1, 1, 0)
    ivan = Lead.objects.get(email="ivan@example.com")
    assert (ivan.status, ivan.company_name) == ("disqualified", "Лютик")

    rows = [["E-mail", "Обращение"], ["MARIA@example.com", "Снова"], ["new@example.com", "Н"]]
    job = run_import(manager, upload, rows, entity="lead", mode="create", key="email")
    assert (job.created, job.skipped) == (1, 1)
    assert Lead.objects.get(email="maria@example.com").title == "Мария Петрова"

    services.import_undo(actor=manager, job=job)
    assert not Lead.objects.filter(email="new@example.com").exists()


def test_upsert_by_external_id_and_undo_restores(manager, upload):
    first = run_import(manager, upload, _rows(owner="")[:3], entity="lead", name="leads.xlsx")
    rows = [
        ["ID", "Обращение", "Статус", "Теги"],
        ["L-1", "Опт, уточнено", "Новый", "горячий"],
        ["L-9", "Новое", "", ""],
    ]
    job = run_import(manager, upload, rows, entity="lead", mode="upsert", key="external_id")
    assert (job.updated, job.created) == (1, 1)
    ivan = Lead.objects.get(email="ivan@example.com")
    assert ivan.title == "Опт, уточнено" and ivan.status == "new"
    assert "горячий" in set(ivan.tags.values_list("name", flat=True))

    services.import_undo(actor=manager, job=job)
    ivan.refresh_from_db()
    assert ivan.title == "Нужен опт" and ivan.status == "in_progress"
    assert set(ivan.tags.values_list("name", flat=True)) == {"vip", "опт"}
    assert not Lead.objects.filter(title="Новое").exists()
    assert not ExternalKey.objects.filter(external_id="L-9").exists()

    services.import_undo(actor=manager, job=first)
    assert Lead.objects.count() == 0
    assert Lead.all_objects.count() == 3  # soft-deleted: in the recycle bin


def test_a_lead_of_another_user_is_not_updated(manager, outsider, upload):
    run_import(
        outsider, upload, [["E-mail", "Обращение"], ["h@example.com", "Скрыт"]], entity="lead"
    )
    rows = [["E-mail", "Обращение"], ["h@example.com", "Моё"]]
    job = run_import(manager, upload, rows, entity="lead", mode="upsert", key="email")
    assert (job.errors, job.updated, job.created) == (1, 0, 0)
    assert "access" in job.row_errors.get().message
    assert Lead.objects.get().title == "Скрыт"


def test_the_mapping_needs_something_that_names_the_lead(manager, upload):
    from django.core.exceptions import ValidationError

    job = services.import_upload(
        actor=manager,
        entity="lead",
        upload=upload(b"Status;Channel\r\nnew;web\r\n"),
    )
    try:
        services.import_set_mapping(
            actor=manager, job=job, mapping=job.mapping, mode="create", key_field="sku"
        )
    except ValidationError as exc:
        assert set(exc.message_dict) == {"mapping", "key_field"}
    else:  # pragma: no cover
        raise AssertionError("accepted")
