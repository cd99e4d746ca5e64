"""Import of leads: one lead per row, written through sales.services.lead_create and
lead_update (phones normalized, emails checked, statuses validated exactly as in the form).

Keys: external id, email, phone (any format). A "Created" column puts the lead (and its
timeline row) at that date, so old requests keep their place in the funnel."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from svyaz.contacts.models import Source
from svyaz.core.phones import normalize_phone
from svyaz.dataquality import rowtools
from svyaz.dataquality.models import ImportedRecord, ImportJob, ImportKey
from svyaz.sales import services as sales_services
from svyaz.sales.models import Channel, Lead, LeadStatus

LABEL = "sales.lead"
MODELS = {LABEL: Lead}
KEYS = {ImportKey.EXTERNAL_ID, ImportKey.EMAIL, ImportKey.PHONE}
ERROR_FIELD: dict[str, str] = {}
_TEXT = (
    "title",
    "first_name",
    "last_name",
    "company_name",
    "phone",
    "email",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "description",
)
_WHO = {"title", "first_name", "last_name", "full_name", "company_name", "phone", "email"}


def mapping_errors(used: set[str]) -> list[str]:
    if not used & _WHO:
        return [_("Map a column to the request, a name, a company, a phone or an email.")]
    return []


@cache
def _statuses() -> dict[str, str]:
    return rowtools.choice_lookup(
        LeadStatus.choices,
        {
            "новый": LeadStatus.NEW,
            "новая": LeadStatus.NEW,
            "open": LeadStatus.NEW,
            "в работе": LeadStatus.IN_PROGRESS,
            "working": LeadStatus.IN_PROGRESS,
            "contacted": LeadStatus.IN_PROGRESS,
            "qualified": LeadStatus.IN_PROGRESS,
            "отказ": LeadStatus.DISQUALIFIED,
            "некачественный": LeadStatus.DISQUALIFIED,
            "unqualified": LeadStatus.DISQUALIFIED,
            "junk": LeadStatus.DISQUALIFIED,
        },
    )


@cache
def _channels() -> dict[str, str]:
    return rowtools.choice_lookup(
        Channel.choices,
        {
            "телефон": Channel.PHONE,
            "звонок": Channel.PHONE,
            "call": Channel.PHONE,
            "почта": Channel.EMAIL,
            "e mail": Channel.EMAIL,
            "сайт": Channel.WEB,
            "website": Channel.WEB,
            "whatsapp": Channel.MESSENGER,
            "telegram": Channel.MESSENGER,
            "соцсети": Channel.SOCIAL,
            "лично": Channel.IN_PERSON,
        },
    )


@cache
def _sources() -> dict[str, str]:
    return rowtools.choice_lookup(Source.choices, {"сайт": Source.WEBSITE, "звонок": Source.CALL})


def lead_data(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields for lead_create/lead_update, extras: owner, tags, created_at)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    if values.get("full_name") and not (values.get("first_name") or values.get("last_name")):
        data.update(rowtools.split_full_name(values["full_name"]))
    for key in _TEXT:
        if values.get(key):
            data[key] = values[key]
    if values.get("company_inn"):
        data["company_inn"] = values["company_inn"].replace(" ", "")
    if values.get("source"):
        data["source"] = _sources().get(rowtools.normalize_header(values["source"]), Source.OTHER)
    if values.get("channel"):
        data["channel"] = _channels().get(
            rowtools.normalize_header(values["channel"]), Channel.OTHER
        )
    if values.get("status"):
        data["status"] = rowtools.collect(
            errors, rowtools.parse_choice, values["status"], _statuses(), "status", _("status")
        )
    extra: dict[str, Any] = {"tags": values.get("tags") or []}
    if values.get("owner"):
        extra["owner"] = rowtools.collect(errors, rowtools.resolve_owner, values["owner"])
    if values.get("created_at"):
        extra["created_at"] = rowtools.collect(
            errors, rowtools.parse_moment, values["created_at"], "created_at"
        )
    if errors:
        raise ValidationError(errors)
    return data, extra


def find_existing(job: ImportJob, actor, values: dict[str, Any]) -> Lead | None:
    key = job.key_field
    qs = None
    if key == ImportKey.EXTERNAL_ID:
        qs = rowtools.by_external(LABEL, Lead, values)
    elif key == ImportKey.EMAIL and values.get("email"):
        qs = Lead.objects.filter(email__iexact=values["email"].strip())
    elif key == ImportKey.PHONE and values.get("phone"):
        try:
            qs = Lead.objects.filter(phone=normalize_phone(values["phone"]))
        except ValidationError:
            qs = None  # creating it reports the bad phone
    return rowtools.one_existing(actor, qs, key)


def _default_title(data: dict[str, Any]) -> str:
    name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    return name or data.get("company_name") or data.get("email") or data.get("phone") or ""


def apply_row(job: ImportJob, actor, values: dict[str, Any], row: int, chunk: int) -> str:
    data, extra = lead_data(values)
    existing = find_existing(job, actor, values) if job.key_field else None
    rowtools.check_mode(job, existing)
    if existing is None:
        title = data.pop("title", "") or _default_title(data)
        data.setdefault("source", Source.IMPORT)
        lead = sales_services.lead_create(
            actor=actor,
            title=title,
            owner=extra.get("owner"),
            tags=extra["tags"] or None,
            **data,
        )
        when = extra.get("created_at")
        if when is not None:
            # lead_create stamps "now"; an imported request keeps the date it came in.
            Lead.objects.filter(pk=lead.pk).update(created_at=when)
            rowtools.backdate_timeline(lead, when)
        rowtools.record(job, lead, ImportedRecord.Action.CREATED, {}, row, chunk)
        rowtools.remember_external(job, LABEL, values, lead)
        return ImportedRecord.Action.CREATED
    previous = {k: rowtools.jsonable(getattr(existing, k)) for k in data}
    update = dict(data)
    if extra.get("owner") is not None:
        previous["owner"] = existing.owner_id
        update["owner"] = extra["owner"]
    if extra["tags"]:
        old = list(existing.tags.values_list("name", flat=True))
        previous["tags"] = old
        update["tags"] = old + extra["tags"]
    sales_services.lead_update(actor=actor, lead=existing, data=update)
    rowtools.record(job, existing, ImportedRecord.Action.UPDATED, previous, row, chunk)
    rowtools.remember_external(job, LABEL, values, existing)
    return ImportedRecord.Action.UPDATED


def undo_record(actor, rec: ImportedRecord) -> None:
    from django.contrib.auth import get_user_model

    from svyaz.core.services import record_soft_delete

    lead = Lead.all_objects.filter(pk=rec.object_id).first()
    if lead is None or lead.deleted_at is not None:
        return
    if rec.action == ImportedRecord.Action.CREATED:
        record_soft_delete(actor=actor, obj=lead)
        return
    previous = dict(rec.previous)
    if "owner" in previous:
        owner = get_user_model().objects.filter(pk=previous.pop("owner")).first()
        if owner is not None:
            previous["owner"] = owner
    sales_services.lead_update(actor=actor, lead=lead, data=previous)
