"""Model signals → audit rows (one row per changed field per save).

pre_save reads the row's current values (one query by primary key, only the columns being
saved; none for a create); post_save compares and writes every row of the save in one
INSERT. post_delete records a purge (a record with a recycle bin) or a delete; m2m_changed
records tag (and role…) changes as one field of the record.
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import suppress
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone

from svyaz.audit import registry
from svyaz.audit.context import current, current_actor
from svyaz.audit.models import AuditAction, AuditEntry

# Built once from the model classes when the app is ready; read-only afterwards.
_TRACKED: dict[type[models.Model], registry.Tracked] = {}
_M2M: dict[type[models.Model], tuple[registry.Tracked, models.ManyToManyField]] = {}

_OLD = "_svyaz_audit_old"
_CLEARED = "_svyaz_audit_cleared"
_SKIP: Any = object()
CUSTOM = "custom"


def connect_all() -> None:
    _TRACKED.clear()
    _TRACKED.update(registry.build())
    for model, spec in _TRACKED.items():
        uid = f"svyaz.audit.{spec.label}"
        pre_save.connect(_pre_save, sender=model, weak=False, dispatch_uid=f"{uid}.pre_save")
        post_save.connect(_post_save, sender=model, weak=False, dispatch_uid=f"{uid}.post_save")
        post_delete.connect(
            _post_delete, sender=model, weak=False, dispatch_uid=f"{uid}.post_delete"
        )
        for f in spec.m2m:
            through = f.remote_field.through
            _M2M[through] = (spec, f)
            m2m_changed.connect(
                _m2m_changed, sender=through, weak=False, dispatch_uid=f"{uid}.{f.name}.m2m"
            )


def tracked(model) -> registry.Tracked | None:
    return _TRACKED.get(model)


def tracked_models() -> list[registry.Tracked]:
    return list(_TRACKED.values())


# --- values ------------------------------------------------------------------------------


def normal(f: models.Field, value: Any) -> Any:
    """The value as the database gives it back, for comparing (e.g. "10" vs Decimal(10))."""
    if value is None:
        return None
    try:
        if f.is_relation:
            return f.target_field.to_python(value)
        if isinstance(f, models.JSONField):
            return value
        return f.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return value


def encode(value: Any, f: models.Field | None = None) -> str | None:
    """Text for old_value/new_value: scalars as text, lists and objects as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        places = getattr(f, "decimal_places", None)
        if places is not None:
            with suppress(InvalidOperation):
                value = value.quantize(Decimal(1).scaleb(-places))
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    return str(value)


def empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _repr(obj) -> str:
    try:
        return str(obj)[:255]
    except Exception:  # a broken __str__ must never stop a save
        return ""


def who() -> dict[str, Any]:
    """The columns every row of the running change shares: source, actor, request."""
    ctx = current()
    actor = current_actor()
    return {
        "source": ctx.source,
        "actor_id": actor.pk if actor is not None else None,
        "actor_name": _repr(actor) if actor is not None else "",
        "request_id": ctx.request_id[:64],
        "path": ctx.path[:255],
    }


NAMES_KEPT = 5000  # a long import job must not grow the cache without end


def remember(cache: dict, key, name: str) -> None:
    if len(cache) >= NAMES_KEPT:
        cache.clear()
    cache[key] = name


class Names:
    """Names of related records for foreign-key values, looked up in one query per model
    and remembered for the rest of the request or job."""

    def __init__(self, using: str | None):
        self.using = using
        self.cache = current().names  # shared by the request or job
        self.local: dict[tuple[str, str], str] = {}  # this write's, whatever the cache drops
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)

    @staticmethod
    def key(model, pk) -> tuple[str, str]:
        return (model._meta.label_lower, str(pk))

    def known(self, model, pk, obj=None) -> None:
        if obj is not None and pk is not None:
            self._keep(self.key(model, pk), _repr(obj))

    def _keep(self, key, name: str) -> None:
        self.local[key] = name
        remember(self.cache, key, name)

    def want(self, model, pk) -> None:
        if pk is None:
            return
        key = self.key(model, pk)
        if key in self.local:
            return
        if key in self.cache:
            self.local[key] = self.cache[key]
            return
        self.wanted[model].add(pk)

    def fetch(self) -> None:
        for model, pks in self.wanted.items():
            found = model._base_manager.using(self.using).filter(pk__in=pks)
            for obj in found:
                self._keep(self.key(model, obj.pk), _repr(obj))
        self.wanted.clear()

    def get(self, model, pk) -> str:
        if pk is None:
            return ""
        return self.local.get(self.key(model, pk), "")


