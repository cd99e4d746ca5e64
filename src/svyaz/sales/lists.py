"""List pages of leads, deals, orders and products (core/lists.py machinery)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from svyaz.core.lists import Column, ListSpec, register
from svyaz.core.templatetags.svyaz import money
from svyaz.sales import selectors, services
from svyaz.sales.filters import DealFilter, LeadFilter, OrderFilter, ProductFilter


def _date(value) -> str:
    if value is None:
        return ""
    return formats.date_format(
        timezone.localtime(value) if hasattr(value, "hour") else value, "SHORT_DATE_FORMAT"
    )


def _client(obj) -> str:
    return " · ".join(str(x) for x in (obj.contact, obj.company) if x is not None)


def _owner(obj) -> str:
    return str(obj.owner) if obj.owner_id else ""


lead_list_spec = register(
    ListSpec(
        entity="lead",
        title=_("Leads"),
        queryset=lambda request: selectors.lead_list(user=request.user),
        filterset_class=LeadFilter,
        search=selectors.lead_search,
        columns=[
            Column(
                "title",
                _("Request"),
                value=lambda x: x.title,
                sort="title",
                link=lambda x: reverse("sales:lead_detail", args=[x.pk]),
            ),
            Column(
                "name",
                _("Name"),
                value=lambda x: " ".join(p for p in (x.last_name, x.first_name) if p),
                sort="last_name",
            ),
            Column("company", _("Company"), value=lambda x: x.company_name, sort="company_name"),
            Column("phone", _("Phone"), value=lambda x: x.phone),
            Column("email", _("Email"), value=lambda x: x.email),
            Column("source", _("Source"), value=lambda x: x.get_source_display(), sort="source"),
            Column(
                "channel", _("Channel"), value=lambda x: x.get_channel_display(), sort="channel"
            ),
            Column("status", _("Status"), value=lambda x: x.get_status_display(), sort="status"),
            Column("owner", _("Owner"), value=_owner, sort="owner__last_name"),
            Column("created", _("Created"), value=lambda x: _date(x.created_at), sort="created_at"),
        ],
        default_sort="-created",
        custom_entity="lead",
        create_url="sales:lead_create",
        bulk_actions=("assign_owner", "delete"),
    )
)

deal_list_spec = register(
    ListSpec(
        entity="deal",
        title=_("Deals"),
        queryset=lambda request: selectors.deal_list(user=request.user),
        filterset_class=DealFilter,
        search=selectors.deal_search,
        columns=[
            Column(
                "title",
                _("Title"),
                value=lambda d: d.title,
                sort="title",
                link=lambda d: reverse("sales:deal_detail", args=[d.pk]),
            ),
            Column("client", _("Client"), value=_client),
            Column(
                "pipeline",
                _("Pipeline"),
                value=lambda d: d.pipeline.name,
                sort="pipeline__position",
            ),
            Column("stage", _("Stage"), value=lambda d: d.stage.name, sort="stage__position"),
            Column(
                "amount", _("Amount"), value=lambda d: money(d.amount, d.currency), sort="amount"
            ),
            Column(
                "expected_close",
                _("Expected close"),
                value=lambda d: _date(d.expected_close),
                sort="expected_close",
            ),
            Column("owner", _("Owner"), value=_owner, sort="owner__last_name"),
            Column("created", _("Created"), value=lambda d: _date(d.created_at), sort="created_at"),
        ],
        default_sort="-created",
        custom_entity="deal",
        create_url="sales:deal_create",
        # Deleting a deal changes its clients' lifecycle figures: the service refreshes them.
        bulk_handlers={
            "delete": lambda user, objs, value: sum(
                services.deal_delete(actor=user, deal=d) for d in objs
            )
        },
    )
)

order_list_spec = register(
    ListSpec(
        entity="order",
        title=_("Orders"),
        queryset=lambda request: selectors.order_list(user=request.user),
        filterset_class=OrderFilter,
        search=selectors.order_search,
        columns=[
            Column(
                "number",
                _("Number"),
                value=lambda o: str(o),
                sort="number",
                link=lambda o: reverse("sales:order_detail", args=[o.pk]),
            ),
            Column("date", _("Date"), value=lambda o: _date(o.ordered_at), sort="ordered_at"),
            Column("client", _("Client"), value=_client),
            Column(
                "amount", _("Amount"), value=lambda o: money(o.amount, o.currency), sort="amount"
            ),
            Column("status", _("Status"), value=lambda o: o.get_status_display(), sort="status"),
            Column(
                "deal",
                _("Deal"),
                value=lambda o: o.deal.title if o.deal_id else "",
                link=lambda o: reverse("sales:deal_detail", args=[o.deal_id]) if o.deal_id else "",
            ),
            Column("owner", _("Owner"), value=_owner, sort="owner__last_name"),
        ],
        default_sort="-date",
        custom_entity="order",
        create_url="sales:order_create",
        bulk_handlers={
            "delete": lambda user, objs, value: sum(
                services.order_delete(actor=user, order=o) for o in objs
            )
        },
    )
)

product_list_spec = register(
    ListSpec(
        entity="product",
        title=_("Products"),
        queryset=lambda request: selectors.product_list(user=request.user),
        filterset_class=ProductFilter,
        search=selectors.product_search,
        columns=[
            Column(
                "name",
                _("Name"),
                value=lambda p: p.name,
                sort="name",
                link=lambda p: reverse("sales:product_edit", args=[p.pk]),
            ),
            Column("sku", _("SKU"), value=lambda p: p.sku, sort="sku"),
            Column("unit", _("Unit"), value=lambda p: p.unit),
            Column("price", _("Price"), value=lambda p: money(p.price, p.currency), sort="price"),
            Column(
                "active",
                _("Active"),
                value=lambda p: _("Yes") if p.is_active else _("No"),
                sort="is_active",
            ),
        ],
        default_sort="name",
        create_url="sales:product_create",
        bulk_actions=(),
    )
)
