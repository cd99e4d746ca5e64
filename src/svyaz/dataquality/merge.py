"""Merge two duplicate contacts (or companies) into one, and undo a merge.

`merge_records` keeps one record (the survivor) and folds the other into it:

- fields: the user picks, field by field (custom fields key by key), whose value the
  survivor keeps: `choices = {"job_title": "other", "custom.segment": "survivor"}`. A field
  not chosen keeps the survivor's value, or takes the other's when the survivor's is empty;
- every row pointing at the other record moves to the survivor. The relations are found
  by introspection (`relation_plan`), so a new app's foreign key to contacts.Contact or
  contacts.Company is moved without a change here. Phones (E.164), emails, addresses,
  tags and company memberships are UNIONED: a row equal to one the survivor already has
  (or one a unique constraint would refuse) stays with the other record;
- the client summary is recomputed for both records;
- the other record goes to the recycle bin (soft delete). The `Merge` row is its
  "merged into" pointer and keeps what an undo needs: the survivor's old field values,
  the rows moved (model, id, field) and the other's id;
- a timeline entry on both records. Audit rows come from the audit app (model signals):
  moved rows are saved one by one so that it sees each of them.

`merge_undo` moves exactly those rows back, restores the survivor's old field values and
brings the other record back. THE UNDO RULE for changes made after the merge: **the newer
value wins**. A survivor field (or custom key) changed since the merge keeps its new value
and is listed in the undo's report and timeline entry; a moved row that has since been
deleted or pointed elsewhere stays where it is (counted as "left"). Everything else is put
back exactly. An undone merge cannot be undone again; a survivor that was itself merged
into a third record later must have that later merge undone first.

Access: both records must be visible (else NotFound) and editable (else PermissionDenied)
by the actor; `actor=None` is an automatic merge by a job.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from svyaz.contacts.models import Company, Contact
from svyaz.contacts.services import ADDRESS_FIELDS, COMPANY_FIELDS, CONTACT_FIELDS
from svyaz.core.custom_fields import definitions
from svyaz.core.errors import NotFound, ValidationError
from svyaz.core.events import emit
from svyaz.core.models import TimelineKind
from svyaz.core.scoping import require, visible_to
from svyaz.core.timeline import timeline_add
from svyaz.dataquality.models import Merge, MergeEntity

SURVIVOR, OTHER = "survivor", "other"
ENTITY_MODELS: dict[str, type[models.Model]] = {
    MergeEntity.CONTACT: Contact,
    MergeEntity.COMPANY: Company,
}
SCALAR_FIELDS: dict[str, tuple[str, ...]] = {
    MergeEntity.CONTACT: CONTACT_FIELDS,
    MergeEntity.COMPANY: COMPANY_FIELDS,
}
ACCESS_ENTITY = {MergeEntity.CONTACT: "contacts", MergeEntity.COMPANY: "companies"}

# --- which rows move, and how -------------------------------------------------------------

MOVE, UNION, REBUILD, UNHANDLED = "move", "union", "rebuild", "unhandled"


def _words(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def _phone_key(row) -> list[Hashable]:
    return [row.number]  # stored in E.164 by the contacts services


def _email_key(row) -> list[Hashable]:
    return [(row.email or "").strip().lower()]


def _address_key(row) -> list[Hashable]:
    return [tuple(_words(getattr(row, name)) for name in ADDRESS_FIELDS)]


# Rows that are duplicates by their content, not by a unique constraint.
UNION_KEYS: dict[tuple[str, str], Callable[[Any], list[Hashable]]] = {
    ("contacts.phone", "contact"): _phone_key,
    ("contacts.phone", "company"): _phone_key,
    ("contacts.email", "contact"): _email_key,
    ("contacts.email", "company"): _email_key,
    ("contacts.address", "contact"): _address_key,
    ("contacts.address", "company"): _address_key,
}
# Rows with an `is_primary` flag meaning "the primary one of this owner": a moved primary
# row stops being primary when the survivor already has one.
PRIMARY_FLAG = {
    ("contacts.phone", "contact"),
    ("contacts.phone", "company"),
    ("contacts.email", "contact"),
    ("contacts.email", "company"),
    ("contacts.contactcompany", "contact"),
}
# Figures computed from other rows: recomputed after the moves, never moved.
REBUILT = {("contacts.clientsummary", "contact"), ("contacts.clientsummary", "company")}
# References by id that are not foreign keys: (model, id field, filter) per entity.
SOFT_REFERENCES: dict[str, list[tuple[str, str, dict[str, str]]]] = {
    MergeEntity.CONTACT: [("dataquality.ExternalKey", "object_id", {"model": "contacts.contact"})],
    MergeEntity.COMPANY: [("dataquality.ExternalKey", "object_id", {"model": "contacts.company"})],
}


@dataclass(frozen=True)
class Relation:
    """Rows of `model` whose `field` points at the merged record, and how a merge treats
    them: MOVE (repoint), UNION (repoint unless an equal row is there), REBUILD
    (recomputed), UNHANDLED (no safe rule: the merge refuses to run)."""

    model: type[models.Model]
    field: models.Field
    how: str
    keys: Callable[[Any], list[Hashable]] | None = None
    primary_flag: bool = False
    filters: dict[str, Any] = dc_field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field.name}"

    @property
    def title(self) -> str:
        """What a person calls these rows ("deals", "tags")."""
        opts = self.model._meta
        if opts.auto_created:  # the through table of a many-to-many field: "tags"
            for f in opts.auto_created._meta.many_to_many:
                if f.remote_field.through is self.model:
                    return str(f.verbose_name)
        return str(opts.verbose_name_plural)


def _unique_groups(model, name: str) -> list[tuple[str, ...]] | None:
    """The other columns of each unique constraint `name` is part of ([] = none);
    None when a constraint can't be reasoned about (a condition or an expression)."""
    sets = [tuple(u) for u in model._meta.unique_together]
    for c in model._meta.constraints:
        if not isinstance(c, models.UniqueConstraint):
            continue
        if c.expressions or (c.condition is not None and name in (c.fields or ())):
            return None
        if c.condition is None:
            sets.append(tuple(c.fields))
    return [tuple(f for f in s if f != name) for s in sets if name in s]


