"""What the per-entity import modules (leads, deals, activities, products) share: the skip
signal, the undo ledger, external ids, finding the record a key points to, and parsing the
cells people type (dates, numbers, yes/no, choices in English or Russian, users)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from svyaz.core.scoping import visible_to
from svyaz.dataquality.fields import normalize_header
from svyaz.dataquality.models import ExternalKey, ImportedRecord, ImportJob, ImportMode

_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y")
_YES = {"1", "да", "yes", "y", "true", "истина", "+", "активен", "active", "on", "д"}
_NO = {"0", "нет", "no", "n", "false", "ложь", "-", "неактивен", "inactive", "off", "н"}


class Skip(Exception):  # noqa: N818 - a signal, not an error
    """The row is skipped by the mode (create only / update only)."""


def key_error(key: str, message: str) -> ValidationError:
    return ValidationError({key: [message]})


def check_mode(job: ImportJob, existing) -> None:
    """Raise Skip when the mode says this row is not for us."""
    if existing is None and job.mode == ImportMode.UPDATE:
        raise Skip
    if existing is not None and job.mode == ImportMode.CREATE:
        raise Skip


def record(job: ImportJob, obj, action: str, previous: dict, row: int, chunk: int) -> None:
    ImportedRecord.objects.create(
        job=job,
        model=obj._meta.label_lower,
        object_id=obj.pk,
        action=action,
        previous=previous,
        row=row,
        chunk=chunk,
    )


def remember_external(job: ImportJob, label: str, values: dict[str, Any], obj) -> None:
    ext = values.get("external_id")
    if ext:
        ExternalKey.objects.get_or_create(
            model=label, external_id=ext[:128], defaults={"object_id": obj.pk, "job": job}
        )


def by_external(label: str, model, values: dict[str, Any]) -> QuerySet | None:
    ext = (values.get("external_id") or "")[:128]
    if not ext:
        return None
    ids = ExternalKey.objects.filter(model=label, external_id=ext).values_list(
        "object_id", flat=True
    )
    return model.objects.filter(pk__in=list(ids))


def one_existing(actor, qs: QuerySet | None, key: str, *, scoped: bool = True):
    """The one record `qs` holds (None when empty). Several matches, or one the user may
    not see, are the row's error."""
    if qs is None:
        return None
    found = list(qs.order_by("pk")[:3])
    if not found:
        return None
    if len(found) > 1:
        raise key_error(key, _("Matches %(n)s existing records; fix the key.") % {"n": len(found)})
    obj = found[0]
    # The row would change it: it must be within the user's "edit" scope (issue #3).
    if (
        scoped
        and not visible_to(actor, type(obj).objects.filter(pk=obj.pk), action="edit").exists()
    ):
        raise key_error(key, _("Matches a record you do not have access to."))
    return obj


def iexact(qs: QuerySet, field: str, value: str) -> QuerySet:
    """`field` equals `value` ignoring case and repeated spaces — Unicode-aware on SQLite
    too (its LIKE folds ASCII only: "поставка" would not find "Поставка")."""
    from svyaz.core.search import Casefold

    return qs.annotate(_folded=Casefold(field)).filter(_folded=" ".join(value.split()).lower())


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "_meta"):  # a model instance: its id
        return value.pk
    return value


# --- parsing cells -----------------------------------------------------------------------


def parse_moment(text: str, field: str) -> datetime:
    from svyaz.dataquality.orders import parse_moment as _parse

    try:
        return _parse(text)
    except ValidationError:
        raise key_error(field, _("“%(value)s” is not a date.") % {"value": text}) from None


def parse_day(text: str, field: str) -> date:
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 -- a calendar date
        except ValueError:
            continue
    try:
        return parse_moment(text, field).date()
    except ValidationError:
        raise key_error(field, _("“%(value)s” is not a date.") % {"value": text}) from None


def parse_money(text: str, field: str) -> Decimal:
    from svyaz.dataquality.orders import parse_amount

    try:
        return parse_amount(text)
    except ValidationError as exc:
        raise key_error(field, exc.messages[0]) from None


def parse_int(text: str, field: str, *, low: int = 0, high: int | None = None) -> int:
    clean = text.strip().rstrip("%").strip().replace(" ", "").replace(",", ".")
    try:
        value = float(clean)
    except ValueError:
        raise key_error(field, _("“%(value)s” is not a number.") % {"value": text}) from None
    if value != value or value < low or (high is not None and value > high):  # NaN, range
        message = _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}
        if high is None:
            message = _("Enter a number of at least %(low)s.") % {"low": low}
        raise key_error(field, message)
    return round(value)


def parse_bool(text: str, field: str) -> bool:
    norm = normalize_header(text)
    if norm in _YES:
        return True
    if norm in _NO:
        return False
    raise key_error(field, _("“%(value)s” is neither yes nor no.") % {"value": text})


def choice_lookup(choices, synonyms: dict[str, str] | None = None) -> dict[str, str]:
    """{normalized value or label (English and Russian) or synonym: value}."""
    table: dict[str, str] = {}
    for lang in ("en", "ru"):
        with translation.override(lang):
            for value, label in choices:
                table.setdefault(normalize_header(value), value)
                table.setdefault(normalize_header(str(label)), value)
    for text, value in (synonyms or {}).items():
        table.setdefault(normalize_header(text), value)
    return table


def parse_choice(text: str, table: dict[str, str], field: str, what: str) -> str:
    value = table.get(normalize_header(text))
    if value is None:
        raise key_error(field, _("Unknown %(what)s “%(value)s”.") % {"what": what, "value": text})
    return value


def resolve_owner(text: str, field: str = "owner"):
    """An active user by user name, email or full name (either order)."""
    text = " ".join(text.split())
    from svyaz.core.search import Casefold

    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .annotate(_first=Casefold("first_name"), _last=Casefold("last_name"))
    )
    parts = text.lower().split(" ")
    cond = Q(username__iexact=text) | Q(email__iexact=text)
    if len(parts) == 2:
        a, b = parts
        cond |= Q(_first=a, _last=b) | Q(_first=b, _last=a)
    found = list(users.filter(cond)[:2])
    if len(found) != 1:
        message = (
            _("Unknown user “%(value)s”.")
            if not found
            else _("“%(value)s” names several users; use the user name or email.")
        )
        raise key_error(field, message % {"value": text})
    return found[0]


def split_full_name(text: str) -> dict[str, str]:
    parts = text.split()
    if len(parts) >= 3:  # "Иванов Иван Иванович": the patronymic stays with the first name
        return {"last_name": parts[0], "first_name": " ".join(parts[1:])}
    if len(parts) == 2:
        if re.search("[а-яА-ЯёЁ]", text):
            return {"last_name": parts[0], "first_name": parts[1]}
        return {"first_name": parts[0], "last_name": parts[1]}
    return {"first_name": text}


def collect(errors: dict[str, list[str]], func, *args, **kwargs):
    """Call a parser; its field errors go to `errors`, None comes back."""
    try:
        return func(*args, **kwargs)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
        return None


def backdate_timeline(obj, when: datetime, *, title_kind: str | None = None) -> None:
    """Put the timeline rows a service just wrote for `obj` at the imported date."""
    from svyaz.core.models import TimelineEntry

    qs = TimelineEntry.objects.filter(object_type=obj._meta.model_name, object_id=obj.pk)
    if title_kind is not None:
        qs = qs.filter(kind=title_kind)
    qs.update(occurred_at=when)