def _cached_related(instance, f: models.Field):
    if f.is_cached(instance):
        return f.get_cached_value(instance)
    return None


def rows_for_fields(
    spec: registry.Tracked,
    instance,
    pairs: list[tuple[models.Field, Any, Any]],
    action: str,
    names: Names,
) -> list[dict[str, Any]]:
    """One row per (field, old, new); custom JSON splits into one row per changed key."""
    out: list[dict[str, Any]] = []
    fks = []
    for f, old, new in pairs:
        if f.name == CUSTOM and isinstance(f, models.JSONField):
            old_d = old if isinstance(old, dict) else {}
            new_d = new if isinstance(new, dict) else {}
            for code in sorted(set(old_d) | set(new_d), key=str):
                a, b = old_d.get(code), new_d.get(code)
                if a != b and not (action == AuditAction.CREATE and empty(b)):
                    out.append({"field": f"{CUSTOM}.{code}", "old": encode(a), "new": encode(b)})
            continue
        if f.name in spec.masked:
            out.append(
                {
                    "field": f.name,
                    "old": registry.MASK if old not in (None, "") else None,
                    "new": registry.MASK if new not in (None, "") else None,
                }
            )
            continue
        row = {"field": f.name, "old": encode(old, f), "new": encode(new, f)}
        if f.is_relation:
            related = f.related_model
            cached = _cached_related(instance, f)
            if cached is not None and cached.pk == new:
                names.known(related, new, cached)
            names.want(related, old)
            names.want(related, new)
            fks.append((row, related, old, new))
        out.append(row)
    if fks:
        names.fetch()
        for row, related, old, new in fks:
            row["old_display"] = names.get(related, old)
            row["new_display"] = names.get(related, new)
    return out


def write(spec: registry.Tracked, instance, action: str, rows, *, using=None) -> list:
    """Insert `rows` ([{field, old, new, old_display?, new_display?, action?}]) in one query."""
    return write_many(spec, [(instance, action, rows)], using=using)


def write_many(spec: registry.Tracked, items, *, using=None) -> list:
    """Insert the rows of several records of one model, [(record, action, rows)…], in one
    query."""
    common: dict[str, Any] | None = None
    entries = []
    for instance, action, rows in items:
        if not rows:
            continue
        if common is None:
            # The application clock, like every other timestamp (the column's database
            # default covers rows inserted by other means).
            common = {**who(), "at": timezone.now()}
            ct = ContentType.objects.db_manager(using).get_for_model(spec.model)
        name = _repr(instance)
        # Later rows naming this record (a foreign key to it) use its name as of now.
        remember(current().names, Names.key(spec.model, instance.pk), name)
        entries.extend(
            AuditEntry(
                content_type_id=ct.pk,
                object_id=instance.pk,
                object_repr=name,
                action=r.get("action", action),
                field=r.get("field", "")[:100],
                old_value=r.get("old"),
                new_value=r.get("new"),
                old_display=(r.get("old_display") or "")[:255],
                new_display=(r.get("new_display") or "")[:255],
                **common,
            )
            for r in rows
        )
    if not entries:
        return []
    return AuditEntry.objects.using(using).bulk_create(entries)


def create_pairs(spec: registry.Tracked, instance) -> list[tuple[models.Field, Any, Any]]:
    """(field, None, value) for each non-empty followed field of a new record."""
    pairs = []
    for f in spec.fields:
        if f.name == "created_at":
            continue
        value = normal(f, getattr(instance, f.attname))
        if not empty(value):
            pairs.append((f, None, value))
    return pairs


def snapshot(spec: registry.Tracked, instance) -> str | None:
    """The record's followed values as one JSON object (ids for foreign keys)."""
    values = {}
    for f in spec.fields:
        value = getattr(instance, f.attname)
        if f.name in spec.masked:
            value = registry.MASK if value else value
        values[f.name] = value
    return encode(values)


# --- save / delete -----------------------------------------------------------------------


def _pre_save(sender, instance, raw=False, using=None, update_fields=None, **kwargs) -> None:
    if raw:
        return
    spec = _TRACKED.get(sender)
    if spec is None or instance._state.adding or instance.pk is None:
        instance.__dict__[_OLD] = None
        return
    columns = spec.attnames(update_fields)
    if not columns:
        instance.__dict__[_OLD] = _SKIP
        return
    instance.__dict__[_OLD] = (
        sender._base_manager.using(using).filter(pk=instance.pk).values(*columns).first()
    )


