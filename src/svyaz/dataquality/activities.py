"""Import of activities (calls, emails, meetings, notes, messages, visits): one per row,
written through activities.services.activity_log — on the client's timeline at the date
of the file — and activity_update for rows that match an earlier import by external id.

The client (contact, company and/or deal) must already exist. "Исходящий звонок" /
"Outgoing call" in the type column gives both the type and the direction. As in the form,
the outcome "asked to call back" also creates the callback task (undo removes it)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from svyaz.activities import services as activity_services
from svyaz.activities.models import Activity, ActivityKind, CallOutcome, Direction
from svyaz.core.scoping import visible_to
from svyaz.dataquality import orders, rowtools
from svyaz.dataquality.fields import normalize_header
from svyaz.dataquality.models import ExternalKey, ImportedRecord, ImportJob, ImportKey
from svyaz.sales.models import Deal

LABEL = "activities.activity"
MODELS = {LABEL: Activity}
KEYS = {ImportKey.EXTERNAL_ID}
ERROR_FIELD = {"duration_seconds": "duration", "client": "full_name", "__all__": "full_name"}
_CLIENT_KEYS = ("full_name", "email", "phone", "company", "company_inn")
_INBOUND = {"входящий", "входящее", "входящая", "вх", "incoming", "inbound", "in"}
_OUTBOUND = {"исходящий", "исходящее", "исходящая", "исх", "outgoing", "outbound", "out"}
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})$")
_DURATION_UNIT = re.compile(
    r"^(\d+(?:[.,]\d+)?)\s*(ч|h|час\w*|мин\w*|min\w*|m|с|сек\w*|s|sec\w*)?$"
)


def mapping_errors(used: set[str]) -> list[str]:
    if "external_id" in used:  # updates by external id keep their type and client
        return []
    errors = []
    if "kind" not in used:
        errors.append(_("Map a column to the activity type."))
    if not used & {*_CLIENT_KEYS, "deal"}:
        errors.append(_("Map a column that names the client (name, email, phone, company, deal)."))
    return errors


@cache
def _kinds() -> dict[str, str]:
    k = ActivityKind
    return rowtools.choice_lookup(
        k.choices,
        {
            "звонок": k.CALL,
            "телефонный звонок": k.CALL,
            "phone call": k.CALL,
            "письмо": k.EMAIL,
            "почта": k.EMAIL,
            "e mail": k.EMAIL,
            "встреча": k.MEETING,
            "заметка": k.NOTE,
            "комментарий": k.NOTE,
            "сообщение": k.MESSAGE,
            "чат": k.MESSAGE,
            "sms": k.MESSAGE,
            "визит": k.VISIT,
        },
    )


@cache
def _directions() -> dict[str, str]:
    table = rowtools.choice_lookup(Direction.choices)
    table.update(dict.fromkeys(_INBOUND, Direction.INBOUND))
    table.update(dict.fromkeys(_OUTBOUND, Direction.OUTBOUND))
    return table


@cache
def _outcomes() -> dict[str, str]:
    o = CallOutcome
    return rowtools.choice_lookup(
        o.choices,
        {
            "отвечен": o.ANSWERED,
            "состоялся": o.ANSWERED,
            "успешный": o.ANSWERED,
            "не отвечен": o.NO_ANSWER,
            "нет ответа": o.NO_ANSWER,
            "не дозвонились": o.NO_ANSWER,
            "no reply": o.NO_ANSWER,
            "занято": o.BUSY,
            "пропущен": o.MISSED,
            "пропущенный": o.MISSED,
            "перезвонить": o.CALLBACK,
            "call back": o.CALLBACK,
            "автоответчик": o.VOICEMAIL,
            "голосовая почта": o.VOICEMAIL,
        },
    )


def parse_kind(text: str) -> tuple[str, str]:
    """ "Исходящий звонок" → ("call", "out"); "meeting" → ("meeting", "")."""
    norm = normalize_header(text)
    if norm in _kinds():
        return _kinds()[norm], ""
    words = norm.split()
    direction = ""
    rest = []
    for word in words:
        if word in _INBOUND:
            direction = Direction.INBOUND
        elif word in _OUTBOUND:
            direction = Direction.OUTBOUND
        else:
            rest.append(word)
    kind = _kinds().get(" ".join(rest))
    if kind is None:
        raise rowtools.key_error("kind", _("Unknown activity type “%(value)s”.") % {"value": text})
    return kind, direction


def parse_duration(text: str) -> int:
    """Seconds from "95", "1:35", "00:01:35", "5 мин", "2 min", "1,5 ч"."""
    clean = text.strip().lower()
    match = _DURATION.match(clean)
    if match:
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    match = _DURATION_UNIT.match(clean)
    if match:
        number = float(match.group(1).replace(",", "."))
        unit = match.group(2) or "s"
        factor = 3600 if unit[0] in "чh" else 60 if unit[0] in "мm" else 1
        return round(number * factor)
    raise rowtools.key_error(
        "duration_seconds", _("“%(value)s” is not a duration.") % {"value": text}
    )


def activity_data(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    if values.get("kind"):
        parsed = rowtools.collect(errors, parse_kind, values["kind"])
        if parsed:
            data["kind"], hint = parsed
            if hint:
                data["direction"] = hint
    if values.get("direction"):
        data["direction"] = rowtools.collect(
            errors,
            rowtools.parse_choice,
            values["direction"],
            _directions(),
            "direction",
            _("direction"),
        )
    for key in ("subject", "body"):
        if values.get(key):
            data[key] = values[key]
    if values.get("occurred_at"):
        data["occurred_at"] = rowtools.collect(
            errors, rowtools.parse_moment, values["occurred_at"], "occurred_at"
        )
    if values.get("duration"):
        data["duration_seconds"] = rowtools.collect(errors, parse_duration, values["duration"])
    if values.get("outcome"):
        data["outcome"] = rowtools.collect(
            errors, rowtools.parse_choice, values["outcome"], _outcomes(), "outcome", _("outcome")
        )
    if errors:
        raise ValidationError(errors)
    return data


def find_deal(actor, text: str) -> Deal | None:
    """A deal by the external id an earlier import gave it, else by its title."""
    text = " ".join(text.split())
    ids = list(
        ExternalKey.objects.filter(model="sales.deal", external_id=text[:128]).values_list(
            "object_id", flat=True
        )
    )
    qs = (
        Deal.objects.filter(pk__in=ids)
        if ids
        else rowtools.iexact(Deal.objects.all(), "title", text)
    )
    found = list(visible_to(actor, qs).order_by("pk")[:2])
    if len(found) == 1:
        return found[0]
    if found:
        raise rowtools.key_error(
            "deal", _("Several deals are called “%(value)s”.") % {"value": text}
        )
    raise rowtools.key_error("deal", _("No such deal: “%(value)s”.") % {"value": text})


def apply_row(job: ImportJob, actor, values: dict[str, Any], row: int, chunk: int) -> str:
    data = activity_data(values)
    existing = None
    if job.key_field == ImportKey.EXTERNAL_ID:
        existing = rowtools.one_existing(
            actor, rowtools.by_external(LABEL, Activity, values), job.key_field
        )
    rowtools.check_mode(job, existing)
    if existing is None:
        contact = company = None
        if any(values.get(k) for k in _CLIENT_KEYS):
            contact, company = orders.find_client(actor, values)
        deal = find_deal(actor, values["deal"]) if values.get("deal") else None
        if "kind" not in data:
            raise rowtools.key_error("kind", _("Enter the activity type."))
        activity = activity_services.activity_log(
            actor=actor, contact=contact, company=company, deal=deal, **data
        )
        rowtools.record(job, activity, ImportedRecord.Action.CREATED, {}, row, chunk)
        rowtools.remember_external(job, LABEL, values, activity)
        return ImportedRecord.Action.CREATED
    kind = data.pop("kind", existing.kind)
    if kind != existing.kind:
        raise rowtools.key_error(
            "kind",
            _("An activity keeps its type; this one is “%(kind)s”.")
            % {"kind": existing.get_kind_display()},
        )
    previous = {k: rowtools.jsonable(getattr(existing, k)) for k in data}
    rowtools.record(job, existing, ImportedRecord.Action.UPDATED, previous, row, chunk)
    activity_services.activity_update(actor=actor, activity=existing, data=data)
    return ImportedRecord.Action.UPDATED


def undo_record(actor, rec: ImportedRecord) -> None:
    from svyaz.core.services import record_soft_delete

    activity = Activity.all_objects.filter(pk=rec.object_id).first()
    if activity is None or activity.deleted_at is not None:
        return
    if rec.action == ImportedRecord.Action.CREATED:
        # The callback task an "asked to call back" outcome created goes with it.
        for followup in activity.followups.filter(deleted_at__isnull=True):
            record_soft_delete(actor=actor, obj=followup)
        record_soft_delete(actor=actor, obj=activity)
        return
    previous = dict(rec.previous)
    if previous.get("occurred_at"):
        previous["occurred_at"] = datetime.fromisoformat(previous["occurred_at"])
    activity_services.activity_update(actor=actor, activity=activity, data=previous)
