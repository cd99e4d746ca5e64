"""The bulk (COPY) path of big create-only contact imports: same result as the per-row path,
undo, a killed batch, streaming; and its shortcuts agree with the full normalization."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from svyaz.audit.models import AuditEntry
from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Company, Contact, ContactCompany, Email, Phone
from svyaz.core.models import JobRun, TimelineEntry
from svyaz.core.phones import normalize_phone
from svyaz.dataquality import bulk, fastnorm, services
from svyaz.dataquality.models import ImportedRecord, ImportRowError, ImportStatus
from tests.dataquality.conftest import csv_bytes

pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY: PostgreSQL")

HEADER = ["Фамилия", "Имя", "Телефон", "Телефон 2", "E-mail", "Компания", "Город", "Дата рождения"]


def _rows() -> list[list[str]]:
    rows = [HEADER]
    for i in range(30):
        rows.append(
            [
                f"Иванов{i}",
                "Иван" if i % 3 else "John",
                ["8 (916) 123-45-%02d", "+7 916 12345%02d", "91612345%02d"][i % 3] % i,
                f"+7 903 000 00 {i:02d}" if i % 4 == 0 else "",
                f"user{i}@Mail.ru" if i % 5 else f"u{i}@example.com",
                ["Ромашка", "ромашка ", "Acme", "", "Новая"][i % 5],
                ["Москва", "", "Казань"][i % 3],
                "01.02.1990" if i % 7 else "",
            ]
        )
    rows += [
        ["Дубль", "Почты", "", "", "USER1@mail.ru", "", "", ""],  # same e-mail as row 3
        ["Дубль", "Телефона", "8 916 123 45 02", "", "other@mail.ru", "", "", ""],
        ["Старый", "Знакомый", "", "", "old@example.com", "", "", ""],  # in the base
        ["Плохой", "Телефон", "12", "", "bad1@mail.ru", "", "", ""],
        ["Плохая", "Почта", "", "", "not-an-email", "", "", ""],
        ["", "", "+7 916 999 99 99", "", "noname@mail.ru", "", "", ""],
        ["Кривая", "Дата", "", "", "date@mail.ru", "", "", "32.13.2020"],
        ["Обе", "Базы", "+7 903 555 55 55", "", "old@example.com", "", "", ""],
        ["Рваная", "Строка"],
    ]
    return rows


def _base(manager) -> None:
    contact_services.contact_create(
        actor=manager, first_name="Old", emails=["old@example.com"], phones=["+79035555555"]
    )
    contact_services.contact_create(actor=manager, first_name="Other", phones=["+79035555555"])
    contact_services.company_create(actor=manager, name="Acme")


def _run(manager, upload, rows, key):
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field=key
    )
    services.import_start(actor=manager, job=job)
    return services.import_run(job_id=job.pk)


def _snapshot(job) -> dict:
    contacts = []
    for c in Contact.objects.order_by("full_name"):
        contacts.append(
            (
                c.first_name,
                c.middle_name,
                c.last_name,
                c.full_name,
                c.source,
                c.owner_id,
                str(c.birthday),
                list(c.phones.values_list("number", "digits", "kind", "is_primary")),
                list(c.emails.values_list("email", "kind", "is_primary")),
                list(c.addresss.values_list("city", "kind", "country")),
                list(c.memberships.values_list("company__name", "is_primary")),
                list(
                    TimelineEntry.objects.filter(contact=c).values_list(
                        "title", "company__name", "object_type"
                    )
                ),
            )
        )
    return {
        "contacts": contacts,
        "companies": sorted(Company.objects.values_list("name", flat=True)),
        "counts": (job.status, job.processed, job.created, job.skipped, job.errors),
        "errors": list(
            ImportRowError.objects.filter(job=job).values_list("row", "column", "message")
        ),
        "records": sorted(job.records.values_list("model", "row", "action")),
    }


def _wipe() -> None:
    ImportRowError.objects.all().delete()
    ContactCompany.objects.all().delete()
    Contact.all_objects.all().delete()
    Company.all_objects.all().delete()
    TimelineEntry.objects.all().delete()


@pg_only
@pytest.mark.parametrize("key", ["email", "phone", ""])
def test_bulk_gives_the_same_database_as_the_per_row_path(manager, upload, settings, key):
    rows = _rows()
    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 10**9  # per row
    _base(manager)
    per_row = _run(manager, upload, rows, key)
    assert not JobRun.objects.filter(task__startswith=bulk.TASK).exists()
    expected = _snapshot(per_row)
    _wipe()

    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1
    settings.SVYAZ_IMPORT_BULK_BATCH_ROWS = 7  # several batches: duplicates across them
    _base(manager)
    job = _run(manager, upload, rows, key)
    assert (
        JobRun.objects.filter(key__startswith=f"import:{job.pk}:", task=f"{bulk.TASK}:7").count()
        == 6
    )
    got = _snapshot(job)
    assert got == expected
    if key:
        assert job.skipped >= 1 and job.errors >= 5
    # One audit row per created contact, source "import", with its values.
    ivan = Contact.objects.get(last_name="Иванов1")
    entry = AuditEntry.objects.get(object_id=ivan.pk, content_type__model="contact")
    assert (entry.source, entry.action, entry.actor_id) == ("import", "create", manager.pk)
    assert '"phones": ["+79161234501"]' in entry.new_value and "user1@mail.ru" in entry.new_value


@pg_only
def test_undo_of_a_bulk_import_removes_everything_it_created(manager, upload, settings):
    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1
    settings.SVYAZ_IMPORT_BULK_BATCH_ROWS = 10
    _base(manager)
    before = set(Contact.objects.values_list("pk", flat=True))
    job = _run(manager, upload, _rows(), "email")
    assert job.created > 20
    services.import_undo(actor=manager, job=job)
    assert set(Contact.objects.values_list("pk", flat=True)) == before
    assert sorted(Company.objects.values_list("name", flat=True)) == ["Acme"]
    gone = Contact.all_objects.filter(deleted_at__isnull=False)
    assert gone.count() == job.created
    assert AuditEntry.objects.filter(action="delete", content_type__model="contact").count() == (
        job.created
    )
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    # The soft-deleted contacts' phones no longer count as duplicates: the file goes in again.
    again = _run(manager, upload, _rows(), "email")
    assert again.created == job.created


@pg_only
def test_a_killed_batch_leaves_no_half_written_rows_and_the_run_resumes(
    manager, upload, settings, monkeypatch
):
    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1
    settings.SVYAZ_IMPORT_BULK_BATCH_ROWS = 10
    rows = [["Имя", "Телефон", "E-mail"]] + [
        [f"P{i}", f"8 916 000 00 {i:02d}", f"p{i}@mail.ru"] for i in range(25)
    ]
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field="email"
    )
    services.import_start(actor=manager, job=job)
    real = bulk._audit_values

    def crash(item):  # the audit COPY is the last one of a batch: all else is written
        if item.contact.first_name == "P14":
            raise SystemExit("worker killed")
        return real(item)

    monkeypatch.setattr(bulk, "_audit_values", crash)
    with pytest.raises(SystemExit):
        services.import_run(job_id=job.pk)
    names = sorted(Contact.objects.values_list("first_name", flat=True))
    assert names == sorted(f"P{i}" for i in range(10))
    assert Phone.objects.count() == Email.objects.count() == 10
    assert TimelineEntry.objects.count() == 10
    assert ImportedRecord.objects.filter(job=job).count() == 10
    job.refresh_from_db()
    assert (job.processed, job.chunks_done, job.created, job.status) == (10, 1, 10, "running")

    monkeypatch.setattr(bulk, "_audit_values", real)
    job = services.import_run(job_id=job.pk)
    assert (job.status, job.processed, job.created, job.skipped) == ("done", 25, 25, 0)
    assert Contact.objects.count() == Phone.objects.count() == 25
    assert sorted(Email.objects.values_list("email", flat=True)) == sorted(
        f"p{i}@mail.ru" for i in range(25)
    )


def test_the_file_is_streamed_one_batch_at_a_time(manager, upload, monkeypatch):
    rows = [["Имя"]] + [[f"P{i}"] for i in range(1000)]
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    pulled = []
    real = services.parsing.iter_rows

    def counting(*args, **kwargs):
        for row in real(*args, **kwargs):
            pulled.append(row.number)
            yield row

    monkeypatch.setattr(services.parsing, "iter_rows", counting)
    batches = services._chunks(job, 100)
    number, first = next(batches)
    assert (number, len(first)) == (0, 100)
    assert len(pulled) <= 101  # not the whole file: the reader is an iterator
    assert sum(len(b) for _n, b in batches) == 900
    batches.close()


def test_small_files_other_modes_and_sqlite_take_the_per_row_path(manager, upload, settings):
    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 2
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(_rows())))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field="email"
    )
    assert bool(bulk.batch_rows_for(job)) == (connection.vendor == "postgresql")
    job.mode = "upsert"
    assert bulk.batch_rows_for(job) == 0
    job.mode = "create"
    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1000
    assert bulk.batch_rows_for(job) == 0


def _phone_samples(rng: random.Random) -> list[str]:
    out = [
        "8 (916) 123-45-67",
        "+7 916 1234567",
        "9161234567",
        "+7(916)123-45-67",
        "8-916-123-45-67",
        "  89161234567 ",
        "7 916 123 45 67",
        "+8 916 123 45 67",
        "8 (495) 123-45-67",
        "+7 495 1234567",
        "4951234567",
        "12",
        "+1 212 555 0100",
        "9(16)1234567",
        "((916)) 123--45--67",
        "+79161234567890",
        "916123456",
        "8 916 123 45 6",
        "+380 44 123 4567",
        "0916123456",
    ]
    for _ in range(400):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(8, 12)))
        if rng.random() < 0.5:
            digits = rng.choice(["8", "7", "9", "+7", "+8", ""]) + "9" + digits[:9]
        seps = "".join(rng.choice([c, c, c, " ", "-", "(", ")"]) for c in digits)
        out.append(seps)
    return out


def test_the_phone_shortcut_agrees_with_normalize_phone():
    rng = random.Random(5)
    for text in _phone_samples(rng):
        text = text.strip()
        if not text:
            continue
        try:
            want = normalize_phone(text)
        except ValidationError as exc:
            want = ("error", exc.messages)
        try:
            got = fastnorm.phone_e164(text)
        except ValidationError as exc:
            got = ("error", exc.messages)
        assert got == want, text


def test_the_email_shortcut_agrees_with_clean_emails():
    rng = random.Random(7)
    samples = [
        "Ivan.Petrov@Mail.RU",
        "ivan..petrov@mail.ru",
        ".ivan@mail.ru",
        "ivan.@mail.ru",
        "ivan@mail",
        "ivan@localhost",
        "ivan@test",
        "ivan@mail.test",
        "ivan@-mail.ru",
        "ivan@mail-.ru",
        "ivan@mail..ru",
        "иван@почта.рф",
        "ivan@почта.рф",
        '"ivan"@mail.ru',
        "ivan@@mail.ru",
        "iv an@mail.ru",
        "x" * 65 + "@mail.ru",
        "a@" + "b" * 64 + ".ru",
        "postmaster@mail.ru",
        "ivan+tag@gmail.com",
        "ivan@123.45",
        "ivan@mail.r",
        "ivan@xn--80a1acny.xn--p1ai",
        "ivan@xn--bad.ru",
        "Ivan <ivan@mail.ru>",
    ]
    alphabet = "abcXYZ019._+-@"
    for _ in range(600):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        domain = rng.choice(["mail.ru", "Mail.Ru", "gmail.com", "ex-ample.org", "a.b", "x"])
        samples.append(f"{local}@{domain}")
    for text in samples * 2:  # the second round goes through the cached domains
        try:
            want = contact_services.clean_emails([text])
        except ValidationError as exc:
            want = exc.message_dict
        try:
            got = fastnorm.emails([text])
        except ValidationError as exc:
            got = exc.message_dict
        assert got == want, text


def test_the_field_check_reports_what_full_clean_reports(manager):
    check = fastnorm.FieldCheck(Contact)
    good = Contact(first_name="Иван", last_name="Петров", full_name="Петров Иван", source="import")
    check(good, ["owner", "department"])
    for bad in (
        Contact(first_name="x" * 101, full_name="x", source="import"),
        Contact(first_name="Иван", full_name="Иван", source="nonsense"),
        Contact(first_name="Иван", full_name="", source="import"),
        Contact(first_name="Ив\x00ан", full_name="Иван", source="import"),
    ):
        try:
            bad.full_clean(exclude=["owner", "department"])
            want = None
        except ValidationError as exc:
            want = exc.message_dict
        try:
            check(bad, ["owner", "department"])
            got = None
        except ValidationError as exc:
            got = exc.message_dict
        assert got == want


def _job(manager, upload, rows, key="email"):
    job = services.import_upload(actor=manager, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=manager, job=job, mapping=job.mapping, mode="create", key_field=key
    )
    services.import_start(actor=manager, job=job)
    return job


@pg_only
@pytest.mark.parametrize("overlap", [True, False])
def test_a_key_repeated_in_the_next_batch_is_skipped_with_the_reader_ahead(
    manager, upload, settings, monkeypatch, overlap
):
    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1
    settings.SVYAZ_IMPORT_BULK_BATCH_ROWS = 3
    settings.SVYAZ_IMPORT_BULK_OVERLAP = overlap
    rows = [["Имя", "Телефон", "E-mail"]] + [
        [f"P{i}", f"8 916 000 00 {i:02d}", f"p{i}@mail.ru"] for i in range(9)
    ]
    rows[4][2] = "p2@mail.ru"  # batch 1's first row: the key of batch 0's last row
    rows[5][2] = "P0@MAIL.RU"  # …and of batch 0's first row, in capitals
    rows[8][2] = "p4@mail.ru"  # batch 2: the e-mail P4 had before: P4 was skipped, no match
    prepared: dict[int, str] = {}
    real_prepare, real_run = bulk._Batch.prepare, bulk._Batch.run

    def prepare(self, rows, rules):
        prepared[self.number] = threading.current_thread().name
        return real_prepare(self, rows, rules)

    def run(self):
        # The worst case: the next batch is read (its keys taken) before this one commits.
        deadline = time.monotonic() + 5
        while overlap and self.number + 1 not in prepared and time.monotonic() < deadline:
            time.sleep(0.01)
        if overlap and self.number < 2:
            assert self.number + 1 in prepared
        return real_run(self)

    monkeypatch.setattr(bulk._Batch, "prepare", prepare)
    monkeypatch.setattr(bulk._Batch, "run", run)
    job = services.import_run(job_id=_job(manager, upload, rows).pk)
    assert (job.status, job.processed, job.created, job.skipped, job.errors) == (
        "done",
        9,
        7,
        2,
        0,
    )
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == [
        "P0", "P1", "P2", "P5", "P6", "P7", "P8"
    ]  # fmt: skip
    assert not ImportRowError.objects.filter(job=job).exists()
    main = threading.main_thread().name
    assert sorted(prepared) == [0, 1, 2]
    assert all((name != main) == overlap for name in prepared.values())
    assert not [t for t in threading.enumerate() if t.name.startswith("svyaz-import-")]


@pg_only
def test_an_error_in_the_reader_thread_fails_the_job_cleanly_and_it_resumes(
    manager, upload, settings, monkeypatch
):
    from svyaz.dataquality import tasks

    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1
    settings.SVYAZ_IMPORT_BULK_BATCH_ROWS = 4
    rows = [["Имя", "Телефон", "E-mail"]] + [
        [f"P{i}", f"8 916 000 00 {i:02d}", f"p{i}@mail.ru"] for i in range(14)
    ]
    job = _job(manager, upload, rows)
    real = bulk._Batch.prepare
    threads = []

    def broken(self, rows, rules):
        threads.append(threading.current_thread())
        if self.number == 2:
            raise RuntimeError("reader broke")
        return real(self, rows, rules)

    monkeypatch.setattr(bulk._Batch, "prepare", broken)
    with pytest.raises(RuntimeError, match="reader broke"):
        tasks.import_run(job.pk)
    assert threads and all(t is not threading.main_thread() for t in threads)
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportStatus.FAILED, "reader broke")
    # Batches 0 and 1 committed whole, nothing of batch 2 or after.
    assert (job.processed, job.chunks_done, job.created) == (8, 2, 8)
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == sorted(
        f"P{i}" for i in range(8)
    )
    assert Phone.objects.count() == Email.objects.count() == 8
    assert ImportedRecord.objects.filter(job=job).count() == 8
    assert not JobRun.objects.filter(key=f"import:{job.pk}:2").exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("svyaz-import-")]

    monkeypatch.setattr(bulk._Batch, "prepare", real)
    services.import_start(actor=manager, job=job)  # a failed import can be started again
    job = services.import_run(job_id=job.pk)
    assert (job.status, job.processed, job.created, job.skipped, job.errors) == (
        "done",
        14,
        14,
        0,
        0,
    )
    assert Contact.objects.count() == Email.objects.count() == 14


@pg_only
def test_backslashes_and_quotes_reach_the_database_and_the_audit_as_typed(
    manager, upload, settings
):
    from svyaz.audit import capture

    settings.SVYAZ_IMPORT_BULK_MIN_ROWS = 1
    rows = [["Фамилия", "Имя", "E-mail", "Компания", "Город", "Дата рождения", "Описание"]]
    rows += [
        ["\\N", 'Д"Артаньян', "a@mail.ru", "Acme \\ Co", "C:\\Temp", "01.02.1990", "x\\ty \\\\ z"],
        ["O'Brien", "\\", "b@mail.ru", "", "", "", ""],
    ]
    job = _job(manager, upload, rows)
    assert "description" in job.mapping.values()
    job = services.import_run(job_id=job.pk)
    assert (job.created, job.errors) == (2, 0)
    c = Contact.objects.get(first_name='Д"Артаньян')
    assert (c.last_name, c.full_name, c.description) == (
        "\\N",
        '\\N Д"Артаньян',
        "x\\ty \\\\ z",
    )
    assert list(c.addresss.values_list("city", flat=True)) == ["C:\\Temp"]
    company = Company.objects.get(name="Acme \\ Co")
    entry = AuditEntry.objects.get(object_id=c.pk, content_type__model="contact")
    expected = {
        "first_name": 'Д"Артаньян',
        "last_name": "\\N",
        "birthday": c.birthday,
        "source": "import",
        "description": "x\\ty \\\\ z",
        "owner": manager.pk,
        "emails": ["a@mail.ru"],
        "addresses": [{"city": "C:\\Temp"}],
        "company": company.pk,
    }
    if manager.department_id:
        expected["department"] = manager.department_id
    assert entry.new_value == capture.encode(expected)
    other = Contact.objects.get(last_name="O'Brien")
    entry = AuditEntry.objects.get(object_id=other.pk, content_type__model="contact")
    assert other.first_name == "\\"
    assert entry.new_value == capture.encode(
        {"first_name": "\\", "last_name": "O'Brien", "source": "import", "owner": manager.pk}
        | ({"department": manager.department_id} if manager.department_id else {})
        | {"emails": ["b@mail.ru"]}
    )
