"""Client lifecycle figures (contacts.ClientSummary), computed from orders and deals.

One code path for both jobs: `client_summary_refresh` (one client, called by order and
deal services) and `client_summaries_rebuild` (all clients, in id-range chunks with a
constant number of aggregate queries per chunk — never one query per client).

Revenue and average check count orders in the base currency only
(settings.SVYAZ_BASE_CURRENCY) for now: conversion at the rate of the day comes with the
currency-rate table. `orders_count` and first/last purchase count every currency.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from svyaz.contacts.models import ClientSummary, Company, Contact, LifecycleStatus
from svyaz.sales.models import Deal, Order, OrderStatus, StageKind

CHUNK = 5000
_ZERO = Decimal("0.00")


def lifecycle_status(
    *, orders_count: int, last_purchase_at, deals_count: int, open_deals: int, now=None
) -> str:
    """lead (nothing yet) → prospect (deals, no orders) → customer (1 order) → repeat (2+)
    → inactive (bought, but not within SVYAZ_INACTIVE_AFTER_DAYS)."""
    now = now or timezone.now()
    if orders_count:
        if last_purchase_at and last_purchase_at < now - timedelta(
            days=settings.SVYAZ_INACTIVE_AFTER_DAYS
        ):
            return LifecycleStatus.INACTIVE
        return LifecycleStatus.REPEAT if orders_count >= 2 else LifecycleStatus.CUSTOMER
    if open_deals or deals_count:
        return LifecycleStatus.PROSPECT
    return LifecycleStatus.LEAD


def _compute(side: str, ids: list[int], id_filter: dict) -> list[ClientSummary]:
    """ClientSummary objects (unsaved) for the clients `ids` of `side` ("contact" or
    "company"); `id_filter` selects the same ids as a range ({"id__gte": 1, "id__lte":
    5000}) so the aggregates need no huge IN list. Two queries."""
    base = settings.SVYAZ_BASE_CURRENCY
    if not ids:
        return []
    key = f"{side}_id"
    fk_filter = {
        f"{key}__{k[4:]}" if k.startswith("id__") else key: v for k, v in id_filter.items()
    }
    orders = {
        row[key]: row
        for row in Order.objects.filter(**fk_filter)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values(key)
        .annotate(
            n=Count("id"),
            base_n=Count("id", filter=Q(currency=base)),
            revenue=Sum("amount", filter=Q(currency=base)),
            first=Min("ordered_at"),
            last=Max("ordered_at"),
        )
    }
    deals = {
        row[key]: row
        for row in Deal.objects.filter(**fk_filter)
        .order_by()
        .values(key)
        .annotate(total=Count("id"), open=Count("id", filter=Q(stage__kind=StageKind.OPEN)))
    }
    now = timezone.now()
    out = []
    for client_id in ids:
        o = orders.get(client_id) or {}
        d = deals.get(client_id) or {}
        n = o.get("n", 0)
        revenue = (o.get("revenue") or _ZERO).quantize(Decimal("0.01"))
        base_n = o.get("base_n", 0)
        out.append(
            ClientSummary(
                **{key: client_id},
                orders_count=n,
                revenue=revenue,
                average_check=(revenue / base_n).quantize(Decimal("0.01")) if base_n else _ZERO,
                first_purchase_at=o.get("first"),
                last_purchase_at=o.get("last"),
                open_deals=d.get("open", 0),
                status=lifecycle_status(
                    orders_count=n,
                    last_purchase_at=o.get("last"),
                    deals_count=d.get("total", 0),
                    open_deals=d.get("open", 0),
                    now=now,
                ),
            )
        )
    return out


_FIELDS = [
    "status",
    "orders_count",
    "revenue",
    "average_check",
    "first_purchase_at",
    "last_purchase_at",
    "open_deals",
    "refreshed_at",
]


def _save(side: str, summaries: list[ClientSummary]) -> None:
    if summaries:
        ClientSummary.objects.bulk_create(
            summaries,
            update_conflicts=True,
            unique_fields=[side],
            update_fields=_FIELDS,
            batch_size=1000,
        )


@transaction.atomic
def client_summary_refresh(
    *, contact: Contact | None = None, company: Company | None = None
) -> ClientSummary | None:
    """Recompute the figures of one contact and/or one company; returns the contact's
    summary when a contact is given, else the company's."""
    result = None
    for side, client in (("company", company), ("contact", contact)):
        if client is None:
            continue
        _save(side, _compute(side, [client.pk], {"id": client.pk}))
        result = ClientSummary.objects.filter(**{side: client}).first()
    return result


def client_summaries_rebuild(*, chunk: int = CHUNK) -> int:
    """Recompute every client's figures. Constant queries per `chunk` clients (ids,
    orders aggregate, deals aggregate, one upsert), so it runs on millions of rows.
    Returns the number of summaries written."""
    written = 0
    for side, model in (("contact", Contact), ("company", Company)):
        last_id = 0
        while True:
            bounds = list(
                model.objects.filter(id__gt=last_id)
                .order_by("id")
                .values_list("id", flat=True)[:chunk]
            )
            if not bounds:
                break
            with transaction.atomic():
                summaries = _compute(side, bounds, {"id__gte": bounds[0], "id__lte": bounds[-1]})
                _save(side, summaries)
            written += len(summaries)
            last_id = bounds[-1]
    return written
