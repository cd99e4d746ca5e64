"""Generic list pages: filter, search, sort, paginate without full counts, saved views,
bulk actions and CSV/XLSX export of the current view — the same for every entity.

An app describes its list with a `ListSpec` and registers it:

    contact_list_spec = register(ListSpec(
        entity="contact", title=_("Contacts"),
        queryset=lambda request: contact_list(user=request.user),   # a scoped selector
        filterset_class=ContactFilter,                              # django-filter
        search=lambda qs, q: contact_search(qs, q),
        columns=[Column("name", _("Name"), sort="full_name", value=lambda c: c.full_name,
                        link=lambda c: c.get_absolute_url()), ...],
        default_sort="name",
        custom_entity="contact",          # custom fields: list columns + `cf_<code>` filters
        create_url="contacts:contact_create",
    ))

    def contact_list_view(request):
        return list_view(request, contact_list_spec)

Bulk actions POST to `core:bulk` (assign owner, add tag, delete) and reach only records the
user may change (the role's "edit" or "delete" scope); the others are skipped, counted and
logged. Export streams CSV of the rows the view shows that the user may export (the
"export" scope; no export grant → 403), all pages, with cells that start with = + - @
neutralized against formula injection.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from svyaz.accounts.roles import entity_of_model
from svyaz.core.access import require_export, split_by_grant, write_action
from svyaz.core.models import CustomField, CustomFieldType, SavedView
from svyaz.core.scoping import can

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Column:
    key: str
    label: Any
    value: Callable[[Any], Any]
    sort: str | None = None  # ORM field to order by
    link: Callable[[Any], str] | None = None
    export: bool = True
    # The model field(s) the column shows (field rules: a hidden one drops the column,
    # on the page and in exports). Default: the key; "<entity>.<field>" names a field
    # of another entity (a client's revenue follows "orders.amount").
    field: str | tuple[str, ...] | None = None

    def rule_names(self) -> tuple[str, ...]:
        if self.field is None:
            return (self.key,)
        return (self.field,) if isinstance(self.field, str) else tuple(self.field)

    def cell(self, obj) -> Any:
        value = self.value(obj)
        if self.link is not None and value not in (None, ""):
            return format_html('<a href="{}">{}</a>', self.link(obj), value)
        return "" if value is None else value


@dataclass
class ListSpec:
    entity: str
    title: Any
    queryset: Callable[[HttpRequest], QuerySet]
    columns: list[Column]
    filterset_class: Any = None
    search: Callable[[QuerySet, str], QuerySet] | None = None
    default_sort: str = ""
    custom_entity: str = ""
    create_url: str = ""
    template: str = "svyaz/list.html"
    bulk_actions: tuple[str, ...] = ("assign_owner", "add_tag", "delete")
    # Optional hooks for bulk actions: (user, queryset, value) -> number changed.
    bulk_handlers: dict[str, Callable[..., int]] = field(default_factory=dict)
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    # accounts entity for field rules; default: the one of the model named `entity`.
    field_rules_entity: str = ""
    # Optional loader of what the page's rows show, `(rows, columns) -> None`, in a few
    # flat queries (values, no model instances). With it, the page and the exports drop
    # the queryset's prefetch_related and call it per page / per export chunk instead.
    load_rows: Callable[[list, list[Column]], None] | None = None

    def custom_defs(self) -> list[CustomField]:
        """The custom field definitions of the spec's entity (one query)."""
        if not self.custom_entity:
            return []
        return list(CustomField.objects.filter(entity=self.custom_entity))

    def all_columns(self, user=None, defs: list[CustomField] | None = None) -> list[Column]:
        """The columns; with `user`, without those showing a field hidden from them.
        `defs`: the custom field definitions when the caller has them already."""
        cols = list(self.columns)
        if self.custom_entity:
            for d in self.custom_defs() if defs is None else defs:
                if not d.show_in_list:
                    continue
                cols.append(
                    Column(
                        f"cf_{d.code}",
                        d.label,
                        value=_custom_getter(d.code),
                        sort=f"custom__{d.code}",
                    )
                )
        if user is not None:
            cols = [c for c in cols if not self._column_hidden(c, user)]
        return cols

    def _column_hidden(self, column: Column, user) -> bool:
        from svyaz.core.field_rules import rules_for

        for name in column.rule_names():
            entity, _dot, field_name = name.rpartition(".")
            hidden = rules_for(user, entity)[0] if entity else self.hidden_fields(user)
            if field_name in hidden:
                return True
        return False

    def hidden_fields(self, user) -> set[str]:
        """Field rules: the fields (and `cf_<code>`) hidden from `user` (None: none)."""
        if user is None:
            return set()
        from svyaz.core.field_rules import entity_for_model_name, rules_for

        entity = self.field_rules_entity or entity_for_model_name(self.entity)
        return rules_for(user, entity)[0]

    def sort_map(self, user=None, columns: list[Column] | None = None) -> dict[str, str]:
        columns = self.all_columns(user) if columns is None else columns
        return {c.key: c.sort for c in columns if c.sort}


