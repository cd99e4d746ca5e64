"""Writes to the 360° timeline. Called by services inside their transaction."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from svyaz.core.models import TimelineEntry


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
