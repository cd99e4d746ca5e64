"""Reads of the audit trail: filtered, keyset-paginated (no COUNT on a table that only
grows), with the values shown the way people read them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from svyaz.audit.models import AccessDenial, AuditEntry
from svyaz.audit.registry import MASK

PAGE_SIZE = 50

# Rows about values that are not model fields (written by services through record_values).
EXTRA_FIELD_LABELS = {"phones": "phones", "emails": "emails"}


def audit_entries() -> QuerySet[AuditEntry]:
    """Every audit row, newest first, with what the page shows for each (constant queries)."""
    return AuditEntry.objects.select_related("content_type").order_by("-at", "-id")


def audit_for_record(*, content_type, object_id: int) -> QuerySet[AuditEntry]:
    return audit_entries().filter(content_type=content_type, object_id=object_id)


def access_denials() -> QuerySet[AccessDenial]:
    return AccessDenial.objects.order_by("-at", "-id")


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str
    cursor: str

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)


def _cursor_of(row) -> str:
    return f"{row.at.isoformat()}~{row.pk}"


def _parse_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor or "~" not in cursor:
        return None
    stamp, _sep, pk = cursor.rpartition("~")
    try:
        at = dt.datetime.fromisoformat(stamp.replace(" ", "+"))
        number = int(pk)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at, number


def keyset_page(qs: QuerySet, cursor: str | None, size: int = PAGE_SIZE) -> KeysetPage:
    """The `size` rows after `cursor` (newest first) and the cursor of the next page.
    A bad cursor gives the first page."""
    parsed = _parse_cursor(cursor)
    if parsed is not None:
        at, pk = parsed
        qs = qs.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
    rows = list(qs.order_by("-at", "-id")[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows=rows,
        next_cursor=_cursor_of(rows[-1]) if has_next and rows else "",
        cursor=cursor if parsed is not None else "",
    )


# --- who may read what ------------------------------------------------------------------


def may_read_audit(user) -> bool:
    """The whole audit trail (page, CSV, API): the settings/view grant (the Administrator
    and read-only Auditor roles) and superusers. The one place to change when the audit
    gets a grant of its own (the API uses core.access.SettingsPermission, the same rule)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    from svyaz.core.access import can_settings

    return can_settings(user, "view")


# Rows of these models follow another entity's field rule: a line's money makes up the
# deal's (order's) amount; a price-list price is a product price.
FOLLOWS: dict[str, tuple[str, dict[str, set[str]]]] = {
    "sales.dealline": ("deals", {"amount": {"price", "discount_percent"}}),
    "sales.orderline": ("orders", {"amount": {"price"}}),
    "sales.pricelistitem": ("products", {"price": {"price"}}),
}


def _audit_name(rule_field: str) -> str:
    """Role rules name custom fields "cf_<code>"; audit rows name them "custom.<code>"."""
    return f"custom.{rule_field[3:]}" if rule_field.startswith("cf_") else rule_field


def hidden_audit_fields(user) -> dict[int, set[str]]:
    """{content type id: audit field names} the user's roles hide (none for superusers).
    No query per row: the user's access is read once per request."""
    try:
        from svyaz.accounts.roles import MODEL_ENTITY
        from svyaz.core.scoping import hidden_fields
    except ImportError:  # an older checkout without field rules
        return {}
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    def ct_id(label: str) -> int:
        return ContentType.objects.get_for_model(apps.get_model(label)).pk

    out: dict[int, set[str]] = {}
    for label, entity in MODEL_ENTITY.items():
        hidden = {_audit_name(f) for f in hidden_fields(user, entity)}
        if hidden:
            out[ct_id(label)] = hidden
    for label, (entity, mapping) in FOLLOWS.items():
        names: set[str] = set()
        for rule_field in hidden_fields(user, entity):
            names |= mapping.get(rule_field, set())
        if names:
            out[ct_id(label)] = names
    return out


