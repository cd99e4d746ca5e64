"""Every write of the import wizard: upload, mapping, preview, the chunked run, undo.

A run processes the file in chunks of SVYAZ_IMPORT_CHUNK_ROWS rows (a big create-only
contact import on PostgreSQL: batches of SVYAZ_IMPORT_BULK_BATCH_ROWS written with COPY,
see bulk.py). Each chunk is one
transaction that also writes its ledger row (core.jobs.run_once, key "import:<job>:<chunk>"),
its per-row errors, what it created/updated (for undo) and the job's counters: a process
killed mid-chunk leaves nothing of that chunk, and a resumed run skips the chunks already
done. Inside a chunk each row has its own savepoint, so a bad row is reported and the
others go in. Records are written through the contacts services, which normalize phones
and emails exactly as the forms and the API do.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.audit.context import audit_source
from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Company, Contact, Source
from svyaz.core.errors import PermissionDenied
from svyaz.core.jobs import run_once
from svyaz.core.scoping import require, visible_to
from svyaz.dataquality import activities as activity_import
from svyaz.dataquality import deals as deal_import
from svyaz.dataquality import leads as lead_import
from svyaz.dataquality import orders, parsing, rowtools
from svyaz.dataquality import products as product_import
from svyaz.dataquality.fields import fields_for, guess_mapping, normalize_header
from svyaz.dataquality.models import (
    ExternalKey,
    ImportedRecord,
    ImportEntity,
    ImportJob,
    ImportKey,
    ImportMode,
    ImportRowError,
    ImportStatus,
    MappingTemplate,
)
from svyaz.sales import services as sales_services
from svyaz.sales.models import Order

log = logging.getLogger(__name__)

MODEL_LABEL = {"contact": "contacts.contact", "company": "contacts.company", "order": "sales.order"}
KEYS_FOR = {
    "contact": {ImportKey.EMAIL, ImportKey.PHONE, ImportKey.EXTERNAL_ID},
    "company": {ImportKey.EMAIL, ImportKey.PHONE, ImportKey.INN, ImportKey.EXTERNAL_ID},
    "order": {ImportKey.EXTERNAL_ID, ImportKey.NUMBER},
}
# Entities imported by a module of their own: fields, keys, row, undo (see leads.py).
ENTITY_MODULES = {
    "lead": lead_import,
    "deal": deal_import,
    "activity": activity_import,
    "product": product_import,
}
for _entity, _module in ENTITY_MODULES.items():
    MODEL_LABEL[_entity] = _module.LABEL
    KEYS_FOR[_entity] = set(_module.KEYS)
# Service error keys → the import field whose column caused them.
ERROR_FIELD = {"phones": "phone", "emails": "email", "first_name": "first_name"}
_SPLIT = re.compile(r"[,;\n]+")
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y", "%Y-%m-%d %H:%M:%S")


def chunk_rows() -> int:
    return max(1, int(getattr(settings, "SVYAZ_IMPORT_CHUNK_ROWS", 200)))


# --- upload, mapping, templates ----------------------------------------------------------


# Import entity → the role entity whose "import" grant an import needs (issue #3).
IMPORT_GRANT = {
    "contact": "contacts",
    "company": "companies",
    "order": "orders",
    "lead": "leads",
    "deal": "deals",
    "activity": "activities",
    "product": "products",
}


def require_import(actor, entity: str) -> None:
    """PermissionDenied (logged) unless a role of `actor` grants importing `entity`."""
    require(actor, IMPORT_GRANT.get(entity, entity), "import")


@transaction.atomic
def import_upload(*, actor, entity: str, upload) -> ImportJob:
    """Check the file (limits, content vs extension, zip bomb), detect its encoding and
    delimiter, count its rows, guess the mapping. Raises ValidationError({"file": ...})."""
    if entity not in ImportEntity.values:
        raise ValidationError({"entity": [_("Choose what to import.")]})
    require_import(actor, entity)
    name = (getattr(upload, "name", "") or "upload").rsplit("/", 1)[-1][:255]
    try:
        info = parsing.inspect_file(upload, name, upload.size)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    upload.seek(0)
    job = ImportJob(
        user=actor,
        entity=entity,
        original_name=name,
        file_kind=info.kind,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        total_rows=info.total_rows,
        mapping=guess_mapping(info.headers, entity),
    )
    job.file.save(f"{timezone.now():%Y%m%d%H%M%S}-{actor.pk}.{info.kind}", upload, save=False)
    job.save()
    return job


def _clean_mapping(job: ImportJob, mapping: dict[str, str]) -> dict[str, str]:
    fields = {f.key: f for f in fields_for(job.entity)}
    clean: dict[str, str] = {}
    used: set[str] = set()
    errors: list[str] = []
    for index, key in mapping.items():
        if not key:
            continue
        if key not in fields or not str(index).isdigit() or int(index) >= len(job.headers):
            errors.append(_("Unknown field “%(key)s”.") % {"key": key})
            continue
        if key in used and not fields[key].repeatable:
            errors.append(
                _("“%(field)s” is mapped to more than one column.") % {"field": fields[key].label}
            )
        used.add(key)
        clean[str(index)] = key
    if job.entity == "contact" and not used & {"first_name", "last_name", "full_name"}:
        errors.append(_("Map a column to the first name, the last name or the full name."))
    if job.entity == "company" and "name" not in used:
        errors.append(_("Map a column to the company name."))
    if job.entity == "order":
        if "amount" not in used:
            errors.append(_("Map a column to the amount."))
        if not used & {"full_name", "email", "phone", "company", "company_inn"}:
            errors.append(_("Map a column that names the client (name, email, phone, company)."))
    if job.entity in ENTITY_MODULES:
        errors.extend(ENTITY_MODULES[job.entity].mapping_errors(used))
    if errors:
        raise ValidationError({"mapping": errors})
    return clean


@transaction.atomic
def import_set_mapping(
    *, actor, job: ImportJob, mapping: dict[str, str], mode: str, key_field: str
) -> ImportJob:
    _require_editable(job)
    errors: dict[str, list[str]] = {}
    try:
        clean = _clean_mapping(job, mapping)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        clean = {}
    # Field rules (issue #3): no column onto a field the importing user may not write.
    from svyaz.core.field_rules import import_mapping_errors

    refused = import_mapping_errors(
        actor,
        job.entity,
        {f.key: f for f in fields_for(job.entity)},
        clean.values(),
        match_only=(key_field or "") if mode == ImportMode.UPDATE else "",
    )
    if refused:
        errors.setdefault("mapping", []).extend(refused)
    if mode not in ImportMode.values:
        errors["mode"] = [_("Choose a mode.")]
    key_field = key_field or ""
    if key_field and key_field not in KEYS_FOR[job.entity]:
        errors["key_field"] = [_("This key cannot be used for these records.")]
    if mode in (ImportMode.UPDATE, ImportMode.UPSERT) and not key_field:
        errors["key_field"] = [_("Updating needs a key to find existing records.")]
    if key_field and key_field not in clean.values() and "key_field" not in errors:
        errors["key_field"] = [_("Map a column to the key field.")]
    if errors:
        raise ValidationError(errors)
    job.mapping, job.mode, job.key_field = clean, mode, key_field
    job.status = ImportStatus.MAPPED
    job.save(update_fields=["mapping", "mode", "key_field", "status"])
    return job


def _require_editable(job: ImportJob) -> None:
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.PREVIEWED):
        raise ValidationError(_("This import has already run."))


@transaction.atomic
def mapping_template_save(*, actor, job: ImportJob, name: str) -> MappingTemplate:
    name = " ".join((name or "").split())[:80]
    if not name:
        raise ValidationError({"template_name": [_("Give the template a name.")]})
    by_header = {
        normalize_header(job.headers[int(i)]): key
        for i, key in job.mapping.items()
        if int(i) < len(job.headers)
    }
    template, _created = MappingTemplate.objects.update_or_create(
        owner=actor, entity=job.entity, name=name, defaults={"mapping": by_header}
    )
    return template


def mapping_from_template(job: ImportJob, template: MappingTemplate) -> dict[str, str]:
    """The template's header → field mapping applied to this file's headers."""
    mapping = {}
    for i, header in enumerate(job.headers):
        key = template.mapping.get(normalize_header(header))
        if key:
            mapping[str(i)] = key
    return mapping


def mapping_by_columns(job: ImportJob, raw: dict[str, Any]) -> dict[str, str]:
    """An API mapping — keys are column numbers ("0") or header names ("E-mail"), values
    field keys — as the {column index: field} the job keeps. Unknown columns are errors."""
    by_header = {normalize_header(h): str(i) for i, h in reversed(list(enumerate(job.headers)))}
    mapping: dict[str, str] = {}
    errors: list[str] = []
    for column, field in raw.items():
        column = str(column)
        if not isinstance(field, str):
            errors.append(_("Map “%(column)s” to a field name.") % {"column": column})
            continue
        if column.isdigit() and int(column) < len(job.headers):
            mapping[column] = field
        elif normalize_header(column) in by_header:
            mapping[by_header[normalize_header(column)]] = field
        else:
            errors.append(_("The file has no column “%(column)s”.") % {"column": column})
    if errors:
        raise ValidationError({"mapping": errors})
    return mapping


def import_submit(
    *,
    actor,
    entity: str,
    upload,
    mode: str,
    key_field: str = "",
    mapping: dict[str, Any] | None = None,
    template: MappingTemplate | None = None,
) -> ImportJob:
    """Upload, map and start in one step (the API). The mapping is the one given, else the
    template's, else the guessed one. Nothing is kept when any step refuses."""
    job = None
    try:
        with transaction.atomic():
            job = import_upload(actor=actor, entity=entity, upload=upload)
            if template is not None and template.entity != entity:
                raise ValidationError({"template": [_("This template is for other records.")]})
            if mapping is not None:
                chosen = mapping_by_columns(job, mapping)
            elif template is not None:
                chosen = mapping_from_template(job, template)
            else:
                chosen = job.mapping
            import_set_mapping(actor=actor, job=job, mapping=chosen, mode=mode, key_field=key_field)
            import_start(actor=actor, job=job)
    except BaseException:
        if job is not None and job.file:
            job.file.storage.delete(job.file.name)  # the row rolled back; the file goes too
        raise
    return job


