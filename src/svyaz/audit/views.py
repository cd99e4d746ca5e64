"""The audit page (every change, filtered; refused accesses on a second tab), one record's
history and the CSV export. Read-only: nothing here changes an audit row.

Who may read it: the settings/view grant (issue #3) — the Administrator and the read-only
Auditor roles; superusers (selectors.may_read_audit). A record's history is also open to
whoever can see the record. Fields the reader's roles hide are left out everywhere (rows,
purge snapshots, CSV, API)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from svyaz.audit import selectors
from svyaz.audit.denials import log_denial
from svyaz.audit.filters import AccessDenialFilter, AuditEntryFilter, content_type_of
from svyaz.core.lists import neutralize

# Cards the record history links back to.
CARD_URLS = {
    "company": "contacts:company_detail",
    "contact": "contacts:contact_detail",
    "lead": "sales:lead_detail",
    "deal": "sales:deal_detail",
    "order": "sales:order_detail",
}


def audit_readers_only(view):
    """Signed in and allowed to read the audit (selectors.may_read_audit: settings/view);
    others get 403, logged as a refused access. Anonymous visitors go to the login page."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not selectors.may_read_audit(request.user):
            log_denial(
                user=request.user, entity="settings", action="view", request=request, reason="audit"
            )
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _card_url(slug: str, pk: int) -> str:
    try:
        return reverse(CARD_URLS[slug], args=[pk]) if slug in CARD_URLS else ""
    except NoReverseMatch:
        return ""


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@audit_readers_only
def audit_list(request):
    if request.GET.get("tab") == "denials":
        return _denials(request)
    hidden = selectors.hidden_audit_fields(request.user)
    entries = selectors.without_hidden(selectors.audit_entries(), hidden)
    filterset = AuditEntryFilter(request.GET or None, queryset=entries)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        qs = qs.none()
    if request.GET.get("export") == "csv":
        return _export_csv(qs, hidden)
    page = selectors.keyset_page(qs, request.GET.get("cursor"))
    context = {
        "tab": "changes",
        "filterset": filterset,
        "rows": [selectors.describe(e, hidden) for e in page.rows],
        "page": page,
        "base_query": _query_without(request, "cursor", "export"),
    }
    template = "audit/list.html"
    if request.htmx and request.GET.get("cursor"):
        template = "audit/list.html#change-rows"
    elif request.htmx and request.htmx.target == "audit-results":
        template = "audit/list.html#changes"
    return render(request, template, context)


def _denials(request):
    filterset = AccessDenialFilter(request.GET or None, queryset=selectors.access_denials())
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        qs = qs.none()
    page = selectors.keyset_page(qs, request.GET.get("cursor"))
    context = {
        "tab": "denials",
        "filterset": filterset,
        "rows": [selectors.describe_denial(d) for d in page.rows],
        "page": page,
        "base_query": _query_without(request, "cursor", "export"),
    }
    template = "audit/list.html"
    if request.htmx and request.GET.get("cursor"):
        template = "audit/list.html#denial-rows"
    elif request.htmx and request.htmx.target == "audit-results":
        template = "audit/list.html#denials"
    return render(request, template, context)


def _record_scope(request, model, pk: int) -> None:
    """Who may read a record's history: audit readers, any record (also a purged one);
    anyone else, a live business record they can see. Else Http404 (logged)."""
    user = request.user
    if selectors.may_read_audit(user):
        return
    from svyaz.accounts.roles import entity_of_model
    from svyaz.core.errors import NotFound
    from svyaz.core.scoping import get_visible

    if model is None or entity_of_model(model) is None:
        raise Http404
    try:
        get_visible(user, model.objects.all(), pk)
    except NotFound as exc:
        raise Http404 from exc


@require_GET
@login_required
def audit_record(request, entity: str, pk: int):
    """Every audit row of one record (for audit readers also after it was purged)."""
    ct = content_type_of(entity)
    if ct is None:
        raise Http404
    model = ct.model_class()
    _record_scope(request, model, pk)
    hidden = selectors.hidden_audit_fields(request.user)
    qs = selectors.without_hidden(selectors.audit_for_record(content_type=ct, object_id=pk), hidden)
    page = selectors.keyset_page(qs, request.GET.get("cursor"))
    rows = [selectors.describe(e, hidden) for e in page.rows]
    context = {
        "rows": rows,
        "page": page,
        "entity": ct.model,
        "entity_label": str(model._meta.verbose_name).capitalize() if model else ct.model,
        "object_id": pk,
        "object_repr": rows[0]["entry"].object_repr if rows else "",
        "card_url": _card_url(ct.model, pk),
        "base_query": _query_without(request, "cursor"),
        "may_read_audit": selectors.may_read_audit(request.user),
    }
    template = "audit/record.html"
    if request.htmx and request.GET.get("cursor"):
        template = "audit/list.html#change-rows"
    return render(request, template, context)


class _Echo:
    def write(self, value):
        return value


def _export_csv(qs, hidden) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    header = [
        _("When"),
        _("Who"),
        _("Through"),
        _("Action"),
        _("Type"),
        _("Record id"),
        _("Record"),
        _("Field"),
        _("Old value"),
        _("New value"),
        _("Request id"),
        _("Address"),
    ]

    def rows() -> Iterator[str]:
        yield "\ufeff"  # BOM: Excel opens UTF-8 with Cyrillic correctly
        yield writer.writerow(header)
        for entry in qs.iterator(chunk_size=2000):
            row = selectors.describe(entry, hidden)
            yield writer.writerow(
                [
                    neutralize(v)
                    for v in (
                        timezone.localtime(entry.at).isoformat(),
                        row["who"],
                        entry.get_source_display(),
                        entry.get_action_display(),
                        row["entity"],
                        entry.object_id,
                        entry.object_repr,
                        row["field"],
                        row["old"],
                        row["new"],
                        entry.request_id,
                        entry.path,
                    )
                ]
            )

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