def _post_save(sender, instance, created=False, raw=False, using=None, **kwargs) -> None:
    old = instance.__dict__.pop(_OLD, _SKIP)
    if raw or old is _SKIP:
        return
    spec = _TRACKED.get(sender)
    if spec is None:
        return
    names = Names(using)
    if created or old is None:
        pairs = create_pairs(spec, instance)
        rows = rows_for_fields(spec, instance, pairs, AuditAction.CREATE, names)
        write(spec, instance, AuditAction.CREATE, rows, using=using)
        return
    pairs = []
    for f in spec.fields:
        if f.attname not in old:
            continue
        before, after = old[f.attname], getattr(instance, f.attname)
        if normal(f, before) != normal(f, after):
            pairs.append((f, normal(f, before), normal(f, after)))
    rows = rows_for_fields(spec, instance, pairs, AuditAction.UPDATE, names)
    if spec.soft_delete and "deleted_at" in old:
        was, now = old["deleted_at"], instance.deleted_at
        if was is None and now is not None:
            rows.insert(0, {"field": "", "action": AuditAction.DELETE})
        elif was is not None and now is None:
            rows.insert(0, {"field": "", "action": AuditAction.RESTORE})
    write(spec, instance, AuditAction.UPDATE, rows, using=using)


def _post_delete(sender, instance, using=None, **kwargs) -> None:
    spec = _TRACKED.get(sender)
    if spec is None or instance.pk is None:
        return
    action = AuditAction.PURGE if spec.soft_delete else AuditAction.DELETE
    write(spec, instance, action, [{"field": "", "old": snapshot(spec, instance)}], using=using)


# --- many-to-many (tags, roles…) -----------------------------------------------------------


def _names_of(through, f: models.ManyToManyField, owner_ids, using) -> dict[Any, list]:
    """{owner pk: [(target pk, name)…]} as stored now."""
    src, tgt = f.m2m_field_name(), f.m2m_reverse_field_name()
    out: dict[Any, list] = defaultdict(list)
    rows = (
        through._base_manager.using(using)
        .filter(**{f"{src}_id__in": list(owner_ids)})
        .select_related(tgt)
    )
    for row in rows:
        target = getattr(row, tgt)
        out[getattr(row, f"{src}_id")].append((target.pk, _repr(target)))
    return out


def _listed(pairs) -> str:
    return encode(sorted((name for _pk, name in pairs), key=str.casefold))


def _m2m_changed(sender, instance, action, reverse, model, pk_set, using=None, **kwargs) -> None:
    if action not in ("pre_clear", "post_clear", "post_add", "post_remove"):
        return
    spec, f = _M2M[sender]
    if reverse:
        _m2m_reverse(sender, spec, f, instance, action, model, pk_set, using)
        return
    if action == "pre_clear":
        current_pairs = _names_of(sender, f, [instance.pk], using).get(instance.pk, [])
        instance.__dict__.setdefault(_CLEARED, {})[f.name] = current_pairs
        return
    if action == "post_clear":
        before = instance.__dict__.get(_CLEARED, {}).pop(f.name, [])
        after: list = []
    else:
        after = _names_of(sender, f, [instance.pk], using).get(instance.pk, [])
        changed = set(pk_set or ())
        if not changed:
            return
        if action == "post_add":
            before = [p for p in after if p[0] not in changed]
        else:
            gone = f.related_model._base_manager.using(using).filter(pk__in=changed)
            before = after + [(o.pk, _repr(o)) for o in gone]
    if sorted(before) == sorted(after):
        return
    write(
        spec,
        instance,
        AuditAction.UPDATE,
        [{"field": f.name, "old": _listed(before), "new": _listed(after)}],
        using=using,
    )


def _m2m_reverse(through, spec, f, target, action, model, pk_set, using) -> None:
    """`tag.contacts.add(contact…)`: rows on each contact whose tags changed."""
    src, tgt = f.m2m_field_name(), f.m2m_reverse_field_name()
    if action == "pre_clear":
        owners = list(
            through._base_manager.using(using)
            .filter(**{f"{tgt}_id": target.pk})
            .values_list(f"{src}_id", flat=True)
        )
        target.__dict__.setdefault(_CLEARED, {})[f.name] = owners
        return
    if action == "post_clear":
        owner_ids = target.__dict__.get(_CLEARED, {}).pop(f.name, [])
    else:
        owner_ids = list(pk_set or ())
    if not owner_ids:
        return
    now = _names_of(through, f, owner_ids, using)
    me = (target.pk, _repr(target))
    for owner in model._base_manager.using(using).filter(pk__in=owner_ids):
        after = now.get(owner.pk, [])
        before = [p for p in after if p[0] != target.pk]
        if action != "post_add":
            before = before + [me]
        write(
            spec,
            owner,
            AuditAction.UPDATE,
            [{"field": f.name, "old": _listed(before), "new": _listed(after)}],
            using=using,
        )
