"""Fill a database with a large, realistic, reproducible data set for benchmarks.

    manage.py generate_data --scale 0.1 --seed 42          # 100k contacts, 1M activities…
    manage.py generate_data --contacts 5000 --activities 20000 --seed 1

`--scale 1.0` is issue #6's full size: 1,000,000 contacts, 200,000 companies, 500,000
deals, 10,000,000 activities, 2,000,000 orders, 200 users in 20 departments. Explicit
counts override the scaled ones. Users and departments scale too (at least 5 users in
2 departments), so every manager owns as many records as at full size.

Speed (issue #6: scale 1.0 in under 30 minutes on 2 cores):

- The "skeleton" (who owns which client, which company a contact works for, which
  client a deal belongs to) is drawn in the main process from `random.Random(seed)`.
  Everything else is made in chunks of CHUNK rows, each from its own
  `random.Random(f"{seed}:{table}:{chunk}")`, so a chunk's rows do not depend on which
  process makes it or in which order: the same seed gives the same data with any
  `--workers`.
- A chunk is formatted straight into COPY text (one f-string per row, texts escaped once
  when the word pools are built, timestamps from precomputed day/second tables).
  `--workers N` (default 1 on PostgreSQL) makes chunks in N forked processes while the
  main process streams the finished ones to COPY; at most 2·N chunks wait in memory.
- On PostgreSQL the whole load is one transaction: the secondary indexes (not primary
  keys, not unique ones) and the foreign keys of the big tables are dropped first and
  recreated (and the keys validated) at the end of it with a large
  `maintenance_work_mem`; a failure rolls everything back, indexes included.
  `--keep-indexes` loads with them in place. Then client summaries, then ANALYZE.
- SQLite gets the same text, parsed back into tuples and written with executemany, so
  both databases hold the same rows.

Ids of companies, contacts, deals, orders, activities, follow-ups and timeline entries
are assigned here (after the current maximum); phones, e-mails, addresses, memberships
and stage changes take theirs from the table's sequence in row order. The sequences are
reset at the end. Reference data (departments, users, pipelines, custom fields) goes
through the ORM; client summaries are rebuilt by
`svyaz.sales.services.client_summaries_rebuild`, the one code path for them.

What it writes, all with owner and department: Company, Contact (full_name composed as
the contact services do), Phone (E.164 + digits), Email, Address, ContactCompany, Deal
with DealStageChange rows, Order, Activity, TimelineEntry (one per deal, order and
activity), Followup (today and overdue for every manager, a busy one with many) and
ClientSummary. Order lines are not generated. Contacts carry custom values for the
`segment` (choice) and `loyalty_card` (text) custom fields, which it defines.

The busy manager is the first user with the manager role (own records) (`<prefix>0002`); the
generator gives them a full day of tasks and callbacks. Benchmarks rely on that.

The data differs from what the generator made before 2026-12 for the same seed (the
random draws are made in another order); the distributions are the same.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterator

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
CHUNK = 50_000  # rows of the leading table per chunk (and per executemany on SQLite)
DAY = 86_400
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

# Columns per table, with their kind: i int, s text, t timestamptz, d date, b bool,
# n numeric, j json. "id" missing = taken from the table's sequence.
OWNED = [("id", "i"), ("owner_id", "i"), ("department_id", "i"), ("created_at", "t"),
         ("updated_at", "t"), ("deleted_at", "t"), ("custom", "j")]  # fmt: skip
TABLES: dict[str, tuple[type, list[tuple[str, str]]]] = {
    "company": (Company, OWNED + [
        ("name", "s"), ("legal_name", "s"), ("country", "s"), ("inn", "s"), ("kpp", "s"),
        ("tax_id", "s"), ("industry_code", "s"), ("website", "s"), ("source", "s"),
        ("description", "s")]),
    "contact": (Contact, OWNED + [
        ("first_name", "s"), ("middle_name", "s"), ("last_name", "s"), ("full_name", "s"),
        ("job_title", "s"), ("birthday", "d"), ("source", "s"), ("description", "s")]),
    "phone": (Phone, [("contact_id", "i"), ("company_id", "i"), ("number", "s"),
                      ("digits", "s"), ("kind", "s"), ("is_primary", "b")]),
    "email": (Email, [("contact_id", "i"), ("company_id", "i"), ("email", "s"), ("kind", "s"),
                      ("is_primary", "b")]),
    "address": (Address, [("contact_id", "i"), ("company_id", "i"), ("kind", "s"),
                          ("country", "s"), ("region", "s"), ("city", "s"), ("street", "s"),
                          ("postal_code", "s")]),
    "member": (ContactCompany, [("contact_id", "i"), ("company_id", "i"), ("role", "s"),
                                ("is_primary", "b")]),
    "deal": (Deal, OWNED + [
        ("title", "s"), ("pipeline_id", "i"), ("stage_id", "i"), ("amount", "n"),
        ("currency", "s"), ("expected_close", "d"), ("probability", "i"), ("contact_id", "i"),
        ("company_id", "i"), ("price_list_id", "i"), ("lost_reason_id", "i"),
        ("lost_comment", "s"), ("stage_changed_at", "t"), ("closed_at", "t"),
        ("is_repeat", "b")]),
    "stagechange": (DealStageChange, [
        ("deal_id", "i"), ("from_stage_id", "i"), ("to_stage_id", "i"), ("changed_at", "t"),
        ("changed_by_id", "i"), ("seconds_in_from", "i")]),
    "order": (Order, OWNED + [
        ("number", "s"), ("contact_id", "i"), ("company_id", "i"), ("deal_id", "i"),
        ("ordered_at", "t"), ("amount", "n"), ("currency", "s"), ("status", "s"),
        ("external_id", "s")]),
    "activity": (Activity, OWNED + [
        ("kind", "s"), ("direction", "s"), ("channel", "s"), ("subject", "s"), ("body", "s"),
        ("occurred_at", "t"), ("duration_seconds", "i"), ("outcome", "s"), ("contact_id", "i"),
        ("company_id", "i"), ("deal_id", "i")]),
    "timeline": (TimelineEntry, [
        ("id", "i"), ("kind", "s"), ("occurred_at", "t"), ("actor_id", "i"),
        ("contact_id", "i"), ("company_id", "i"), ("deal_id", "i"), ("object_type", "s"),
        ("object_id", "i"), ("title", "s"), ("body", "s"), ("data", "j")]),
    "followup": (Followup, OWNED + [
        ("kind", "s"), ("title", "s"), ("description", "s"), ("assignee_id", "i"),
        ("due_at", "t"), ("priority", "s"), ("remind_at", "t"), ("reminded_at", "t"),
        ("status", "s"), ("completed_at", "t"), ("result", "s"), ("contact_id", "i"),
        ("company_id", "i"), ("deal_id", "i"), ("source_activity_id", "i")]),
}  # fmt: skip
# Tables whose secondary indexes and foreign keys are rebuilt after the load.
BIG = ["company", "contact", "phone", "email", "address", "member", "deal", "stagechange",
       "order", "activity", "timeline"]  # fmt: skip
N = "\\N"  # NULL in COPY text


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


_INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn10(rng: random.Random) -> str:
    """A 10-digit organisation INN with a valid check digit."""
    body = str(rng.randrange(100_000_000, 1_000_000_000))
    check = sum(int(d) * w for d, w in zip(body, _INN_WEIGHTS, strict=True)) % 11 % 10
    return body + str(check)


def esc(text: str) -> str:
    """A text value for COPY's text format (pools are escaped once, not per row)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


