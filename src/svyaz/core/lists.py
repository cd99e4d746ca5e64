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

Speed options of a spec (issue #6): `load_rows` (the rows' relations in a few flat
queries), `page_values` (the page's rows as values, not model instances) and
`defer_count` (the page shows "1–50 of …" and asks for its capped count in a request of
its own, answered by list_view when `wants_count`).

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
from html import escape as _html_escape
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
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
            # format_html('<a href="{}">{}</a>', link, value), 50 times a page
            return mark_safe(f'<a href="{_escape(self.link(obj))}">{_escape(value)}</a>')  # noqa: S308
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
    # Optional: the page's rows as light objects instead of model instances (building
    # ~150 instances with select_related was ~3 ms a page): (the fields to read, as
    # values_list names; a function making a row from one tuple of them). A row needs
    # `pk` and what the columns and `load_rows` read. Not used by exports or bulk actions.
    page_values: tuple[tuple[str, ...], Callable[[tuple], Any]] | None = None
    # The capped count of a page that has a next one is loaded by the page after it is
    # shown (list.html's placeholder asks `?…&count=1` through HTMX: `wants_count`)
    # instead of being counted before the page is sent: at 1M contacts counting 10,001
    # matches of a filter took 30–150 ms.
    defer_count: bool = False

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
            hidden: dict[str, set[str]] = {}  # per entity, computed once for all the columns
            cols = [c for c in cols if not self._column_hidden(c, user, hidden)]
        return cols

    def _column_hidden(self, column: Column, user, cache: dict | None = None) -> bool:
        from svyaz.core.field_rules import rules_for

        cache = {} if cache is None else cache
        for name in column.rule_names():
            entity, _dot, field_name = name.rpartition(".")
            if entity not in cache:
                cache[entity] = rules_for(user, entity)[0] if entity else self.hidden_fields(user)
            if field_name in cache[entity]:
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
    request: HttpRequest, spec: ListSpec, *, defs=None, columns=None, hidden=None
) -> tuple[QuerySet, Any, str, str]:
    """The spec's scoped queryset with the request's filters, search and sort applied.
    `defs` / `columns` / `hidden`: the custom field definitions, the user's columns and
    the fields hidden from the user, when the caller has them already (list_view: one
    query for the definitions per request)."""
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
        if hidden is None:
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
    count: int | None  # None: not counted yet (deferred: the page loads it, see list.html)
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


