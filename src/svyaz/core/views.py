from __future__ import annotations

import html

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.core import services
from svyaz.core.access import write_action
from svyaz.core.errors import PermissionDenied
from svyaz.core.lists import REGISTRY, bulk_split
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
    ids = request.POST.getlist("ids")
    if not ids:
        messages.warning(request, _("Select at least one record."))
        return _back(request)
    # Only the records the user may change (edit, or delete for "delete"); the others are
    # skipped, counted and logged as denials.
    targets, refused = bulk_split(request, spec, ids, write_action(action))
    if not targets:
        if refused:
            messages.error(
                request,
                _("Nothing changed: %(n)d record(s) are not yours to change.") % {"n": refused},
            )
        else:
            messages.warning(request, _("Select at least one record."))
        return _back(request)
    changed = 0
    try:
        if action in spec.bulk_handlers:
            changed = spec.bulk_handlers[action](
                request.user, targets, request.POST.get("value", "")
            )
        elif action == "assign_owner":
            owner = (
                get_user_model()
                .objects.filter(pk=request.POST.get("value") or 0, is_active=True)
                .first()
            )
            if owner is None:
                raise ValidationError(_("Choose an owner."))
            changed = sum(
                services.record_assign_owner(actor=request.user, obj=o, owner=owner)
                for o in targets
            )
        elif action == "add_tag":
            tag = services.tag_get_or_create(name=request.POST.get("value", ""))
            changed = sum(
                services.record_add_tag(actor=request.user, obj=o, tag=tag) for o in targets
            )
        elif action == "delete":
            changed = sum(services.record_soft_delete(actor=request.user, obj=o) for o in targets)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request)
    except PermissionDenied as exc:  # a service refused a record (its own check)
        messages.error(request, str(exc))
        return _back(request)
    if refused:
        messages.warning(
            request,
            _("%(n)d changed, %(skipped)d not yours (skipped).")
            % {"n": changed, "skipped": refused},
        )
    else:
        messages.success(request, _("Done: %(n)d record(s) changed.") % {"n": changed})
    return _back(request)


