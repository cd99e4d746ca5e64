from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.core import services
from svyaz.core.lists import REGISTRY, bulk_targets
from svyaz.core.models import SavedView


def _back(request, fallback: str = "/"):
    url = request.POST.get("next") or request.META.get("HTTP_REFERER") or fallback
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = fallback
    return redirect(url)


@require_POST
@login_required
def bulk(request, entity: str):
    spec = REGISTRY.get(entity)
    if spec is None:
        raise Http404
    action = request.POST.get("action", "")
    if action not in spec.bulk_actions:
        return HttpResponseBadRequest(_("Unknown action."))
    targets = list(bulk_targets(request, spec, request.POST.getlist("ids")))
    if not targets:
        messages.warning(request, _("Select at least one record."))
        return _back(request)
    changed = 0
    try:
        if action in spec.bulk_handlers:
            changed = spec.bulk_handlers[action](request.user, targets, request.POST.get("value", ""))
        elif action == "assign_owner":
            owner = get_user_model().objects.filter(pk=request.POST.get("value") or 0, is_active=True).first()
            if owner is None:
                raise ValidationError(_("Choose an owner."))
            changed = sum(services.record_assign_owner(actor=request.user, obj=o, owner=owner) for o in targets)
        elif action == "add_tag":
            tag = services.tag_get_or_create(name=request.POST.get("value", ""))
            changed = sum(services.record_add_tag(actor=request.user, obj=o, tag=tag) for o in targets)
        elif action == "delete":
            changed = sum(services.record_soft_delete(actor=request.user, obj=o) for o in targets)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request)
    messages.success(request, _("Done: %(n)d record(s) changed.") % {"n": changed})
    return _back(request)


@require_POST
@login_required
def saved_view_create(request, entity: str):
    if entity not in REGISTRY:
        raise Http404
    try:
        services.saved_view_save(
            user=request.user, entity=entity, name=request.POST.get("name", ""), query=request.POST.get("query", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("View saved."))
    return _back(request)


@require_POST
@login_required
def saved_view_delete(request, pk: int):
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    view.delete()
    messages.success(request, _("View deleted."))
    return _back(request)
