"""List pages of contacts and companies (core/lists.py machinery)."""

from __future__ import annotations

import functools
from datetime import date

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from svyaz.contacts import selectors
from svyaz.contacts.filters import CompanyFilter, ContactFilter
from svyaz.contacts.models import LifecycleStatus
from svyaz.core.lists import Column, ListSpec, UserRow, register
from svyaz.core.templatetags.svyaz import money

# status → label, as get_status_display() gives it (that rebuilt the choices dict per row)
_STATUS_LABELS = dict(LifecycleStatus.choices)


@functools.lru_cache(maxsize=16)
def _status_labels(language: str | None) -> dict[str, str]:
    """The status labels translated into `language` (the active one when called)."""
    return {value: str(label) for value, label in _STATUS_LABELS.items()}


def _status(obj) -> str:
    labels = _status_labels(translation.get_language())
    summary = selectors.client_summary(obj)
    if summary is None:
        return labels[LifecycleStatus.LEAD]
    return labels.get(summary.status, summary.status) or ""


def _summary_value(attr: str):
    def get(obj):
        summary = selectors.client_summary(obj)
        return getattr(summary, attr) if summary else None

    return get


def _revenue(obj):
    summary = selectors.client_summary(obj)
    if not summary or not summary.revenue:
        return ""
    return money(summary.revenue, settings.SVYAZ_BASE_CURRENCY)


def _date(value) -> str:
    if value is None:
        return ""
    day = timezone.localtime(value).date() if hasattr(value, "hour") else value
    return _short_date(day, translation.get_language())


@functools.lru_cache(maxsize=4096)
def _short_date(day: date, language: str | None) -> str:
    """A day in the SHORT_DATE_FORMAT of `language` (the active one when called): a pure
    function of its arguments, kept because DateFormat costs ~7 µs a cell (100 a page)."""
    return formats.date_format(day, "SHORT_DATE_FORMAT")


@receiver(setting_changed)
def _forget_formats(**kwargs) -> None:
    """Tests that change settings (formats, languages) get fresh labels and dates."""
    _short_date.cache_clear()
    _status_labels.cache_clear()


# --- what a row shows besides its own columns -------------------------------------------
# On list pages (and exports) `load_rows` fills `obj._row` for a page of rows with one
# query (a UNION ALL over the relations); the column functions read it, and fall back to
# the record's relations when a row did not come through it.


def _extra(obj, key: str):
    row = getattr(obj, "_row", None)
    return None if row is None else row.get(key)


def _format_phone(number: str) -> str:
    """core.phones.format_phone, without parsing the Russian mobile numbers most rows hold:
    +79XXXXXXXXX always formats as "+7 9XX XXX-XX-XX" (checked against phonenumbers for
    every +79 prefix). phonenumbers' parse + format was ~90 µs a number."""
    if len(number) == 12 and number.startswith("+79") and number[1:].isdigit():
        return f"+7 {number[2:5]} {number[5:8]}-{number[8:10]}-{number[10:]}"
    from svyaz.core.phones import format_phone

    return format_phone(number)


def _phones(obj) -> str:
    numbers = _extra(obj, "phones")
    if numbers is None:
        numbers = [p.number for p in obj.phones.all()]
    return ", ".join(_format_phone(n) for n in numbers)


def _emails(obj) -> str:
    emails = _extra(obj, "email")
    if emails is None:
        emails = [e.email for e in obj.emails.all()]
    return ", ".join(emails)


def _city(obj) -> str:
    city = _extra(obj, "city")
    if city is None:
        city = next((a.city for a in obj.addresss.all() if a.city), "")
    return city


def _tags(obj) -> str:
    names = _extra(obj, "tags")
    if names is None:
        names = [t.name for t in obj.tags.all()]
    return ", ".join(names)


def _company(contact) -> str:
    names = _extra(contact, "company")
    if names is None:
        links = [m for m in contact.memberships.all() if m.company.deleted_at is None]
        names = [m.company.name for m in links]
    return ", ".join(names[:2])


def _detail_link(url_name: str):
    def link(obj) -> str:
        url = _extra(obj, "url")
        return url if url is not None else reverse(url_name, args=[obj.pk])

    return link


# What `load_rows` reads per relation, by column key: the table (a model of this app,
# or "tags": the owner's tag links), the value shown ("table.column" when it comes from
# a joined table), the order of the values within one record (the order the relations'
# prefetches gave) and a field that must not be empty. Column names come from _meta.
_RELATIONS = (
    ("phones", "Phone", "number", (("is_primary", "DESC"), ("id", "ASC")), ""),
    ("email", "Email", "email", (("is_primary", "DESC"), ("id", "ASC")), ""),
    ("city", "Address", "city", (("id", "ASC"),), "city"),
    ("tags", "tags", "tag.name", (("tag.name", "ASC"),), ""),
    ("company", "ContactCompany", "company.name", (("is_primary", "DESC"), ("id", "ASC")), ""),
)


