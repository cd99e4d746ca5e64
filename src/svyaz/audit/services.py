"""Audit rows for writes that send no model signals, and for events without a save.

queryset.update() and bulk_create() skip pre_save/post_save, so the code that uses them on
a followed model says what it did:

    children = list(model.objects.filter(...))          # as they are before the write
    model.all_objects.filter(pk__in=...).update(deleted_at=when)
    record_bulk(children, action="delete")

    record_bulk([lead], changes={"contact": existing})  # before setting lead.contact
    record_bulk(order_lines, action="create")            # after bulk_create (pks set)

Every row of one call goes in one INSERT (one more per related model for the names of
foreign-key values), whatever the number of records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from svyaz.audit import capture
from svyaz.audit.models import AuditAction

_RECORD_ACTIONS = {AuditAction.DELETE, AuditAction.RESTORE, AuditAction.PURGE, AuditAction.MERGE}


def record_bulk(
    objs: Iterable[Any],
    *,
    action: str = AuditAction.UPDATE,
    changes: dict[str, Any] | None = None,
    using: str | None = None,
) -> int:
    """Record a bulk write of `objs` (all of one model). Returns the number of rows written.

    - action "update": `objs` as they were before the write; `changes` = {field name: new
      value} as passed to update() (a model instance for a foreign key is fine). One row per
      record and field whose value changes.
    - action "create": `objs` just created (their pks set): one row per non-empty field.
    - action "delete" / "restore" / "purge" / "merge": one row per record.
    Models the audit does not follow are ignored.
    """
    objs = list(objs)
    if not objs:
        return 0
    spec = capture.tracked(type(objs[0]))
    if spec is None:
        return 0
    names = capture.Names(using)
    items: list[tuple[Any, str, list[dict[str, Any]]]] = []
    if action == AuditAction.CREATE:
        for obj in objs:
            pairs = capture.create_pairs(spec, obj)
            items.append((obj, action, capture.rows_for_fields(spec, obj, pairs, action, names)))
    elif action == AuditAction.UPDATE:
        for obj in objs:
            pairs = []
            for name, value in (changes or {}).items():
                f = spec.by_name.get(name)
                if f is None:
                    continue
                if f.is_relation and isinstance(value, models.Model):
                    names.known(f.related_model, value.pk, value)
                    value = value.pk
                old, new = capture.normal(f, getattr(obj, f.attname)), capture.normal(f, value)
                if old != new:
                    pairs.append((f, old, new))
            items.append((obj, action, capture.rows_for_fields(spec, obj, pairs, action, names)))
    elif action in _RECORD_ACTIONS:
        for obj in objs:
            row: dict[str, Any] = {"field": ""}
            if action == AuditAction.PURGE:
                row["old"] = capture.snapshot(spec, obj)
            items.append((obj, action, [row]))
    else:
        raise ValueError(f"unknown audit action {action!r}")
    return len(capture.write_many(spec, items, using=using))


def record_values(
    obj,
    values: dict[str, tuple[Any, Any]],
    *,
    action: str = AuditAction.UPDATE,
    using: str | None = None,
) -> int:
    """Rows for values that are not columns of the record, e.g. a contact's phones:
    `record_values(contact, {"phones": (["+7916…"], ["+7903…"])})`. Unchanged pairs are
    skipped. Returns the number of rows."""
    spec = capture.tracked(type(obj))
    if spec is None:
        return 0
    rows = [
        {"field": name, "old": capture.encode(old), "new": capture.encode(new)}
        for name, (old, new) in values.items()
        if old != new
    ]
    return len(capture.write(spec, obj, action, rows, using=using))


def record_event(
    obj,
    action: str,
    *,
    field: str = "",
    old: Any = None,
    new: Any = None,
    using: str | None = None,
) -> int:
    """One row about `obj` that no save expresses, e.g. a merge:
    `record_event(survivor, "merge", field="merged_from", old=duplicate.pk)`."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    spec = capture.tracked(type(obj))
    if spec is None:
        return 0
    row = {"field": field, "old": capture.encode(old), "new": capture.encode(new)}
    return len(capture.write(spec, obj, action, [row], using=using))