def _custom_getter(code: str) -> Callable[[Any], Any]:
    def get(obj):
        value = (obj.custom or {}).get(code)
        if isinstance(value, list):
            return ", ".join(value)
        if value is True:
            return _("Yes")
        if value is False:
            return _("No")
        return value

    return get


REGISTRY: dict[str, ListSpec] = {}


def register(spec: ListSpec) -> ListSpec:
    REGISTRY[spec.entity] = spec
    return spec


def apply_custom_filters(
    qs: QuerySet, params, entity: str, hidden=frozenset(), defs: list[CustomField] | None = None
) -> QuerySet:
    """`cf_<code>=value` filters on the record's custom JSON values (not on the `hidden`
    ones: filtering would reveal them). `defs`: the entity's definitions, if known."""
    if not any(key.startswith("cf_") and value != "" for key, value in params.items()):
        return qs
    if defs is None:
        defs = list(CustomField.objects.filter(entity=entity))
    defs = {d.code: d for d in defs if f"cf_{d.code}" not in hidden}
    for key, value in params.items():
        if not key.startswith("cf_") or value == "":
            continue
        d = defs.get(key[3:])
        if d is None:
            continue
        if d.field_type == CustomFieldType.BOOLEAN:
            qs = qs.filter(**{f"custom__{d.code}": value.lower() in {"1", "true", "yes", "on"}})
        elif d.field_type == CustomFieldType.MULTI_CHOICE or d.field_type == CustomFieldType.TEXT:
            qs = qs.filter(**{f"custom__{d.code}__icontains": value})
        else:
            qs = qs.filter(**{f"custom__{d.code}": value})
    return qs


def filtered_queryset(
    request: HttpRequest, spec: ListSpec, *, defs=None, columns=None
) -> tuple[QuerySet, Any, str, str]:
    """The spec's scoped queryset with the request's filters, search and sort applied.
    `defs` / `columns`: the custom field definitions and the user's columns, when the
    caller has them already (list_view: one query for the definitions per request)."""
    if defs is None:
        defs = spec.custom_defs()
    if columns is None:
        columns = spec.all_columns(request.user, defs)
    qs = spec.queryset(request)
    filterset = None
    if spec.filterset_class is not None:
        filterset = spec.filterset_class(request.GET or None, queryset=qs, request=request)
        if filterset.is_bound and filterset.is_valid():
            qs = filterset.qs
    if spec.custom_entity:
        hidden = spec.hidden_fields(request.user)
        qs = apply_custom_filters(qs, request.GET, spec.custom_entity, hidden, defs)
    q = request.GET.get("q", "").strip()[:200]
    if q and spec.search is not None:
        qs = spec.search(qs, q)
    sort = request.GET.get("sort", spec.default_sort)
    sorts = spec.sort_map(request.user, columns)
    key = sort.lstrip("-")
    if key in sorts:
        field_name = sorts[key]
        desc = sort.startswith("-")
        qs = qs.order_by(f"-{field_name}" if desc else field_name, "-pk" if desc else "pk")
    else:
        sort = ""
    if spec.select_related:
        qs = qs.select_related(*spec.select_related)
    if spec.prefetch_related:
        qs = qs.prefetch_related(*spec.prefetch_related)
    return qs, filterset, q, sort


