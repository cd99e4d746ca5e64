"""The bulk path of a big create-only contact import on PostgreSQL: batches written with COPY.

Used by services.import_advance when `batch_rows_for(job)` says so: contacts, mode
"create", PostgreSQL, at least SVYAZ_IMPORT_BULK_MIN_ROWS rows (default 5,000) and no tags
column. Smaller files, other records and modes, and SQLite take the per-row path.

A batch (SVYAZ_IMPORT_BULK_BATCH_ROWS rows, default 10,000) is one transaction, claimed by
its ledger row like any chunk (core.jobs.run_once): a killed worker leaves nothing of the
batch, the resumed run skips the committed ones. The file is read as a stream: one batch of
rows is in memory at a time.

Per row it does what the per-row path does, with the same functions and messages:
services.row_values and _contact_data read the cells; the contacts services' checks
(clean_phones, clean_emails, clean_custom_values, Contact.full_clean; fastnorm.py adds exact
shortcuts for the plain cases) decide what is an error; the key (email, phone, external id)
is looked up for the whole batch in one query, and rows matching a record of the base or an
earlier row of the file are skipped or reported exactly as the per-row path would; a
company named by a row is looked up for the whole batch and created, when missing, by
contacts.services.company_create.

Then, per batch: ids reserved from the contacts sequence in one statement, and one COPY
each into contacts, phones, emails, addresses, company links, the timeline ("Contact
created", as contact_create writes it), the import ledger (ImportedRecord: undo) and the
audit trail; ExternalKey rows and row errors with bulk INSERTs; one "contact.created"
event per contact after the commit.

Two threads (`prepared_batches`, the whole run only): a reader thread reads batch N+1 —
cells, phones, e-mails, keys, contact_create's checks and each row's COPY text (`_texts`),
nothing that touches the database — while the caller's thread has PostgreSQL take batch
N (psycopg waits with the GIL released), so Python and the server use both cores. The key
and company look-ups, the rules (custom fields, the right to create) and the writes stay
in the caller's thread, inside the batch's transaction, after batch N committed.

Decision (documented in docs/benchmarks.md): the audit gets ONE row per created contact
(action "create", source "import", the values — names, phones, emails, company, owner… — as
one JSON object in new_value), where the per-row path writes one row per non-empty field
plus phones, emails and the company link. Same facts, a seventh of the rows.

Known difference: a row that is invalid AND names a new company whose creation would fail
reports its own errors, where the per-row path (which creates the company first) reports
the company's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.audit import capture
from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Address, Company, Contact, Source
from svyaz.core.access import require_create
from svyaz.core.custom_fields import clean_custom_values
from svyaz.core.errors import PermissionDenied
from svyaz.core.events import emit
from svyaz.core.models import JobRun, TimelineKind
from svyaz.core.phones import phone_digits
from svyaz.core.scoping import can, visible_to
from svyaz.core.search import Casefold
from svyaz.dataquality import fastnorm, parsing
from svyaz.dataquality.models import (
    ExternalKey,
    ImportedRecord,
    ImportJob,
    ImportKey,
    ImportMode,
    ImportRowError,
)

log = logging.getLogger(__name__)

TASK = "import_bulk_chunk"
LABEL = "contacts.contact"
_KEYS = {"", ImportKey.EMAIL, ImportKey.PHONE, ImportKey.EXTERNAL_ID}
_CHECKS: dict[type, fastnorm.FieldCheck] = {}


def _check(model=Contact) -> fastnorm.FieldCheck:
    if model not in _CHECKS:
        _CHECKS[model] = fastnorm.FieldCheck(model)
    return _CHECKS[model]


def min_rows() -> int:
    return int(getattr(settings, "SVYAZ_IMPORT_BULK_MIN_ROWS", 5000))


def batch_size() -> int:
    return max(1, int(getattr(settings, "SVYAZ_IMPORT_BULK_BATCH_ROWS", 10_000)))


def eligible(job: ImportJob) -> bool:
    return (
        job.entity == "contact"
        and job.mode == ImportMode.CREATE
        and connection.vendor == "postgresql"
        and job.total_rows >= min_rows()
        and (job.key_field or "") in _KEYS
        and "tags" not in job.mapping.values()
    )


def batch_rows_for(job: ImportJob) -> int:
    """Rows per batch of the bulk path for this job, 0 for the per-row path. A job that
    has committed chunks keeps the size it started with (its ledger row says which)."""
    if job.chunks_done:
        task = JobRun.objects.filter(key=f"import:{job.pk}:0").values_list("task", flat=True)
        task = task.first() or ""
        if task.startswith(TASK + ":"):
            return int(task.split(":", 1)[1])
        return 0
    return batch_size() if eligible(job) else 0


@dataclass
class _Rules:
    """What contact_create's checks depend on besides the row: the contact custom fields'
    values (or their error) and whether the user may create contacts (database reads)."""

    custom: dict
    custom_error: ValidationError | None
    denied: PermissionDenied | None

    def same_as(self, other: _Rules) -> bool:
        def msgs(exc):
            return None if exc is None else getattr(exc, "message_dict", str(exc))

        return (
            self.custom == other.custom
            and msgs(self.custom_error) == msgs(other.custom_error)
            and (self.denied is None) == (other.denied is None)
            and str(self.denied) == str(other.denied)
        )


def _rules(actor) -> _Rules:
    try:
        custom, custom_error = clean_custom_values("contact", None), None
    except ValidationError as exc:
        custom, custom_error = {}, exc
    try:
        require_create(actor, "contacts", actor)
        denied = None
    except PermissionDenied as exc:
        denied = exc
    return _Rules(custom, custom_error, denied)


# --- one batch ---------------------------------------------------------------------------


@dataclass
class _Row:
    row: parsing.Row
    values: dict[str, Any]
    data: dict[str, Any]
    numbers: list[str] = field(default_factory=list)
    phone_errors: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    contact: Contact | None = None
    emails: list[str] = field(default_factory=list)
    city: str = ""
    company: Company | None = None
    custom: dict = field(default_factory=dict)
    error: Exception | None = None  # what validate() raised (decided in decide())
    # COPY text prepared by _texts (reader thread)
    text: str = ""
    phone_texts: list[str] = field(default_factory=list)
    email_texts: list[str] = field(default_factory=list)
    address_text: str = ""
    repr_text: str = ""
    audit_before: str = ""
    audit_after: str = ""


class _Batch:
    def __init__(self, job: ImportJob, number: int):
        from svyaz.dataquality import services

        self.services = services
        self.job = job
        self.actor = job.user
        self.number = number
        self.counts = {"created": 0, "updated": 0, "skipped": 0, "errors": 0}
        self.errors: list[ImportRowError] = []
        self.created: list[_Row] = []
        self.new_companies: list[tuple[Company, int]] = []
        self.company_custom: dict = {}
        self.company_custom_error: ValidationError | None = None
        self.company_gate: list = []  # [the PermissionDenied or None], once needed
        self.size = 0
        self.prepared: list[_Row] = []
        self.rules: _Rules | None = None

    # errors -------------------------------------------------------------------------------

    def fail(self, row: parsing.Row, problems: list[tuple[str, str]]) -> None:
        self.counts["errors"] += 1
        self.errors.extend(
            ImportRowError(
                job=self.job,
                row=row.number,
                column=col[:255],
                message=msg,
                raw=row.cells,
                chunk=self.number,
            )
            for col, msg in problems
        )

    def fail_exc(self, row: parsing.Row, exc: Exception) -> None:
        if isinstance(exc, ValidationError):
            self.fail(row, self.services._errors_of(self.job, exc))
        else:
            self.fail(row, [("", str(exc))])

    # the run ------------------------------------------------------------------------------

    def prepare(self, rows: list[parsing.Row], rules: _Rules) -> _Batch:
        """Everything of a row that needs no database: read the cells, normalize phones
        and e-mails, the keys, contact_create's checks. Runs in the reader thread while
        the previous batch is written (`prepared_batches`)."""
        self.size = len(rows)
        self.prepared = self.read(rows)
        self.keys(self.prepared)
        self.rules = rules
        self.check_all(rules)
        return self

    def check_all(self, rules: _Rules) -> None:
        for item in self.prepared:
            try:
                self.validate(item, rules.custom, rules.custom_error, rules.denied)
                item.error = None
                _texts(item)
            except (ValidationError, PermissionDenied) as exc:
                item.error = exc

    def run(self) -> None:
        """The rest, in the batch's transaction: the rules again (a custom field or a role
        changed since the batch was prepared → its rows are checked again), the key and
        company look-ups (they see every batch committed before), the writes."""
        rules = _rules(self.actor)
        if self.rules is None or not rules.same_as(self.rules):
            self.rules = rules
            self.check_all(rules)
        try:
            self.company_custom = clean_custom_values("company", None)
        except ValidationError as exc:
            self.company_custom_error = exc
        prepared = self.prepared
        matches, visible = self.lookup(prepared)
        companies = self.existing_companies(prepared)
        self.decide(prepared, matches, visible, companies)
        self.write()
        ImportRowError.objects.bulk_create(self.errors)
        ImportJob.objects.filter(pk=self.job.pk).update(
            processed=F("processed") + self.size,
            chunks_done=F("chunks_done") + 1,
            **{k: F(k) + v for k, v in self.counts.items()},
        )

    def read(self, rows: list[parsing.Row]) -> list[_Row]:
        out = []
        for row in rows:
            if row.problems:
                self.fail(row, list(row.problems))
                continue
            try:
                values = self.services.row_values(self.job, row)
                data = self.services._contact_data(values)
            except ValidationError as exc:
                self.fail_exc(row, exc)
                continue
            item = _Row(row, values, data)
            item.numbers, item.phone_errors = fastnorm.phones(values.get("phone", []))
            out.append(item)
        return out

    def keys(self, prepared: list[_Row]) -> None:
        key = self.job.key_field
        for item in prepared:
            if key == ImportKey.EMAIL:
                item.keys = contact_services._email_keys(item.values.get("email", []))
            elif key == ImportKey.PHONE:
                if item.phone_errors:  # _phone_digit_keys: the numbers that do parse
                    item.keys = contact_services._phone_digit_keys(item.values.get("phone", []))
                else:
                    item.keys = [phone_digits(n) for n in item.numbers]
            elif key == ImportKey.EXTERNAL_ID:
                ext = item.values.get("external_id", "")
                item.keys = [ext] if ext else []

    def lookup(self, prepared: list[_Row]) -> tuple[dict[str, set[int]], set[int]]:
        """{key: live contact ids} for every key of the batch (one query), and which of
        those contacts the actor may edit (one more)."""
        key = self.job.key_field
        wanted = sorted({k for item in prepared for k in item.keys})
        matches: dict[str, set[int]] = {}
        if not wanted:
            return matches, set()
        if key == ImportKey.EMAIL:
            # Stored e-mails are lower-cased by contacts.services.clean_emails, so equality
            # with the lower-cased key is the per-row iexact, and it uses the index.
            sql = (
                "SELECT e.email, e.contact_id FROM contacts_email e"
                " JOIN contacts_contact c ON c.id = e.contact_id"
                " WHERE e.email = ANY(%s) AND c.deleted_at IS NULL"
            )
        elif key == ImportKey.PHONE:
            sql = (
                "SELECT p.digits, p.contact_id FROM contacts_phone p"
                " JOIN contacts_contact c ON c.id = p.contact_id"
                " WHERE p.digits = ANY(%s) AND c.deleted_at IS NULL"
            )
        else:
            sql = (
                "SELECT k.external_id, k.object_id FROM dataquality_externalkey k"
                " JOIN contacts_contact c ON c.id = k.object_id"
                " WHERE k.model = 'contacts.contact' AND k.external_id = ANY(%s)"
                " AND c.deleted_at IS NULL"
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, [wanted])
            pairs = cursor.fetchall()
        for k, pk in pairs:
            matches.setdefault(k, set()).add(pk)
        ids = {pk for found in matches.values() for pk in found}
        visible = set()
        if ids:
            qs = visible_to(self.actor, Contact.objects.all(), action="edit")
            visible = set(qs.filter(pk__in=list(ids)).values_list("pk", flat=True))
        return matches, visible

    def existing_companies(self, prepared: list[_Row]) -> dict[str, Company]:
        """services._company_for_contact for the whole batch: the first visible company
        (by name, id) whose name is the row's, ignoring case and spaces."""
        names = {
            " ".join(item.values["company"].split()).lower()
            for item in prepared
            if item.values.get("company")
        }
        if not names:
            return {}
        found: dict[str, Company] = {}
        qs = visible_to(
            self.actor,
            Company.objects.annotate(_name_lc=Casefold("name")).filter(_name_lc__in=names),
        ).order_by("name", "pk")
        for company in qs:
            folded = company.name.lower()
            if folded in names:
                found.setdefault(folded, company)
        return found

    def decide(self, prepared, matches, visible, companies) -> None:
        key = self.job.key_field
        claims: set[str] = set()  # keys of the contacts this batch creates
        city_max = Address._meta.get_field("city").max_length
        failed_companies: dict[str, Exception] = {}
        for item in prepared:
            row = item.row
            if key:
                found: set = set()
                for k in item.keys:
                    found |= matches.get(k, set())
                    if k in claims:
                        found.add(("new", k))
                if len(found) > 1:
                    n = min(len(found), 3)
                    message = _("Matches %(n)s existing records; fix the key.") % {"n": n}
                    self.fail_exc(row, ValidationError({key: [message]}))
                    continue
                if found:
                    (only,) = found
                    if isinstance(only, tuple) or only in visible:
                        self.counts["skipped"] += 1
                    else:
                        message = _("Matches a record you do not have access to.")
                        self.fail_exc(row, ValidationError({key: [message]}))
                    continue
            company_name = item.values.get("company", "")
            try:
                if item.error is not None:
                    raise item.error
                if len(item.city) > city_max:  # Address's own checks (may query): here
                    Address(city=item.city).full_clean(exclude=["contact", "company"])
                if company_name:
                    item.company = self.company(
                        company_name, row.number, companies, failed_companies
                    )
            except (ValidationError, PermissionDenied) as exc:
                self.fail_exc(row, exc)
                continue
            self.created.append(item)
            if key == ImportKey.EMAIL:
                claims.update(item.emails)
            elif key == ImportKey.PHONE:
                claims.update(phone_digits(n) for n in item.numbers)
            elif key == ImportKey.EXTERNAL_ID and item.keys:
                claims.add(item.keys[0])

    def validate(self, item: _Row, custom, custom_error, denied) -> None:
        """contacts.services.contact_create's checks, in its order, without the writes."""
        if denied is not None:
            raise denied
        data = {"source": Source.IMPORT, **item.data}
        fields = {
            k: (v.strip() if isinstance(v, str) else v)
            for k, v in data.items()
            if k not in ("first_name", "last_name", "middle_name", "source")
        }
        contact = Contact(
            first_name=(data.get("first_name") or "").strip(),
            last_name=(data.get("last_name") or "").strip(),
            middle_name=(data.get("middle_name") or "").strip(),
            source=data.get("source") or "",
            owner=self.actor,
            department_id=getattr(self.actor, "department_id", None),
            **fields,
        )
        contact.full_name = contact.compose_full_name()
        errors: dict[str, list[str]] = {}
        if not (contact.first_name or contact.last_name):
            errors["first_name"] = [_("Enter a first or a last name.")]
        if item.phone_errors:
            errors.setdefault("phones", []).extend(item.phone_errors)
        try:
            item.emails = fastnorm.emails(item.values.get("email", []))
        except ValidationError as exc:
            for k, msgs in exc.message_dict.items():
                errors.setdefault(k, []).extend(msgs)
        if custom_error is not None:
            for k, msgs in custom_error.message_dict.items():
                errors.setdefault(k, []).extend(msgs)
        contact.custom = custom
        # owner and department are the importing user's: checked once, not per row.
        exclude = ["owner", "department"] + ([] if contact.full_name else ["full_name"])
        try:
            _check()(contact, exclude)
        except ValidationError as exc:
            for k, msgs in exc.message_dict.items():
                errors.setdefault(k, []).extend(msgs)
        if errors:
            raise ValidationError(errors)
        item.contact, item.city, item.custom = contact, item.values.get("city", ""), custom

    def company(self, name: str, row: int, companies, failed) -> Company:
        """The row's company: found for the batch, or a new one, checked as
        contacts.services.company_create checks it, written with the batch."""
        folded = " ".join(name.split()).lower()
        if folded in companies:
            return companies[folded]
        if folded in failed:
            raise failed[folded]
        try:
            if not self.company_gate:
                try:
                    require_create(self.actor, "companies", self.actor)
                    self.company_gate.append(None)
                except PermissionDenied as exc:
                    self.company_gate.append(exc)
            if self.company_gate[0] is not None:
                raise self.company_gate[0]
            company = Company(
                name=" ".join(name.split()),
                source=Source.IMPORT,
                owner=self.actor,
                department_id=getattr(self.actor, "department_id", None),
            )
            errors: dict[str, list[str]] = {}
            if self.company_custom_error is not None:
                errors.update(self.company_custom_error.message_dict)
            company.custom = self.company_custom
            try:
                contact_services._validate_company_tax(company)
                _check(Company)(company, ["owner", "department"])
            except ValidationError as exc:
                for k, msgs in exc.message_dict.items():
                    errors.setdefault(k, []).extend(msgs)
            if errors:
                raise ValidationError(errors)
        except (ValidationError, PermissionDenied) as exc:
            failed[folded] = exc
            raise
        companies[folded] = company
        self.new_companies.append((company, row))
        return company

    # writing -----------------------------------------------------------------------------

    def write_companies(self, cur, now, actor_id, who) -> None:
        """The batch's new companies: what company_create writes, one COPY per table."""
        new = self.new_companies
        for (company, _row), pk in zip(new, _reserve("contacts_company", len(new)), strict=True):
            company.pk = company.id = pk
        title = _("Company created")[:300]
        ct = ContentType.objects.get_for_model(Company).pk
        with cur.copy(
            "COPY contacts_company (id, created_at, updated_at, deleted_at, custom, name,"
            " legal_name, country, inn, kpp, tax_id, industry_code, website, source,"
            " description, department_id, owner_id) FROM STDIN"
        ) as cp:
            for c, _row in new:
                cp.write_row(
                    (c.pk, now, now, None, json.dumps(c.custom), c.name, c.legal_name)
                    + (c.country, c.inn, c.kpp, c.tax_id, c.industry_code, c.website, c.source)
                    + (c.description, c.department_id, c.owner_id)
                )
        with cur.copy(
            "COPY core_timelineentry (kind, occurred_at, object_type, object_id, title,"
            " body, data, actor_id, company_id) FROM STDIN"
        ) as cp:
            for c, _row in new:
                cp.write_row(
                    (TimelineKind.CHANGE, now, "company", c.pk, title, "", "{}", actor_id, c.pk)
                )
        with cur.copy(
            "COPY dataquality_importedrecord (job_id, model, object_id, action, previous,"
            ' "row", chunk) FROM STDIN'
        ) as cp:
            for c, row in new:
                cp.write_row(
                    (self.job.pk, "contacts.company", c.pk, "created", "{}", row, self.number)
                )
        with cur.copy(_AUDIT_COPY) as cp:
            for c, _row in new:
                values = {
                    k: getattr(c, k)
                    for k in ("name", "country", "source")
                    if getattr(c, k) not in (None, "")
                }
                values.update({"owner": c.owner_id, "department": c.department_id})
                values = {k: v for k, v in values.items() if v is not None}
                if c.custom:
                    values["custom"] = c.custom
                cp.write_row(
                    (now, who["actor_id"], who["actor_name"], who["source"], "create", ct)
                    + (c.pk, c.name[:255], "", None, capture.encode(values))
                    + ("", "", who["request_id"], who["path"])
                )
        for c, _row in new:
            emit("company.created", pk=c.pk)

    def write(self) -> None:
        """The batch's contacts: one COPY per table, of the text `_texts` prepared per row
        (in the reader thread) plus the ids, the company and the batch's constants."""
        items = self.created
        if not items:
            return
        n = len(items)
        ids = _reserve("contacts_contact", n)
        now = timezone.now()
        actor = self.actor
        actor_id = actor.pk if actor is not None and actor.is_authenticated else None
        for item, pk in zip(items, ids, strict=True):
            item.contact.pk = pk
        pg = connection.connection  # psycopg 3, inside the batch's transaction
        who = capture.who()
        ct = ContentType.objects.get_for_model(Contact).pk
        title = _("Contact created")[:300]
        at = _copy_text(now)
        null = "\\N"
        contact_tail = f"\t{at}\t{at}\t{null}\n"
        timeline_tail = "\t" + _copy_line(
            (TimelineKind.CHANGE, now, "contact", title, "", "{}", actor_id)
        )
        record_tail = "\t" + _copy_line((self.job.pk, LABEL, "created", "{}", self.number))
        audit_tail = "\t" + _copy_line(
            (now, who["actor_id"], who["actor_name"], who["source"], "create", ct, "", None)
            + ("", "", who["request_id"], who["path"])
        )
        with pg.cursor() as cur:
            if self.new_companies:
                self.write_companies(cur, now, actor_id, who)  # gives the new ones their ids
            company_ids = [item.company.pk if item.company is not None else None for item in items]
            _copy(
                cur,
                "COPY contacts_contact (id, first_name, middle_name, last_name, full_name,"
                " job_title, birthday, source, description, custom, department_id, owner_id,"
                " created_at, updated_at, deleted_at) FROM STDIN",
                (f"{pk}\t{item.text}{contact_tail}" for pk, item in zip(ids, items, strict=True)),
            )
            _copy(
                cur,
                "COPY contacts_phone (contact_id, number, digits, kind, is_primary) FROM STDIN",
                (
                    f"{pk}\t{t}\n"
                    for pk, item in zip(ids, items, strict=True)
                    for t in item.phone_texts
                ),
            )
            _copy(
                cur,
                "COPY contacts_email (contact_id, email, kind, is_primary) FROM STDIN",
                (
                    f"{pk}\t{t}\n"
                    for pk, item in zip(ids, items, strict=True)
                    for t in item.email_texts
                ),
            )
            _copy(
                cur,
                "COPY contacts_address (contact_id, kind, country, region, city, street,"
                " postal_code) FROM STDIN",
                (
                    f"{pk}\t{item.address_text}\n"
                    for pk, item in zip(ids, items, strict=True)
                    if item.address_text
                ),
            )
            _copy(
                cur,
                "COPY contacts_contactcompany (contact_id, company_id, role, is_primary)"
                " FROM STDIN",
                (f"{pk}\t{cid}\t\tt\n" for pk, cid in zip(ids, company_ids, strict=True) if cid),
            )
            _copy(
                cur,
                "COPY core_timelineentry (object_id, contact_id, company_id, kind, occurred_at,"
                " object_type, title, body, data, actor_id) FROM STDIN",
                (
                    f"{pk}\t{pk}\t{cid or null}{timeline_tail}"
                    for pk, cid in zip(ids, company_ids, strict=True)
                ),
            )
            _copy(
                cur,
                'COPY dataquality_importedrecord (object_id, "row", job_id, model, action,'
                " previous, chunk) FROM STDIN",
                (
                    f"{pk}\t{item.row.number}{record_tail}"
                    for pk, item in zip(ids, items, strict=True)
                ),
            )
            _copy(
                cur,
                "COPY audit_auditentry (object_id, object_repr, new_value, at, actor_id,"
                " actor_name, source, action, content_type_id, field, old_value, old_display,"
                " new_display, request_id, path) FROM STDIN",
                (
                    f"{pk}\t{item.repr_text}\t{_audit_values(item)}{audit_tail}"
                    for pk, item in zip(ids, items, strict=True)
                ),
            )
        ext = [
            ExternalKey(
                model=LABEL,
                external_id=item.values["external_id"][:128],
                object_id=pk,
                job=self.job,
            )
            for pk, item in zip(ids, items, strict=True)
            if item.values.get("external_id")
        ]
        if ext:
            ExternalKey.objects.bulk_create(ext, ignore_conflicts=True)
        for pk in ids:
            emit("contact.created", pk=pk)
        self.counts["created"] += n


