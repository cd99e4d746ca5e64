"""Import of a generated contact CSV into PostgreSQL vs plain COPY of the same rows (issue #5).

    .venv/bin/python benchmarks/import_bulk.py                 # 1,000,000 rows
    .venv/bin/python benchmarks/import_bulk.py --rows 100000   # a quick look

Target: the import at least 0.3 of COPY's rate, peak memory under 1 GB.

1. Writes a seeded CSV to disk (`--csv`, default /tmp/svyaz_import_<rows>.csv, ";" UTF-8,
   Russian headers): names in Russian or English, one or two phones in mixed formats
   ("8 (916) 123-45-67", "+7 916 1234567", "9161234567", "+7(916)123-45-67"), an e-mail, a
   company (2,000 names, typed in varying case), a city; ~2 % of the rows reuse the e-mail of
   an earlier row (duplicate keys), ~1 % are bad (a phone that is no phone, an e-mail that is
   no e-mail, no name).
2. Drops and creates the database `--db` (default svyaz_import_bench) on
   postgres://postgres@127.0.0.1:5432 and migrates it.
3. (a) The Svyaz import, in this process, through the real code path: services.import_upload
   (checks, counts rows, stores the file), import_set_mapping (guessed mapping, mode "create",
   key "email"), import_start, import_run — the Celery job's body. For this size the job takes
   the bulk path (dataquality/bulk.py: COPY batches). Timed from upload to done; peak RSS of
   this process over the import (VmHWM, reset before it).
   (b) Plain COPY: what the import wrote to the tables that hold the file's data — contacts,
   phones, e-mails, addresses, company links — exported with COPY TO into files, the tables
   TRUNCATEd (so empty again, as before the import), then COPY FROM those files back into the
   SAME tables with the same indexes, constraints and foreign keys, one transaction per table.
   Timed: the COPY FROMs and commits.

Printed, one line per figure. The ratio is given against COPY of all five tables (the same
data landing in the same places) and against COPY of the contacts table alone (the stricter
reading).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

RU_LAST = ["Иванов", "Петров", "Сидоров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов",
           "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
           "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов"]  # fmt: skip
RU_FIRST = ["Иван", "Пётр", "Алексей", "Сергей", "Дмитрий", "Андрей", "Михаил", "Николай",
            "Ольга", "Мария", "Елена", "Анна", "Татьяна", "Наталья", "Ирина"]  # fmt: skip
EN_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Davis", "Clark",
           "Lewis", "Walker", "Hall", "Young"]  # fmt: skip
EN_FIRST = ["John", "Mary", "James", "Linda", "Robert", "Susan", "David", "Karen", "Paul",
            "Emma"]  # fmt: skip
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара",
          "Нижний Новгород", "Краснодар", "Воронеж", "Пермь", "London", ""]  # fmt: skip
DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "example.org"]
COMPANY_WORDS = ["Ромашка", "Вектор", "Альфа", "Стройсервис", "Техно", "Восток", "Север",
                 "Acme", "Globex", "Initech", "Umbrella", "Прогресс"]  # fmt: skip
HEADER = ["Фамилия", "Имя", "Телефон", "Телефон 2", "E-mail", "Компания", "Город"]
TABLES = {  # what a contact row of the file becomes, and the columns COPY moves
    "contacts_contact": "id, created_at, updated_at, deleted_at, custom, first_name, "
    "middle_name, last_name, full_name, job_title, birthday, source, description, "
    "department_id, owner_id",
    "contacts_phone": "id, number, digits, kind, is_primary, company_id, contact_id",
    "contacts_email": "id, email, kind, is_primary, company_id, contact_id",
    "contacts_address": "id, kind, country, region, city, street, postal_code, company_id, "
    "contact_id",
    "contacts_contactcompany": "id, role, is_primary, company_id, contact_id",
}


def email_of(i: int) -> str:
    return f"user{i}.{(i * 7919) % 1000}@{DOMAINS[i % len(DOMAINS)]}"


def phone_of(rng: random.Random) -> str:
    n = f"9{rng.randint(0, 999_999_999):09d}"
    return rng.choice(
        [
            f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
            f"+7 {n[:3]} {n[3:]}",
            n,
            f"+7({n[:3]}){n[3:6]}-{n[6:8]}-{n[8:]}",
            f"8{n}",
        ]
    )


def generate(path: Path, rows: int, seed: int) -> tuple[int, int]:
    """Write the CSV; returns (duplicate-key rows, bad rows) as generated."""
    rng = random.Random(seed)
    companies = [
        f"{rng.choice(['ООО', 'АО', 'ИП', ''])} {rng.choice(COMPANY_WORDS)} {k}".strip()
        for k in range(2000)
    ]
    dups = bad = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(";".join(HEADER) + "\r\n")
        for i in range(rows):
            if rng.random() < 0.7:
                last, first = rng.choice(RU_LAST), rng.choice(RU_FIRST)
            else:
                last, first = rng.choice(EN_LAST), rng.choice(EN_FIRST)
            phone = phone_of(rng)
            phone2 = phone_of(rng) if rng.random() < 0.3 else ""
            email = email_of(i)
            r = rng.random()
            if r < 0.02 and i > 0:
                email = (
                    email_of(rng.randrange(i)).upper()
                    if rng.random() < 0.3
                    else email_of(rng.randrange(i))
                )
                dups += 1
            elif r < 0.0233:
                phone = "12-34"
                bad += 1
            elif r < 0.0266:
                email = email.replace("@", "(at)")
                bad += 1
            elif r < 0.03:
                last = first = ""
                bad += 1
            company = rng.choice(companies) if rng.random() < 0.6 else ""
            if company and rng.random() < 0.1:
                company = company.lower()
            city = rng.choice(CITIES)
            fh.write(";".join([last, first, phone, phone2, email, company, city]) + "\r\n")
    return dups, bad


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)


def fresh_database(name: str) -> str:
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", default="svyaz_import_bench")
    parser.add_argument("--csv", default="")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per COPY batch")
    args = parser.parse_args()

    print(f"loadavg_before={Path('/proc/loadavg').read_text().strip()}")
    default = Path(tempfile.gettempdir()) / f"svyaz_import_{args.rows}.csv"
    csv_path = Path(args.csv) if args.csv else default
    t0 = time.perf_counter()
    dups, bad = generate(csv_path, args.rows, args.seed)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"csv_rows={args.rows} csv_mb={size_mb:.1f} dup_key_rows={dups} bad_rows={bad} "
          f"generate_s={time.perf_counter() - t0:.1f}")  # fmt: skip

    os.environ["DATABASE_URL"] = fresh_database(args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
    import django
    from django.conf import settings

    django.setup()
    media = tempfile.mkdtemp(prefix="svyaz_import_media_")
    settings.MEDIA_ROOT = media
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SVYAZ_IMPORT_MAX_ROWS = max(args.rows + 1, 200_000)
    settings.SVYAZ_IMPORT_MAX_BYTES = max(int(size_mb * 1e6) * 2, 50 * 1024 * 1024)
    settings.SVYAZ_IMPORT_BULK_BATCH_ROWS = args.batch

    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate_s={time.perf_counter() - t0:.1f}")

    from svyaz.accounts.models import Role, User
    from svyaz.dataquality import bulk, services

    user = User.objects.create_user(username="importer", password=None, first_name="Bench")
    user.roles.add(Role.objects.get(code="administrator"))

    # (a) the Svyaz import ---------------------------------------------------------------
    reset_peak_rss()
    t0 = time.perf_counter()
    with csv_path.open("rb") as fh:
        job = services.import_upload(actor=user, entity="contact", upload=File(fh, csv_path.name))
    t_upload = time.perf_counter() - t0
    job = services.import_set_mapping(
        actor=user, job=job, mapping=job.mapping, mode="create", key_field="email"
    )
    services.import_start(actor=user, job=job)
    assert bulk.batch_rows_for(job), "the bulk path should take this job"
    t1 = time.perf_counter()
    job = services.import_run(job_id=job.pk)
    t_run = time.perf_counter() - t1
    t_import = time.perf_counter() - t0
    peak = peak_rss_mb()
    print(f"loadavg_import_end={Path('/proc/loadavg').read_text().strip()}")
    rows = job.processed
    print(f"import_status={job.status} rows={rows} created={job.created} skipped={job.skipped} "
          f"errors={job.errors} mapping={sorted(job.mapping.values())}")  # fmt: skip
    print(f"import_upload_s={t_upload:.1f} (checks, row count, file stored)")
    print(f"import_run_s={t_run:.1f} run_rows_per_s={rows / t_run:.0f}")
    print(f"import_total_s={t_import:.1f} import_rows_per_s={rows / t_import:.0f}")
    print(f"import_peak_rss_mb={peak:.0f} target_mb=1024")

    # (b) plain COPY of the same rows into the same tables --------------------------------
    connection.close()
    import psycopg

    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://")
    dump = Path(tempfile.mkdtemp(prefix="svyaz_import_copy_"))
    counts = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table, cols in TABLES.items():
            with (
                (dump / table).open("wb") as out,
                conn.cursor() as cur,
                cur.copy(f"COPY {table} ({cols}) TO STDOUT") as cp,
            ):
                for block in cp:
                    out.write(block)
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        conn.execute("TRUNCATE contacts_contact CASCADE")
        times = {}
        for table, cols in TABLES.items():
            t0 = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp,
                (dump / table).open("rb") as src,
            ):
                while block := src.read(1 << 20):
                    cp.write(block)
            times[table] = time.perf_counter() - t0
    for table in TABLES:
        print(f"copy_{table}_rows={counts[table]} copy_{table}_s={times[table]:.1f}")
    contacts = counts["contacts_contact"]
    copy_all = sum(times.values())
    copy_contacts = times["contacts_contact"]
    # The ratio compares the time to land the same rows (the contacts the import created).
    print(f"copy_all_tables_s={copy_all:.1f} copy_rows_per_s={contacts / copy_all:.0f}")
    print(
        f"copy_contacts_only_s={copy_contacts:.1f} "
        f"copy_contacts_only_rows_per_s={contacts / copy_contacts:.0f}"
    )
    print(f"import_landed_rows_per_s={contacts / t_import:.0f} (created contacts / total time)")
    print(f"ratio_import_vs_copy_all_tables={copy_all / t_import:.3f} target=0.30")
    print(f"ratio_import_vs_copy_contacts_only={copy_contacts / t_import:.3f} target=0.30")
    print(f"contacts_landed={contacts}")
    print(f"loadavg_after={Path('/proc/loadavg').read_text().strip()}")
    for f in dump.iterdir():
        f.unlink()
    dump.rmdir()


if __name__ == "__main__":
    main()
