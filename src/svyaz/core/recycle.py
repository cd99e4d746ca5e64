"""The recycle bin: deleted records, restore (with their children) and the purge job.

Deletion is soft (core.services.record_soft_delete): `deleted_at` is set on the record and
on its children (CASCADE_CHILDREN) with the same instant. Within SVYAZ_RECYCLE_DAYS the
record can be restored, children included, by someone allowed to delete it (the "delete"
grant of their roles, core.scoping). After that `recycle_bin_purge` removes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from svyaz.accounts.roles import entity_of_model
from svyaz.core.errors import NotFound, PermissionDenied, ValidationError
from svyaz.core.events import emit
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.core.scoping import can, log_denial, visible_to
from svyaz.core.services import CASCADE_CHILDREN, refresh_client_summaries
from svyaz.core.timeline import subjects_of, timeline_add

log = logging.getLogger(__name__)

# entity slug → (model label, human name, extra owner fields for scoping). Order: the
# purge removes children before their parents.
ENTITIES: dict[str, tuple[str, object, tuple[str, ...]]] = {
    "activity": ("activities.Activity", gettext_lazy("Activity"), ()),
    "followup": ("followups.Followup", gettext_lazy("Task"), ("assignee",)),
    "order": ("sales.Order", gettext_lazy("Order"), ()),
    "deal": ("sales.Deal", gettext_lazy("Deal"), ()),
    "lead": ("sales.Lead", gettext_lazy("Lead"), ()),
    "contact": ("contacts.Contact", gettext_lazy("Contact"), ()),
    "company": ("contacts.Company", gettext_lazy("Company"), ()),
}


def entity_model(entity: str):
    if entity not in ENTITIES:
        raise NotFound(entity)
    return apps.get_model(ENTITIES[entity][0])


def recycle_days() -> int:
    return settings.SVYAZ_RECYCLE_DAYS


@dataclass
class RecycledItem:
    entity: str
    label: str
    obj: object
    deleted_at: datetime
    deleted_by: object | None
    expires_at: datetime
    can_restore: bool

    @property
    def name(self) -> str:
        return str(self.obj)

    @property
    def pk(self) -> int:
        return self.obj.pk


def can_delete(user, obj) -> bool:
    """May `user` delete (and so restore) `obj`? Their roles' "delete" grant decides."""
    entity = entity_of_model(type(obj))
    return entity is not None and can(user, entity, "delete", obj)


def _deleted_queryset(user, entity: str, since: datetime):
    label, _name, extra = ENTITIES[entity]
    model = apps.get_model(label)
    qs = model.all_objects.filter(deleted_at__isnull=False, deleted_at__gte=since)
    return visible_to(user, qs, extra_owner_fields=extra)


def recycle_bin_list(*, user, entity: str | None = None, limit: int = 200) -> list[RecycledItem]:
    """Deleted records `user` may see, newest deletion first (at most `limit` per type)."""
    now = timezone.now()
    since = now - timedelta(days=recycle_days())
    entities = [entity] if entity else list(ENTITIES)
    rows: list[tuple[str, object]] = []
    for slug in entities:
        if slug not in ENTITIES:
            continue
        qs = _deleted_queryset(user, slug, since).order_by("-deleted_at", "-pk")[:limit]
        rows.extend((slug, obj) for obj in qs)
    stamps = {obj.deleted_at.isoformat() for _slug, obj in rows}
    by_stamp = {}
    if stamps:
        for entry in TimelineEntry.objects.filter(
            kind=TimelineKind.CHANGE, data__recycle="deleted", data__deleted_at__in=stamps
        ).select_related("actor"):
            by_stamp[entry.data.get("deleted_at")] = entry.actor
    items = [
        RecycledItem(
            entity=slug,
            label=str(ENTITIES[slug][1]),
            obj=obj,
            deleted_at=obj.deleted_at,
            deleted_by=by_stamp.get(obj.deleted_at.isoformat()),
            expires_at=obj.deleted_at + timedelta(days=recycle_days()),
            can_restore=can_delete(user, obj),
        )
        for slug, obj in rows
    ]
    items.sort(key=lambda item: (item.deleted_at, item.pk), reverse=True)
    return items


def recycled_get(*, user, entity: str, pk: int):
    """A deleted record of `entity` that `user` may see, else NotFound."""
    model = entity_model(entity)
    extra = ENTITIES[entity][2]
    obj = visible_to(
        user, model.all_objects.filter(pk=pk, deleted_at__isnull=False), extra_owner_fields=extra
    ).first()
    if obj is None:
        raise NotFound(f"{entity} {pk}")
    return obj