def _constraint_keys(model, groups: list[tuple[str, ...]]) -> Callable[[Any], list[Hashable]]:
    columns = [(i, [model._meta.get_field(f).attname for f in g]) for i, g in enumerate(groups)]

    def keys(row) -> list[Hashable]:
        return [(i, *(getattr(row, c) for c in cols)) for i, cols in columns]

    return keys


def relation_plan(entity: str) -> list[Relation]:
    """Every relation to the entity's model (found by introspection, hidden ones included)
    plus the soft references, each with its rule."""
    model = _entity_model(entity)
    plan: list[Relation] = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete or rel.many_to_many:
            # Forward fields; the reverse side of a many-to-many (its through table's
            # foreign key is in this list too and is what moves).
            continue
        related, fk = rel.related_model, rel.field
        key = (related._meta.label_lower, fk.name)
        primary = key in PRIMARY_FLAG
        if key in REBUILT:
            plan.append(Relation(related, fk, REBUILD))
        elif key in UNION_KEYS:
            plan.append(Relation(related, fk, UNION, UNION_KEYS[key], primary))
        elif rel.one_to_one or fk.unique:
            plan.append(Relation(related, fk, UNHANDLED))
        else:
            groups = _unique_groups(related, fk.name)
            if groups is None:
                plan.append(Relation(related, fk, UNHANDLED))
            elif groups:
                plan.append(
                    Relation(related, fk, UNION, _constraint_keys(related, groups), primary)
                )
            else:
                plan.append(Relation(related, fk, MOVE, primary_flag=primary))
    for label, name, filters in SOFT_REFERENCES.get(entity, []):
        soft = apps.get_model(label)
        plan.append(Relation(soft, soft._meta.get_field(name), MOVE, filters=filters))
    return plan


def unhandled_relations(entity: str) -> list[str]:
    """Relations no rule covers ("app.model.field"): a merge refuses to run while any
    exists, and the relation-coverage test fails."""
    return [r.label for r in relation_plan(entity) if r.how == UNHANDLED]


# --- small helpers ------------------------------------------------------------------------


def _entity_model(entity: str) -> type[models.Model]:
    if entity not in ENTITY_MODELS:
        raise ValidationError({"entity": [_("Choose contacts or companies.")]})
    return ENTITY_MODELS[entity]