def import_step(job: ImportJob) -> ImportJob:
    """Embedded mode (no broker): advance a running import by one slice of work. Called by
    the progress page's poll and by the API's progress read; with a broker it only reads."""
    if job.status != ImportStatus.RUNNING or not settings.CELERY_TASK_ALWAYS_EAGER:
        return job
    try:
        return import_advance(
            job_id=job.pk, seconds=float(getattr(settings, "SVYAZ_IMPORT_STEP_SECONDS", 0.5))
        )
    except Exception as exc:  # a bug must end the job with a message, not a poll loop
        log.exception("import %s failed", job.pk)
        import_fail(job_id=job.pk, message=str(exc))
        job.refresh_from_db()
        return job


# --- reading rows ----------------------------------------------------------------------


def job_rows(job: ImportJob) -> Iterator[parsing.Row]:
    with job.file.open("rb") as fh:
        yield from parsing.iter_rows(fh, job.file_kind, job.encoding, job.delimiter)


def _split_values(text: str) -> list[str]:
    return [v.strip() for v in _SPLIT.split(text or "") if v.strip()]


def row_values(job: ImportJob, row: parsing.Row) -> dict[str, Any]:
    """The row's cells by field; repeatable fields (phone, email) as lists."""
    fields = {f.key: f for f in fields_for(job.entity)}
    values: dict[str, Any] = {}
    for index, key in job.mapping.items():
        i = int(index)
        cell = row.cells[i] if i < len(row.cells) else ""
        if fields[key].repeatable or key == "tags":
            values.setdefault(key, []).extend(_split_values(cell))
        elif cell and key not in values:
            values[key] = " ".join(cell.split()) if key not in ("description", "body") else cell
    return values


