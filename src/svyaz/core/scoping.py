"""The one read filter for access (ARCHITECTURE.md, rule 2).

Every selector that returns business records passes its queryset through
`visible_to(user, qs)`. Deny by default: an anonymous or inactive user sees nothing.
Issue #3 will replace the single per-user scope with role grants per entity and action;
callers do not change.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from svyaz.accounts.models import Department, Scope


def department_ids_for(user) -> list[int] | None:
    """The department ids whose records `user` sees; None means all; [] means own only."""
    if user.is_superuser or user.scope == Scope.ALL:
        return None
    if not user.department_id or user.scope == Scope.OWN:
        return []
    if user.scope == Scope.DEPARTMENT:
        return [user.department_id]
    return Department.objects.get(pk=user.department_id).subtree_ids()


def visible_to(user, qs: QuerySet, *, extra_owner_fields: tuple[str, ...] = ()) -> QuerySet:
    """Filter `qs` (of an OwnedModel) to what `user` may see."""
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    depts = department_ids_for(user)
    if depts is None:
        return qs
    cond = Q(owner_id=user.pk)
    for field in extra_owner_fields:
        cond |= Q(**{f"{field}_id": user.pk})
    if depts:
        cond |= Q(department_id__in=depts)
    return qs.filter(cond)


def can_see(user, obj, *, extra_owner_fields: tuple[str, ...] = ()) -> bool:
    return visible_to(
        user, type(obj).objects.filter(pk=obj.pk), extra_owner_fields=extra_owner_fields
    ).exists()