def _cascade_parents(obj) -> list:
    """The parents whose deletion took `obj` with it (they must be restored first)."""
    name = obj._meta.model_name
    parents = []
    for children in CASCADE_CHILDREN.values():
        for label, fk in children:
            if label.split(".")[1].lower() == name and getattr(obj, f"{fk}_id", None):
                parents.append(getattr(obj, fk))
    return [p for p in parents if p.deleted_at is not None]


def _cascade_restore(obj, when) -> list:
    from svyaz.audit.services import record_bulk

    restored = []
    for label, fk in CASCADE_CHILDREN.get(obj._meta.model_name, []):
        model = apps.get_model(label)
        children = list(model.all_objects.filter(**{fk: obj, "deleted_at": when}))
        if not children:
            continue
        model.all_objects.filter(pk__in=[c.pk for c in children]).update(
            deleted_at=None, updated_at=timezone.now()
        )
        record_bulk(children, action="restore")  # update() sends no signals: audit rows here
        for child in children:
            child.deleted_at = None
            restored.append(child)
            emit(f"{model._meta.model_name}.restored", pk=child.pk)
            restored.extend(_cascade_restore(child, when))
    return restored


@transaction.atomic
def record_restore(*, actor, obj):
    """Bring `obj` back from the recycle bin with the children deleted together with it.

    Out of the actor's scope → NotFound; visible but not theirs to delete → PermissionDenied;
    too old, not deleted, or its parent still deleted → ValidationError.
    """
    model = type(obj)
    extra = ENTITIES.get(model._meta.model_name, (None, None, ()))[2]
    if not visible_to(
        actor, model.all_objects.filter(pk=obj.pk), extra_owner_fields=extra
    ).exists():
        raise NotFound(f"{model._meta.model_name} {obj.pk}")
    given, obj = obj, model.all_objects.select_for_update().get(pk=obj.pk)
    if obj.deleted_at is None:
        raise ValidationError(_("This record is not in the recycle bin."))
    if not can_delete(actor, obj):
        log_denial(actor, entity_of_model(model), "delete", obj.pk, reason="restore")
        raise PermissionDenied(_("Only someone allowed to delete it can restore it."))
    if obj.deleted_at < timezone.now() - timedelta(days=recycle_days()):
        raise ValidationError(
            _("It was deleted more than %(days)s days ago and can no longer be restored.")
            % {"days": recycle_days()}
        )
    parents = _cascade_parents(obj)
    if parents:
        raise ValidationError(
            _("Restore %(parent)s first: it is in the recycle bin too.")
            % {"parent": ", ".join(str(p) for p in parents)}
        )
    when = obj.deleted_at
    obj.deleted_at = None
    obj.save(update_fields=["deleted_at", "updated_at"])
    given.deleted_at = None
    children = _cascade_restore(obj, when)
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Restored from the recycle bin: %(name)s") % {"name": obj},
        actor=actor,
        obj=obj,
        data={"recycle": "restored", "children": len(children)},
        **subjects_of(obj),
    )
    refresh_client_summaries([obj, *children])
    emit(f"{model._meta.model_name}.restored", pk=obj.pk)
    return obj


def recycle_bin_purge(now: datetime | None = None) -> int:
    """Hard-delete records soft-deleted more than SVYAZ_RECYCLE_DAYS ago, children first.

    A record that still has live children (or is protected by other live records) is kept
    and logged: the purge never takes a live record with it. Returns how many went.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=recycle_days())
    purged = 0
    for slug, (label, _name, _extra) in ENTITIES.items():
        model = apps.get_model(label)
        for obj in model.all_objects.filter(deleted_at__lt=cutoff).order_by("pk").iterator():
            if _has_live_children(obj):
                log.warning("recycle bin: %s %s kept, it has live children", slug, obj.pk)
                continue
            try:
                with transaction.atomic():
                    obj.delete()
            except ProtectedError:
                log.warning("recycle bin: %s %s kept, live records refer to it", slug, obj.pk)
                continue
            purged += 1
    if purged:
        log.info("recycle bin: purged %s record(s) deleted before %s", purged, cutoff)
    return purged


def _has_live_children(obj) -> bool:
    for label, fk in CASCADE_CHILDREN.get(obj._meta.model_name, []):
        if apps.get_model(label).objects.filter(**{fk: obj}).exists():
            return True
    return False
