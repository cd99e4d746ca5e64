"""Reads shared by every card: the 360° timeline."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from svyaz.core.errors import NotFound
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.core.scoping import visible_to


def _subject_visible(user, model, obj) -> bool:
    pk = getattr(obj, "pk", obj)
    return visible_to(user, model.objects.filter(pk=pk)).exists()


def timeline_for(
    *, user, contact=None, company=None, deal=None, kinds: Iterable[str] | None = None
) -> QuerySet[TimelineEntry]:
    """A subject's timeline, newest first: one indexed read by (subject, time).

    Exactly one of contact / company / deal (an instance or a pk). Raises NotFound when the
    subject does not exist or is outside the user's scope. A company's timeline holds the
    rows written with company=<it>, which includes its contacts' rows that name it.
    """
    from svyaz.contacts.models import Company, Contact
    from svyaz.sales.models import Deal

    subjects = [
        (name, model, obj)
        for name, model, obj in (
            ("contact", Contact, contact),
            ("company", Company, company),
            ("deal", Deal, deal),
        )
        if obj is not None
    ]
    if len(subjects) != 1:
        raise NotFound
    name, model, obj = subjects[0]
    if not _subject_visible(user, model, obj):
        raise NotFound
    qs = TimelineEntry.objects.filter(**{f"{name}_id": getattr(obj, "pk", obj)})
    kinds = [k for k in (kinds or ()) if k in TimelineKind.values]
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.select_related("actor").order_by("-occurred_at", "-id")
