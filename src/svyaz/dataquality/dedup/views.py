"""Pages of the duplicate finder: the review queue (pairs by score, side by side, "Merge…"
and "Not a duplicate"), the organization's settings and "scan now" (administrators)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from svyaz.core.forms import StyledForm
from svyaz.dataquality.dedup import selectors, services
from svyaz.dataquality.models import DedupSettings, DuplicateEntity, DuplicateStatus

PER_PAGE = 20


class QueueFilter(StyledForm):
    entity = forms.ChoiceField(
        label=gettext_lazy("Records"),
        choices=DuplicateEntity.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm w-auto"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=DuplicateStatus.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm w-auto"}),
    )
    min_score = forms.FloatField(
        label=gettext_lazy("Score from"),
        min_value=0,
        max_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.05"}),
    )


class SettingsForm(StyledForm):
    review_threshold = forms.FloatField(
        label=gettext_lazy("List pairs scoring at least"), min_value=0, max_value=1
    )
    auto_merge = forms.BooleanField(label=gettext_lazy("Merge automatically"), required=False)
    auto_merge_threshold = forms.FloatField(
        label=gettext_lazy("Merge automatically at a score of at least"),
        min_value=0,
        max_value=1,
        help_text=gettext_lazy(
            "The scan merges pairs scoring this much or more without asking, keeping the "
            "older record. 0.97 and above is safe for most bases."
        ),
    )


def merge_url(entity: str, a: int, b: int) -> str:
    """The merge page for this pair (another part of the app); a fixed path until it exists."""
    query = urlencode({"entity": entity, "a": a, "b": b})
    try:
        base = reverse("dataquality:merge")
    except NoReverseMatch:
        base = "/data/merge/"
    return f"{base}?{query}"


def _decorate(items: list[dict]) -> list[dict]:
    for item in items:
        p = item["pair"]
        item["merge_url"] = merge_url(p.entity, p.a_id, p.b_id)
        item["percent"] = round(p.score * 100)
    return items


@login_required
def duplicate_list(request):
    form = QueueFilter(request.GET or None)
    entity, status, min_score = DuplicateEntity.CONTACT, DuplicateStatus.OPEN, None
    if form.is_bound and form.is_valid():
        entity = form.cleaned_data["entity"] or entity
        status = form.cleaned_data["status"] or status
        min_score = form.cleaned_data["min_score"]
    qs = selectors.duplicate_pairs(request.user, entity=entity, status=status, min_score=min_score)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "entity": entity,
        "status": status,
        "page": page,
        "items": _decorate(selectors.side_by_side(list(page.object_list))),
        "config": DedupSettings.load(),
    }
    return render(
        request, "dataquality/dup_queue.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def duplicate_dismiss(request, pk: int):
    pair = selectors.duplicate_pair_get(request.user, pk)
    if pair is None:
        raise Http404
    error = ""
    try:
        pair = services.duplicate_dismiss(actor=request.user, pair=pair)
    except ValidationError as exc:
        error = "; ".join(m for msgs in exc.message_dict.values() for m in msgs)
    if request.htmx:
        items = _decorate(selectors.side_by_side([pair]))
        return render(
            request,
            "dataquality/dup_queue.html#pair",
            {"item": items[0] if items else None, "error": error},
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Marked as not a duplicate. This pair will not come back."))
    return redirect("dataquality:duplicates")


def _staff(request) -> bool:
    """Duplicate settings and scans are settings: the settings/edit grant (issue #3)."""
    from svyaz.core.scoping import can, log_denial

    if can(request.user, "settings", "edit"):
        return True
    log_denial(request.user, "settings", "edit", reason=request.path)
    return False


@login_required
def dedup_settings(request):
    if not _staff(request):
        return HttpResponseForbidden(_("Only administrators change the duplicate settings."))
    config = DedupSettings.load()
    initial = {
        "review_threshold": config.review_threshold,
        "auto_merge": config.auto_merge,
        "auto_merge_threshold": config.auto_merge_threshold,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.dedup_settings_update(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                for field, msgs in exc.message_dict.items():
                    for msg in msgs:
                        form.add_error(field if field in form.fields else None, msg)
            else:
                messages.success(request, _("Duplicate settings saved."))
                return redirect("dataquality:dedup_settings")
        status = 400
    return render(
        request, "dataquality/dup_settings.html", {"form": form, "config": config}, status=status
    )


@login_required
@require_POST
def duplicates_scan_now(request):
    if not _staff(request):
        return HttpResponseForbidden(_("Only administrators start a scan."))
    from svyaz.dataquality.tasks import duplicates_scan

    result = duplicates_scan.delay()
    if result.ready():  # embedded mode: the job ran in this request
        report = result.get()
        found = sum(r.get("found", 0) for r in report.values())
        messages.success(request, _("Scan finished: %(n)s possible duplicates.") % {"n": found})
    else:
        messages.info(request, _("The scan has started; pairs appear here as it finishes."))
    return redirect("dataquality:duplicates")
