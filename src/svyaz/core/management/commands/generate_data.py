"""Fill a database with a large, realistic, reproducible data set for benchmarks.

    manage.py generate_data --scale 0.1 --seed 42          # 100k contacts, 1M activities…
    manage.py generate_data --contacts 5000 --activities 20000 --seed 1

`--scale 1.0` is issue #6's full size: 1,000,000 contacts, 200,000 companies, 500,000
deals, 10,000,000 activities, 2,000,000 orders, 200 users in 20 departments. Explicit
counts override the scaled ones. Users and departments scale too (at least 5 users in
2 departments), so every manager owns as many records as at full size.

Speed: rows are made in Python from one `random.Random(seed)` and written with COPY on
PostgreSQL (psycopg 3 `cursor.copy()`), with executemany in big transactions on SQLite.
Ids are assigned here (after the current maximum) and the sequences reset at the end.
Reference data (departments, users, pipelines, custom fields, tags) goes through the ORM;
client summaries are rebuilt by `svyaz.sales.services.client_summaries_rebuild`, the one
code path for them.

What it writes, all with owner and department: Company, Contact (full_name composed as
the contact services do), Phone (E.164 + digits), Email, Address, ContactCompany, Deal
with DealStageChange rows, Order, Activity, TimelineEntry (one per deal, order and
activity), Followup (today and overdue for every manager, a busy one with many) and
ClientSummary. Order lines are not generated. Contacts carry custom values for the
`segment` (choice) and `loyalty_card` (text) custom fields, which it defines.

The busy manager is the first user with the manager role (own records) (`<prefix>0002`); the
generator gives them a full day of tasks and callbacks. Benchmarks rely on that.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from svyaz.accounts.models import Department, User
from svyaz.accounts.roles import ensure_default_roles
from svyaz.activities.models import Activity
from svyaz.contacts.models import Address, Company, Contact, ContactCompany, Email, Phone
from svyaz.core.management import demo_vocabulary as V
from svyaz.core.models import CustomField, CustomFieldEntity, CustomFieldType, TimelineEntry
from svyaz.followups.models import Followup
from svyaz.sales.models import Deal, DealStageChange, Order, Pipeline, Stage, StageKind

FULL = {
    "contacts": 1_000_000,
    "companies": 200_000,
    "deals": 500_000,
    "activities": 10_000_000,
    "orders": 2_000_000,
    "users": 200,
    "departments": 20,
}
MIN = {"users": 5, "departments": 2}
CHUNK = 50_000
SEGMENTS = ["A", "B", "C", "D"]
SOURCES = ["website", "web_form", "call", "email", "referral", "social", "advertising"]
ACTIVITY_KINDS = [  # (kind, direction, weight)
    ("call", "out", 40),
    ("call", "in", 15),
    ("email", "out", 15),
    ("email", "in", 10),
    ("meeting", "", 5),
    ("note", "", 10),
    ("message", "in", 5),
]
OUTCOMES = ["answered", "answered", "answered", "no_answer", "busy", "callback", "voicemail"]
KIND_TITLES = {
    ("call", "out"): "Outgoing call",
    ("call", "in"): "Incoming call",
    ("email", "out"): "Outgoing email",
    ("email", "in"): "Incoming email",
    ("meeting", ""): "Meeting",
    ("note", ""): "Note",
    ("message", "in"): "Incoming message",
}
PIPELINES = [
    (
        "Generated: sales",
        [
            ("Qualification", "open", 10),
            ("Needs analysis", "open", 25),
            ("Proposal", "open", 50),
            ("Negotiation", "open", 75),
            ("Won", "won", 100),
            ("Lost", "lost", 0),
        ],
    ),
    (
        "Generated: service",
        [
            ("Request", "open", 20),
            ("Estimate", "open", 50),
            ("Done", "won", 100),
            ("Declined", "lost", 0),
        ],
    ),
]


def scaled_counts(scale: float, **overrides: int | None) -> dict[str, int]:
    """The issue's full size times `scale`, with explicit counts taking precedence."""
    out = {}
    for key, full in FULL.items():
        value = overrides.get(key)
        if value is None:
            value = max(MIN.get(key, 0), int(round(full * scale)))
        out[key] = int(value)
    out["departments"] = max(1, min(out["departments"], out["users"]))
    return out


