"""Pages of the recycle bin (services in core.recycle)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.core import recycle
from svyaz.core.errors import NotFound, PermissionDenied, ValidationError

# Where a restored record's card is (entities without a card link to nothing).
CARD_URLS = {
    "company": "contacts:company_detail",
    "contact": "contacts:contact_detail",
    "lead": "sales:lead_detail",
    "deal": "sales:deal_detail",
    "order": "sales:order_detail",
}


def _card_url(entity: str, pk: int) -> str:
    try:
        return reverse(CARD_URLS[entity], args=[pk]) if entity in CARD_URLS else ""
    except NoReverseMatch:
        return ""


@login_required
def recycle_bin(request):
    entity = request.GET.get("entity") or None
    if entity not in recycle.ENTITIES:
        entity = None
    items = recycle.recycle_bin_list(user=request.user, entity=entity)
    return render(
        request,
        "core/recycle_bin.html",
        {
            "items": items,
            "entity": entity or "",
            "entities": [(slug, label) for slug, (_m, label, _x) in recycle.ENTITIES.items()],
            "days": recycle.recycle_days(),
        },
    )


@require_POST
@login_required
def recycle_restore(request, entity: str, pk: int):
    try:
        obj = recycle.recycled_get(user=request.user, entity=entity, pk=pk)
        recycle.record_restore(actor=request.user, obj=obj)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        if request.htmx:
            return render(
                request,
                "core/recycle_bin.html#restore-result",
                {"error": " ".join(exc.messages)},
            )
        messages.error(request, " ".join(exc.messages))
        return redirect("core:recycle_bin")
    if request.htmx:
        return render(
            request,
            "core/recycle_bin.html#restore-result",
            {"restored": obj, "card_url": _card_url(entity, obj.pk)},
        )
    messages.success(request, _("Restored: %(name)s") % {"name": obj})
    return redirect("core:recycle_bin")
