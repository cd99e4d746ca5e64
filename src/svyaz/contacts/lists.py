"""List pages of contacts and companies (core/lists.py machinery)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from svyaz.contacts import selectors
from svyaz.contacts.filters import CompanyFilter, ContactFilter
from svyaz.contacts.models import LifecycleStatus
from svyaz.core.lists import Column, ListSpec, register
from svyaz.core.templatetags.svyaz import money

# status → label, as get_status_display() gives it (that rebuilt the choices dict per row)
_STATUS_LABELS = dict(LifecycleStatus.choices)


def _status(obj) -> str:
    summary = selectors.client_summary(obj)
    if summary is None:
        return str(LifecycleStatus.LEAD.label)
    return str(_STATUS_LABELS.get(summary.status, summary.status) or "")


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
    return formats.date_format(
        timezone.localtime(value) if hasattr(value, "hour") else value, "SHORT_DATE_FORMAT"
    )


# --- what a row shows besides its own columns -------------------------------------------
# On list pages (and exports) `load_rows` fills `obj._row` for a page of rows with a few
# flat values() queries; the column functions read it, and fall back to the record's
# relations when a row did not come through it.


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


def _row_loader(owner: str, url_name: str):
    """`ListSpec.load_rows` for contacts (`owner="contact"`) or companies: one values()
    query per relation a visible column shows (a column hidden by field rules reads
    nothing), in the same order the relations' prefetches gave."""

    def load(rows: list, columns) -> None:
        from svyaz.contacts.models import Address, ContactCompany, Email, Phone

        keys = {c.key for c in columns}
        ids = [obj.pk for obj in rows]
        owner_id = f"{owner}_id"
        found: dict[str, dict[int, list]] = {}

        def collect(key: str, pairs) -> None:
            per_owner: dict[int, list] = {}
            for pk, value in pairs:
                per_owner.setdefault(pk, []).append(value)
            found[key] = per_owner

        if "phones" in keys:
            collect(
                "phones",
                Phone.objects.filter(**{f"{owner_id}__in": ids})
                .order_by(owner_id, "-is_primary", "id")
                .values_list(owner_id, "number"),
            )
        if "email" in keys:
            collect(
                "email",
                Email.objects.filter(**{f"{owner_id}__in": ids})
                .order_by(owner_id, "-is_primary", "id")
                .values_list(owner_id, "email"),
            )
        if "city" in keys:
            collect(
                "city",
                Address.objects.filter(**{f"{owner_id}__in": ids})
                .exclude(city="")
                .order_by(owner_id, "id")
                .values_list(owner_id, "city"),
            )
        if "tags" in keys:
            through = rows[0].__class__.tags.through
            collect(
                "tags",
                through.objects.filter(**{f"{owner_id}__in": ids})
                .order_by(owner_id, "tag__name")
                .values_list(owner_id, "tag__name"),
            )
        if owner == "contact" and "company" in keys:
            collect(
                "company",
                ContactCompany.objects.filter(contact_id__in=ids, company__deleted_at__isnull=True)
                .order_by("contact_id", "-is_primary", "id")
                .values_list("contact_id", "company__name"),
            )
        base = reverse(url_name, args=[0])
        head, _zero, tail = base.rpartition("0")
        for obj in rows:
            row = {key: per_owner.get(obj.pk, []) for key, per_owner in found.items()}
            if "city" in row:
                row["city"] = row["city"][0] if row["city"] else ""
            row["url"] = f"{head}{obj.pk}{tail}"
            obj._row = row

    return load


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
    )
)