def _column_of(job: ImportJob, field_key: str) -> str:
    module = ENTITY_MODULES.get(job.entity)
    key = ERROR_FIELD.get(field_key, field_key) if module is None else field_key
    key = module.ERROR_FIELD.get(key, key) if module is not None else key
    for index, mapped in job.mapping.items():
        if mapped == key or (key == "first_name" and mapped in ("full_name", "last_name")):
            return job.headers[int(index)]
    return ""


def _parse_date(text: str) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 -- a calendar date
        except ValueError:
            continue
    raise ValidationError({"birthday": [_("“%(value)s” is not a date.") % {"value": text}]})


def _source(text: str) -> str:
    norm = normalize_header(text)
    for value, label in Source.choices:
        if norm in (value, normalize_header(str(label))):
            return value
    from django.utils import translation

    with translation.override("ru"):
        for value, label in Source.choices:
            if norm == normalize_header(str(label)):
                return value
    return Source.OTHER


def _split_full_name(text: str) -> dict[str, str]:
    parts = text.split()
    if len(parts) >= 3:
        return {"last_name": parts[0], "first_name": parts[1], "middle_name": " ".join(parts[2:])}
    if len(parts) == 2:
        if re.search("[а-яА-ЯёЁ]", text):
            return {"last_name": parts[0], "first_name": parts[1]}
        return {"first_name": parts[0], "last_name": parts[1]}
    return {"first_name": text}