def inn10(rng: random.Random) -> str:
    """A 10-digit organisation INN with a valid check digit."""
    digits = [rng.randint(0, 9) for _ in range(9)]
    digits[0] = rng.randint(1, 9)
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


class Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, out: Callable[[str], None]):
        self.out = out
        self.pg = connection.vendor == "postgresql"
        self.totals: dict[str, tuple[int, float]] = {}

    def _value(self, v):
        if self.pg:
            return v
        if isinstance(v, dt.datetime):  # Django stores naive UTC text on SQLite
            return v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(v, (dt.date, Decimal)):
            return str(v)
        return v

    def write(self, model, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        table = model._meta.db_table
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c in columns)
        started = time.monotonic()
        n = 0
        with connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f"COPY {qn(table)} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        n += 1
            else:
                marks = ", ".join(["%s"] * len(columns))
                # Table and column names come from the models' metadata, quoted.
                sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
                batch: list[tuple] = []
                for row in rows:
                    batch.append(tuple(self._value(v) for v in row))
                    if len(batch) >= CHUNK:
                        cursor.executemany(sql, batch)
                        n += len(batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
                    n += len(batch)
        spent = time.monotonic() - started
        old_n, old_t = self.totals.get(table, (0, 0.0))
        self.totals[table] = (old_n + n, old_t + spent)
        return n

    def report(self, table: str) -> None:
        n, spent = self.totals.get(table, (0, 0.0))
        rate = n / spent if spent else 0
        self.out(f"  {table}: {n:,} rows in {spent:.1f}s ({rate:,.0f} rows/s)")


class Generator:
    def __init__(self, *, counts: dict[str, int], seed: int, prefix: str, out, now=None):
        self.counts = counts
        self.seed = seed
        self.prefix = prefix
        self.out = out
        self.rng = random.Random(seed)
        self.now = (now or timezone.now()).replace(microsecond=0)
        self.w = Writer(out)
        fake_ru = Faker("ru_RU")
        fake_ru.seed_instance(seed)
        fake_en = Faker("en_US")
        fake_en.seed_instance(seed)
        # Name pools drawn once: Faker per row would cost most of the run.
        self.male = [
            (fake_ru.first_name_male(), fake_ru.middle_name_male(), fake_ru.last_name_male())
            for _ in range(400)
        ]
        self.female = [
            (
                fake_ru.first_name_female(),
                fake_ru.middle_name_female(),
                fake_ru.last_name_female(),
            )
            for _ in range(400)
        ]
        self.english = [(fake_en.first_name(), "", fake_en.last_name()) for _ in range(300)]

    # ---- helpers -------------------------------------------------------------------
    def next_ids(self, model, n: int) -> range:
        from django.db.models import Max

        start = (model.all_objects if hasattr(model, "all_objects") else model.objects).aggregate(
            m=Max("id")
        )["m"] or 0
        return range(start + 1, start + 1 + n)

    def when(self, days_back: int, days_forward: int = 0) -> dt.datetime:
        seconds = self.rng.randint(-days_back * 86400, days_forward * 86400)
        return self.now + dt.timedelta(seconds=seconds)

    def owner(self) -> tuple[int, int]:
        return self.rng.choice(self.managers)

    def skewed(self, n: int) -> int:
        """An index in [0, n) with a heavy head: a few clients get most of the history."""
        return min(n - 1, int(n * self.rng.random() ** 2))

    def step(self, label: str, fn) -> None:
        started = time.monotonic()
        self.out(f"{label}…")
        with transaction.atomic():
            fn()
        self.out(f"  done in {time.monotonic() - started:.1f}s")

    # ---- reference data ------------------------------------------------------------
    def make_people(self) -> None:
        c = self.counts
        if User.objects.filter(username__startswith=self.prefix).exists():
            raise CommandError(
                f"Users named {self.prefix}* exist already: generate into an empty database "
                "or pass another --prefix."
            )
        root = Department.objects.create(name=f"{self.prefix} head office")
        depts = [root] + [
            Department.objects.create(name=f"{self.prefix} sales {i:02d}", parent=root)
            for i in range(1, c["departments"])
        ]
        password = make_password("generated-" + self.prefix)
        users = []
        role_of: dict[str, str] = {}
        for i in range(c["users"]):
            dept = depts[i % len(depts)] if i else root
            if i == 0:
                role = "administrator"
            elif i < len(depts):
                role = "head_of_sales"  # the first user of each department heads it
            else:
                role = "manager"
            role_of[f"{self.prefix}{i:04d}"] = role
            first, middle, last = self.rng.choice(self.male if i % 2 else self.female)
            users.append(
                User(
                    username=f"{self.prefix}{i:04d}",
                    first_name=first,
                    last_name=last,
                    email=f"{self.prefix}{i:04d}@example.com",
                    password=password,
                    department=dept,
                    is_superuser=i == 0,
                    is_staff=i == 0,
                    timezone="Europe/Moscow",
                )
            )
        User.objects.bulk_create(users)
        users = list(User.objects.filter(username__startswith=self.prefix).order_by("username"))
        roles = ensure_default_roles()
        User.roles.through.objects.bulk_create(
            User.roles.through(user_id=u.pk, role_id=roles[role_of[u.username]].pk) for u in users
        )
        for dept, head in zip(depts[1:], users[1 : len(depts)], strict=False):
            dept.head = head
            dept.save(update_fields=["head"])
        self.users = users
        # Records belong to everyone but the administrator.
        self.managers = [(u.pk, u.department_id) for u in users[1:]] or [
            (users[0].pk, users[0].department_id)
        ]
        own = [u for u in users if role_of[u.username] == "manager"]
        self.busy = own[0] if own else users[-1]
        self.out(
            f"  {len(depts)} departments, {len(users)} users "
            f"(admin {users[0].username}, busy manager {self.busy.username})"
        )

    def make_reference(self) -> None:
        self.pipelines = []
        for position, (name, stages) in enumerate(PIPELINES, start=10):
            pipeline, _ = Pipeline.objects.get_or_create(name=name, defaults={"position": position})
            if not pipeline.stages.exists():
                Stage.objects.bulk_create(
                    Stage(pipeline=pipeline, name=s, position=i, kind=k, probability=p)
                    for i, (s, k, p) in enumerate(stages)
                )
            st = list(pipeline.stages.order_by("position", "id"))
            self.pipelines.append(
                (
                    pipeline.pk,
                    [s for s in st if s.kind == StageKind.OPEN],
                    [s for s in st if s.kind == StageKind.WON],
                    [s for s in st if s.kind == StageKind.LOST],
                )
            )
        CustomField.objects.get_or_create(
            entity=CustomFieldEntity.CONTACT,
            code="segment",
            defaults={
                "label": "Segment",
                "field_type": CustomFieldType.CHOICE,
                "choices": SEGMENTS,
                "show_in_list": True,
                "position": 100,
            },
        )
        CustomField.objects.get_or_create(
            entity=CustomFieldEntity.CONTACT,
            code="loyalty_card",
            defaults={"label": "Loyalty card", "field_type": CustomFieldType.TEXT, "position": 101},
        )

    # ---- clients -------------------------------------------------------------------
    def make_companies(self) -> None:
        n = self.counts["companies"]
        ids = self.next_ids(Company, n)
        self.company_ids = list(ids)
        self.company_owner: list[tuple[int, int]] = []
        rng = self.rng
        cities = [(c[0], c[1], c[3], c[4]) for c in V.CITIES]
        city_weights = [c[5] for c in V.CITIES]
        self.company_city = rng.choices(range(len(cities)), weights=city_weights, k=n)

        def rows():
            for i, pk in enumerate(ids):
                owner, dept = self.owner()
                self.company_owner.append((owner, dept))
                brand = rng.choice(V.BRAND_HEADS) + rng.choice(V.BRAND_TAILS)
                form = rng.choice(V.COMPANY_FORMS)
                created = self.when(1500)
                yield (
                    pk, owner, dept, created, created, None, "{}",
                    f"{brand} {i}" if i >= 2000 else brand,
                    f"{form} «{brand}»", "RU", inn10(rng), "",
                    "", rng.choice(V.OKVED), f"https://{V.translit(brand)}.ru",
                    rng.choice(SOURCES), "",
                )  # fmt: skip

        self.w.write(
            Company,
            ["id", "owner_id", "department_id", "created_at", "updated_at", "deleted_at",
             "custom", "name", "legal_name", "country", "inn", "kpp", "tax_id",
             "industry_code", "website", "source", "description"],
            rows(),
        )  # fmt: skip
        self.w.report(Company._meta.db_table)

        def phones():
            for pk in self.phone_ids(n):
                i = pk - self.phone_base
                city = cities[self.company_city[i]]
                number = f"+7{rng.choice(city[2])}{rng.randint(0, 10**7 - 1):07d}"[:12]
                yield (pk, None, ids[i], number, number[1:], "work", True)

        self.phone_base = self.next_ids(Phone, 1)[0]
        self.w.write(
            Phone, ["id", "contact_id", "company_id", "number", "digits", "kind", "is_primary"],
            phones(),
        )  # fmt: skip

        base = self.next_ids(Address, 1)[0]

        def addresses():
            for i, pk in enumerate(ids):
                city = cities[self.company_city[i]]
                yield (
                    base + i, None, pk, "legal", "RU", city[1], city[0],
                    f"ул. {rng.choice(V.BRAND_HEADS)}, д. {rng.randint(1, 120)}",
                    f"{city[3]}{rng.randint(0, 999):03d}"[:6],
                )  # fmt: skip

        self.w.write(
            Address,
            ["id", "contact_id", "company_id", "kind", "country", "region", "city", "street",
             "postal_code"],
            addresses(),
        )  # fmt: skip

    def phone_ids(self, n: int) -> range:
        return range(self.phone_base, self.phone_base + n)

    def make_contacts(self) -> None:
        n = self.counts["contacts"]
        ids = self.next_ids(Contact, n)
        self.contact_ids = list(ids)
        self.contact_owner: list[tuple[int, int]] = []
        self.contact_company: list[int | None] = []
        rng = self.rng
        names: list[tuple[str, str, str]] = []
        ncomp = len(self.company_ids)

        def rows():
            for pk in ids:
                r = rng.random()
                pool = self.english if r < 0.08 else (self.male if r < 0.55 else self.female)
                first, middle, last = rng.choice(pool)
                names.append((first, last, "en" if r < 0.08 else "ru"))
                company = (
                    self.company_ids[rng.randrange(ncomp)] if ncomp and rng.random() < 0.6 else None
                )
                self.contact_company.append(company)
                if company is not None and rng.random() < 0.7:
                    owner = self.company_owner[company - self.company_ids[0]]
                else:
                    owner = self.owner()
                self.contact_owner.append(owner)
                created = self.when(1500)
                custom = {"segment": SEGMENTS[min(3, int(rng.random() ** 1.5 * 4))]}
                if rng.random() < 0.3:
                    custom["loyalty_card"] = f"LC-{rng.randint(100000, 999999)}"
                birthday = (
                    dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 15000))
                    if rng.random() < 0.3
                    else None
                )
                yield (
                    pk, owner[0], owner[1], created, created, None, json.dumps(custom),
                    first, middle, last, " ".join(p for p in (last, first, middle) if p),
                    rng.choice(V.EN_JOBS if pool is self.english else V.RU_JOBS)[0], birthday,
                    rng.choice(SOURCES), "",
                )  # fmt: skip

        self.w.write(
            Contact,
            ["id", "owner_id", "department_id", "created_at", "updated_at", "deleted_at",
             "custom", "first_name", "middle_name", "last_name", "full_name", "job_title",
             "birthday", "source", "description"],
            rows(),
        )  # fmt: skip
        self.w.report(Contact._meta.db_table)

        phone_base = self.next_ids(Phone, 1)[0]
        email_base = self.next_ids(Email, 1)[0]
        member_base = self.next_ids(ContactCompany, 1)[0]
        address_base = self.next_ids(Address, 1)[0]
        cities = V.CITIES

        def phones():
            pk = phone_base
            for pk_contact in ids:
                for k in range(2 if rng.random() < 0.3 else 1):
                    number = f"+79{rng.choice(V.MOBILE_CODES)}{rng.randint(0, 10**7 - 1):07d}"
                    yield (pk, pk_contact, None, number, number[1:], "mobile", k == 0)
                    pk += 1

        def emails():
            pk = email_base
            for i, pk_contact in enumerate(ids):
                if rng.random() < 0.1:
                    continue
                first, last, lang = names[i]
                local = f"{V.translit(first)}.{V.translit(last)}{i % 1000}"
                company = self.contact_company[i]
                domain = (
                    f"corp{company}.example.ru" if company is not None else rng.choice(V.FREE_MAIL)
                )
                yield (pk, pk_contact, None, f"{local}@{domain}", "work", True)
                pk += 1

        def members():
            pk = member_base
            for i, pk_contact in enumerate(ids):
                company = self.contact_company[i]
                if company is not None:
                    yield (pk, pk_contact, company, rng.choice(V.RU_JOBS)[0], True)
                    pk += 1

        def addresses():
            pk = address_base
            for pk_contact in ids:
                if rng.random() < 0.5:
                    city = rng.choice(cities)
                    yield (
                        pk, pk_contact, None, "home", "RU", city[1], city[0],
                        f"ул. Ленина, д. {rng.randint(1, 200)}", f"{city[4]}000"[:6],
                    )  # fmt: skip
                    pk += 1

        self.w.write(
            Phone, ["id", "contact_id", "company_id", "number", "digits", "kind", "is_primary"],
            phones(),
        )  # fmt: skip
        self.w.report(Phone._meta.db_table)
        self.w.write(
            Email, ["id", "contact_id", "company_id", "email", "kind", "is_primary"], emails()
        )
        self.w.report(Email._meta.db_table)
        self.w.write(
            ContactCompany, ["id", "contact_id", "company_id", "role", "is_primary"], members()
        )
        self.w.report(ContactCompany._meta.db_table)
        self.w.write(
            Address,
            ["id", "contact_id", "company_id", "kind", "country", "region", "city", "street",
             "postal_code"],
            addresses(),
        )  # fmt: skip
        self.w.report(Address._meta.db_table)

    def client(self) -> tuple[int | None, int | None, tuple[int, int]]:
        """(contact id, company id, (owner, department)) of a client, skewed to the head."""
        if self.contact_ids and (not self.company_ids or self.rng.random() < 0.85):
            i = self.skewed(len(self.contact_ids))
            return self.contact_ids[i], self.contact_company[i], self.contact_owner[i]
        i = self.skewed(len(self.company_ids))
        return None, self.company_ids[i], self.company_owner[i]

    # ---- sales ---------------------------------------------------------------------
    def make_deals(self) -> None:
        n = self.counts["deals"]
        ids = self.next_ids(Deal, n)
        rng = self.rng
        self.deal_ids = list(ids)
        self.deal_client: list[tuple] = []
        changes: list[tuple] = []
        timeline: list[tuple] = []

        def rows():
            for pk in ids:
                pipeline_id, open_st, won_st, lost_st = self.pipelines[
                    0 if rng.random() < 0.8 or len(self.pipelines) == 1 else 1
                ]
                r = rng.random()
                if r < 0.35:
                    stage, closed = rng.choice(open_st), False
                elif r < 0.75:
                    stage, closed = won_st[0], True
                else:
                    stage, closed = lost_st[0], True
                contact, company, (owner, dept) = self.client()
                self.deal_client.append((contact, company, owner, dept))
                created = self.when(1000)
                moved = min(self.now, created + dt.timedelta(days=rng.randint(0, 60)))
                amount = Decimal(rng.randint(10, 5000) * 1000)
                topic = rng.choice(V.DEAL_TOPICS)
                title = topic if isinstance(topic, str) else topic[0]
                first_stage = open_st[0]
                changes.append((pk, None, first_stage.pk, created, owner, None))
                if stage.pk != first_stage.pk:
                    changes.append(
                        (pk, first_stage.pk, stage.pk, moved, owner,
                         int((moved - created).total_seconds()))
                    )  # fmt: skip
                timeline.append(
                    ("deal", created, owner, contact, company, pk, "deal", pk,
                     f"Deal created: {title}", "",
                     json.dumps({"amount": str(amount), "currency": "RUB", "stage": stage.name}))
                )  # fmt: skip
                yield (
                    pk, owner, dept, created, moved, None, "{}", title, pipeline_id, stage.pk,
                    amount, "RUB", (created + dt.timedelta(days=30)).date(), None,
                    contact, company, None, None, "", moved, moved if closed else None, False,
                )  # fmt: skip

        self.w.write(
            Deal,
            ["id", "owner_id", "department_id", "created_at", "updated_at", "deleted_at",
             "custom", "title", "pipeline_id", "stage_id", "amount", "currency",
             "expected_close", "probability", "contact_id", "company_id", "price_list_id",
             "lost_reason_id", "lost_comment", "stage_changed_at", "closed_at", "is_repeat"],
            rows(),
        )  # fmt: skip
        self.w.report(Deal._meta.db_table)
        base = self.next_ids(DealStageChange, 1)[0]
        self.w.write(
            DealStageChange,
            ["id", "deal_id", "from_stage_id", "to_stage_id", "changed_at", "changed_by_id",
             "seconds_in_from"],
            ((base + i, *row) for i, row in enumerate(changes)),
        )  # fmt: skip
        self.w.report(DealStageChange._meta.db_table)
        self.write_timeline(timeline)

    TIMELINE_COLUMNS = [
        "id", "kind", "occurred_at", "actor_id", "contact_id", "company_id", "deal_id",
        "object_type", "object_id", "title", "body", "data",
    ]  # fmt: skip

    def write_timeline(self, rows: list[tuple]) -> None:
        base = self.next_ids(TimelineEntry, 1)[0]
        self.w.write(
            TimelineEntry,
            self.TIMELINE_COLUMNS,
            ((base + i, *row) for i, row in enumerate(rows)),
        )

    def make_orders(self) -> None:
        n = self.counts["orders"]
        rng = self.rng
        ids = self.next_ids(Order, n)
        for start in range(0, n, CHUNK * 4):
            chunk = ids[start : start + CHUNK * 4]
            timeline: list[tuple] = []

            def rows(chunk=chunk, timeline=timeline):
                for pk in chunk:
                    contact, company, (owner, dept) = self.client()
                    if contact is not None and rng.random() < 0.7:
                        company = None
                    at = self.when(1100)
                    amount = Decimal(rng.randint(500, 500_000))
                    status = "cancelled" if rng.random() < 0.05 else "completed"
                    number = f"G-{pk:08d}"
                    timeline.append(
                        ("order", at, owner, contact, company, None, "order", pk,
                         f"Order {number}: {amount} RUB", "",
                         json.dumps({"amount": str(amount), "currency": "RUB",
                                     "status": status}))
                    )  # fmt: skip
                    yield (
                        pk, owner, dept, at, at, None, "{}", number, contact, company, None,
                        at, amount, "RUB", status, "",
                    )  # fmt: skip

            self.w.write(
                Order,
                ["id", "owner_id", "department_id", "created_at", "updated_at", "deleted_at",
                 "custom", "number", "contact_id", "company_id", "deal_id", "ordered_at",
                 "amount", "currency", "status", "external_id"],
                rows(),
            )  # fmt: skip
            self.write_timeline(timeline)
        self.w.report(Order._meta.db_table)

    def make_activities(self) -> None:
        n = self.counts["activities"]
        rng = self.rng
        ids = self.next_ids(Activity, n)
        kinds = [(k, d) for k, d, _ in ACTIVITY_KINDS]
        weights = [w for *_, w in ACTIVITY_KINDS]
        ndeals = len(self.deal_ids)
        reported = time.monotonic()
        for start in range(0, n, CHUNK * 4):
            chunk = ids[start : start + CHUNK * 4]
            timeline: list[tuple] = []
            picks = rng.choices(kinds, weights=weights, k=len(chunk))

            def rows(chunk=chunk, timeline=timeline, picks=picks):
                for pk, (kind, direction) in zip(chunk, picks, strict=True):
                    if ndeals and rng.random() < 0.2:
                        d = rng.randrange(ndeals)
                        contact, company, owner, dept = self.deal_client[d]
                        deal = self.deal_ids[d]
                    else:
                        contact, company, (owner, dept) = self.client()
                        deal = None
                    at = self.when(730, 1 if kind == "meeting" else 0)
                    duration = outcome = None
                    if kind == "call":
                        outcome = rng.choice(OUTCOMES)
                        duration = rng.randint(20, 900) if outcome == "answered" else 0
                        subject = rng.choice(V.CALL_SUBJECTS)
                    elif kind == "email":
                        subject = rng.choice(V.EMAIL_SUBJECTS)
                    elif kind == "meeting":
                        subject = rng.choice(V.MEETING_SUBJECTS)
                    else:
                        subject = ""
                    body = rng.choice(V.NOTE_BODIES if kind == "note" else V.CALL_BODIES)
                    title = KIND_TITLES[(kind, direction)] + (f": {subject}" if subject else "")
                    timeline.append(
                        ("activity", at, owner, contact, company, deal, "activity", pk, title,
                         body, json.dumps({"kind": kind, "direction": direction,
                                           "outcome": outcome or "",
                                           "duration_seconds": duration}))
                    )  # fmt: skip
                    yield (
                        pk, owner, dept, at, at, None, "{}", kind, direction,
                        "phone" if kind == "call" else "", subject, body, at, duration,
                        outcome or "", contact, company, deal,
                    )  # fmt: skip

            self.w.write(
                Activity,
                ["id", "owner_id", "department_id", "created_at", "updated_at", "deleted_at",
                 "custom", "kind", "direction", "channel", "subject", "body", "occurred_at",
                 "duration_seconds", "outcome", "contact_id", "company_id", "deal_id"],
                rows(),
            )  # fmt: skip
            self.write_timeline(timeline)
            if time.monotonic() - reported > 10:
                reported = time.monotonic()
                self.out(f"  … {start + len(chunk):,} / {n:,} activities")
        self.w.report(Activity._meta.db_table)

    def make_followups(self) -> None:
        rng = self.rng
        per_manager = 12
        busy_extra = 150
        n = max(len(self.managers) * per_manager, self.counts["contacts"] // 20) + busy_extra
        ids = self.next_ids(Followup, n)
        busy = (self.busy.pk, self.busy.department_id)
        today = timezone.localtime(self.now).replace(hour=9, minute=0, second=0)

        def rows():
            for i, pk in enumerate(ids):
                if i < busy_extra:
                    assignee = busy  # today and overdue, the busy manager's day
                    due = today + dt.timedelta(
                        days=-rng.randint(0, 10) if i % 2 else 0, minutes=rng.randint(0, 600)
                    )
                    status = "open"
                elif i < busy_extra + len(self.managers) * per_manager:
                    assignee = self.managers[(i - busy_extra) % len(self.managers)]
                    due = today + dt.timedelta(days=rng.randint(-5, 3), minutes=rng.randint(0, 600))
                    status = "open"
                else:
                    assignee = self.owner()
                    due = self.when(400, 30)
                    status = "open" if due > self.now else rng.choice(["done", "done", "open"])
                contact, company, _ = self.client()
                kind = "callback" if rng.random() < 0.3 else "task"
                title = rng.choice(V.TASK_TITLES)
                created = due - dt.timedelta(days=rng.randint(1, 20))
                yield (
                    pk, assignee[0], assignee[1], created, created, None, "{}", kind,
                    title, "", assignee[0], due, rng.choice(["low", "normal", "normal", "high"]),
                    None, None, status, due if status == "done" else None,
                    rng.choice(V.TASK_RESULTS) if status == "done" else "",
                    contact, company if contact is None else None, None, None,
                )  # fmt: skip

        self.w.write(
            Followup,
            ["id", "owner_id", "department_id", "created_at", "updated_at", "deleted_at",
             "custom", "kind", "title", "description", "assignee_id", "due_at", "priority",
             "remind_at", "reminded_at", "status", "completed_at", "result", "contact_id",
             "company_id", "deal_id", "source_activity_id"],
            rows(),
        )  # fmt: skip
        self.w.report(Followup._meta.db_table)

    def finish(self) -> None:
        models = [Company, Contact, Phone, Email, Address, ContactCompany, Deal,
                  DealStageChange, Order, Activity, TimelineEntry, Followup]  # fmt: skip
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
        self.w.report(TimelineEntry._meta.db_table)

    def summaries(self) -> None:
        from svyaz.sales.services import client_summaries_rebuild

        started = time.monotonic()
        n = client_summaries_rebuild()
        spent = time.monotonic() - started
        self.out(f"  client summaries: {n:,} in {spent:.1f}s ({n / max(spent, 1e-9):,.0f} rows/s)")

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    def run(self) -> None:
        started = time.monotonic()
        self.step("Departments and users", self.make_people)
        self.step("Pipelines and custom fields", self.make_reference)
        self.step("Companies", self.make_companies)
        self.step("Contacts, phones, emails, memberships, addresses", self.make_contacts)
        self.step("Deals and stage changes", self.make_deals)
        self.step("Orders", self.make_orders)
        self.step("Activities", self.make_activities)
        self.step("Tasks and callbacks", self.make_followups)
        self.step("Sequences", self.finish)
        self.out("Client summaries…")
        self.summaries()
        self.out("ANALYZE…")
        self.analyze()
        total = sum(n for n, _ in self.w.totals.values())
        spent = time.monotonic() - started
        self.out(
            f"Generated {total:,} rows in {spent:.1f}s "
            f"({total / max(spent, 1e-9):,.0f} rows/s overall, {connection.vendor})"
        )


class Command(BaseCommand):
    help = "Fill the database with a large, reproducible data set (benchmarks, issue #6)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=0.01, help="1.0 = 1M contacts, 10M activities…"
        )
        for key in FULL:
            parser.add_argument(f"--{key}", type=int, default=None)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--prefix", default="gen", help="Username prefix of generated users.")

    def handle(self, *args, **options):
        if options["scale"] <= 0 or not math.isfinite(options["scale"]):
            raise CommandError("--scale must be a positive number.")
        counts = scaled_counts(options["scale"], **{k: options[k] for k in FULL})
        if counts["users"] < 2:
            raise CommandError("--users must be at least 2 (an administrator and a manager).")
        self.stdout.write(
            "Generating "
            + ", ".join(f"{k}={v:,}" for k, v in counts.items())
            + f" with seed {options['seed']} on {connection.vendor}"
        )
        Generator(
            counts=counts,
            seed=options["seed"],
            prefix=options["prefix"],
            out=lambda s: self.stdout.write(s),
        ).run()
