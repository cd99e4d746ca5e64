"""Every read of activities, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from svyaz.activities.models import Activity
from svyaz.core.scoping import get_visible, visible_to


def activity_list(*, user) -> QuerySet[Activity]:
    return visible_to(user, Activity.objects.all())


def activity_list_rows(*, user) -> QuerySet[Activity]:
    """Activities with everything a list row (or an API item) shows."""
    return activity_list(user=user).select_related("owner", "contact", "company", "deal")


def activity_get(*, user, pk) -> Activity:
    """core.errors.NotFound (404) when missing or out of scope (that one logged)."""
    return get_visible(user, activity_list_rows(user=user), pk)


def activity_search(qs: QuerySet[Activity], q: str) -> QuerySet[Activity]:
    q = (q or "").strip()[:200]
    if not q:
        return qs
    return qs.filter(
        Q(subject__icontains=q)
        | Q(body__icontains=q)
        | Q(contact__full_name__icontains=q)
        | Q(company__name__icontains=q)
        | Q(deal__title__icontains=q)
    )