def _relations_sql(connection, owner: str, keys: tuple[str, ...]) -> str:
    """One UNION ALL query over the relations of `keys` (in `_RELATIONS` order) giving
    rows of (record id, branch number, value, position of the value in its record);
    each branch has `<owner column> {ids}`, `{ids}` filled per page by the loader
    (`= ANY(%s)` on PostgreSQL, an `IN (%s, …)` list elsewhere)."""
    from svyaz.contacts import models
    from svyaz.core.models import Tag

    q = connection.ops.quote_name
    owner_model = models.Contact if owner == "contact" else models.Company
    branches = []
    relations = [r for r in _RELATIONS if r[0] in keys]
    for kind, (_key, model_name, value, order, nonempty) in enumerate(relations):
        model = owner_model.tags.through if model_name == "tags" else getattr(models, model_name)

        def col(name: str, model=model) -> str:
            table, _dot, field_name = name.rpartition(".")
            if table:  # a joined table's column, by its fixed alias
                return f"{q(table)}.{q(field_name)}"
            return f"{q('t')}.{q(model._meta.get_field(field_name).column)}"

        join = ""
        if model_name == "tags":
            join = f" INNER JOIN {q(Tag._meta.db_table)} {q('tag')} ON {q('tag')}.{q('id')} = {col('tag')}"
        elif model_name == "ContactCompany":
            join = (
                f" INNER JOIN {q(models.Company._meta.db_table)} {q('company')}"
                f" ON {q('company')}.{q('id')} = {col('company')}"
            )
        owner_col = col(owner)
        where = f"{owner_col} {{ids}}"
        if nonempty:
            where += f" AND NOT ({col(nonempty)} = '')"
        if model_name == "ContactCompany":  # a deleted company is not shown
            where += f" AND {q('company')}.{q('deleted_at')} IS NULL"
        order_sql = ", ".join(f"{col(name)} {direction}" for name, direction in order)
        # Identifiers from the models' _meta (quoted), numbers and fixed text; the ids are
        # %s parameters.
        branches.append(
            f"SELECT {owner_col}, {kind}, {col(value)}, "  # noqa: S608
            f"ROW_NUMBER() OVER (PARTITION BY {owner_col} ORDER BY {order_sql}) "
            f"FROM {q(model._meta.db_table)} {q('t')}{join} WHERE {where}"
        )
    return " UNION ALL ".join(branches)


def _row_loader(owner: str, url_name: str):
    """`ListSpec.load_rows` for contacts (`owner="contact"`) or companies: what the
    visible columns show of the rows' relations (a column hidden by field rules reads
    nothing), in ONE query: a UNION ALL with a branch per relation, each numbering its
    values per record in the order the relations' prefetches gave (ROW_NUMBER). It was
    a values() query per relation: 5 round trips and ~3 ms of query building a page."""
    sql_cache: dict[tuple[str, ...], str] = {}

    def load(rows: list, columns) -> None:
        from django.db import connections

        shown = {c.key for c in columns}
        keys = tuple(
            r[0] for r in _RELATIONS if r[0] in shown and (r[0] != "company" or owner == "contact")
        )
        found: dict[str, dict[int, list]] = {}
        if keys:
            state = getattr(rows[0], "_state", None)  # a model instance (exports) or a _Row
            connection = connections[getattr(state, "db", None) or "default"]
            cache_key = (connection.alias, *keys)
            if cache_key not in sql_cache:
                sql_cache[cache_key] = _relations_sql(connection, owner, keys)
            ids = [int(obj.pk) for obj in rows]
            if connection.vendor == "postgresql":
                # One array parameter a branch: the same SQL text for every page, so the
                # driver reuses its parsed form (it re-parses queries over 4 KB each time,
                # and 5 × 50 placeholders made this one that long).
                sql, params = sql_cache[cache_key].replace("{ids}", "= ANY(%s)"), [ids] * len(keys)
            else:
                in_list = f"IN ({', '.join(['%s'] * len(ids))})"
                sql, params = sql_cache[cache_key].replace("{ids}", in_list), ids * len(keys)
            numbered: list[dict[int, list]] = [{} for _key in keys]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                for pk, kind, value, n in cursor.fetchall():
                    numbered[kind].setdefault(pk, []).append((n, value))
            for key, per_owner in zip(keys, numbered, strict=True):
                found[key] = {pk: [v for _n, v in sorted(pairs)] for pk, pairs in per_owner.items()}
        base = reverse(url_name, args=[0])
        head, _zero, tail = base.rpartition("0")
        for obj in rows:
            row = {key: per_owner.get(obj.pk, []) for key, per_owner in found.items()}
            if "city" in row:
                row["city"] = row["city"][0] if row["city"] else ""
            row["url"] = f"{head}{obj.pk}{tail}"
            obj._row = row

    return load