_AUDIT_COPY = (
    "COPY audit_auditentry (at, actor_id, actor_name, source, action, content_type_id,"
    " object_id, object_repr, field, old_value, new_value, old_display, new_display,"
    " request_id, path) FROM STDIN"
)


def _reserve(table: str, n: int) -> list[int]:
    """n ids from the table's sequence, in one statement (children can point at them)."""
    if not n:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, n],
        )
        return [r[0] for r in cursor.fetchall()]


# --- COPY text ---------------------------------------------------------------------------

_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}
)
_SPECIAL = re.compile("[\\\\\b\t\n\v\f\r]")
_COPY_BLOCK = 1 << 20


def _copy_text(value: Any) -> str:
    """One value in COPY's text format, as psycopg's write_row sends it."""
    if isinstance(value, str):
        return value.translate(_ESCAPES) if _SPECIAL.search(value) else value
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return _copy_text(str(value))


def _copy_line(values: tuple) -> str:
    return "\t".join(map(_copy_text, values)) + "\n"


def _copy(cur, sql: str, lines) -> None:
    """COPY the lines (text format, each ending with a newline), a block at a time."""
    with cur.copy(sql) as cp:
        block: list[str] = []
        size = 0
        for line in lines:
            block.append(line)
            size += len(line)
            if size >= _COPY_BLOCK:
                cp.write("".join(block))
                block, size = [], 0
        if block:
            cp.write("".join(block))


