"""Writes shared by every owned record: owner change, tags, soft delete, saved views."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.core.events import emit
from svyaz.core.models import SavedView, Tag, TimelineKind
from svyaz.core.timeline import subjects_of, timeline_add


@transaction.atomic
def record_assign_owner(*, actor, obj, owner) -> bool:
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
    if obj.tags.filter(pk=tag.pk).exists():
        return False
    obj.tags.add(tag)
    emit(f"{obj._meta.model_name}.updated", pk=obj.pk, fields=["tags"])
    return True


@transaction.atomic
def record_soft_delete(*, actor, obj) -> bool:
    """Move a record to the recycle bin: it disappears from every page, search and API."""
    if obj.deleted_at is not None:
        return False
    obj.deleted_at = timezone.now()
    obj.save(update_fields=["deleted_at", "updated_at"])
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Deleted: %(name)s") % {"name": obj},
        actor=actor,
        obj=obj,
        **{k: v for k, v in subjects_of(obj).items() if v is not obj},
    )
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