def without_hidden(qs: QuerySet, hidden: dict[int, set[str]]) -> QuerySet:
    """Leave out the rows of hidden fields."""
    q = Q()
    for ct, names in hidden.items():
        q |= Q(content_type_id=ct, field__in=names)
    return qs.exclude(q) if hidden else qs


def strip_snapshot(entry: AuditEntry, value: str | None, hidden: dict[int, set[str]]):
    """A purge/delete row's snapshot (JSON) without the hidden fields."""
    names = hidden.get(entry.content_type_id)
    if entry.field or not value or not names:
        return value
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if not isinstance(data, dict):
        return value
    for name in names:
        if name.startswith("custom.") and isinstance(data.get("custom"), dict):
            data["custom"].pop(name.partition(".")[2], None)
        else:
            data.pop(name, None)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


# --- how a row reads ---------------------------------------------------------------------


def _model_field(entry: AuditEntry):
    model = entry.content_type.model_class()
    if model is None or not entry.field:
        return None
    try:
        return model._meta.get_field(entry.field)
    except FieldDoesNotExist:
        return None


def field_label(entry: AuditEntry) -> str:
    if not entry.field:
        return ""
    if entry.field.startswith("custom."):
        return entry.field.partition(".")[2]
    f = _model_field(entry)
    if f is not None and hasattr(f, "verbose_name"):
        return str(f.verbose_name)
    if entry.field in EXTRA_FIELD_LABELS:
        return _(EXTRA_FIELD_LABELS[entry.field])
    return entry.field


def _shown(entry: AuditEntry, value: str | None, display: str) -> str:
    if display:
        return display
    if value is None or value == "":
        return ""
    if value == MASK:
        return "••••"
    f = _model_field(entry)
    if f is not None and getattr(f, "choices", None):
        labels = {str(k): str(v) for k, v in f.flatchoices}
        return labels.get(value, value)
    if value in ("true", "false") and (f is None or f.get_internal_type() == "BooleanField"):
        return _("Yes") if value == "true" else _("No")
    kind = f.get_internal_type() if f is not None else ""
    try:
        if kind == "DateTimeField":
            moment = dt.datetime.fromisoformat(value)
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
        if kind == "DateField":
            return formats.date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except ValueError:
        pass
    return value


def old_shown(entry: AuditEntry) -> str:
    return _shown(entry, entry.old_value, entry.old_display)


def new_shown(entry: AuditEntry) -> str:
    return _shown(entry, entry.new_value, entry.new_display)


def entity_label(entry: AuditEntry) -> str:
    model = entry.content_type.model_class()
    if model is None:
        return entry.content_type.model
    return str(model._meta.verbose_name).capitalize()


def describe(entry: AuditEntry, hidden: dict[int, set[str]] | None = None) -> dict[str, Any]:
    """What a row of the page shows (`hidden`: see hidden_audit_fields)."""
    old = old_shown(entry)
    if hidden:
        old = strip_snapshot(entry, old, hidden) or ""
    return {
        "entry": entry,
        "entity": entity_label(entry),
        "entity_slug": entry.content_type.model,
        "field": field_label(entry),
        "old": old,
        "new": new_shown(entry),
        "who": entry.actor_name or _("System"),
    }


def _choice_labels(path: str) -> dict[str, str]:
    """{value: label} of a TextChoices class that may not exist in this checkout."""
    from django.utils.module_loading import import_string

    try:
        choices = import_string(path)
    except ImportError:
        return {}
    return {str(value): str(label) for value, label in choices.choices}


def describe_denial(denial: AccessDenial) -> dict[str, Any]:
    """What a row of the refused-access tab shows (entity and action in words)."""
    entities = _choice_labels("svyaz.accounts.models.Entity")
    actions = _choice_labels("svyaz.accounts.models.Action")
    return {
        "denial": denial,
        "entity": entities.get(denial.entity, denial.entity),
        "action": actions.get(denial.action, denial.action),
        "who": denial.user_name or _("Anonymous"),
    }