@dataclass
class Page:
    rows: list
    number: int
    has_next: bool
    count: int
    count_capped: bool
    page_size: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.rows else 0

    @property
    def end(self) -> int:
        return (self.number - 1) * self.page_size + len(self.rows)


def paginate(qs: QuerySet, page_param: str | None, page_size: int | None = None) -> Page:
    """Fetch one page plus one row to know whether there is a next page; count at most
    SVYAZ_COUNT_CAP rows (a LIMITed subquery), never the whole table."""
    page_size = page_size or settings.SVYAZ_PAGE_SIZE
    try:
        number = max(1, int(page_param or 1))
    except ValueError:
        number = 1
    offset = (number - 1) * page_size
    rows = list(qs[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    cap = settings.SVYAZ_COUNT_CAP
    # On the last page the count is known; otherwise count at most cap + 1 rows.
    count = offset + len(rows) if not has_next else qs.order_by()[: cap + 1].count()
    capped = count > cap
    return Page(rows[:page_size], number, has_next, min(count, cap), capped, page_size)


def neutralize(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _export_objects(spec: ListSpec, qs: QuerySet, columns: list[Column]) -> Iterator[Any]:
    """The export's records, 2,000 at a time: through the spec's `load_rows` when it has
    one, else the queryset's own prefetches."""
    if spec.load_rows is None:
        yield from qs.iterator(chunk_size=2000) if not spec.prefetch_related else qs
        return
    chunk: list = []
    for obj in qs.prefetch_related(None).iterator(chunk_size=2000):
        chunk.append(obj)
        if len(chunk) == 2000:
            spec.load_rows(chunk, columns)
            yield from chunk
            chunk = []
    if chunk:
        spec.load_rows(chunk, columns)
        yield from chunk


class _Echo:
    def write(self, value):
        return value


def export_csv(spec: ListSpec, qs: QuerySet, user=None) -> StreamingHttpResponse:
    columns = [c for c in spec.all_columns(user) if c.export]
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff"  # BOM: Excel opens UTF-8 with Cyrillic correctly
        yield writer.writerow([str(c.label) for c in columns])
        for obj in _export_objects(spec, qs, columns):
            yield writer.writerow([neutralize(c.value(obj)) for c in columns])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{spec.entity}-{stamp}.csv"'
    return response


def export_xlsx(spec: ListSpec, qs: QuerySet, user=None) -> HttpResponse:
    """The same rows and columns as the CSV export, as an Excel workbook. openpyxl's
    write-only mode streams rows to a temporary file, so memory stays flat."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    columns = [c for c in spec.all_columns(user) if c.export]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(spec.title)[:31])
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=neutralize(str(c.label)))
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for obj in _export_objects(spec, qs, columns):
        # Everything as text, neutralized: a cell typed as a string is never a formula.
        ws.append([neutralize(c.value(obj)) for c in columns])
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        content = tmp.read()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{spec.entity}-{stamp}.xlsx"'
    return response


def list_view(
    request: HttpRequest, spec: ListSpec, extra_context: dict | None = None
) -> HttpResponse:
    # The custom field definitions and the user's columns once per request (they used to
    # be read again for the sort, the filters, the columns and the filter inputs).
    defs = spec.custom_defs()
    columns = spec.all_columns(request.user, defs)  # without the fields hidden from the user
    qs, filterset, q, sort = filtered_queryset(request, spec, defs=defs, columns=columns)
    if request.GET.get("export") in ("csv", "xlsx"):
        rows = require_export(request.user, qs)  # no export grant → 403 (logged)
        if request.GET["export"] == "csv":
            return export_csv(spec, rows, request.user)
        return export_xlsx(spec, rows, request.user)
    if spec.load_rows is not None:
        qs = qs.prefetch_related(None)
    page = paginate(qs, request.GET.get("page"))
    if spec.load_rows is not None and page.rows:
        spec.load_rows(page.rows, columns)
    entity = entity_of_model(qs.model)
    bulk_actions = allowed_bulk_actions(request.user, spec, entity)
    from django.contrib.auth import get_user_model

    rows = [(obj, [c.cell(obj) for c in columns]) for obj in page.rows]
    hidden = spec.hidden_fields(request.user) if spec.custom_entity else set()
    context = {
        "spec": spec,
        "columns": columns,
        "rows": rows,
        "rows_html": rows_html(rows, checkbox=bool(bulk_actions)),
        "page": page,
        "filterset": filterset,
        "q": q,
        "sort": sort,
        "saved_views": SavedView.objects.filter(user=request.user, entity=spec.entity),
        "custom_filters": [d for d in defs if f"cf_{d.code}" not in hidden],
        "bulk_users": get_user_model()
        .objects.filter(is_active=True)
        .only("id", "first_name", "last_name", "username")
        if "assign_owner" in bulk_actions
        else [],
        "bulk_actions": bulk_actions,
        "may_create": entity is None or can(request.user, entity, "create"),
        "may_export": entity is None or can(request.user, entity, "export"),
        **(extra_context or {}),
    }
    template = spec.template
    if request.htmx and request.htmx.target == "list-table":
        template = f"{spec.template}#table"
    return render(request, template, context)


def _cell_html(value: Any) -> str:
    """A cell as `{{ cell }}` renders it: localized (numbers, dates), then escaped
    unless already safe."""
    if not isinstance(value, str):
        value = str(localize(template_localtime(value)))
    return conditional_escape(value)


def rows_html(rows: list[tuple[Any, list]], *, checkbox: bool) -> str:
    """The table rows of a list page, built here rather than by the template: a page of
    50 rows × 14 columns was ~1,500 template nodes to walk per request."""
    label = conditional_escape(gettext("Select"))
    out = []
    for obj, cells in rows:
        pk = conditional_escape(str(obj.pk))
        out.append(f'<tr data-id="{pk}">')
        if checkbox:
            out.append(
                '<td><input type="checkbox" class="form-check-input" name="ids" '
                f'value="{pk}" aria-label="{label}"></td>'
            )
        out.extend(f"<td>{_cell_html(cell)}</td>" for cell in cells)
        out.append("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


def allowed_bulk_actions(user, spec: ListSpec, entity: str | None) -> tuple[str, ...]:
    """The spec's bulk actions the user's roles allow at all (delete needs a delete
    grant, the others an edit grant): the list page offers only these."""
    if entity is None:
        return spec.bulk_actions
    return tuple(a for a in spec.bulk_actions if can(user, entity, write_action(a)))


def bulk_targets(
    request: HttpRequest, spec: ListSpec, ids: Iterable[str], action: str | None = None
) -> QuerySet:
    """The records named by `ids` that the user can see (others are silently absent);
    with `action` ("edit", "delete", "export"…) only those within that grant's scope."""
    clean = [int(i) for i in ids if str(i).isdigit()][:1000]
    qs = spec.queryset(request).filter(pk__in=clean)
    if action is not None and entity_of_model(qs.model) is not None:
        from svyaz.core.scoping import visible_to

        qs = visible_to(request.user, qs, action=action)
    return qs


def bulk_split(request: HttpRequest, spec: ListSpec, ids: Iterable[str], action: str):
    """(the named records the user may `action`, how many named ones were refused —
    out of scope or not theirs; each refusal logged)."""
    clean = [int(i) for i in ids if str(i).isdigit()][:1000]
    qs = spec.queryset(request)
    if entity_of_model(qs.model) is None:
        return list(qs.filter(pk__in=clean)), 0
    return split_by_grant(request.user, qs, clean, action)
