"""HTML/HTMX pages of the sales app. Thin: forms check shape, services do the work,
selectors scope every read (out of scope → 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from svyaz.core.errors import PermissionDenied
from svyaz.core.lists import list_view
from svyaz.core.models import TimelineEntry
from svyaz.core.scoping import require
from svyaz.core.services import require_on
from svyaz.sales import selectors, services
from svyaz.sales.filters import BoardFilter
from svyaz.sales.forms import (
    DealForm,
    DealLineForm,
    LeadConvertForm,
    LeadForm,
    OrderForm,
    OrderLineFormSet,
    ProductForm,
    StageMoveForm,
)
from svyaz.sales.lists import deal_list_spec, lead_list_spec, order_list_spec, product_list_spec
from svyaz.sales.models import DealLine, LeadStatus, StageKind


def _errors_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- leads -----------------------------------------------------------------------------


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    return list_view(request, lead_list_spec)


@login_required
@require_http_methods(["GET", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "leads", "create")
    form = LeadForm(request.POST or None, initial={"owner": request.user}, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            lead = services.lead_create(actor=request.user, title=data.pop("title"), **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Lead created."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": _("New lead"), "back": reverse("sales:lead_list")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(user=request.user, pk=pk)
    require_on(request.user, "edit", lead)  # visible but not editable: 403, also for GET
    form = LeadForm(request.POST or None, instance=lead, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(actor=request.user, lead=lead, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": lead.title, "back": reverse("sales:lead_detail", args=[lead.pk])},
    )


@login_required
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(user=request.user, pk=pk)
    pipeline = services.default_pipeline()
    form = LeadConvertForm(
        initial={"deal_title": lead.title, "pipeline": pipeline, "create_deal": True},
        user=request.user,
    )
    return render(
        request,
        "sales/lead_detail.html",
        {"lead": lead, "convert_form": form, "converted": lead.status == LeadStatus.CONVERTED},
    )


@login_required
@require_POST
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(user=request.user, pk=pk)
    require_on(request.user, "edit", lead)  # before the form: a 403, not a form error
    form = LeadConvertForm(request.POST, user=request.user)
    if form.is_valid():
        d = form.cleaned_data
        try:
            contact, company, deal = services.lead_convert(
                actor=request.user,
                lead=lead,
                create_deal=d["create_deal"],
                deal_title=d["deal_title"],
                pipeline=d["pipeline"],
                amount=d.get("amount"),  # absent: a field rule hides the deal amount
                currency=d["currency"] or None,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Lead converted."))
            if deal is not None:
                return redirect("sales:deal_detail", pk=deal.pk)
            target = (
                ("contacts:contact_detail", contact.pk)
                if contact
                else ("contacts:company_detail", company.pk)
            )
            return redirect(*target)
    lead.refresh_from_db()
    return render(
        request,
        "sales/lead_detail.html",
        {"lead": lead, "convert_form": form, "converted": lead.status == LeadStatus.CONVERTED},
        status=400,
    )


# --- board -----------------------------------------------------------------------------


def _board_cards(request: HttpRequest, cards) -> None:
    """Each card's HTML (`card.html`), built here rather than by a template partial per
    card: a {% can %}, a {% url %}, a plural {% blocktranslate %}, a money filter and
    ~20 template nodes on each of ~120 cards were most of the board's CPU. The markup is
    what the card partial rendered, every value escaped as {{ }} does (Django's escape()
    is html.escape(str(value)); these values are plain strings, never marked safe)."""
    from html import escape

    from django.utils.formats import localize
    from django.utils.safestring import mark_safe
    from django.utils.translation import ngettext

    from svyaz.core.scoping import can, hidden_fields
    from svyaz.core.templatetags.svyaz import money

    user = request.user
    amount_hidden = "amount" in hidden_fields(user, "deals")
    head, _zero, tail = reverse("sales:deal_detail", args=[0]).rpartition("0")
    head, tail = escape(head), escape(tail)
    days_title = escape(_("Days in stage"))
    days: dict[int, str] = {}
    for card in cards:
        d = card.days_in_stage
        if d not in days:
            days[d] = escape(ngettext("%(d)s day", "%(d)s days", d) % {"d": localize(d)})
        locked = "" if can(user, "deals", "edit", card) else " locked"
        amount = "" if amount_hidden else escape(money(card.amount, card.currency))
        contact = "" if card.contact is None else escape(card.contact)
        company = "" if card.company is None else escape(card.company)
        dot = " · " if card.contact is not None and card.company is not None else ""
        owner = "" if card.owner is None else escape(card.owner)
        card.html = mark_safe(  # noqa: S308 - every value above is escaped
            f'<article class="card shadow-sm board-card{locked}" data-deal-id="{card.pk}">'
            '<div class="card-body p-2">'
            '<a class="fw-semibold text-decoration-none d-block" '
            f'href="{head}{card.pk}{tail}">{escape(card.title)}</a>'
            f'<div class="small text-muted text-truncate">{contact}{dot}{company}</div>'
            '<div class="d-flex justify-content-between small mt-1">'
            f'<span class="deal-amount">{amount}</span>'
            f'<span class="text-muted days-in-stage" title="{days_title}">{days[d]}</span>'
            f'</div><div class="small text-muted">{owner}</div></div></article>'
        )


def _board_more_url(request: HttpRequest, stage_id: int, offset: int, total: int) -> str:
    """The board's own URL with its filters, asking for a column's next cards (`n`: the
    column's count as the board showed it, for the "and N more" link)."""
    query = request.GET.copy()
    for key in ("more_stage", "offset", "n"):
        query.pop(key, None)
    query["more_stage"] = str(stage_id)
    query["offset"] = str(offset)
    query["n"] = str(total)
    return f"{reverse('sales:board')}?{query.urlencode()}"


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """The kanban board. Lazy columns: each stage opens with its newest-moved
    BOARD_FIRST_CARDS cards; "show more" (HTMX, `?more_stage=<id>&offset=<n>` with the
    same filters) appends the next BOARD_CARDS_PER_STAGE to that column."""
    pipelines = selectors.board_pipelines()
    pipeline = selectors.board_pipeline(pipelines, request.GET.get("pipeline"))
    deals = selectors.deal_list(user=request.user)
    filterset = BoardFilter(request.GET or None, queryset=deals, request=request)
    filtered = False
    if filterset.is_bound and filterset.is_valid():
        deals = filterset.qs
        filtered = filterset.narrows()
    more_stage = request.GET.get("more_stage", "")
    if pipeline and more_stage:
        return _board_more(request, pipeline, deals, more_stage)
    columns = (
        selectors.board_columns(
            user=request.user,
            pipeline=pipeline,
            deals=deals,
            per_stage=selectors.BOARD_FIRST_CARDS,
            filtered=filtered,
        )
        if pipeline
        else []
    )
    _board_cards(request, [card for col in columns for card in col.cards])
    for col in columns:
        if col.more:
            col.more_url = _board_more_url(request, col.stage.pk, len(col.cards), col.count)
    context = {
        "pipeline": pipeline,
        "pipelines": pipelines if pipeline else [],
        "columns": columns,
        "filterset": filterset,
        "lost_reasons": selectors.lost_reasons,  # called by the full page only
        "base_currency": services.settings.SVYAZ_BASE_CURRENCY,
    }
    template = (
        "sales/board.html#board"
        if request.htmx and request.htmx.target == "board"
        else "sales/board.html"
    )
    return render(request, template, context)


def _board_more(request: HttpRequest, pipeline, deals, more_stage: str) -> HttpResponse:
    """A column's next cards, appended by HTMX; its "show more" comes back out of band
    (with the next offset, or gone at the end of the column)."""
    stage = pipeline.stages.filter(pk=more_stage).first() if more_stage.isdigit() else None
    if stage is None:
        return HttpResponse(status=404)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
        total = max(0, int(request.GET.get("n", "0")))
    except ValueError:
        offset = total = 0
    cards, has_more = selectors.board_stage_cards(
        pipeline=pipeline,
        stage_id=stage.pk,
        deals=deals,
        offset=offset,
        limit=selectors.BOARD_CARDS_PER_STAGE,
    )
    _board_cards(request, cards)
    shown = offset + len(cards)
    context = {
        "pipeline": pipeline,
        "stage": stage,
        "cards": cards,
        "more_url": _board_more_url(request, stage.pk, shown, total) if has_more else "",
        "remaining": max(0, total - shown) if has_more else 0,
    }
    return render(request, "sales/board.html#more-cards", context)


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's drop target and the card's stage buttons → deal_stage_change()."""
    deal = selectors.deal_get(user=request.user, pk=pk)
    try:
        require_on(request.user, "edit", deal)  # before the form: a 403, not a form error
    except PermissionDenied as exc:
        if request.htmx:  # the board reads JSON
            return JsonResponse({"ok": False, "errors": {"__all__": [str(exc)]}}, status=403)
        raise
    form = StageMoveForm(request.POST, user=request.user)
    errors: dict = {}
    if form.is_valid():
        d = form.cleaned_data
        try:
            deal = services.deal_stage_change(
                actor=request.user,
                deal=deal,
                stage=d["stage"],
                lost_reason=d["lost_reason"],
                lost_comment=d.get("lost_comment", ""),
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    else:
        errors = form.errors.get_json_data()
        errors = {k: [e["message"] for e in v] for k, v in errors.items()}
    if request.htmx:
        if errors:
            return JsonResponse({"ok": False, "errors": errors}, status=400)
        return JsonResponse({"ok": True, "deal": deal.pk, "stage": deal.stage_id})
    if errors:
        messages.error(request, " ".join(m for msgs in errors.values() for m in msgs))
    else:
        messages.success(request, _("Stage: %(stage)s") % {"stage": deal.stage.name})
    return redirect("sales:deal_detail", pk=deal.pk)


# --- deals -----------------------------------------------------------------------------


@login_required
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    return list_view(request, deal_list_spec)


@login_required
@require_http_methods(["GET", "POST"])
def deal_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "deals", "create")
    initial = {
        "owner": request.user,
        "pipeline": services.default_pipeline(),
        "currency": services.settings.SVYAZ_BASE_CURRENCY,
    }
    for key in ("contact", "company"):
        value = request.GET.get(key, "")
        if value.isdigit():
            initial[key] = int(value)
    form = DealForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            deal = services.deal_create(actor=request.user, **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Deal created."))
            return redirect("sales:deal_detail", pk=deal.pk)
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": _("New deal"), "back": reverse("sales:board")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, pk=pk)
    require_on(request.user, "edit", deal)  # visible but not editable: 403, also for GET
    form = DealForm(request.POST or None, instance=deal, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if data.get("amount") is None:
            data.pop("amount", None)
        try:
            services.deal_update(actor=request.user, deal=deal, data=data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Deal saved."))
            return redirect("sales:deal_detail", pk=deal.pk)
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": deal.title, "back": reverse("sales:deal_detail", args=[deal.pk])},
    )


def _timeline_url(deal) -> str:
    try:
        get_template("svyaz/timeline.html")
        return reverse("core:timeline") + f"?deal={deal.pk}"
    except (TemplateDoesNotExist, NoReverseMatch):
        return ""


@login_required
@require_GET
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, pk=pk)
    timeline_url = _timeline_url(deal)
    context = {
        "deal": deal,
        "stages": list(deal.pipeline.stages.all()),
        "lines": selectors.deal_lines(deal=deal),
        "history": selectors.deal_stage_history(deal=deal),
        "orders": selectors.deal_orders(user=request.user, deal=deal),
        "lost_reasons": selectors.lost_reasons(),
        "line_form": DealLineForm(user=request.user),
        "timeline_url": timeline_url,
        "timeline_rows": []
        if timeline_url
        else list(TimelineEntry.objects.filter(deal=deal).select_related("actor")[:50]),
        "days_in_stage": (timezone.now() - deal.stage_changed_at).days,
        "StageKind": StageKind,
    }
    return render(request, "sales/deal_detail.html", context)


@login_required
@require_POST
def deal_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, pk=pk)
    require_on(request.user, "edit", deal)  # before the form: a 403, not a form error
    form = DealLineForm(request.POST, user=request.user)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.deal_line_add(
                actor=request.user,
                deal=deal,
                product=d["product"],
                name=d["name"],
                quantity=d["quantity"],
                price=d.get("price"),  # absent: a field rule on the deal amount
                discount_percent=d.get("discount_percent") or 0,
            )
        except ValidationError as exc:
            messages.error(request, _errors_text(exc))
        else:
            messages.success(request, _("Line added."))
    else:
        messages.error(
            request,
            " ".join(
                f"{form.fields[k].label}: {' '.join(v)}"
                for k, v in form.errors.items()
                if k in form.fields
            )
            or _("Check the line."),
        )
    return redirect("sales:deal_detail", pk=deal.pk)


@login_required
@require_POST
def deal_line_remove(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, pk=pk)
    require_on(request.user, "edit", deal)
    line = DealLine.objects.filter(deal=deal, pk=line_pk).first()
    if line is None:
        from django.http import Http404

        raise Http404
    services.deal_line_remove(actor=request.user, line=line)
    messages.success(request, _("Line removed."))
    return redirect("sales:deal_detail", pk=deal.pk)


# --- orders ----------------------------------------------------------------------------


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    return list_view(request, order_list_spec)


@login_required
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "orders", "create")
    initial = {"owner": request.user, "currency": services.settings.SVYAZ_BASE_CURRENCY}
    for key in ("contact", "company"):
        value = request.GET.get(key, "")
        if value.isdigit():
            initial[key] = int(value)
    form = OrderForm(request.POST or None, initial=initial, user=request.user)
    formset = OrderLineFormSet(
        request.POST or None, prefix="lines", form_kwargs={"user": request.user}
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.service_data()
        lines = [f.cleaned_data for f in formset if f.has_content()]
        try:
            order = services.order_create(
                actor=request.user,
                contact=data["contact"],
                company=data["company"],
                ordered_at=data["ordered_at"],
                amount=data.get("amount"),  # absent: a field rule on the amount
                currency=data["currency"],
                status=data["status"],
                number=data["number"],
                owner=data["owner"],
                custom=data["custom"],
                lines=[{k: v for k, v in line.items() if v not in (None, "")} for line in lines],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Order created."))
            return redirect("sales:order_detail", pk=order.pk)
    return render(request, "sales/order_form.html", {"form": form, "formset": formset})


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(user=request.user, pk=pk)
    return render(
        request, "sales/order_detail.html", {"order": order, "lines": list(order.lines.all())}
    )


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(user=request.user, pk=pk)
    try:
        services.order_cancel(actor=request.user, order=order)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    else:
        messages.success(request, _("Order cancelled."))
    return redirect("sales:order_detail", pk=order.pk)


# --- products --------------------------------------------------------------------------


@login_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    return list_view(request, product_list_spec)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    product = selectors.product_get(pk, user=request.user) if pk else None
    if product is None:
        require(request.user, "products", "create")
    else:
        require_on(request.user, "edit", product)
    form = ProductForm(request.POST or None, instance=product, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            services.product_save(actor=request.user, product=product, data=data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect("sales:product_list")
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": product or _("New product"), "back": reverse("sales:product_list")},
    )
