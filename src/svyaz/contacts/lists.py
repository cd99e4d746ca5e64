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


def _status(obj) -> str:
    summary = selectors.client_summary(obj)
    return (summary.get_status_display() if summary else LifecycleStatus.LEAD.label) or ""


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


def _phones(obj) -> str:
    from svyaz.core.phones import format_phone

    return ", ".join(format_phone(p.number) for p in obj.phones.all())


def _emails(obj) -> str:
    return ", ".join(e.email for e in obj.emails.all())


def _city(obj) -> str:
    return next((a.city for a in obj.addresss.all() if a.city), "")


def _tags(obj) -> str:
    return ", ".join(t.name for t in obj.tags.all())


def _company(contact) -> str:
    links = [m for m in contact.memberships.all() if m.company.deleted_at is None]
    return ", ".join(m.company.name for m in links[:2])


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
                link=lambda c: reverse("contacts:contact_detail", args=[c.pk]),
            ),
            Column("company", _("Company"), value=_company),
            Column("phones", _("Phones"), value=_phones),
            Column("email", _("Email"), value=_emails, field="emails"),
            *_common_tail(),
        ],
        default_sort="name",
        custom_entity="contact",
        create_url="contacts:contact_create",
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
                link=lambda c: reverse("contacts:company_detail", args=[c.pk]),
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
    )
)