_UNESC = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def unesc(text: str) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(_UNESC.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def chunk_rng(seed: int, table: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{table}:{index}")


class Writer:
    """COPY text into one table: COPY on PostgreSQL, parsed back for executemany on SQLite."""

    def __init__(self, out: Callable[[str], None]):
        self.out = out
        self.pg = connection.vendor == "postgresql"
        self.totals: dict[str, tuple[int, float]] = {}

    def write(self, key: str, data: bytes, rows: int) -> None:
        model, spec = TABLES[key]
        table = model._meta.db_table
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c, _ in spec)
        started = time.monotonic()
        with connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f"COPY {qn(table)} ({cols}) FROM STDIN") as copy:
                    copy.write(data)
            else:
                marks = ", ".join(["%s"] * len(spec))
                # Table and column names come from the models' metadata, quoted.
                sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
                kinds = [k for _, k in spec]
                batch = [
                    tuple(
                        None if v == N else _SQLITE[k](v)
                        for v, k in zip(line.split("\t"), kinds, strict=True)
                    )
                    for line in data.decode().split("\n")[:-1]
                ]
                cursor.executemany(sql, batch)
        spent = time.monotonic() - started
        old_n, old_t = self.totals.get(table, (0, 0.0))
        self.totals[table] = (old_n + rows, old_t + spent)

    def report(self, key: str, wall: float, before: dict | None = None) -> None:
        """Rows written to `key` (since the `before` snapshot of totals) and their rates."""
        table = TABLES[key][0]._meta.db_table
        n, spent = self.totals.get(table, (0, 0.0))
        n0, spent0 = (before or {}).get(table, (0, 0.0))
        n, spent = n - n0, spent - spent0
        self.out(
            f"  {table}: {n:,} rows, {'COPY' if self.pg else 'INSERT'} {spent:.1f}s "
            f"({n / max(spent, 1e-9):,.0f} rows/s); {n / max(wall, 1e-9):,.0f} rows/s "
            f"over the {wall:.1f}s of its step"
        )


