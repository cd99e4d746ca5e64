"""Access checks for services, pages and the API, on top of core.scoping (issue #3).

core.scoping says what a user may do (grants per entity × action → scope); this module
holds the few shapes every app applies it in, so each path checks in one place:

- `require_create(actor, entity, owner)`: a new record owned by `owner` must be within
  the actor's "create" scope (own → only for themselves). Services call it where they
  choose the owner.
- `split_by_grant(user, qs, ids, action)`: the bulk actions' targets — the records the
  user may `action`, and how many of the named ones were refused (each refusal logged).
- `require_export(user, qs)`: an export's rows (the "export" scope of the queryset's
  entity); no export grant → PermissionDenied.
- `settings_required(action)`: a page decorator for settings pages (the "settings"
  entity; the Administrator role grants it, superusers pass).
- DRF: `SettingsPermission` (settings pages of the API), `SettingsWriteOrReadOnly`
  (reference data everyone reads, settings edit it), `ScopedObjectMixin` (a record by id
  through scoping.get_visible — out of scope 404 and logged — and, for PUT/PATCH/DELETE,
  the edit/delete grant checked before the input is validated).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import wraps
from types import SimpleNamespace

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from rest_framework import permissions

from svyaz.accounts.roles import entity_of_model
from svyaz.core.errors import PermissionDenied
from svyaz.core.scoping import can, get_visible, log_denial, require, visible_to

SETTINGS = "settings"


def require_create(actor, entity: str, owner) -> None:
    """Raise PermissionDenied (logged) unless `actor` may create an `entity` record owned
    by `owner`. `actor` None is the system (jobs, automations): always allowed."""
    if actor is None:
        return
    stub = SimpleNamespace(
        pk=None,
        owner_id=getattr(owner, "pk", None),
        department_id=getattr(owner, "department_id", None),
    )
    require(actor, entity, "create", stub)


def write_action(action: str) -> str:
    """The grant a bulk or API action needs: "delete" for deleting, else "edit"."""
    return "delete" if action in ("delete", "destroy") else "edit"


def split_by_grant(user, qs: QuerySet, ids: Iterable, action: str) -> tuple[list, int]:
    """(the records of `qs` named by `ids` that `user` may `action`, how many of the named
    records exist but were refused). Each refusal is logged."""
    wanted = {int(i) for i in ids}
    allowed = list(visible_to(user, qs.filter(pk__in=wanted), action=action))
    refused = wanted - {o.pk for o in allowed}
    if refused:
        model = qs.model
        refused = set(model._default_manager.filter(pk__in=refused).values_list("pk", flat=True))
        entity = entity_of_model(model)
        for pk in sorted(refused):
            log_denial(user, entity, action, pk, reason="bulk action")
    return allowed, len(refused)


def require_export(user, qs: QuerySet) -> QuerySet:
    """The rows of `qs` that `user` may export; no export grant at all → PermissionDenied."""
    entity = entity_of_model(qs.model)
    if entity is None:  # not a business record: the view's own scope is the rule
        return qs
    require(user, entity, "export")
    return visible_to(user, qs, action="export")


def settings_required(action: str = "view"):
    """Page decorator: signed in and granted `settings`/`action` (GET/HEAD/OPTIONS need
    "view", other methods "edit" when `action` is "auto"); else 403, logged."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            wanted = action
            if action == "auto":
                wanted = "view" if request.method in ("GET", "HEAD", "OPTIONS") else "edit"
            try:
                require(request.user, SETTINGS, wanted)
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(str(exc)) from exc
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def can_settings(user, action: str = "view") -> bool:
    return can(user, SETTINGS, action)


def _settings_allowed(request, action: str) -> bool:
    user = request.user
    if not (user and user.is_authenticated):
        return False
    if can(user, SETTINGS, action):
        return True
    log_denial(user, SETTINGS, action, reason=f"{request.method} {request.path}")
    return False


class SettingsPermission(permissions.BasePermission):
    """API settings routes: reading needs settings/view, writing settings/edit."""

    def has_permission(self, request, view):
        action = "view" if request.method in permissions.SAFE_METHODS else "edit"
        return _settings_allowed(request, action)


class SettingsWriteOrReadOnly(permissions.BasePermission):
    """Reference data (pipelines, stages, price lists, custom fields…): everyone signed
    in reads; changing it needs settings/edit."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return _settings_allowed(request, "edit")


class ScopedObjectMixin:
    """For DRF viewsets over business records: `get_object()` reads the record through
    scoping.get_visible (out of scope → 404, logged) and, for the writing actions
    (update, partial_update, destroy and the detail actions named in
    `object_write_actions`), requires the edit/delete grant on it before the input is
    validated (→ 403). A POST to the list needs the create grant, also checked first.
    The services check again: this only makes the answer a 403 rather than a 400."""

    object_write_actions = {
        "update": "edit",
        "partial_update": "edit",
        "destroy": "delete",
        "move": "edit",
        "convert": "edit",
        "cancel": "edit",
        "complete": "edit",
    }

    def access_entity(self) -> str | None:
        return entity_of_model(self.get_queryset().model)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(self, "action", "") == "create":
            entity = self.access_entity()
            if entity is not None:
                require(request.user, entity, "create")

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        lookup = self.lookup_url_kwarg or self.lookup_field
        obj = get_visible(self.request.user, queryset, self.kwargs[lookup])
        self.check_object_permissions(self.request, obj)
        wanted = self.object_write_actions.get(getattr(self, "action", ""))
        if wanted:
            require(self.request.user, entity_of_model(type(obj)), wanted, obj)
        return obj
