"""Writes to the 360° timeline (called by services inside their transaction), and the
plain-SQL read of a page of a subject's rows (`timeline_page`, no scope check) with its
helpers for raw rows (`raw_converter`, `from_raw`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connections
from django.utils import timezone

from svyaz.core.models import TimelineEntry

SUBJECTS = ("contact", "company", "deal")


def timeline_page(
    *, subject: str, pk: int, kinds: Iterable[str] = (), offset: int = 0, limit: int = 20
) -> list[TimelineEntry]:
    """`limit` rows of a subject's timeline ("contact", "company" or "deal" and its pk)
    from `offset`, newest first, with their actors (name fields only): the rows
    core.selectors.timeline_for gives, in one indexed read by (subject, time) written in
    SQL (the ORM's building of it and of forty instances was a fifth of the card).

    NO scope check: for a subject the caller has just read through a scoped selector (a
    card), or checked with timeline_for."""
    from django.contrib.auth import get_user_model

    if subject not in SUBJECTS:
        raise ValueError(subject)
    kinds = list(kinds)
    fields = [f.attname for f in TimelineEntry._meta.concrete_fields]
    actor_fields = ("id", "first_name", "last_name", "username")
    columns = ", ".join(
        [
            *(f'e."{f.column}"' for f in TimelineEntry._meta.concrete_fields),
            *(f'u."{name}"' for name in actor_fields),
        ]
    )
    users = get_user_model()
    kind_filter = f" AND e.kind IN ({', '.join(['%s'] * len(kinds))})" if kinds else ""
    sql = (
        f"SELECT {columns} "  # noqa: S608
        f'FROM "{TimelineEntry._meta.db_table}" e '
        f'LEFT JOIN "{users._meta.db_table}" u ON u.id = e.actor_id '
        f"WHERE e.{subject}_id = %s{kind_filter} "
        "ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s OFFSET %s"
    )
    connection = connections[TimelineEntry.objects.db]
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, *kinds, limit, offset])
        rows = cursor.fetchall()
    entry_of = from_raw(TimelineEntry, fields, connection)
    actor_of = from_raw(users, actor_fields, connection)
    actors: dict[int, Any] = {}
    entries = []
    n = len(fields)
    for row in rows:
        entry = entry_of(row[:n])
        if entry.actor_id is not None:
            if entry.actor_id not in actors:
                actors[entry.actor_id] = actor_of(row[n:])
            entry.actor = actors[entry.actor_id]
        else:
            entry.actor = None
        entries.append(entry)
    return entries


def raw_converter(field, connection) -> Callable[[Any], Any]:
    """The ORM's conversion of a raw database value of `field` on `connection` (SQLite
    gives text datetimes and float decimals, JSON comes as text)."""
    col = field.get_col(field.model._meta.db_table)
    converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)

    def convert(value):
        for converter in converters:
            value = converter(value, col, connection)
        return value

    return convert if converters else _same


def _same(value):
    return value


def from_raw(model, names: Sequence[str], connection=None) -> Callable[[Sequence], Any]:
    """A maker of `model` instances from raw rows of the fields `names` (attnames, in that
    order): values converted as the ORM does (`raw_converter`, when `connection` is
    given), the model's other fields deferred (reading one is a query, as with only())."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    order = [name for name in fields if name in names]
    index = [list(names).index(name) for name in order]
    converters = []
    if connection is not None:
        for i, name in enumerate(order):
            convert = raw_converter(fields[name], connection)
            if convert is not _same:
                converters.append((i, convert))
    db = connection.alias if connection is not None else None

    def make(values: Sequence):
        ordered = [values[i] for i in index]
        for i, convert in converters:
            ordered[i] = convert(ordered[i])
        return model.from_db(db, order, ordered)

    return make


def timeline_add(
    *,
    kind: str,
    title: str,
    actor=None,
    contact=None,
    company=None,
    deal=None,
    obj=None,
    body: str = "",
    occurred_at=None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        kind=kind,
        title=title[:300],
        body=body,
        actor=actor if actor is not None and actor.is_authenticated else None,
        contact=contact,
        company=company,
        deal=deal,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        occurred_at=occurred_at or timezone.now(),
        data=data or {},
    )


def field_changes(instance, before: dict[str, Any], fields: list[str]) -> list[dict[str, Any]]:
    """[{field, label, old, new}] for each of `fields` whose value differs from `before`."""
    changes = []
    for name in fields:
        new = getattr(instance, name)
        old = before.get(name)
        if str(old if old is not None else "") != str(new if new is not None else ""):
            field = instance._meta.get_field(name)
            changes.append(
                {
                    "field": name,
                    "label": str(field.verbose_name),
                    "old": _show(old),
                    "new": _show(new),
                }
            )
    return changes


def _show(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def snapshot(instance, fields: list[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in fields}


def subjects_of(obj) -> dict[str, Any]:
    """The timeline subjects a record belongs to: a contact's own card, a deal's contact,
    company and deal, an activity's links..."""
    name = obj._meta.model_name
    if name == "contact":
        return {"contact": obj}
    if name == "company":
        return {"company": obj}
    out: dict[str, Any] = {}
    if name == "deal":
        out["deal"] = obj
    for attr in ("contact", "company", "deal"):
        if attr not in out and hasattr(obj, f"{attr}_id") and getattr(obj, f"{attr}_id"):
            out[attr] = getattr(obj, attr)
    return out
