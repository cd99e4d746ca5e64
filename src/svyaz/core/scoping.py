"""The one access layer (ARCHITECTURE.md, rule 2; issue #3).

Reads: every selector passes its queryset through `visible_to(user, qs)` (action "view"
unless told otherwise: exports ask for "export", writes for "edit"/"delete").
Writes: every service asks `require(actor, entity, action, obj)` before it changes anything;
a refusal raises core.errors.PermissionDenied (403) and is logged.

What a user may do comes from their roles (accounts.Role): per entity and action a scope —
none, own, own department, department and sub-departments, all. Several roles add up: the
widest scope wins. A head of a department sees (views) that department and the ones below
it whatever their roles say, as long as a role lets them view the entity at all.
Superusers may do everything. Deny by default: anonymous, inactive or role-less users get
nothing.

Field rules: a role may hide a field or make it read-only; a field is hidden (read-only)
for a user only if every role of theirs hides it (hides it or makes it read-only).

The evaluated grants are cached on the user object (`user._svyaz_access`): one query for
the roles and, when a department scope is needed, one for the department tree.
"""

from __future__ import annotations

import itertools
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db.models import Exists, Q, QuerySet

from svyaz.accounts.models import SCOPE_ORDER, Department, FieldMode, Scope
from svyaz.accounts.roles import entity_of_model
from svyaz.core.errors import PermissionDenied

log = logging.getLogger("svyaz.security")

_RANK = {s.value: i for i, s in enumerate(SCOPE_ORDER)}
# Each request gets a new generation (AccessCacheMiddleware), so grants are read once per
# request even when a test client reuses one user object across requests.
_generation: ContextVar[int] = ContextVar("svyaz_access_generation", default=0)
_generations = itertools.count(1)
# Besides `owner`, the user fields that make a record "own" for an entity.
EXTRA_OWNER_FIELDS: dict[str, tuple[str, ...]] = {"tasks": ("assignee",)}
# Entities without owner/department columns: any scope above "none" means all of them.
UNOWNED_ENTITIES = {"products", "reports", "settings"}


@dataclass
class Access:
    """A user's grants, evaluated once."""

    user_id: int | None
    department_id: int | None
    superuser: bool = False
    grants: dict[tuple[str, str], str] = field(default_factory=dict)
    rules: dict[str, dict[str, str]] = field(default_factory=dict)
    is_head: bool = False
    generation: int = 0
    _tree: dict[int, tuple[int | None, int | None]] | None = None

    def scope(self, entity: str, action: str) -> str:
        if self.superuser:
            return Scope.ALL
        return self.grants.get((entity, action), Scope.NONE)

    # --- departments ------------------------------------------------------------------

    def _departments(self) -> dict[int, tuple[int | None, int | None]]:
        if self._tree is None:
            self._tree = {
                pk: (parent, head)
                for pk, parent, head in Department.objects.values_list("id", "parent_id", "head_id")
            }
        return self._tree

    def _subtree(self, roots: set[int]) -> set[int]:
        tree = self._departments()
        children: dict[int | None, list[int]] = {}
        for pk, (parent, _head) in tree.items():
            children.setdefault(parent, []).append(pk)
        seen = set(roots)
        frontier = list(roots)
        while frontier:
            nxt = []
            for pk in frontier:
                for child in children.get(pk, ()):
                    if child not in seen:
                        seen.add(child)
                        nxt.append(child)
            frontier = nxt
        return seen

    def headed(self) -> set[int]:
        """Departments this user heads, with everything below them."""
        if self.user_id is None or not self.is_head:
            return set()
        roots = {pk for pk, (_p, head) in self._departments().items() if head == self.user_id}
        return self._subtree(roots) if roots else set()

    def department_ids(self, entity: str, action: str) -> set[int] | None:
        """Departments whose records the grant reaches; None = all; empty = own only."""
        scope = self.scope(entity, action)
        if scope == Scope.ALL:
            return None
        ids: set[int] = set()
        if self.department_id and scope == Scope.DEPARTMENT:
            ids.add(self.department_id)
        elif self.department_id and scope == Scope.SUBTREE:
            ids |= self._subtree({self.department_id})
        if action == "view" and scope != Scope.NONE:
            ids |= self.headed()
        return ids