@require_POST
@login_required
def saved_view_create(request, entity: str):
    if entity not in REGISTRY:
        raise Http404
    try:
        services.saved_view_save(
            user=request.user,
            entity=entity,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
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


# --- the 360° timeline and global search --------------------------------------------

TIMELINE_PAGE_SIZE = 20
# What render_value_in_context reads of a template context: autoescape on, the active
# time zone and localization (read only, so one for every request).
_PLAIN_CONTEXT = Context()


def timeline_context(
    request, *, contact=None, company=None, deal=None, visible: bool = False
) -> dict:
    """Context for `{% include "svyaz/timeline.html" %}`: the first (or requested) page of
    a subject's timeline, the kind filter and `timeline_url`. Raises Http404 when the
    subject is out of the user's scope. `visible=True`: the caller has just read the
    subject through a scoped selector (a card), so its scope is not checked again."""
    from django.urls import reverse

    from svyaz.core.errors import NotFound
    from svyaz.core.field_rules import mask_timeline
    from svyaz.core.models import TimelineKind
    from svyaz.core.selectors import timeline_for
    from svyaz.core.timeline import timeline_page

    subject = {
        k: v
        for k, v in (("contact", contact), ("company", company), ("deal", deal))
        if v is not None
    }
    if len(subject) != 1:
        raise Http404
    kinds = [k for k in request.GET.getlist("kind") if k in TimelineKind.values]
    name, obj = next(iter(subject.items()))
    pk = getattr(obj, "pk", obj)
    if not visible:
        try:  # the scope check (its queryset, the same rows as timeline_page's, unused)
            timeline_for(user=request.user, kinds=kinds, **subject)
        except NotFound as exc:
            raise Http404 from exc
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    offset = (number - 1) * TIMELINE_PAGE_SIZE
    rows = timeline_page(
        subject=name, pk=pk, kinds=kinds, offset=offset, limit=TIMELINE_PAGE_SIZE + 1
    )
    base = f"{reverse('core:timeline')}?{name}={pk}"
    kind_query = "".join(f"&kind={k}" for k in kinds)
    # Field rules: values of fields hidden from the user are masked.
    entries = mask_timeline(request.user, rows[:TIMELINE_PAGE_SIZE])
    return {
        "timeline_url": base,
        "timeline_entries": entries,
        "timeline_entries_html": _timeline_entries_html(entries),
        "timeline_has_next": len(rows) > TIMELINE_PAGE_SIZE,
        "timeline_next_url": f"{base}{kind_query}&page={number + 1}",
        "timeline_kinds": TimelineKind.choices,
        "timeline_kind": kinds[0] if len(kinds) == 1 else "",
        "timeline_loaded": True,
    }


def show_value(value) -> str:
    """`{{ value }}` outside a template: localized and escaped as render_value_in_context
    does; a plain str is only escaped (Django's escape() is html.escape(str(value)))."""
    if type(value) is str:
        return html.escape(value)
    return render_value_in_context(value, _PLAIN_CONTEXT)


def date_texts(value, *names: str) -> list[str]:
    """`{{ value|date:"NAME" }}` for each format name, escaped: in the active time zone
    and language, one DateFormat for all of them."""
    from django.utils.dateformat import DateFormat
    from django.utils.formats import get_format
    from django.utils.timezone import template_localtime

    if value in (None, ""):
        return [""] * len(names)
    formatted = DateFormat(template_localtime(value))
    return [html.escape(formatted.format(get_format(name))) for name in names]


def _timeline_entries_html(entries) -> str:
    """The `<li>` of each timeline entry: the markup the template's loop made (twenty
    entries were ~600 template nodes, a third of the card's rendering), each value
    escaped and localized as `{{ }}` does, dates in the active time zone and language."""
    import unicodedata

    from django.urls import reverse
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe
    from django.utils.text import Truncator

    from svyaz.core.models import TimelineKind

    if not entries:
        return ""
    show = show_value

    def field(obj, key: str):
        # `{{ obj.key }}` of a JSON value: a dict's key, else the template's "" (invalid).
        return obj.get(key, "") if isinstance(obj, dict) else ""

    labels = {value: str(label) for value, label in TimelineKind.choices}
    open_thread = conditional_escape(_("Open the thread"))
    out = []
    for entry in entries:
        kind, actor, title = entry.kind, entry.actor, entry.title
        if actor:
            who = f'<span class="timeline-actor">{show(actor)}</span>: '
            if kind == "stage":
                title = f"{show(title[:1].lower())}{show(title[1:])}"
            else:
                title = show(title)
        else:
            who, title = "", show(title)
        data = entry.data
        mail = field(data, "email")
        link = (
            f'<a class="small timeline-mail-link" href="'
            f'{conditional_escape(reverse("intake:mail_thread", args=[mail]))}">'
            f'<i class="bi bi-envelope"></i> {open_thread}</a>'
            if mail
            else ""
        )
        long, short = date_texts(entry.occurred_at, "DATETIME_FORMAT", "SHORT_DATETIME_FORMAT")
        changes = field(data, "changes")
        if changes:
            rows = "".join(
                f'<div><span class="text-muted">{show(field(c, "label"))}:</span> '
                f'<del class="text-muted">{show(field(c, "old") or "—")}</del> → '
                f"{show(field(c, 'new') or '—')}</div>"
                for c in changes
            )
            extra = f'<div class="small mt-1">{rows}</div>'
        elif entry.body:
            # `|truncatechars:600`: the NFC text when it is no longer than that.
            body = unicodedata.normalize("NFC", str(entry.body))
            if len(body) > 600:
                body = Truncator(entry.body).chars(600)
            extra = (
                '<div class="small text-body-secondary mt-1" style="white-space: pre-line">'
                f"{show(body)}</div>"
            )
        else:
            extra = ""
        out.append(
            f'<li class="timeline-entry" data-kind="{show(kind)}">'
            '<div class="d-flex gap-2 align-items-baseline flex-wrap">'
            f'<span class="badge text-bg-light border">{show(labels.get(kind, kind))}</span>'
            f"<strong>{who}{title}</strong>{link}"
            f'<small class="text-muted ms-auto" title="{long}">{short}</small></div>'
            f"{extra}</li>"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


@login_required
def timeline(request):
    """GET ?contact=|company=|deal=&kind=&page= → the timeline partial (HTMX)."""
    from django.shortcuts import render

    subject = {}
    for name in ("contact", "company", "deal"):
        value = request.GET.get(name, "")
        if value:
            if not value.isdigit():
                raise Http404
            subject[name] = int(value)
    if len(subject) != 1:
        raise Http404
    context = timeline_context(request, **subject)
    page = request.GET.get("page", "1")
    template = (
        "svyaz/timeline.html#timeline-entries" if page not in ("", "1") else "svyaz/timeline.html"
    )
    return render(request, template, context)


@login_required
def search(request):
    """Global search as you type: grouped results for the navbar's #search-results."""
    from django.http import HttpResponse
    from django.template.loader import render_to_string

    from svyaz.core.search import global_search

    q = request.GET.get("q", "").strip()
    groups = global_search(user=request.user, q=q)
    # No request context: the partial uses only q and groups, so the context processors
    # (unread notifications count: a query; field rules) would be work for nothing.
    html = render_to_string("core/search_results.html", {"q": q, "groups": groups})
    return HttpResponse(html)