def _as_id(value: Any, name: str) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        pk = 0
    if pk <= 0:
        raise ValidationError({name: [_("Choose a record.")]})
    return pk


def _check_can_merge(actor, obj) -> None:
    """The one place deciding whether `actor` may merge `obj` (as survivor or as the
    record merged away): visible (else NotFound) and editable (else PermissionDenied).
    `actor` None is an automatic merge by a job."""
    if actor is None:
        return
    model = type(obj)
    if not visible_to(actor, model.all_objects.filter(pk=obj.pk)).exists():
        raise NotFound(f"{model._meta.model_name} {obj.pk}")
    require(actor, ACCESS_ENTITY[model._meta.model_name], "edit", obj)


def _lock_pair(model, survivor_id: int, other_id: int):
    """Both records (deleted ones included), locked in id order; None for a missing one."""
    rows = {
        o.pk: o
        for o in model.all_objects.select_for_update()
        .filter(pk__in=[survivor_id, other_id])
        .order_by("pk")
    }
    return rows.get(survivor_id), rows.get(other_id)


def _plain(value: Any) -> Any:
    """A field value as JSON keeps it (and as it is compared)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    return str(value)


def active_merge_of(entity: str, pk: int) -> Merge | None:
    """The merge that folded record `pk` into another one and is not undone: its
    "merged into" pointer (`merge.survivor_id`)."""
    return Merge.objects.filter(entity=entity, other_id=pk, undone_at__isnull=True).first()


def merged_into(*, entity: str, pk: int) -> int | None:
    """The id of the record `pk` was merged into, or None."""
    merge = active_merge_of(entity, pk)
    return merge.survivor_id if merge else None


def _check_live(entity: str, role: str, obj) -> None:
    """Refuse a record in the recycle bin, and one already merged away (also when it was
    brought back from the recycle bin since: that merge must be undone first)."""
    merge = active_merge_of(entity, obj.pk)
    if obj.deleted_at is None and (merge is None or role != OTHER):
        return
    if merge is not None:
        raise ValidationError(
            {
                role: [
                    _("“%(name)s” (#%(pk)s) was already merged into “%(target)s” (#%(target_pk)s).")
                    % {
                        "name": obj,
                        "pk": obj.pk,
                        "target": merge.survivor_name,
                        "target_pk": merge.survivor_id,
                    }
                ]
            }
        )
    raise ValidationError(
        {role: [_("“%(name)s” is in the recycle bin: restore it first.") % {"name": obj}]}
    )


def field_label(entity: str, name: str) -> str:
    model = _entity_model(entity)
    if name.startswith("custom."):
        code = name.split(".", 1)[1]
        for d in definitions(entity):
            if d.code == code:
                return d.label
        return code
    return capfirst(str(model._meta.get_field(name).verbose_name))


# --- field choices ------------------------------------------------------------------------


def choosable_fields(entity: str, a, b) -> list[str]:
    """The fields a user can pick a value for when merging `a` and `b`."""
    codes = list(dict.fromkeys([*(a.custom or {}), *(b.custom or {})]))
    defined = [d.code for d in definitions(entity)]
    codes.sort(key=lambda c: (defined.index(c) if c in defined else len(defined), c))
    return [*SCALAR_FIELDS[entity], *(f"custom.{c}" for c in codes)]


def field_value(obj, name: str) -> Any:
    if name.startswith("custom."):
        return (obj.custom or {}).get(name.split(".", 1)[1])
    return getattr(obj, name)


def default_choice(survivor_value: Any, other_value: Any) -> str:
    """Without a choice the survivor keeps its value, or fills its blank from the other."""
    return OTHER if _blank(survivor_value) and not _blank(other_value) else SURVIVOR


def _clean_choices(entity: str, survivor, other, choices: dict | None) -> dict[str, str]:
    if choices is not None and not isinstance(choices, dict):
        raise ValidationError({"choices": [_("Give a value source for each field.")]})
    allowed = choosable_fields(entity, survivor, other)
    errors = []
    for name, pick in (choices or {}).items():
        if name not in allowed:
            errors.append(_("Unknown field “%(name)s”.") % {"name": name})
        elif pick not in (SURVIVOR, OTHER):
            errors.append(
                _("Choose “survivor” or “other” for “%(name)s”.")
                % {"name": field_label(entity, name)}
            )
    if errors:
        raise ValidationError({"choices": errors})
    out = {}
    for name in allowed:
        mine, theirs = field_value(survivor, name), field_value(other, name)
        if _plain(mine) != _plain(theirs):
            out[name] = (choices or {}).get(name) or default_choice(mine, theirs)
    return out


def _set_field(obj, name: str, value: Any) -> None:
    if name.startswith("custom."):
        custom = dict(obj.custom or {})
        code = name.split(".", 1)[1]
        if _blank(value):
            custom.pop(code, None)
        else:
            custom[code] = value
        obj.custom = custom
    else:
        model_field = obj._meta.get_field(name)
        setattr(obj, name, model_field.to_python(value))


def _refresh_derived(obj) -> None:
    if isinstance(obj, Contact):
        obj.full_name = obj.compose_full_name()


# --- moving rows --------------------------------------------------------------------------


def _taken_keys(rel: Relation, owner_id: int) -> set[Hashable]:
    taken: set[Hashable] = set()
    if rel.how == UNION and rel.keys is not None:
        qs = rel.model._base_manager.filter(**{rel.field.attname: owner_id}, **rel.filters)
        for row in qs:
            taken.update(rel.keys(row))
    return taken


def _move_rows(rel: Relation, *, src_id: int, dst_id: int) -> list[dict[str, Any]]:
    """Repoint the rows of `rel` from record `src_id` to `dst_id` (soft-deleted rows too:
    restoring them from the recycle bin must bring them back to the survivor)."""
    attname = rel.field.attname
    manager = rel.model._base_manager
    rows = manager.filter(**{attname: src_id}, **rel.filters).order_by("pk")
    taken = _taken_keys(rel, dst_id)
    has_primary = (
        rel.primary_flag and manager.filter(**{attname: dst_id, "is_primary": True}).exists()
    )
    moved = []
    for row in rows:
        if rel.how == UNION and rel.keys is not None:
            keys = rel.keys(row)
            if taken.intersection(keys):
                continue  # the survivor has an equal row: this one stays with the other record
            taken.update(keys)
        extra: dict[str, Any] = {}
        if rel.primary_flag and row.is_primary:
            if has_primary:
                extra["is_primary"] = True
                row.is_primary = False
            has_primary = True
        setattr(row, attname, dst_id)
        # One save per row (not a bulk update): the audit app sees every move. The row's
        # own `updated_at` is left alone, so an undo restores it exactly.
        row.save(update_fields=[rel.field.name, *extra])
        moved.append(
            {
                "model": rel.model._meta.label_lower,
                "pk": row.pk,
                "field": rel.field.name,
                "extra": extra,
            }
        )
    return moved


def _move_back(merge: Merge, plan: list[Relation]) -> int:
    """Put the moved rows back on the other record; returns how many could not be (deleted
    since, or pointed elsewhere since, or an equal row is on the other record now)."""
    by_label = {r.label: r for r in plan}
    taken: dict[str, set[Hashable]] = {}
    left = 0
    for entry in reversed(merge.moved):
        label = f"{entry['model']}.{entry['field']}"
        rel = by_label.get(label)
        try:
            model = apps.get_model(entry["model"])
            attname = model._meta.get_field(entry["field"]).attname
        except (LookupError, FieldDoesNotExist):
            left += 1
            continue
        row = model._base_manager.filter(pk=entry["pk"]).first()
        if row is None or getattr(row, attname) != merge.survivor_id:
            left += 1
            continue
        if rel is not None and rel.how == UNION and rel.keys is not None:
            if label not in taken:
                taken[label] = _taken_keys(rel, merge.other_id)
            keys = rel.keys(row)
            if taken[label].intersection(keys):
                left += 1
                continue
            taken[label].update(keys)
        setattr(row, attname, merge.other_id)
        for name, value in (entry.get("extra") or {}).items():
            setattr(row, name, value)
        row.save(update_fields=[entry["field"], *(entry.get("extra") or {})])
    return left


def _refresh_summaries(entity: str, *objs) -> None:
    from svyaz.sales.services import client_summary_refresh

    for obj in objs:
        client_summary_refresh(**{entity: obj})


def _moved_counts(moved: list[dict[str, Any]], plan: list[Relation]) -> dict[str, int]:
    titles = {r.label: r.title for r in plan}
    counts: Counter[str] = Counter()
    for entry in moved:
        label = f"{entry['model']}.{entry['field']}"
        counts[titles.get(label, entry["model"])] += 1
    return dict(counts)


# --- merge --------------------------------------------------------------------------------


@transaction.atomic
def merge_records(
    *,
    actor,
    entity: str,
    survivor_id: int,
    other_id: int,
    choices: dict[str, str] | None = None,
) -> Merge:
    """Fold record `other_id` into `survivor_id` (see the module docstring).

    Raises ValidationError (bad entity or choices, the same record twice, a record already
    merged or in the recycle bin), NotFound (missing or out of the actor's scope),
    PermissionDenied (visible but not editable). Nothing is written when it raises.
    """
    model = _entity_model(entity)
    survivor_id, other_id = _as_id(survivor_id, SURVIVOR), _as_id(other_id, OTHER)
    if survivor_id == other_id:
        raise ValidationError({OTHER: [_("A record cannot be merged with itself.")]})
    plan = relation_plan(entity)
    unhandled = [r.label for r in plan if r.how == UNHANDLED]
    if unhandled:
        raise ImproperlyConfigured(
            f"merge: no rule for the relations {', '.join(unhandled)} (dataquality/merge.py)"
        )
    survivor, other = _lock_pair(model, survivor_id, other_id)
    if survivor is None or other is None:
        raise NotFound(f"{entity} {survivor_id if survivor is None else other_id}")
    _check_can_merge(actor, survivor)
    _check_can_merge(actor, other)
    _check_live(entity, SURVIVOR, survivor)
    _check_live(entity, OTHER, other)
    picks = _clean_choices(entity, survivor, other, choices)

    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    changes = []
    for name, pick in picks.items():
        if pick != OTHER:
            continue
        old, new = field_value(survivor, name), field_value(other, name)
        before[name], after[name] = _plain(old), _plain(new)
        _set_field(survivor, name, _plain(new))
        changes.append(
            {
                "field": name,
                "label": field_label(entity, name),
                "old": _show(_plain(old)),
                "new": _show(_plain(new)),
            }
        )
    _refresh_derived(survivor)
    survivor.full_clean()
    survivor.save()

    merge = Merge.objects.create(
        entity=entity,
        survivor_id=survivor.pk,
        other_id=other.pk,
        survivor_name=str(survivor)[:320],
        other_name=str(other)[:320],
        actor=actor if actor is not None and actor.is_authenticated else None,
        choices=picks,
        survivor_before=before,
        survivor_after=after,
    )
    moved: list[dict[str, Any]] = []
    for rel in plan:
        if rel.how in (MOVE, UNION):
            moved.extend(_move_rows(rel, src_id=other.pk, dst_id=survivor.pk))
    when = timezone.now()
    other.deleted_at = when
    other.save(update_fields=["deleted_at", "updated_at"])
    merge.moved = moved
    merge.other_deleted_at = when
    merge.save(update_fields=["moved", "other_deleted_at"])
    _refresh_summaries(entity, survivor, other)

    counts = _moved_counts(moved, plan)
    moved_text = ", ".join(f"{title}: {n}" for title, n in counts.items())
    body = [f"{c['label']}: {c['old'] or '—'} → {c['new'] or '—'}" for c in changes]
    if moved_text:
        body.append(_("Moved here: %(rows)s") % {"rows": moved_text})
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Merged with %(name)s") % {"name": other},
        body="\n".join(body),
        actor=actor,
        obj=survivor,
        data={"merge": merge.pk, "changes": changes, "moved": counts},
        **{entity: survivor},
    )
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Merged into %(name)s") % {"name": survivor},
        actor=actor,
        obj=other,
        # The recycle bin shows who deleted a record by this stamp.
        data={"merge": merge.pk, "recycle": "deleted", "deleted_at": when.isoformat()},
        **{entity: other},
    )
    # The audit sees every moved row and field through its signals; these rows say why.
    from svyaz.audit import record_event

    record_event(survivor, "merge", field="merged_from", old=None, new=other.pk)
    record_event(other, "merge", field="merged_into", old=None, new=survivor.pk)
    if changes:
        emit(f"{entity}.updated", pk=survivor.pk, fields=[c["field"] for c in changes])
    emit(f"{entity}.deleted", pk=other.pk)
    emit(f"{entity}.merged", pk=survivor.pk, other=other.pk, merge=merge.pk)
    return merge


# --- undo ---------------------------------------------------------------------------------


@transaction.atomic
def merge_undo(*, actor, merge_id: int) -> Merge:
    """Undo merge `merge_id`: rows back, the survivor's old values back (the newer value
    wins for a field changed since: see the module docstring), the other record back.

    Raises NotFound (no such merge, or a record out of the actor's scope),
    PermissionDenied, or ValidationError (already undone, a record purged since, the
    survivor merged into a third record or in the recycle bin)."""
    merge = Merge.objects.select_for_update().filter(pk=_as_id(merge_id, "merge")).first()
    if merge is None:
        raise NotFound(f"merge {merge_id}")
    entity = merge.entity
    model = _entity_model(entity)
    survivor, other = _lock_pair(model, merge.survivor_id, merge.other_id)
    for obj in (survivor, other):
        if obj is not None:
            _check_can_merge(actor, obj)
    if merge.undone_at is not None:
        raise ValidationError(_("This merge was already undone."))
    if survivor is None or other is None:
        name = merge.survivor_name if survivor is None else merge.other_name
        raise ValidationError(
            _("“%(name)s” was removed for good: this merge can no longer be undone.")
            % {"name": name}
        )
    if survivor.deleted_at is not None:
        later = active_merge_of(entity, survivor.pk)
        if later is not None:
            raise ValidationError(
                _("“%(name)s” was merged into “%(target)s” later: undo that merge first.")
                % {"name": survivor, "target": later.survivor_name}
            )
        raise ValidationError(
            _("“%(name)s” is in the recycle bin: restore it first.") % {"name": survivor}
        )

    plan = relation_plan(entity)
    left = _move_back(merge, plan)
    kept, restored = [], []
    for name, old in merge.survivor_before.items():
        if _plain(field_value(survivor, name)) != merge.survivor_after.get(name):
            kept.append(name)  # changed since the merge: the newer value wins
            continue
        _set_field(survivor, name, old)
        restored.append(name)
    _refresh_derived(survivor)
    survivor.full_clean()
    survivor.save()
    if other.deleted_at is not None:
        other.deleted_at = None
        other.save(update_fields=["deleted_at", "updated_at"])

    now = timezone.now()
    merge.undone_at = now
    merge.undone_by = actor if actor is not None and actor.is_authenticated else None
    merge.undo_report = {"kept_fields": kept, "rows_left": left}
    merge.save(update_fields=["undone_at", "undone_by", "undo_report"])
    _refresh_summaries(entity, survivor, other)

    body = []
    if kept:
        body.append(
            _("Kept the newer values of: %(fields)s")
            % {"fields": ", ".join(field_label(entity, n) for n in kept)}
        )
    if left:
        body.append(
            _("%(n)s moved row(s) had changed since and stayed where they are.") % {"n": left}
        )
    data = {"merge": merge.pk, "undo": True, "kept_fields": kept, "rows_left": left}
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Merge with %(name)s undone") % {"name": other},
        body="\n".join(body),
        actor=actor,
        obj=survivor,
        data=data,
        **{entity: survivor},
    )
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Merge into %(name)s undone: the record is back") % {"name": survivor},
        actor=actor,
        obj=other,
        data={"merge": merge.pk, "undo": True},
        **{entity: other},
    )
    from svyaz.audit import record_event

    record_event(survivor, "merge", field="merge_undone", old=other.pk, new=None)
    if restored:
        emit(f"{entity}.updated", pk=survivor.pk, fields=restored)
    emit(f"{entity}.restored", pk=other.pk)
    emit(f"{entity}.merge_undone", pk=survivor.pk, other=other.pk, merge=merge.pk)
    return merge


def undo_message(merge: Merge) -> str:
    """What a person is told after an undo (the kept fields, the rows left)."""
    text = _("The merge was undone: “%(name)s” is back.") % {"name": merge.other_name}
    kept = (merge.undo_report or {}).get("kept_fields") or []
    left = (merge.undo_report or {}).get("rows_left") or 0
    if kept:
        text += " " + _("Changed since the merge, kept as they are now: %(fields)s.") % {
            "fields": ", ".join(field_label(merge.entity, n) for n in kept)
        }
    if left:
        text += " " + _("%(n)s moved row(s) had changed since and stayed where they are.") % {
            "n": left
        }
    return text


# --- reads --------------------------------------------------------------------------------


def merge_list(*, user) -> QuerySet[Merge]:
    """Merges whose kept record the user can see (deleted ones included), newest first."""
    qs = Merge.objects.select_related("actor", "undone_by")
    if user is None or not user.is_authenticated:
        return qs.none()
    cond = Q(pk__in=[])
    for entity, model in ENTITY_MODELS.items():
        ids = visible_to(user, model.all_objects.all()).values("pk")
        cond |= Q(entity=entity, survivor_id__in=ids)
    return qs.filter(cond)


def merge_get(*, user, pk: int) -> Merge:
    merge = merge_list(user=user).filter(pk=pk).first()
    if merge is None:
        raise NotFound(f"merge {pk}")
    return merge


@dataclass
class FieldRow:
    name: str
    label: str
    a: str
    b: str
    differ: bool
    pick: str  # "a" or "b": the value kept when A is the survivor and nothing is chosen


@dataclass
class MergePreview:
    entity: str
    a: Any
    b: Any
    fields: list[FieldRow]
    counts: list[tuple[str, int, int]]  # (what, rows of A, rows of B)
    channels: list[tuple[str, list[str], list[str]]]  # phones/emails/tags: unioned


def _display(obj, name: str) -> str:
    if name.startswith("custom."):
        return _show(field_value(obj, name))
    model_field = obj._meta.get_field(name)
    if model_field.choices:
        return str(getattr(obj, f"get_{name}_display")())
    value = getattr(obj, name)
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return _show(value)


def merge_preview(*, user, entity: str, a_id: Any, b_id: Any) -> MergePreview:
    """Both records side by side, their differing fields, and how many rows of each
    kind each one has (what moves with it). Same access rules as the merge itself."""
    model = _entity_model(entity)
    a_id, b_id = _as_id(a_id, "a"), _as_id(b_id, "b")
    if a_id == b_id:
        raise ValidationError({"b": [_("A record cannot be merged with itself.")]})
    objs = {o.pk: o for o in model.all_objects.filter(pk__in=[a_id, b_id])}
    if a_id not in objs or b_id not in objs:
        raise NotFound(f"{entity} {a_id}/{b_id}")
    a, b = objs[a_id], objs[b_id]
    for obj in (a, b):
        _check_can_merge(user, obj)
    _check_live(entity, "a", a)
    _check_live(entity, "b", b)
    rows = []
    for name in choosable_fields(entity, a, b):
        va, vb = field_value(a, name), field_value(b, name)
        differ = _plain(va) != _plain(vb)
        rows.append(
            FieldRow(
                name=name,
                label=field_label(entity, name),
                a=_display(a, name),
                b=_display(b, name),
                differ=differ,
                pick="b" if differ and default_choice(va, vb) == OTHER else "a",
            )
        )
    counts = []
    for rel in relation_plan(entity):
        if rel.how not in (MOVE, UNION) or rel.filters:
            continue
        attname = rel.field.attname
        by_owner = dict(
            rel.model._base_manager.filter(**{f"{attname}__in": [a.pk, b.pk]})
            .order_by()
            .values_list(attname)
            .annotate(n=Count("pk"))
        )
        if by_owner:
            counts.append((rel.title, by_owner.get(a.pk, 0), by_owner.get(b.pk, 0)))
    channels = [
        (
            _("Phones"),
            [p.number for p in a.phones.all()],
            [p.number for p in b.phones.all()],
        ),
        (_("Emails"), [e.email for e in a.emails.all()], [e.email for e in b.emails.all()]),
        (_("Tags"), [t.name for t in a.tags.all()], [t.name for t in b.tags.all()]),
    ]
    return MergePreview(entity, a, b, rows, counts, channels)