def _json_members(values: dict[str, Any]) -> str:
    """capture.encode(values) without its braces, as COPY text."""
    if not values:
        return ""
    text = json.dumps(values, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    return _copy_text(text[1:-1])


def _texts(item: _Row) -> None:
    """A contact's COPY text, all but its id and company (reader thread): its row of
    contacts_contact from first_name to owner_id; its phones, e-mails and address rows
    after contact_id; its audit row's object_repr and the new_value JSON around the
    company (capture.encode of the values: keys sorted, so "company" goes in between)."""
    c = item.contact
    item.text = _copy_line(
        (c.first_name, c.middle_name, c.last_name, c.full_name, c.job_title, c.birthday)
        + (c.source, c.description, json.dumps(item.custom), c.department_id, c.owner_id)
    )[:-1]
    item.phone_texts = [
        f"{_copy_text(number)}\t{phone_digits(number)}\tmobile\t{'t' if i == 0 else 'f'}"
        for i, number in enumerate(item.numbers)
    ]
    item.email_texts = [
        f"{_copy_text(email)}\twork\t{'t' if i == 0 else 'f'}"
        for i, email in enumerate(item.emails)
    ]
    item.address_text = (
        _copy_line(("actual", "RU", "", item.city, "", ""))[:-1] if item.city else ""
    )
    item.repr_text = _copy_text((c.full_name or "—")[:255])
    values: dict[str, Any] = {}
    for name in (
        "first_name",
        "middle_name",
        "last_name",
        "job_title",
        "birthday",
        "source",
        "description",
    ):
        value = getattr(c, name)
        if value not in (None, ""):
            values[name] = value
    if c.owner_id:
        values["owner"] = c.owner_id
    if c.department_id:
        values["department"] = c.department_id
    if item.custom:
        values["custom"] = item.custom
    if item.numbers:
        values["phones"] = item.numbers
    if item.emails:
        values["emails"] = item.emails
    if item.city:
        values["addresses"] = [{"city": item.city}]
    # Sorted keys: "company" (known in the writer) goes between these two.
    item.audit_before = _json_members({k: v for k, v in values.items() if k < "company"})
    item.audit_after = _json_members({k: v for k, v in values.items() if k > "company"})


def _audit_values(item: _Row) -> str:
    """capture.encode of the contact's values (with its company), as COPY text."""
    parts = [item.audit_before] if item.audit_before else []
    if item.company is not None:
        parts.append(f'"company": {item.company.pk}')
    if item.audit_after:
        parts.append(item.audit_after)
    return "{" + ", ".join(parts) + "}"


def process_batch(
    job: ImportJob, number: int, rows: list[parsing.Row], prepared: _Batch | None = None
) -> None:
    """One batch, inside the transaction of its ledger row (see services.import_advance).
    `prepared`: the batch as `prepared_batches` read it (else it is read here)."""
    if prepared is None:
        prepared = _Batch(job, number).prepare(rows, _rules(job.user))
    prepared.run()


# --- reading ahead -----------------------------------------------------------------------


def overlap() -> bool:
    return bool(getattr(settings, "SVYAZ_IMPORT_BULK_OVERLAP", True))


_END = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class prepared_batches:  # noqa: N801 -- used as a context manager and an iterator
    """(number, rows, prepared batch) of the job from batch `start` on, read and checked
    in a thread of its own while the caller writes the previous batch.

    The reader thread does only what needs no database (`_Batch.prepare`): PostgreSQL
    takes batch N's COPYs (psycopg waits for it with the GIL released) while Python reads
    batch N+1, so both cores work. Everything that reads the database — the key look-up
    (which must see batch N committed, so that a row of batch N+1 repeating a key of
    batch N is skipped exactly as before), the companies, the rules — stays in the
    caller's thread, in the batch's transaction.

    At most `ahead` batches wait in the queue (memory stays bounded: the one being
    written, the waiting ones, the one being read). An exception in the reader is raised
    in the caller when it asks for that batch: the batches before it are committed,
    nothing of it is written. Leaving the `with` block stops the thread."""

    def __init__(self, job: ImportJob, size: int, start: int = 0, ahead: int = 1):
        from django.utils import translation

        self.job, self.size, self.start = job, size, start
        self.rules = _rules(job.user)  # here: the reader thread never touches the database
        self.language = translation.get_language()
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._read, name=f"svyaz-import-{job.pk}-reader", daemon=True
        )

    def __enter__(self) -> prepared_batches:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a reader on a full queue
                self.queue.get(timeout=0.05)
        self.thread.join()

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        from django.utils import translation

        from svyaz.dataquality import services

        if self.language:
            translation.activate(self.language)  # messages in the caller's language
        try:
            for number, rows in services._chunks(self.job, self.size):
                if self.stop.is_set():
                    return
                if number < self.start:
                    continue  # committed before: not read again
                batch = _Batch(self.job, number).prepare(rows, self.rules)
                if not self._put((number, rows, batch)):
                    return
            self._put(_END)
        except BaseException as exc:  # raised in the caller's thread
            self._put(_Failed(exc))
        finally:
            translation.deactivate()
            connections.close_all()  # none is opened here; should one be, it is not kept

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item