# --- one row -----------------------------------------------------------------------------


_Skip = rowtools.Skip


def _find_existing(job: ImportJob, actor, values: dict[str, Any]):
    """The record the row's key points to, None when there is none. Raises ValidationError
    when the key matches several records or one the user may not see."""
    key = job.key_field
    if job.entity == "order":
        order = orders.find_order(values, key)
        if (
            order is not None
            and not visible_to(actor, Order.objects.filter(pk=order.pk), action="edit").exists()
        ):
            raise ValidationError({key: [_("Matches a record you do not have access to.")]})
        return order
    model = Contact if job.entity == "contact" else Company
    if key == ImportKey.EXTERNAL_ID:
        ext = values.get("external_id", "")
        if not ext:
            return None
        ids = ExternalKey.objects.filter(
            model=MODEL_LABEL[job.entity], external_id=ext
        ).values_list("object_id", flat=True)
        qs = model.objects.filter(pk__in=list(ids))
    elif key == ImportKey.INN:
        inn = (values.get("inn") or "").replace(" ", "")
        if not inn:
            return None
        qs = Company.objects.filter(inn=inn)
    elif key in (ImportKey.EMAIL, ImportKey.PHONE):
        arg = {"emails": values.get("email", [])} if key == "email" else {}
        if key == ImportKey.PHONE:
            arg = {"phones": values.get("phone", [])}
        if not any(arg.values()):
            return None
        finder = (
            contact_services.contact_find_duplicates
            if job.entity == "contact"
            else contact_services.company_find_duplicates
        )
        qs = finder(**arg)
    else:
        return None
    found = list(qs.order_by("pk")[:3])
    if not found:
        return None
    if len(found) > 1:
        raise ValidationError(
            {key: [_("Matches %(n)s existing records; fix the key.") % {"n": len(found)}]}
        )
    if not visible_to(actor, model.objects.filter(pk=found[0].pk), action="edit").exists():
        raise ValidationError({key: [_("Matches a record you do not have access to.")]})
    return found[0]