def access_for(user) -> Access | None:
    """The evaluated grants of `user` (None for anonymous or inactive users)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_svyaz_access", None)
    if cached is not None and cached.generation == _generation.get():
        return cached
    access = Access(user_id=user.pk, department_id=user.department_id, generation=_generation.get())
    if user.is_superuser:
        access.superuser = True
    else:
        # One query: the grants of every role, and whether the user heads a department.
        heads = Department.objects.filter(head_id=user.pk)
        roles = list(
            user.roles.annotate(is_head=Exists(heads)).values_list(
                "grants", "field_rules", "is_head"
            )
        )
        access.is_head = any(row[2] for row in roles)
        for grants, _rules, _head in roles:
            for entity, actions in (grants or {}).items():
                for action, scope in (actions or {}).items():
                    key = (entity, action)
                    if _RANK.get(scope, 0) > _RANK[access.grants.get(key, Scope.NONE)]:
                        access.grants[key] = scope
        access.rules = _combine_rules([rules or {} for _g, rules, _h in roles])
    user._svyaz_access = access
    return access


def forget(user) -> None:
    """Drop the cached grants (after roles or department change)."""
    if user is not None and hasattr(user, "_svyaz_access"):
        del user._svyaz_access


def _combine_rules(per_role: list[dict]) -> dict[str, dict[str, str]]:
    """A field is ruled only if every role rules it; read-only beats hidden."""
    if not per_role:
        return {}
    entities = set().union(*(r.keys() for r in per_role))
    combined: dict[str, dict[str, str]] = {}
    for entity in entities:
        names = set().union(*((r.get(entity) or {}).keys() for r in per_role))
        for name in names:
            modes = [(r.get(entity) or {}).get(name) for r in per_role]
            if any(m is None for m in modes):
                continue
            mode = FieldMode.READONLY if FieldMode.READONLY in modes else FieldMode.HIDDEN
            combined.setdefault(entity, {})[name] = str(mode)
    return combined


# --- reads ----------------------------------------------------------------------------


def _entity(model) -> str:
    entity = entity_of_model(model)
    if entity is None:
        raise ValueError(f"{model._meta.label} is not a business record with access rules")
    return entity


def scope_q(user, entity: str, action: str = "view", *, extra_owner_fields=()) -> Q | None:
    """The filter a grant stands for: None = everything; Q(pk__in=[]) = nothing."""
    access = access_for(user)
    if access is None or access.scope(entity, action) == Scope.NONE:
        return Q(pk__in=[])
    depts = access.department_ids(entity, action)
    if depts is None or entity in UNOWNED_ENTITIES:
        return None
    cond = Q(owner_id=access.user_id)
    for name in (*EXTRA_OWNER_FIELDS.get(entity, ()), *extra_owner_fields):
        cond |= Q(**{f"{name}_id": access.user_id})
    if depts:
        cond |= Q(department_id__in=sorted(depts))
    return cond


def visible_to(
    user, qs: QuerySet, *, action: str = "view", extra_owner_fields: tuple[str, ...] = ()
) -> QuerySet:
    """Filter `qs` to the records `user` may `action` (view by default)."""
    entity = _entity(qs.model)
    access = access_for(user)
    if access is None or access.scope(entity, action) == Scope.NONE:
        return qs.none()
    cond = scope_q(user, entity, action, extra_owner_fields=extra_owner_fields)
    return qs if cond is None else qs.filter(cond)


def department_ids_for(user, entity: str = "contacts", action: str = "view") -> list[int] | None:
    """The department ids whose records `user` reaches; None = all; [] = own only."""
    access = access_for(user)
    if access is None:
        return []
    ids = access.department_ids(entity, action)
    return None if ids is None else sorted(ids)


# --- checks ---------------------------------------------------------------------------


def _obj_in_scope(access: Access, entity: str, action: str, obj) -> bool:
    scope = access.scope(entity, action)
    if scope == Scope.NONE:
        return False
    depts = access.department_ids(entity, action)
    if depts is None or entity in UNOWNED_ENTITIES:
        return True
    if getattr(obj, "owner_id", None) == access.user_id:
        return True
    for name in EXTRA_OWNER_FIELDS.get(entity, ()):
        if getattr(obj, f"{name}_id", None) == access.user_id:
            return True
    return getattr(obj, "department_id", None) in depts


def can(user, entity: str, action: str, obj=None) -> bool:
    """May `user` do `action` on `entity` (at all, or on this record)? No query per record."""
    access = access_for(user)
    if access is None:
        return False
    if obj is None:
        return access.scope(entity, action) != Scope.NONE
    return _obj_in_scope(access, entity, action, obj)


def can_see(user, obj, *, extra_owner_fields: tuple[str, ...] = ()) -> bool:
    return visible_to(
        user, type(obj).objects.filter(pk=obj.pk), extra_owner_fields=extra_owner_fields
    ).exists()


def log_denial(user, entity: str, action: str, obj_id=None, *, reason: str = "") -> None:
    """Every refusal leaves a trace: a row in the audit's denial log, which also writes one
    warning to the "svyaz.security" logger (one log line per denial, not two)."""
    try:
        from svyaz.audit.denials import log_denial as audit_log_denial
    except ImportError:  # pragma: no cover - the audit app is optional in old checkouts
        log.warning(
            "access denied: user=%s entity=%s action=%s object=%s %s",
            getattr(user, "pk", None),
            entity,
            action,
            obj_id,
            reason,
        )
        return
    audit_log_denial(
        user=user if getattr(user, "is_authenticated", False) else None,
        entity=entity,
        action=action,
        obj_id=obj_id,
        reason=reason,
    )


def require(user, entity: str, action: str, obj=None) -> None:
    """Raise PermissionDenied (and log it) unless `user` may do `action` here.

    `user` None is the system itself (jobs, automations): always allowed."""
    if user is None:
        return
    if can(user, entity, action, obj):
        return
    log_denial(user, entity, action, getattr(obj, "pk", None))
    raise PermissionDenied(_denied_message(action))


def _denied_message(action: str) -> str:
    from django.utils.translation import gettext as _

    messages = {
        "view": _("You may not see this record."),
        "create": _("You may not create records here."),
        "edit": _("You may not change this record."),
        "delete": _("You may not delete this record."),
        "export": _("You may not export these records."),
        "import": _("You may not import these records."),
    }
    return messages.get(action, _("You may not do this."))


def get_visible(user, qs: QuerySet, pk):
    """One record by id within the user's view scope; a miss raises NotFound and, when the
    record exists but is out of scope, logs the denial."""
    from svyaz.core.errors import NotFound

    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    obj = visible_to(user, qs).filter(pk=pk).first()
    if obj is None:
        model = qs.model
        if model._default_manager.filter(pk=pk).exists():
            log_denial(user, _entity(model), "view", pk, reason="out of scope")
        raise NotFound()
    return obj


# --- fields ---------------------------------------------------------------------------


def field_rules(user, entity: str) -> dict[str, str]:
    access = access_for(user)
    if access is None or access.superuser:
        return {}
    return access.rules.get(entity, {})


def hidden_fields(user, entity: str) -> set[str]:
    return {f for f, mode in field_rules(user, entity).items() if mode == FieldMode.HIDDEN}


def readonly_fields(user, entity: str) -> set[str]:
    """Fields the user may not write (read-only and hidden ones)."""
    return set(field_rules(user, entity))


class AccessCacheMiddleware:
    """Starts a new access-cache generation for every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _generation.set(next(_generations))
        try:
            return self.get_response(request)
        finally:
            _generation.reset(token)