# --- the page's rows without model instances (ListSpec.page_values) ---------------------


class _Summary:
    """The client summary fields the columns show."""

    __slots__ = ("status", "orders_count", "revenue", "last_purchase_at")


class _Row:
    """A contact or company of a list page: what its columns read (`obj.summary` is None
    for a client without a summary, as selectors.client_summary gives it)."""

    __slots__ = ("pk", "created_at", "custom", "owner", "summary", "_row")

    @property
    def id(self) -> int:
        return self.pk


class _ContactRow(_Row):
    __slots__ = ("full_name",)


class _CompanyRow(_Row):
    __slots__ = ("name", "inn", "tax_id")


_TAIL_VALUES = (
    "created_at",
    "custom",
    "owner_id",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "summary__id",
    "summary__status",
    "summary__orders_count",
    "summary__revenue",
    "summary__last_purchase_at",
)


def _page_values(row_class: type[_Row], own: tuple[str, ...]):
    """(the values_list fields, the row maker) of ListSpec.page_values."""

    def make(values: tuple) -> _Row:
        row = row_class()
        row.pk = values[0]
        for name, value in zip(own, values[1:], strict=False):
            setattr(row, name, value)
        (
            row.created_at,
            row.custom,
            owner_id,
            first_name,
            last_name,
            username,
            summary_id,
            *summary_values,
        ) = values[1 + len(own) :]
        row.owner = None if owner_id is None else UserRow(owner_id, first_name, last_name, username)
        row.summary = None
        if summary_id is not None:
            row.summary = summary = _Summary()
            (
                summary.status,
                summary.orders_count,
                summary.revenue,
                summary.last_purchase_at,
            ) = summary_values
        return row

    return ("id", *own, *_TAIL_VALUES), make


def _common_tail() -> list[Column]:
    return [
        Column("city", _("City"), value=_city),
        Column("status", _("Status"), value=_status, sort="summary__status"),
        Column(
            "purchases",
            _("Purchases"),
            value=_summary_value("orders_count"),
            sort="summary__orders_count",
        ),
        # A sum of order amounts: it follows the order amount's field rule.
        Column(
            "revenue",
            _("Total spent"),
            value=_revenue,
            sort="summary__revenue",
            field="orders.amount",
        ),
        Column(
            "last_purchase",
            _("Last purchase"),
            value=lambda o: _date(_summary_value("last_purchase_at")(o)),
            sort="summary__last_purchase_at",
        ),
        Column(
            "owner",
            _("Owner"),
            value=lambda o: str(o.owner) if o.owner else "",
            sort="owner__last_name",
        ),
        Column("tags", _("Tags"), value=_tags),
        Column("created", _("Created"), value=lambda o: _date(o.created_at), sort="created_at"),
    ]


contact_list_spec = register(
    ListSpec(
        entity="contact",
        title=_("Contacts"),
        queryset=lambda request: selectors.contact_list_rows(user=request.user),
        filterset_class=ContactFilter,
        search=selectors.contact_search,
        columns=[
            Column(
                "name",
                _("Name"),
                value=lambda c: c.full_name,
                sort="full_name",
                link=_detail_link("contacts:contact_detail"),
            ),
            Column("company", _("Company"), value=_company),
            Column("phones", _("Phones"), value=_phones),
            Column("email", _("Email"), value=_emails, field="emails"),
            *_common_tail(),
        ],
        default_sort="name",
        custom_entity="contact",
        create_url="contacts:contact_create",
        load_rows=_row_loader("contact", "contacts:contact_detail"),
        page_values=_page_values(_ContactRow, ("full_name",)),
        defer_count=True,
    )
)

company_list_spec = register(
    ListSpec(
        entity="company",
        title=_("Companies"),
        queryset=lambda request: selectors.company_list_rows(user=request.user),
        filterset_class=CompanyFilter,
        search=selectors.company_search,
        columns=[
            Column(
                "name",
                _("Name"),
                value=lambda c: c.name,
                sort="name",
                link=_detail_link("contacts:company_detail"),
            ),
            Column(
                "inn",
                _("INN"),
                value=lambda c: c.inn or c.tax_id,
                sort="inn",
                field=("inn", "tax_id"),
            ),
            Column("phones", _("Phones"), value=_phones),
            Column("email", _("Email"), value=_emails, field="emails"),
            *_common_tail(),
        ],
        default_sort="name",
        custom_entity="company",
        create_url="contacts:company_create",
        load_rows=_row_loader("company", "contacts:company_detail"),
        page_values=_page_values(_CompanyRow, ("name", "inn", "tax_id")),
        defer_count=True,
    )
)
