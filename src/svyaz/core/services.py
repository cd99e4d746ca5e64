"""Writes shared by every owned record: owner change, tags, soft delete, saved views."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.accounts.roles import entity_of_model
from svyaz.core.events import emit
from svyaz.core.models import SavedView, Tag, TimelineKind
from svyaz.core.scoping import require
from svyaz.core.timeline import subjects_of, timeline_add


def require_on(actor, action: str, obj) -> None:
    """`scoping.require` for a record whose entity follows from its model."""
    require(actor, entity_of_model(type(obj)), action, obj)


@transaction.atomic
def record_assign_owner(*, actor, obj, owner) -> bool:
    require_on(actor, "edit", obj)
    if obj.owner_id == owner.pk:
        return False
    old = obj.owner
    obj.owner = owner
    obj.department_id = owner.department_id
    obj.save(update_fields=["owner", "department", "updated_at"])
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Owner: %(old)s → %(new)s") % {"old": old or "—", "new": owner},
        actor=actor,
        obj=obj,
        data={"changes": [{"field": "owner", "old": str(old or ""), "new": str(owner)}]},
        **subjects_of(obj),
    )
    emit(f"{obj._meta.model_name}.updated", pk=obj.pk, fields=["owner"])
    return True


def tag_get_or_create(*, name: str) -> Tag:
    name = " ".join((name or "").split())[:64]
    if not name:
        raise ValidationError({"tag": [_("Enter a tag.")]})
    tag = Tag.objects.filter(name__iexact=name).first()
    return tag or Tag.objects.create(name=name)


@transaction.atomic
def record_add_tag(*, actor, obj, tag: Tag) -> bool:
    require_on(actor, "edit", obj)
    if obj.tags.filter(pk=tag.pk).exists():
        return False
    obj.tags.add(tag)
    emit(f"{obj._meta.model_name}.updated", pk=obj.pk, fields=["tags"])
    return True


# A record's children go to the recycle bin with it and come back with it: they get the
# parent's `deleted_at` (the same instant), which is how restore finds them again.
# (model name → [(child model, its foreign key to the parent)]); read also by core.recycle.
CASCADE_CHILDREN: dict[str, list[tuple[str, str]]] = {
    "company": [
        ("sales.Deal", "company"),
        ("sales.Order", "company"),
        ("activities.Activity", "company"),
        ("followups.Followup", "company"),
    ],
    "contact": [
        ("sales.Deal", "contact"),
        ("sales.Order", "contact"),
        ("activities.Activity", "contact"),
        ("followups.Followup", "contact"),
    ],
    "deal": [("activities.Activity", "deal"), ("followups.Followup", "deal")],
}


def _cascade_soft_delete(obj, when) -> list:
    """Soft-delete the live children of `obj` (and theirs) with the timestamp `when`."""
    from django.apps import apps

    from svyaz.audit.services import record_bulk

    touched = []
    for label, fk in CASCADE_CHILDREN.get(obj._meta.model_name, []):
        model = apps.get_model(label)
        children = list(model.objects.filter(**{fk: obj}))
        if not children:
            continue
        model.all_objects.filter(pk__in=[c.pk for c in children]).update(
            deleted_at=when, updated_at=when
        )
        record_bulk(children, action="delete")  # update() sends no signals: audit rows here
        for child in children:
            child.deleted_at = when
            touched.append(child)
            emit(f"{model._meta.model_name}.deleted", pk=child.pk)
            touched.extend(_cascade_soft_delete(child, when))
    return touched


def refresh_client_summaries(objs) -> None:
    """Recompute the lifecycle figures of the clients of deals/orders that changed state."""
    from svyaz.sales.services import _refresh_clients

    money = [o for o in objs if o._meta.model_name in {"deal", "order"}]
    if money:
        _refresh_clients(*money)


@transaction.atomic
def record_soft_delete(*, actor, obj) -> bool:
    """Move a record to the recycle bin: it disappears from every page, search and API.

    Its children (a company's or contact's deals, orders, activities and tasks; a deal's
    activities and tasks) go with it, stamped with the same `deleted_at`, so restoring the
    record (core.recycle.record_restore) brings them back together.
    """
    require_on(actor, "delete", obj)
    if obj.deleted_at is not None:
        return False
    when = timezone.now()
    obj.deleted_at = when
    obj.save(update_fields=["deleted_at", "updated_at"])
    children = _cascade_soft_delete(obj, when)
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Deleted: %(name)s") % {"name": obj},
        actor=actor,
        obj=obj,
        # The recycle bin finds "deleted by" of the record and its children by this stamp.
        data={"recycle": "deleted", "deleted_at": when.isoformat(), "children": len(children)},
        **{k: v for k, v in subjects_of(obj).items() if v is not obj},
    )
    refresh_client_summaries(children)
    emit(f"{obj._meta.model_name}.deleted", pk=obj.pk)
    return True


@transaction.atomic
def saved_view_save(*, user, entity: str, name: str, query: str) -> SavedView:
    name = " ".join((name or "").split())[:80]
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    view, _created = SavedView.objects.update_or_create(
        user=user, entity=entity, name=name, defaults={"query": query[:2000]}
    )
    return view