def paginate(
    qs: QuerySet,
    page_param: str | None,
    page_size: int | None = None,
    *,
    count: bool = True,
    rows_from: QuerySet | None = None,
) -> Page:
    """Fetch one page plus one row to know whether there is a next page; count at most
    SVYAZ_COUNT_CAP rows (a LIMITed subquery), never the whole table. `count=False`: when
    there is a next page, leave the count to a later request (`Page.count` is None).
    `rows_from`: read the page's rows from this form of `qs` (e.g. its values_list)."""
    page_size = page_size or settings.SVYAZ_PAGE_SIZE
    try:
        number = max(1, int(page_param or 1))
    except ValueError:
        number = 1
    offset = (number - 1) * page_size
    rows = list((qs if rows_from is None else rows_from)[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    cap = settings.SVYAZ_COUNT_CAP
    # On the last page the count is known; otherwise count at most cap + 1 rows.
    if not has_next:
        total = offset + len(rows)
        return Page(rows, number, False, min(total, cap), total > cap, page_size)
    if not count:
        return Page(rows[:page_size], number, True, None, False, page_size)
    total, capped = capped_count(qs)
    return Page(rows[:page_size], number, True, total, capped, page_size)


def capped_count(qs: QuerySet) -> tuple[int, bool]:
    """(the number of rows of `qs`, at most SVYAZ_COUNT_CAP; whether there are more)."""
    cap = settings.SVYAZ_COUNT_CAP
    total = qs.order_by()[: cap + 1].count()
    return min(total, cap), total > cap


COUNT_TARGET = "list-count"  # the id of the page's count placeholder (list.html)


def wants_count(request: HttpRequest, spec: ListSpec) -> bool:
    """Is this the list page's own request for its deferred count?"""
    return bool(
        spec.defer_count
        and request.GET.get("count") == "1"
        and getattr(request, "htmx", None)
        and request.htmx.target == COUNT_TARGET
    )


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
    hidden = spec.hidden_fields(request.user) if spec.custom_entity else set()
    qs, filterset, q, sort = filtered_queryset(
        request, spec, defs=defs, columns=columns, hidden=hidden
    )
    if wants_count(request, spec):
        # The deferred count: the same scoped, filtered and searched rows as the page;
        # the text `{{ page.count }}{% if page.count_capped %}+{% endif %}` gave (no
        # template: its context processors would read the notifications for nothing).
        count, capped = capped_count(qs)
        return HttpResponse(_cell_html(count) + ("+" if capped else ""))
    if request.GET.get("export") in ("csv", "xlsx"):
        rows = require_export(request.user, qs)  # no export grant → 403 (logged)
        if request.GET["export"] == "csv":
            return export_csv(spec, rows, request.user)
        return export_xlsx(spec, rows, request.user)
    if spec.load_rows is not None:
        qs = qs.prefetch_related(None)
    rows_qs = None
    if spec.page_values is not None:
        fields, make_row = spec.page_values
        rows_qs = qs.values_list(*fields)
    page = paginate(qs, request.GET.get("page"), count=not spec.defer_count, rows_from=rows_qs)
    if rows_qs is not None:
        page.rows = [make_row(values) for values in page.rows]
    if spec.load_rows is not None and page.rows:
        spec.load_rows(page.rows, columns)
    entity = entity_of_model(qs.model)
    bulk_actions = allowed_bulk_actions(request.user, spec, entity)
    rows = [(obj, [c.cell(obj) for c in columns]) for obj in page.rows]
    bulk_users = active_users(request) if "assign_owner" in bulk_actions else []
    context = {
        "spec": spec,
        "columns": columns,
        "rows": rows,
        "rows_html": rows_html(rows, checkbox=bool(bulk_actions)),
        "header_html": header_html(columns, sort, request.GET),
        "page": page,
        "filterset": filterset,
        "q": q,
        "sort": sort,
        "saved_views": SavedView.objects.filter(user=request.user, entity=spec.entity),
        "custom_filters": [d for d in defs if f"cf_{d.code}" not in hidden],
        "bulk_users": bulk_users,
        "bulk_user_options": mark_safe(  # noqa: S308 - escaped: _cell_html, UserRow.label_html
            "".join(
                f'<option value="{_cell_html(u.pk)}">{u.label_html}</option>' for u in bulk_users
            )
        ),
        "bulk_actions": bulk_actions,
        "may_create": entity is None or can(request.user, entity, "create"),
        "may_export": entity is None or can(request.user, entity, "export"),
        **(extra_context or {}),
    }
    template = spec.template
    if request.htmx and request.htmx.target == "list-table":
        template = f"{spec.template}#table"
    return render(request, template, context)


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as a list page shows it (owner selects, owner column): `pk` and `str()`,
    without building a model instance (~8 µs each; 200 users in each select)."""

    pk: int
    first_name: str
    last_name: str
    username: str
    # str(), escaped once for both owner selects of a page
    label_html: str = field(init=False, repr=False, compare=False)

    FIELDS = ("id", "first_name", "last_name", "username")

    def __post_init__(self) -> None:
        object.__setattr__(self, "label_html", SafeString(_html_escape(str(self))))

    def __str__(self) -> str:  # User.__str__: get_full_name() or username
        return f"{self.first_name} {self.last_name}".strip() or self.username

    def instance(self, db: str = "default"):
        """The user as `QuerySet.only(*FIELDS)` would give it (for a filter's value)."""
        from django.contrib.auth import get_user_model

        model = get_user_model()
        values = (self.pk, self.first_name, self.last_name, self.username)
        known = dict(zip(self.FIELDS, values, strict=True))
        names = [f.attname for f in model._meta.concrete_fields if f.attname in known]
        return model.from_db(db, names, [known[name] for name in names])  # in field order


def active_users(request: HttpRequest) -> list[UserRow]:
    """The active users, in the users' default order (last name, first name, username),
    for the owner selects of a list page: read once per request and shared by the
    filter form and the bulk bar."""
    users = getattr(request, "_svyaz_active_users", None)
    if users is None:
        from django.contrib.auth import get_user_model

        rows = get_user_model().objects.filter(is_active=True).values_list(*UserRow.FIELDS)
        users = [UserRow(*row) for row in rows]
        request._svyaz_active_users = users
    return users


def _cell_html(value: Any) -> str:
    """A cell as `{{ cell }}` renders it: localized (numbers, dates), then escaped
    unless already safe — conditional_escape's result, without its lazy-string wrapper
    (~1,000 calls a page)."""
    if not isinstance(value, str):
        if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
            return str(value)  # what localize() gives an int without grouping
        value = str(localize(template_localtime(value)))
    if hasattr(value, "__html__"):
        return value.__html__()
    return _html_escape(value)


def _escape(value: Any) -> str:
    """conditional_escape(value), without its lazy-string wrapper."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return _html_escape(str(value))


def rows_html(rows: list[tuple[Any, list]], *, checkbox: bool) -> str:
    """The table rows of a list page, built here rather than by the template: a page of
    50 rows × 14 columns was ~1,500 template nodes to walk per request."""
    label = conditional_escape(gettext("Select"))
    out = []
    for obj, cells in rows:
        pk = _html_escape(str(obj.pk))
        out.append(f'<tr data-id="{pk}">')
        if checkbox:
            out.append(
                '<td><input type="checkbox" class="form-check-input" name="ids" '
                f'value="{pk}" aria-label="{label}"></td>'
            )
        out.extend(f"<td>{_cell_html(cell)}</td>" for cell in cells)
        out.append("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


def header_html(columns: list[Column], sort: str, query) -> str:
    """The table's column headings, as list.html rendered them: a sortable column links
    to the current query with `sort` set to it (reversed when it is the current sort) and
    without `page` (`{% query_replace sort=… page=None %}`), and shows ▲ / ▼."""
    base = query.copy()  # one copy for all the links (query_replace made two a column)
    base.pop("page", None)
    out = []
    for c in columns:
        label = _escape(c.label)
        if not c.sort:
            out.append(f"<th>{label}</th>")
            continue
        base["sort"] = f"-{c.key}" if sort == c.key else c.key
        href = _html_escape(base.urlencode())
        arrow = " ▲" if sort == c.key else " ▼" if sort == f"-{c.key}" else ""
        out.append(
            f'<th><a class="text-decoration-none" hx-get="?{href}" hx-target="#list-table" hx-swap="outerHTML" '
            f'hx-push-url="true" href="?{href}">{label}{arrow}</a></th>'
        )
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