def _contact_data(values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if values.get("full_name") and not (values.get("first_name") or values.get("last_name")):
        data.update(_split_full_name(values["full_name"]))
    for key in ("first_name", "last_name", "middle_name", "job_title", "description"):
        if values.get(key):
            data[key] = values[key]
    if values.get("birthday"):
        data["birthday"] = _parse_date(values["birthday"])
    if values.get("source"):
        data["source"] = _source(values["source"])
    return data


def _company_data(values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in ("name", "legal_name", "inn", "kpp", "industry_code", "description"):
        if values.get(key):
            data[key] = values[key]
    if values.get("website"):
        site = values["website"]
        data["website"] = site if "://" in site else f"https://{site}"
    if values.get("source"):
        data["source"] = _source(values["source"])
    return data


def _record(job, obj, action, previous, row, chunk) -> None:
    ImportedRecord.objects.create(
        job=job,
        model=obj._meta.label_lower,
        object_id=obj.pk,
        action=action,
        previous=previous,
        row=row,
        chunk=chunk,
    )


def _company_for_contact(job, actor, name: str, row: int, chunk: int) -> Company:
    folded = " ".join(name.split()).lower()
    existing = [
        c
        for c in visible_to(actor, contact_services.company_find_duplicates(name=name))[:5]
        if c.name.lower() == folded
    ]
    if existing:
        return existing[0]
    company = contact_services.company_create(actor=actor, name=name, source=Source.IMPORT)
    _record(job, company, ImportedRecord.Action.CREATED, {}, row, chunk)
    return company


def _jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    return value


def _addresses(obj) -> list[dict[str, str]]:
    return [{k: getattr(a, k) for k in contact_services.ADDRESS_FIELDS} for a in obj.addresss.all()]


def _apply_order(job: ImportJob, actor, values: dict[str, Any], row: int, chunk: int) -> str:
    data = orders.order_data(values)
    existing = _find_existing(job, actor, values) if job.key_field else None
    if (existing is None and job.mode == ImportMode.UPDATE) or (
        existing is not None and job.mode == ImportMode.CREATE
    ):
        raise _Skip
    if existing is None:
        contact, company = orders.find_client(actor, values)
        if "amount" not in data:
            raise ValidationError({"amount": [_("Enter the amount.")]})
        order = sales_services.order_create(actor=actor, contact=contact, company=company, **data)
        _record(job, order, ImportedRecord.Action.CREATED, {}, row, chunk)
        return ImportedRecord.Action.CREATED
    previous = orders.previous_values(existing, data)
    sales_services.order_update(actor=actor, order=existing, data=data)
    _record(job, existing, ImportedRecord.Action.UPDATED, previous, row, chunk)
    return ImportedRecord.Action.UPDATED


def apply_row(job: ImportJob, actor, values: dict[str, Any], row: int, chunk: int) -> str:
    """Create or update the row's record; returns "created", "updated" or "skipped"."""
    if job.entity in ENTITY_MODULES:
        return ENTITY_MODULES[job.entity].apply_row(job, actor, values, row, chunk)
    if job.entity == "order":
        return _apply_order(job, actor, values, row, chunk)
    is_contact = job.entity == "contact"
    data = _contact_data(values) if is_contact else _company_data(values)
    phones, emails, tags = values.get("phone", []), values.get("email", []), values.get("tags", [])
    city = values.get("city", "")
    existing = _find_existing(job, actor, values) if job.key_field else None
    if existing is None and job.mode == ImportMode.UPDATE:
        raise _Skip
    if existing is not None and job.mode == ImportMode.CREATE:
        raise _Skip
    if existing is None:
        extra: dict[str, Any] = {}
        if city:
            extra["addresses"] = [{"city": city}]
        if tags:
            extra["tags"] = tags
        if is_contact:
            company = None
            if values.get("company"):
                company = _company_for_contact(job, actor, values["company"], row, chunk)
            obj = contact_services.contact_create(
                actor=actor,
                phones=phones,
                emails=emails,
                company=company,
                **{"source": Source.IMPORT, **data},
                **extra,
            )
        else:
            if "name" not in data:
                raise ValidationError({"name": [_("Enter the company name.")]})
            obj = contact_services.company_create(
                actor=actor,
                phones=phones,
                emails=emails,
                **{"source": Source.IMPORT, **data},
                **extra,
            )
        action = ImportedRecord.Action.CREATED
        _record(job, obj, action, {}, row, chunk)
    else:
        obj = existing
        previous = {k: _jsonable(getattr(obj, k)) for k in data}
        update = dict(data)
        if phones:
            old = list(obj.phones.values_list("number", flat=True))
            previous["phones"] = old
            update["phones"] = old + phones
        if emails:
            old = list(obj.emails.values_list("email", flat=True))
            previous["emails"] = old
            update["emails"] = old + emails
        if tags:
            old = list(obj.tags.values_list("name", flat=True))
            previous["tags"] = old
            update["tags"] = old + tags
        if city:
            old_addr = _addresses(obj)
            if not any(a["city"].lower() == city.lower() for a in old_addr):
                previous["addresses"] = old_addr
                update["addresses"] = [*old_addr, {"city": city}]
        if is_contact:
            obj = contact_services.contact_update(actor=actor, contact=obj, data=update)
            if values.get("company"):
                company = _company_for_contact(job, actor, values["company"], row, chunk)
                if not obj.memberships.filter(company=company).exists():
                    contact_services.contact_link_company(actor=actor, contact=obj, company=company)
                    previous["_linked_company"] = company.pk
        else:
            obj = contact_services.company_update(actor=actor, company=obj, data=update)
        action = ImportedRecord.Action.UPDATED
        _record(job, obj, action, previous, row, chunk)
    ext = values.get("external_id")
    if ext:
        ExternalKey.objects.get_or_create(
            model=MODEL_LABEL[job.entity],
            external_id=ext[:128],
            defaults={"object_id": obj.pk, "job": job},
        )
    return action


def _errors_of(job: ImportJob, exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        out = []
        for key, messages in exc.message_dict.items():
            for message in messages:
                out.append((_column_of(job, key), message))
        return out
    return [("", m) for m in exc.messages]


# --- preview -----------------------------------------------------------------------------


def import_preview(*, job: ImportJob, limit: int = 20) -> list[dict[str, Any]]:
    """The first `limit` rows as they would go in, with their errors; nothing is kept."""
    out = []
    for row in job_rows(job):
        if len(out) >= limit:
            break
        values = row_values(job, row)
        problems = list(row.problems)
        outcome = ""
        if not problems:
            try:
                with transaction.atomic():
                    outcome = apply_row(job, job.user, values, row.number, 0)
                    transaction.set_rollback(True)
            except _Skip:
                outcome = "skipped"
            except ValidationError as exc:
                problems.extend(_errors_of(job, exc))
            except PermissionDenied as exc:
                problems.append(("", str(exc)))
        out.append({"row": row, "values": values, "problems": problems, "outcome": outcome})
    if job.status == ImportStatus.MAPPED:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.PREVIEWED)
        job.status = ImportStatus.PREVIEWED
    return out


# --- the run -----------------------------------------------------------------------------


@transaction.atomic
def import_start(*, actor, job: ImportJob) -> ImportJob:
    """Mark the job running; a Celery worker (or, embedded, the progress page) advances it."""
    require_import(actor, job.entity)
    if job.status not in (ImportStatus.MAPPED, ImportStatus.PREVIEWED, ImportStatus.FAILED):
        raise ValidationError(_("This import cannot be started now."))
    job.status = ImportStatus.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.message = ""
    job.save(update_fields=["status", "started_at", "message"])
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from svyaz.core.outbox import enqueue
        from svyaz.dataquality import tasks

        enqueue(tasks.import_run, job.pk)  # sent on commit; kept if the queue is down
    return job


def _chunks(job: ImportJob, size: int | None = None) -> Iterator[tuple[int, list[parsing.Row]]]:
    size = size or chunk_rows()
    batch: list[parsing.Row] = []
    number = 0
    for row in job_rows(job):
        batch.append(row)
        if len(batch) >= size:
            yield number, batch
            number, batch = number + 1, []
    if batch:
        yield number, batch


def _process_chunk(job: ImportJob, number: int, rows: list[parsing.Row]) -> None:
    actor = job.user
    counts = {"created": 0, "updated": 0, "skipped": 0, "errors": 0}
    for row in rows:
        problems = list(row.problems)
        if not problems:
            values = row_values(job, row)
            try:
                with transaction.atomic():
                    counts[apply_row(job, actor, values, row.number, number)] += 1
                continue
            except _Skip:
                counts["skipped"] += 1
                continue
            except ValidationError as exc:
                problems = _errors_of(job, exc)
            except PermissionDenied as exc:
                problems = [("", str(exc))]
            except Exception as exc:  # one odd row must not stop the other rows
                log.exception("import %s: row %s failed", job.pk, row.number)
                problems = [("", _("Could not import this row: %(error)s") % {"error": exc})]
        counts["errors"] += 1
        ImportRowError.objects.bulk_create(
            ImportRowError(
                job=job, row=row.number, column=col[:255], message=msg, raw=row.cells, chunk=number
            )
            for col, msg in problems
        )
    ImportJob.objects.filter(pk=job.pk).update(
        processed=F("processed") + len(rows),
        chunks_done=F("chunks_done") + 1,
        **{k: F(k) + v for k, v in counts.items()},
    )


def import_advance(*, job_id: int, seconds: float | None = None) -> ImportJob:
    """Process the chunks not yet done; with `seconds`, stop after that much work (the
    embedded progress page calls this on each poll). Idempotent and resumable."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    if job.status != ImportStatus.RUNNING:
        return job
    deadline = time.monotonic() + seconds if seconds is not None else None
    finished = True
    worked = False
    # Big create-only contact imports on PostgreSQL: batches written with COPY (bulk.py).
    from svyaz.dataquality import bulk

    bulk_rows = bulk.batch_rows_for(job)
    with contextlib.ExitStack() as stack:
        if bulk_rows and deadline is None and bulk.overlap():
            # The whole run (the Celery job): the next batch is read in a thread while
            # this one is written. (The embedded page's short steps read inline.)
            batches = stack.enter_context(
                bulk.prepared_batches(job, bulk_rows, start=job.chunks_done)
            )
        else:
            batches = ((n, r, None) for n, r in _chunks(job, bulk_rows or None))
        for number, rows, prepared in batches:
            if number < job.chunks_done:
                continue  # done before: skip without touching the database
            # At least one chunk per call; stop before the next one when the time is up
            # (so the call that runs the last chunk also marks the job done).
            if worked and deadline is not None and time.monotonic() >= deadline:
                finished = False
                break
            with audit_source("import", actor=job.user):  # audit rows: source "import"
                if bulk_rows:
                    run_once(
                        f"import:{job.pk}:{number}",
                        f"{bulk.TASK}:{bulk_rows}",
                        lambda n=number, r=rows, p=prepared: bulk.process_batch(job, n, r, p),
                    )
                else:
                    run_once(
                        f"import:{job.pk}:{number}",
                        "import_chunk",
                        lambda n=number, r=rows: _process_chunk(job, n, r),
                    )
            worked = True
    if finished:
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.DONE, finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def import_run(*, job_id: int) -> ImportJob:
    """The whole remaining run (the Celery job)."""
    return import_advance(job_id=job_id)


def import_fail(*, job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED, message=message[:2000], finished_at=timezone.now()
    )


# --- undo --------------------------------------------------------------------------------


@transaction.atomic
def import_undo(*, actor, job: ImportJob) -> ImportJob:
    """Soft-delete what the job created and restore what it updated (newest first)."""
    from svyaz.core.services import record_soft_delete

    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (ImportStatus.DONE, ImportStatus.FAILED):
        raise ValidationError(_("Only a finished import can be undone."))
    models = {"contacts.contact": Contact, "contacts.company": Company, "sales.order": Order}
    module_of = {label: m for m in ENTITY_MODULES.values() for label in m.MODELS}
    records = job.records.order_by("-id")
    if job.entity == "contact":
        from svyaz.dataquality import bulk

        # Created contacts a batch at a time (a bulk import may have a million of them).
        if bulk.undo_created_contacts(actor=actor, job=job):
            records = records.exclude(model=bulk.LABEL)
    for rec in records.iterator(chunk_size=2000):
        if rec.model in module_of:
            module_of[rec.model].undo_record(actor, rec)
            continue
        model = models[rec.model]
        obj = model.all_objects.filter(pk=rec.object_id).first()
        if obj is None:
            continue
        if model is Order:
            if rec.action == ImportedRecord.Action.CREATED:
                sales_services.order_delete(actor=actor, order=obj)
            elif obj.deleted_at is None:
                sales_services.order_update(actor=actor, order=obj, data=rec.previous)
            continue
        if rec.action == ImportedRecord.Action.CREATED:
            record_soft_delete(actor=actor, obj=obj)
            continue
        if obj.deleted_at is not None:
            continue
        previous = dict(rec.previous)
        linked = previous.pop("_linked_company", None)
        if model is Contact:
            if linked:
                company = Company.all_objects.filter(pk=linked).first()
                if company is not None:
                    contact_services.contact_unlink_company(
                        actor=actor, contact=obj, company=company
                    )
            contact_services.contact_update(actor=actor, contact=obj, data=previous)
        else:
            contact_services.company_update(actor=actor, company=obj, data=previous)
    ExternalKey.objects.filter(job=job).delete()
    job.status = ImportStatus.UNDONE
    job.save(update_fields=["status"])
    return job
