from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Company, Contact
from svyaz.core.models import JobRun
from svyaz.dataquality import services
from svyaz.dataquality.models import ImportedRecord, ImportRowError, ImportStatus
from tests.dataquality.conftest import csv_bytes, xlsx_bytes


def _import(actor, upload, rows, *, entity="contact", mode="create", key="", name="f.csv", **kw):
    content = xlsx_bytes(rows) if name.endswith(".xlsx") else csv_bytes(rows, **kw)
    job = services.import_upload(actor=actor, entity=entity, upload=upload(content, name))
    job = services.import_set_mapping(
        actor=actor, job=job, mapping=job.mapping, mode=mode, key_field=key
    )
    services.import_start(actor=actor, job=job)
    return services.import_run(job_id=job.pk)


def test_it_creates_contacts_with_normalized_phones_and_a_company(manager, upload, ru_rows):
    job = _import(manager, upload, ru_rows, encoding="cp1251")
    assert job.status == ImportStatus.DONE
    assert (job.total_rows, job.processed, job.created, job.errors) == (3, 3, 3, 0)
    ivan = Contact.objects.get(last_name="Иванов")
    assert ivan.full_name == "Иванов Иван Иванович"
    assert ivan.owner == manager and ivan.source == "import"
    assert list(ivan.phones.values_list("number", flat=True)) == ["+79161234567"]
    assert ivan.addresss.get().city == "Москва" and ivan.job_title == "Директор"
    # Both rows name "Ромашка": one company, created once and recorded for undo.
    assert Company.objects.filter(name="Ромашка").count() == 1
    assert ivan.companies.get().name == "Ромашка"
    assert job.records.filter(model="contacts.company").count() == 1
    assert job.chunks_done == 1  # 3 rows, chunks of 3


def test_it_imports_companies_from_xlsx(manager, upload):
    rows = [
        ["Наименование", "ИНН", "Телефон", "Сайт"],
        ["Ромашка", 7707083893, "84951234567", "romashka.ru"],
    ]
    job = _import(manager, upload, rows, entity="company", name="c.xlsx")
    company = Company.objects.get()
    assert job.created == 1 and company.inn == "7707083893"
    assert company.website == "https://romashka.ru"
    assert company.phones.get().number == "+74951234567"


def test_it_reports_bad_rows_with_row_numbers_and_imports_the_others(manager, upload):
    rows = [
        ["Имя", "Фамилия", "Телефон", "E-mail"],
        ["Анна", "Смирнова", "12", "anna@example.com"],  # bad phone
        ["Олег", "", "", "not-an-email"],  # bad email
        ["", "", "+79161234567", ""],  # no name
        ["Ира", "Козлова", "", "ira@example.com"],
    ]
    job = _import(manager, upload, rows)
    assert (job.created, job.errors) == (1, 3)
    errors = {e.row: e for e in ImportRowError.objects.filter(job=job)}
    assert set(errors) == {2, 3, 4}
    assert errors[2].column == "Телефон"
    assert errors[3].column == "E-mail" and "not an email" in errors[3].message
    assert errors[4].column in ("Имя", "Фамилия") and "name" in errors[4].message
    assert errors[2].raw[0] == "Анна"
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ира"]


def test_create_only_skips_records_matching_the_key(manager, upload):
    contact_services.contact_create(actor=manager, first_name="Old", emails=["a@example.com"])
    rows = [["Имя", "E-mail"], ["New", "A@example.com"], ["Other", "b@example.com"]]
    job = _import(manager, upload, rows, mode="create", key="email")
    assert (job.created, job.skipped, job.updated) == (1, 1, 0)
    assert Contact.objects.count() == 2