_SQLITE: dict[str, Callable[[str], object]] = {
    "i": int,
    "s": unesc,
    "j": unesc,
    "t": lambda v: v[:-3],  # naive UTC text, as Django stores it on SQLite
    "d": str,
    "n": str,
    "b": lambda v: v == "t",
}

_STATE: Generator | None = None  # the generator, inherited by forked workers


def _make_chunk(spec: tuple[str, int, int, int]) -> list[tuple[str, bytes, int]]:
    assert _STATE is not None
    return _STATE.make_chunk(spec)


class Generator:
    def __init__(
        self,
        *,
        counts: dict[str, int],
        seed: int,
        prefix: str,
        out,
        now=None,
        workers: int = 0,
        keep_indexes: bool = False,
    ):
        self.counts = counts
        self.seed = seed
        self.prefix = prefix
        self.out = out
        self.workers = workers
        self.keep_indexes = keep_indexes
        self.rng = random.Random(seed)
        self.now = (now or timezone.now()).replace(microsecond=0)
        self.now_s = int(self.now.timestamp())
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
        self._pools()

    # ---- precomputed pools -------------------------------------------------------------
    def _pools(self) -> None:
        # Timestamps as seconds since the epoch; text from a day table and a second table.
        self.day0 = self.now_s // DAY - 2200
        days = [dt.date(1970, 1, 1) + dt.timedelta(days=self.day0 + i) for i in range(2700)]
        self.days = [d.isoformat() + " " for d in days]
        self.dates = [d.isoformat() for d in days]
        self.hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
        self.birthdays = [
            (dt.date(1960, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(15001)
        ]

        # A person: (first, middle, last, full name, transliterated first.last), escaped.
        def person(p):
            first, middle, last = p
            full = " ".join(x for x in (last, first, middle) if x)
            return (
                esc(first), esc(middle), esc(last), esc(full),
                f"{V.translit(first)}.{V.translit(last)}",
            )  # fmt: skip

        self.people = {
            "en": [person(p) for p in self.english],
            "m": [person(p) for p in self.male],
            "f": [person(p) for p in self.female],
        }
        self.ru_jobs = [esc(j[0]) for j in V.RU_JOBS]
        self.en_jobs = [esc(j[0]) for j in V.EN_JOBS]
        self.heads = [(esc(h), V.translit(h)) for h in V.BRAND_HEADS]
        self.tails = [(esc(t), V.translit(t)) for t in V.BRAND_TAILS]
        self.forms = [esc(f) for f in V.COMPANY_FORMS]
        self.okved = [esc(o) for o in V.OKVED]
        self.cities = [
            (esc(c[0]), esc(c[1]), c[3], esc(c[4])) for c in V.CITIES
        ]  # (city, region, area codes, postcode prefix)
        self.city_weights = [c[5] for c in V.CITIES]
        self.topics = [esc(t if isinstance(t, str) else t[0]) for t in V.DEAL_TOPICS]
        self.call_subjects = [esc(s) for s in V.CALL_SUBJECTS]
        self.email_subjects = [esc(s) for s in V.EMAIL_SUBJECTS]
        self.meeting_subjects = [esc(s) for s in V.MEETING_SUBJECTS]
        self.call_bodies = [esc(s) for s in V.CALL_BODIES]
        self.note_bodies = [esc(s) for s in V.NOTE_BODIES]

    def ts(self, s: int) -> str:
        return self.days[s // DAY - self.day0] + self.hms[s % DAY]

    # ---- helpers -------------------------------------------------------------------
    def next_ids(self, model, n: int) -> range:
        from django.db.models import Max

        start = (model.all_objects if hasattr(model, "all_objects") else model.objects).aggregate(
            m=Max("id")
        )["m"] or 0
        return range(start + 1, start + 1 + n)

    def owner(self) -> tuple[int, int]:
        return self.rng.choice(self.managers)

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
                    [(s.pk, s.name) for s in st if s.kind == StageKind.OPEN],
                    [(s.pk, s.name) for s in st if s.kind == StageKind.WON],
                    [(s.pk, s.name) for s in st if s.kind == StageKind.LOST],
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

    # ---- the skeleton (main process, main random stream) -------------------------------
    def make_skeleton(self) -> None:
        c, rng, r = self.counts, self.rng, self.rng.random
        managers = self.managers
        ncomp, ncont = c["companies"], c["contacts"]
        self.company_base = self.next_ids(Company, 1)[0]
        self.contact_base = self.next_ids(Contact, 1)[0]
        self.deal_base = self.next_ids(Deal, 1)[0]
        self.order_base = self.next_ids(Order, 1)[0]
        self.activity_base = self.next_ids(Activity, 1)[0]
        self.followup_base = self.next_ids(Followup, 1)[0]
        tl = self.next_ids(TimelineEntry, 1)[0]
        self.timeline_base = {
            "deal": tl,
            "order": tl + c["deals"],
            "activity": tl + c["deals"] + c["orders"],
        }
        self.company_owner = rng.choices(managers, k=ncomp)
        cb = self.company_base
        company_owner = self.company_owner
        contact_company: list[int | None] = []
        contact_owner: list[tuple[int, int]] = []
        for _ in range(ncont):
            i = int(r() * ncomp) if ncomp and r() < 0.6 else -1
            if i >= 0:
                contact_company.append(cb + i)
                contact_owner.append(company_owner[i] if r() < 0.7 else rng.choice(managers))
            else:
                contact_company.append(None)
                contact_owner.append(rng.choice(managers))
        self.contact_company = contact_company
        self.contact_owner = contact_owner
        pick = self.client_picker(rng)
        self.deal_client = [pick() for _ in range(c["deals"])]

    def client_picker(self, rng: random.Random) -> Callable[[], tuple]:
        """(contact id, company id, owner, department) of a client, skewed to the head:
        a few clients get most of the history."""
        r = rng.random
        ncont, ncomp = self.counts["contacts"], self.counts["companies"]
        cb, kb = self.contact_base, self.company_base
        contact_company, contact_owner = self.contact_company, self.contact_owner
        company_owner = self.company_owner
        p_contact = 0.85 if ncomp else 1.0
        if not ncont:
            p_contact = 0.0

        def pick() -> tuple:
            if r() < p_contact:
                x = r()
                i = int(ncont * x * x)
                return (cb + i, contact_company[i], *contact_owner[i])
            x = r()
            i = int(ncomp * x * x)
            return (None, kb + i, *company_owner[i])

        return pick

    # ---- chunks (any process) --------------------------------------------------------
    def specs(self) -> Iterator[tuple[str, int, int, int]]:
        for table, plural in (("company", "companies"), ("contact", "contacts"),
                              ("deal", "deals"), ("order", "orders"),
                              ("activity", "activities")):  # fmt: skip
            n = self.counts[plural]
            for index, start in enumerate(range(0, n, CHUNK)):
                yield (table, index, start, min(CHUNK, n - start))

    def make_chunk(self, spec: tuple[str, int, int, int]) -> list[tuple[str, bytes, int]]:
        table, index, start, count = spec
        rng = chunk_rng(self.seed, table, index)
        out = getattr(self, f"chunk_{table}")(rng, start, count)
        return [(key, "".join(lines).encode(), len(lines)) for key, lines in out]

    def chunk_company(self, rng: random.Random, start: int, count: int):
        r, choices = rng.random, rng.choices
        ts, now = self.ts, self.now_s
        heads = choices(self.heads, k=count)
        tails = choices(self.tails, k=count)
        forms = choices(self.forms, k=count)
        okved = choices(self.okved, k=count)
        sources = choices(SOURCES, k=count)
        cities = choices(self.cities, weights=self.city_weights, k=count)
        rows, phones, addresses = [], [], []
        for j in range(count):
            i = start + j
            pk = self.company_base + i
            owner, dept = self.company_owner[i]
            (head, thead), (tail, ttail) = heads[j], tails[j]
            brand = head + tail
            created = ts(now - int(r() * 1500 * DAY))
            rows.append(
                f"{pk}\t{owner}\t{dept}\t{created}\t{created}\t{N}\t{{}}\t"
                f"{brand + ' ' + str(i) if i >= 2000 else brand}\t{forms[j]} «{brand}»\tRU\t"
                f"{inn10(rng)}\t\t\t{okved[j]}\thttps://{thead}{ttail}.ru\t{sources[j]}\t\n"
            )
            city, region, codes, postcode = cities[j]
            number = f"+7{codes[int(r() * len(codes))]}{int(r() * 10**7):07d}"[:12]
            phones.append(f"{N}\t{pk}\t{number}\t{number[1:]}\twork\tt\n")
            addresses.append(
                f"{N}\t{pk}\tlegal\tRU\t{region}\t{city}\tул. {head}, д. {1 + int(r() * 120)}\t"
                f"{(postcode + format(int(r() * 1000), '03d'))[:6]}\n"
            )
        return [("company", rows), ("phone", phones), ("address", addresses)]

    def chunk_contact(self, rng: random.Random, start: int, count: int):
        r, choices = rng.random, rng.choices
        ts, now = self.ts, self.now_s
        en, male, female = self.people["en"], self.people["m"], self.people["f"]
        ru_jobs, en_jobs = self.ru_jobs, self.en_jobs
        sources = choices(SOURCES, k=count)
        codes = V.MOBILE_CODES
        cities = self.cities
        free_mail = V.FREE_MAIL
        rows, phones, emails, members, addresses = [], [], [], [], []
        for j in range(count):
            i = start + j
            pk = self.contact_base + i
            x = r()
            if x < 0.08:
                first, middle, last, full, local = en[int(r() * len(en))]
                job = en_jobs[int(r() * len(en_jobs))]
            else:
                pool = male if x < 0.55 else female
                first, middle, last, full, local = pool[int(r() * len(pool))]
                job = ru_jobs[int(r() * len(ru_jobs))]
            company = self.contact_company[i]
            owner, dept = self.contact_owner[i]
            created = ts(now - int(r() * 1500 * DAY))
            x = r()
            segment = SEGMENTS[min(3, int(x * math.sqrt(x) * 4))]
            if r() < 0.3:
                custom = (
                    f'{{"segment": "{segment}", "loyalty_card": "LC-{100000 + int(r() * 900000)}"}}'
                )
            else:
                custom = f'{{"segment": "{segment}"}}'
            birthday = self.birthdays[int(r() * 15001)] if r() < 0.3 else N
            rows.append(
                f"{pk}\t{owner}\t{dept}\t{created}\t{created}\t{N}\t{custom}\t{first}\t{middle}\t"
                f"{last}\t{full}\t{job}\t{birthday}\t{sources[j]}\t\n"
            )
            for k in range(2 if r() < 0.3 else 1):
                number = f"+79{codes[int(r() * len(codes))]}{int(r() * 10**7):07d}"
                phones.append(f"{pk}\t{N}\t{number}\t{number[1:]}\tmobile\t{'f' if k else 't'}\n")
            if r() >= 0.1:
                domain = (
                    f"corp{company}.example.ru"
                    if company is not None
                    else free_mail[int(r() * len(free_mail))]
                )
                emails.append(f"{pk}\t{N}\t{local}{i % 1000}@{domain}\twork\tt\n")
            if company is not None:
                members.append(f"{pk}\t{company}\t{ru_jobs[int(r() * len(ru_jobs))]}\tt\n")
            if r() < 0.5:
                city, region, _, postcode = cities[int(r() * len(cities))]
                addresses.append(
                    f"{pk}\t{N}\thome\tRU\t{region}\t{city}\tул. Ленина, д. {1 + int(r() * 200)}\t"
                    f"{(postcode + '000')[:6]}\n"
                )
        return [
            ("contact", rows), ("phone", phones), ("email", emails), ("member", members),
            ("address", addresses),
        ]  # fmt: skip

    def chunk_deal(self, rng: random.Random, start: int, count: int):
        r = rng.random
        ts, now = self.ts, self.now_s
        dates, day0 = self.dates, self.day0
        topics = rng.choices(self.topics, k=count)
        pipelines = self.pipelines
        rows, changes, timeline = [], [], []
        tl = self.timeline_base["deal"]
        for j in range(count):
            d = start + j
            pk = self.deal_base + d
            pipeline_id, open_st, won_st, lost_st = pipelines[
                0 if len(pipelines) == 1 or r() < 0.8 else 1
            ]
            x = r()
            if x < 0.35:
                (stage, stage_name), closed = open_st[int(r() * len(open_st))], False
            elif x < 0.75:
                (stage, stage_name), closed = won_st[0], True
            else:
                (stage, stage_name), closed = lost_st[0], True
            contact, company, owner, dept = self.deal_client[d]
            contact = N if contact is None else contact
            company = N if company is None else company
            created_s = now - int(r() * 1000 * DAY)
            moved_s = min(now, created_s + int(r() * 61) * DAY)
            created, moved = ts(created_s), ts(moved_s)
            amount = (10 + int(r() * 4991)) * 1000
            title = topics[j]
            first_stage = open_st[0][0]
            changes.append(f"{pk}\t{N}\t{first_stage}\t{created}\t{owner}\t{N}\n")
            if stage != first_stage:
                changes.append(
                    f"{pk}\t{first_stage}\t{stage}\t{moved}\t{owner}\t{moved_s - created_s}\n"
                )
            timeline.append(
                f"{tl + d}\tdeal\t{created}\t{owner}\t{contact}\t{company}\t{pk}\tdeal\t{pk}\t"
                f"Deal created: {title}\t\t"
                f'{{"amount": "{amount}", "currency": "RUB", "stage": "{stage_name}"}}\n'
            )
            rows.append(
                f"{pk}\t{owner}\t{dept}\t{created}\t{moved}\t{N}\t{{}}\t{title}\t{pipeline_id}\t"
                f"{stage}\t{amount}\tRUB\t{dates[created_s // DAY + 30 - day0]}\t{N}\t{contact}\t"
                f"{company}\t{N}\t{N}\t\t{moved}\t{moved if closed else N}\tf\n"
            )
        return [("deal", rows), ("stagechange", changes), ("timeline", timeline)]

    def chunk_order(self, rng: random.Random, start: int, count: int):
        r = rng.random
        now, days, hms, day0 = self.now_s, self.days, self.hms, self.day0
        pick = self.client_picker(rng)
        rows, timeline = [], []
        tl = self.timeline_base["order"]
        for j in range(count):
            o = start + j
            pk = self.order_base + o
            contact, company, owner, dept = pick()
            if contact is None:
                contact = N
            elif company is None or r() < 0.7:
                company = N
            at = now - int(r() * 1100 * DAY)
            at = days[at // DAY - day0] + hms[at % DAY]
            amount = 500 + int(r() * 499_501)
            status = "cancelled" if r() < 0.05 else "completed"
            number = f"G-{pk:08d}"
            timeline.append(
                f"{tl + o}\torder\t{at}\t{owner}\t{contact}\t{company}\t{N}\torder\t{pk}\t"
                f"Order {number}: {amount} RUB\t\t"
                f'{{"amount": "{amount}", "currency": "RUB", "status": "{status}"}}\n'
            )
            rows.append(
                f"{pk}\t{owner}\t{dept}\t{at}\t{at}\t{N}\t{{}}\t{number}\t{contact}\t{company}\t"
                f"{N}\t{at}\t{amount}\tRUB\t{status}\t\n"
            )
        return [("order", rows), ("timeline", timeline)]

    def chunk_activity(self, rng: random.Random, start: int, count: int):
        r = rng.random
        now, days, hms, day0 = self.now_s, self.days, self.hms, self.day0
        pick = self.client_picker(rng)
        kinds = [(k, d, KIND_TITLES[(k, d)]) for k, d, _ in ACTIVITY_KINDS]
        picks = rng.choices(kinds, weights=[w for *_, w in ACTIVITY_KINDS], k=count)
        ndeals = self.counts["deals"]
        deal_client, deal_base = self.deal_client, self.deal_base
        call_subjects, email_subjects = self.call_subjects, self.email_subjects
        meeting_subjects = self.meeting_subjects
        call_bodies, note_bodies = self.call_bodies, self.note_bodies
        rows, timeline = [], []
        tl = self.timeline_base["activity"]
        for j in range(count):
            a = start + j
            pk = self.activity_base + a
            kind, direction, kind_title = picks[j]
            if ndeals and r() < 0.2:
                d = int(r() * ndeals)
                contact, company, owner, dept = deal_client[d]
                deal = deal_base + d
            else:
                contact, company, owner, dept = pick()
                deal = N
            contact = N if contact is None else contact
            company = N if company is None else company
            if kind == "meeting":
                at = now - int(r() * 731 * DAY) + DAY
            else:
                at = now - int(r() * 730 * DAY)
            at = days[at // DAY - day0] + hms[at % DAY]
            duration, outcome, channel = N, "", ""
            if kind == "call":
                channel = "phone"
                outcome = OUTCOMES[int(r() * 7)]
                duration = 20 + int(r() * 881) if outcome == "answered" else 0
                subject = call_subjects[int(r() * len(call_subjects))]
            elif kind == "email":
                subject = email_subjects[int(r() * len(email_subjects))]
            elif kind == "meeting":
                subject = meeting_subjects[int(r() * len(meeting_subjects))]
            else:
                subject = ""
            body = (
                note_bodies[int(r() * len(note_bodies))]
                if kind == "note"
                else call_bodies[int(r() * len(call_bodies))]
            )
            title = f"{kind_title}: {subject}" if subject else kind_title
            dur = "null" if duration == N else duration
            timeline.append(
                f"{tl + a}\tactivity\t{at}\t{owner}\t{contact}\t{company}\t{deal}\tactivity\t{pk}\t"
                f'{title}\t{body}\t{{"kind": "{kind}", "direction": "{direction}", '
                f'"outcome": "{outcome}", "duration_seconds": {dur}}}\n'
            )
            rows.append(
                f"{pk}\t{owner}\t{dept}\t{at}\t{at}\t{N}\t{{}}\t{kind}\t{direction}\t{channel}\t"
                f"{subject}\t{body}\t{at}\t{duration}\t{outcome}\t{contact}\t{company}\t{deal}\n"
            )
        return [("activity", rows), ("timeline", timeline)]

    def chunk_followup(self, rng: random.Random):
        r = rng.random
        ts, now = self.ts, self.now_s
        pick = self.client_picker(rng)
        per_manager, busy_extra = 12, 150
        managers = self.managers
        n = max(len(managers) * per_manager, self.counts["contacts"] // 20) + busy_extra
        busy = (self.busy.pk, self.busy.department_id)
        local = timezone.localtime(self.now)
        today = int(local.replace(hour=9, minute=0, second=0).timestamp())
        titles = [esc(t) for t in V.TASK_TITLES]
        results = [esc(t) for t in V.TASK_RESULTS]
        priorities = ["low", "normal", "normal", "high"]
        rows = []
        for i in range(n):
            pk = self.followup_base + i
            if i < busy_extra:
                assignee = busy  # today and overdue, the busy manager's day
                back = int(r() * 11) if i % 2 else 0
                due_s = today - back * DAY + int(r() * 601) * 60
                status = "open"
            elif i < busy_extra + len(managers) * per_manager:
                assignee = managers[(i - busy_extra) % len(managers)]
                due_s = today + (int(r() * 9) - 5) * DAY + int(r() * 601) * 60
                status = "open"
            else:
                assignee = managers[int(r() * len(managers))]
                due_s = now - 400 * DAY + int(r() * 430 * DAY)
                status = "open" if due_s > now else ("done" if r() < 2 / 3 else "open")
            contact, company, _, _ = pick()
            if contact is None:
                contact = N
            else:
                company = N
            kind = "callback" if r() < 0.3 else "task"
            title = titles[int(r() * len(titles))]
            due = ts(due_s)
            created = ts(due_s - (1 + int(r() * 20)) * DAY)
            priority = priorities[int(r() * 4)]
            done = status == "done"
            result = results[int(r() * len(results))] if done else ""
            rows.append(
                f"{pk}\t{assignee[0]}\t{assignee[1]}\t{created}\t{created}\t{N}\t{{}}\t{kind}\t"
                f"{title}\t\t{assignee[0]}\t{due}\t{priority}\t{N}\t{N}\t{status}\t"
                f"{due if done else N}\t{result}\t{contact}\t{company}\t{N}\t{N}\n"
            )
        return [("followup", rows)]

    # ---- PostgreSQL: indexes and keys off during the load ------------------------------
    def drop_indexes(self) -> list[str]:
        """Drop the secondary indexes and foreign keys of the big tables; returns the SQL
        that recreates them."""
        tables = [TABLES[k][0]._meta.db_table for k in BIG]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
                ORDER BY 1, 2
                """,
                [tables],
            )
            fks = cursor.fetchall()
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
                  AND NOT i.indisunique
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY i.indrelid::regclass::text, 1
                """,
                [tables],
            )
            indexes = cursor.fetchall()
            qn = connection.ops.quote_name
            for table, name, _ in fks:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {qn(name)}")
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
        self.out(
            f"  dropped {len(indexes)} indexes and {len(fks)} foreign keys of {len(tables)} tables"
        )
        return [sql for _, sql in indexes] + [
            f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}"
            for table, name, definition in fks
        ]

    def recreate_indexes(self, statements: list[str]) -> None:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for sql in statements:
                t = time.monotonic()
                cursor.execute(sql)
                spent = time.monotonic() - t
                if spent > 5:
                    self.out(f"  {spent:.1f}s {sql[:110]}")
        self.out(
            f"  {len(statements)} indexes and foreign keys rebuilt in "
            f"{time.monotonic() - started:.1f}s"
        )

    # ---- the load ----------------------------------------------------------------------
    def chunks(self) -> Iterator[list[tuple[str, bytes, int]]]:
        """Finished chunks in order: made here, or in `workers` forked processes with at
        most 2·workers chunks waiting."""
        specs = self.specs()
        if self.workers <= 0:
            for spec in specs:
                yield self.make_chunk(spec)
            return
        global _STATE
        _STATE = self
        try:
            with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                pending: deque = deque()
                for spec in specs:
                    pending.append(pool.apply_async(_make_chunk, (spec,)))
                    if len(pending) >= 2 * self.workers:
                        yield pending.popleft().get()
                while pending:
                    yield pending.popleft().get()
        finally:
            _STATE = None

    def load(self) -> None:
        pg = connection.vendor == "postgresql"
        with transaction.atomic():
            if pg:
                # Sequences of the tables whose ids COPY leaves to them: past every id.
                with connection.cursor() as cursor:
                    for sql in connection.ops.sequence_reset_sql(
                        no_style(), [TABLES[k][0] for k in TABLES if TABLES[k][1][0][0] != "id"]
                    ):
                        cursor.execute(sql)
            rebuild = self.drop_indexes() if pg and not self.keep_indexes else []
            self.make_skeleton()
            leading = {"company": "Companies", "contact": "Contacts", "deal": "Deals",
                       "order": "Orders", "activity": "Activities"}  # fmt: skip
            current, began, shown = None, time.monotonic(), time.monotonic()
            seen: list[str] = []
            before: dict = {}
            done = 0

            def close_step():
                wall = time.monotonic() - began
                for key in seen:
                    self.w.report(key, wall, before)
                self.out(f"  done in {wall:.1f}s")

            for parts in self.chunks():
                table = parts[0][0]
                if table != current:
                    if current is not None:
                        close_step()
                    current, began, seen, done = table, time.monotonic(), [], 0
                    before = dict(self.w.totals)
                    self.out(f"{leading[table]}…")
                for key, data, rows in parts:
                    if key not in seen:
                        seen.append(key)
                    self.w.write(key, data, rows)
                done += parts[0][2]
                if time.monotonic() - shown > 15:
                    shown = time.monotonic()
                    self.out(f"  … {done:,} rows of {TABLES[table][0]._meta.db_table}")
            if current is not None:
                close_step()
            self.out("Tasks and callbacks…")
            began = time.monotonic()
            for key, data, rows in self.make_chunk_followups():
                self.w.write(key, data, rows)
            self.w.report("followup", time.monotonic() - began)
            if rebuild:
                self.out("Indexes and foreign keys…")
                self.recreate_indexes(rebuild)

    def make_chunk_followups(self) -> list[tuple[str, bytes, int]]:
        out = self.chunk_followup(chunk_rng(self.seed, "followup", 0))
        return [(key, "".join(lines).encode(), len(lines)) for key, lines in out]

    def finish(self) -> None:
        models = [TABLES[k][0] for k in TABLES]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    def board_totals(self) -> None:
        # Kept by triggers during the load (sales.0004); SQLite's row triggers leave one
        # row per deal: fold them into one per pipeline, stage and currency.
        from svyaz.sales.services import board_totals_rebuild

        board_totals_rebuild()

    def summaries(self) -> None:
        from svyaz.sales.services import client_summaries_rebuild

        started = time.monotonic()
        n = client_summaries_rebuild()
        spent = time.monotonic() - started
        self.out(f"  client summaries: {n:,} in {spent:.1f}s ({n / max(spent, 1e-9):,.0f} rows/s)")

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def run(self) -> None:
        started = time.monotonic()
        self.step("Departments and users", self.make_people)
        self.step("Pipelines and custom fields", self.make_reference)
        self.load()
        self.step("Sequences", self.finish)
        self.step("Board totals", self.board_totals)
        if connection.vendor == "postgresql":
            # The summaries read orders and deals by client: statistics first.
            self.out("ANALYZE…")
            t = time.monotonic()
            with connection.cursor() as cursor:
                for key in ("contact", "company", "order", "deal"):
                    cursor.execute(f"ANALYZE {TABLES[key][0]._meta.db_table}")
            self.out(f"  done in {time.monotonic() - t:.1f}s")
        self.out("Client summaries…")
        self.summaries()
        self.out("ANALYZE…")
        t = time.monotonic()
        self.analyze()
        self.out(f"  done in {time.monotonic() - t:.1f}s")
        total = sum(n for n, _ in self.w.totals.values())
        spent = time.monotonic() - started
        self.out(
            f"Generated {total:,} rows in {spent:.1f}s "
            f"({total / max(spent, 1e-9):,.0f} rows/s overall, {connection.vendor}, "
            f"{self.workers} worker(s), load average {_loadavg()})"
        )


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


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
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes that format rows while the main one writes them (default: 1 on "
            "PostgreSQL, 0 on SQLite; 0 = all in the main process). Same data for any value.",
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="PostgreSQL: load with the secondary indexes and foreign keys in place "
            "instead of rebuilding them after the load.",
        )

    def handle(self, *args, **options):
        if options["scale"] <= 0 or not math.isfinite(options["scale"]):
            raise CommandError("--scale must be a positive number.")
        counts = scaled_counts(options["scale"], **{k: options[k] for k in FULL})
        if counts["users"] < 2:
            raise CommandError("--users must be at least 2 (an administrator and a manager).")
        workers = options["workers"]
        if workers is None:
            workers = 1 if connection.vendor == "postgresql" else 0
        if workers < 0:
            raise CommandError("--workers must be 0 or more.")
        self.stdout.write(
            "Generating "
            + ", ".join(f"{k}={v:,}" for k, v in counts.items())
            + f" with seed {options['seed']} on {connection.vendor}, load average {_loadavg()}"
        )
        Generator(
            counts=counts,
            seed=options["seed"],
            prefix=options["prefix"],
            out=lambda s: self.stdout.write(s),
            workers=workers,
            keep_indexes=options["keep_indexes"],
        ).run()