# --- undo --------------------------------------------------------------------------------

UNDO_BATCH = 5000


def undo_created_contacts(*, actor, job: ImportJob) -> bool:
    """Soft-delete the contacts `job` created, a batch of ids at a time, with what
    core.services.record_soft_delete writes for each: deleted_at, an audit row, a timeline
    row, the "contact.deleted" event. Contacts that have children (deals, orders…, which
    go to the recycle bin with them) go through record_soft_delete itself. Returns False
    when the job also updated records (then the caller undoes record by record, newest
    first, as before)."""
    from django.apps import apps

    from svyaz.audit.services import record_bulk
    from svyaz.core.models import TimelineEntry
    from svyaz.core.services import CASCADE_CHILDREN, record_soft_delete, require_on

    if job.records.filter(action=ImportedRecord.Action.UPDATED).exists():
        return False
    ids = list(
        job.records.filter(model=LABEL, action=ImportedRecord.Action.CREATED)
        .order_by("-id")
        .values_list("object_id", flat=True)
    )
    for start in range(0, len(ids), UNDO_BATCH):
        chunk = ids[start : start + UNDO_BATCH]
        contacts = list(Contact.objects.filter(pk__in=chunk).order_by("-pk"))
        for c in contacts:
            if not can(actor, "contacts", "delete", c):
                require_on(actor, "delete", c)  # raises, like record_soft_delete
        with_children: set[int] = set()
        for label, fk in CASCADE_CHILDREN["contact"]:
            model = apps.get_model(label)
            with_children.update(
                model.objects.filter(**{f"{fk}_id__in": chunk}).values_list(f"{fk}_id", flat=True)
            )
        plain = [c for c in contacts if c.pk not in with_children]
        for c in contacts:
            if c.pk in with_children:
                record_soft_delete(actor=actor, obj=c)
        if not plain:
            continue
        when = timezone.now()
        Contact.all_objects.filter(pk__in=[c.pk for c in plain]).update(
            deleted_at=when, updated_at=when
        )
        record_bulk(plain, action="delete")
        actor_ok = actor is not None and actor.is_authenticated
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                kind=TimelineKind.CHANGE,
                title=(_("Deleted: %(name)s") % {"name": c})[:300],
                actor=actor if actor_ok else None,
                object_type="contact",
                object_id=c.pk,
                occurred_at=when,
                data={"recycle": "deleted", "deleted_at": when.isoformat(), "children": 0},
            )
            for c in plain
        )
        for c in plain:
            emit("contact.deleted", pk=c.pk)
    return True