def test_update_by_key_changes_only_matches_and_keeps_old_phones(manager, upload):
    old = contact_services.contact_create(
        actor=manager, first_name="Old", phones=["+79160000001"], emails=["a@example.com"]
    )
    rows = [
        ["Имя", "Должность", "E-mail", "Телефон"],
        ["Renamed", "CEO", "a@example.com", "+79160000002"],
        ["Nobody", "", "nobody@example.com", ""],
    ]
    job = _import(manager, upload, rows, mode="update", key="email")
    assert (job.created, job.updated, job.skipped) == (0, 1, 1)
    old.refresh_from_db()
    assert (old.first_name, old.job_title) == ("Renamed", "CEO")
    assert list(old.phones.values_list("number", flat=True)) == ["+79160000001", "+79160000002"]
    assert Contact.objects.count() == 1


def test_create_or_update_by_phone(manager, upload):
    contact_services.contact_create(actor=manager, first_name="Old", phones=["+79160000001"])
    rows = [["Имя", "Телефон"], ["Same", "8 916 000-00-01"], ["Fresh", "+79160000009"]]
    job = _import(manager, upload, rows, mode="upsert", key="phone")
    assert (job.created, job.updated) == (1, 1)
    assert set(Contact.objects.values_list("first_name", flat=True)) == {"Same", "Fresh"}


def test_update_by_inn_and_by_external_id(manager, upload):
    company = contact_services.company_create(actor=manager, name="Old", inn="7707083893")
    job = _import(
        manager,
        upload,
        [["ИНН", "Название"], ["7707083893", "Новое"]],
        entity="company",
        mode="update",
        key="inn",
    )
    company.refresh_from_db()
    assert job.updated == 1 and company.name == "Новое"
    rows = [["ID", "Имя"], ["crm-1", "Ann"]]
    _import(manager, upload, rows, mode="upsert", key="external_id")
    job = _import(
        manager, upload, [["ID", "Имя"], ["crm-1", "Anna"]], mode="upsert", key="external_id"
    )
    assert job.updated == 1
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Anna"]


def test_a_key_matching_an_out_of_scope_record_is_an_error(manager, outsider, upload):
    contact_services.contact_create(actor=outsider, first_name="Hidden", emails=["h@example.com"])
    job = _import(
        manager, upload, [["Имя", "E-mail"], ["Me", "h@example.com"]], mode="upsert", key="email"
    )
    assert job.errors == 1 and job.updated == 0
    assert "access" in ImportRowError.objects.get(job=job).message
    assert Contact.objects.get().first_name == "Hidden"


def test_mapping_is_validated(manager, upload, ru_rows):
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(ru_rows)))
    with pytest.raises(ValidationError) as exc:
        services.import_set_mapping(
            actor=manager, job=job, mapping={"6": "city"}, mode="create", key_field=""
        )
    assert "mapping" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.import_set_mapping(
            actor=manager, job=job, mapping=job.mapping, mode="update", key_field=""
        )
    assert "key_field" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.import_set_mapping(
            actor=manager, job=job, mapping=job.mapping, mode="upsert", key_field="inn"
        )
    assert "key_field" in exc.value.message_dict


def test_a_broken_file_gives_a_report(manager, upload):
    content = (
        "Имя;Телефон\r\nАнна;+79161234567\r\nБорис\r\nВера;\x01\x02\r\n"
        'Галя;"+79161234568\r\nДима;+79161234569\r\n'
    ).encode()
    job = services.import_upload(actor=manager, entity="contact", upload=upload(content))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    services.import_start(actor=manager, job=job)
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert job.created >= 1 and job.errors >= 2
    assert Contact.objects.filter(first_name="Анна").exists()


def test_preview_validates_without_writing(manager, upload):
    rows = [["Имя", "Телефон"], ["Анна", "+79161234567"], ["Борис", "12"]]
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    preview = services.import_preview(job=job)
    assert [p["outcome"] for p in preview] == ["created", ""]
    assert preview[1]["problems"][0][0] == "Телефон"
    assert Contact.objects.count() == 0 and not ImportedRecord.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED


def test_undo_deletes_created_and_restores_updated(manager, upload):
    old = contact_services.contact_create(
        actor=manager, first_name="Old", job_title="Clerk", emails=["a@example.com"]
    )
    rows = [
        ["Имя", "Должность", "E-mail", "Компания"],
        ["New", "CEO", "a@example.com", "Acme"],
        ["Fresh", "", "f@example.com", ""],
    ]
    job = _import(manager, upload, rows, mode="upsert", key="email")
    assert (job.created, job.updated) == (1, 1)
    services.import_undo(actor=manager, job=job)
    old.refresh_from_db()
    assert (old.first_name, old.job_title) == ("Old", "Clerk")
    assert list(old.emails.values_list("email", flat=True)) == ["a@example.com"]
    assert not old.memberships.exists()
    assert list(Contact.objects.all()) == [old]
    assert not Company.objects.exists()  # "Acme" was created by the import
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    with pytest.raises(ValidationError):
        services.import_undo(actor=manager, job=job)


def test_a_killed_import_leaves_no_half_chunk_and_resumes_without_duplicates(
    manager, upload, monkeypatch
):
    rows = [["Имя", "E-mail"]] + [[f"P{i}", f"p{i}@example.com"] for i in range(8)]
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    services.import_start(actor=manager, job=job)

    real = services.apply_row

    def crash_on_p4(job_, actor, values, row, chunk):
        if values.get("first_name") == "P4":  # the 2nd row of chunk 1 (rows of 3)
            raise SystemExit("worker killed")
        return real(job_, actor, values, row, chunk)

    monkeypatch.setattr(services, "apply_row", crash_on_p4)
    with pytest.raises(SystemExit):
        services.import_run(job_id=job.pk)
    # Chunk 0 committed; chunk 1 (P3, P4, P5) left nothing behind, not even P3.
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["P0", "P1", "P2"]
    job.refresh_from_db()
    assert (job.processed, job.chunks_done, job.status) == (3, 1, ImportStatus.RUNNING)
    assert not ImportedRecord.objects.filter(job=job, chunk=1).exists()

    monkeypatch.setattr(services, "apply_row", real)
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and (job.processed, job.created) == (8, 8)
    assert Contact.objects.count() == 8
    assert JobRun.objects.filter(key__startswith=f"import:{job.pk}:").count() == 3
    # A redelivered message after the end changes nothing.
    services.import_start  # noqa: B018
    assert services.import_run(job_id=job.pk).created == 8


def test_progress_advances_chunk_by_chunk(manager, upload):
    rows = [["Имя"]] + [[f"P{i}"] for i in range(7)]
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    services.import_start(actor=manager, job=job)
    seen = []
    for _ in range(5):
        job = services.import_advance(job_id=job.pk, seconds=0)
        seen.append((job.processed, job.status))
    assert seen[:3] == [(3, "running"), (6, "running"), (7, "running")] or seen[2] == (7, "done")
    assert seen[-1] == (7, "done") and job.percent == 100


def test_mapping_templates_apply_to_files_with_the_same_headers(manager, upload, ru_rows):
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(ru_rows)))
    job.mapping = {"0": "last_name", "1": "first_name", "7": "description"}
    template = services.mapping_template_save(actor=manager, job=job, name=" Old CRM ")
    assert template.name == "Old CRM"
    other = services.import_upload(
        actor=manager,
        entity="contact",
        upload=upload(csv_bytes([ru_rows[0][::-1], ru_rows[1][::-1]])),
    )
    assert services.mapping_from_template(other, template) == {
        "7": "last_name",
        "6": "first_name",
        "0": "description",
    }


def test_an_unexpected_error_in_one_row_is_reported_and_the_rest_go_in(
    manager, upload, monkeypatch
):
    real = services.apply_row

    def boom(job_, actor, values, row, chunk):
        if values.get("first_name") == "Bad":
            raise KeyError("surprise")
        return real(job_, actor, values, row, chunk)

    monkeypatch.setattr(services, "apply_row", boom)
    job = _import(manager, upload, [["Имя"], ["Good"], ["Bad"], ["Fine"]])
    assert (job.status, job.created, job.errors) == ("done", 2, 1)
    assert "surprise" in ImportRowError.objects.get(job=job).message
