"""Every read of the sales app, scoped through core.scoping.visible_to."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from svyaz.contacts.models import Company, Contact
from svyaz.core.errors import NotFound
from svyaz.core.scoping import get_visible, scope_q, visible_to
from svyaz.sales.models import (
    BoardTotal,
    Deal,
    DealLine,
    DealStageChange,
    Lead,
    LostReason,
    Order,
    Pipeline,
    PriceList,
    Product,
    Stage,
)

BOARD_CARDS_PER_STAGE = 50
# Lazy columns: the board opens with this many cards per stage; each column's "show more"
# (HTMX) brings BOARD_CARDS_PER_STAGE more (board_stage_cards).
BOARD_FIRST_CARDS = 20


def _get(user, qs: QuerySet, pk) -> Any:
    """One record of the user's scoped `qs` by id; a miss raises core.errors.NotFound (a
    404 on pages and in the API), logged as a denial when the record exists out of scope."""
    return get_visible(user, qs, pk)


# --- leads -----------------------------------------------------------------------------


def lead_list(*, user) -> QuerySet[Lead]:
    return visible_to(user, Lead.objects.all()).select_related("owner")


def lead_get(*, user, pk) -> Lead:
    return _get(user, lead_list(user=user).select_related("contact", "company", "deal"), pk)


def lead_search(qs: QuerySet[Lead], q: str) -> QuerySet[Lead]:
    from svyaz.core.phones import phone_search_keys

    cond = (
        Q(title__icontains=q)
        | Q(first_name__icontains=q)
        | Q(last_name__icontains=q)
        | Q(company_name__icontains=q)
        | Q(email__icontains=q)
    )
    for key in phone_search_keys(q):
        if len(key) >= 5:
            cond |= Q(phone__contains=key)
    return qs.filter(cond)


# --- deals -----------------------------------------------------------------------------


def deal_list(*, user) -> QuerySet[Deal]:
    return visible_to(user, Deal.objects.all()).select_related(
        "stage", "pipeline", "contact", "company", "owner"
    )


def deal_get(*, user, pk) -> Deal:
    return _get(user, deal_list(user=user).select_related("lost_reason", "price_list"), pk)


def deal_search(qs: QuerySet[Deal], q: str) -> QuerySet[Deal]:
    return qs.filter(
        Q(title__icontains=q) | Q(contact__full_name__icontains=q) | Q(company__name__icontains=q)
    )


def deal_lines(*, deal: Deal) -> list[DealLine]:
    return list(deal.lines.select_related("product"))


def deal_stage_history(*, deal: Deal) -> list[DealStageChange]:
    return list(
        deal.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by(
            "-changed_at", "-id"
        )
    )


def deal_orders(*, user, deal: Deal) -> list[Order]:
    return list(visible_to(user, Order.objects.filter(deal=deal)))


def pipelines() -> list[Pipeline]:
    return list(Pipeline.objects.prefetch_related("stages"))


def pipeline_get(pk) -> Pipeline | None:
    qs = Pipeline.objects.order_by("-is_default", "position", "id")
    if pk not in (None, ""):
        try:
            return qs.filter(pk=int(pk)).first() or qs.first()
        except (TypeError, ValueError):
            pass
    return qs.first()


def lost_reasons() -> list[LostReason]:
    return list(LostReason.objects.all())


class BoardCard:
    """What a board card shows of a deal, from one flat row (no model instances: the
    board reads ~120 of them per request). `contact`, `company`, `owner`: the text of
    that record as its __str__ gives it, None when the deal has none. `owner_id` and
    `department_id` are there for core.scoping.can()."""

    __slots__ = (
        "pk",
        "title",
        "amount",
        "currency",
        "stage_id",
        "owner_id",
        "department_id",
        "contact",
        "company",
        "owner",
        "days_in_stage",
        "html",
    )
    FIELDS = (
        "id",
        "title",
        "amount",
        "currency",
        "stage_id",
        "stage_changed_at",
        "owner_id",
        "department_id",
        "contact_id",
        "contact__full_name",
        "company_id",
        "company__name",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
    )

    def __init__(self, row: tuple, now) -> None:
        (self.pk, self.title, self.amount, self.currency, self.stage_id, moved,
         self.owner_id, self.department_id, contact_id, full_name, company_id, company,
         first_name, last_name, username) = row  # fmt: skip
        self.days_in_stage = max(0, (now - moved).days)
        # Contact.__str__, Company.__str__, User.__str__ (get_full_name() or username).
        self.contact = (full_name or "—") if contact_id is not None else None
        self.company = company if company_id is not None else None
        if self.owner_id is None:
            self.owner = None
        else:
            self.owner = f"{first_name} {last_name}".strip() or username


def board_pipelines() -> list[Pipeline]:
    """Every pipeline in the switcher's order; the board picks its own from them
    (board_pipeline), so one query gives both."""
    return list(Pipeline.objects.order_by("position", "id"))


def board_pipeline(pipelines: list[Pipeline], pk) -> Pipeline | None:
    """The pipeline `pk` names, else the default one: what pipeline_get() reads, taken
    from board_pipelines()."""
    if pk not in (None, ""):
        try:
            wanted = int(pk)
        except (TypeError, ValueError):
            wanted = None
        for p in pipelines:
            if p.pk == wanted:
                return p
    return min(pipelines, key=lambda p: (not p.is_default, p.position, p.pk), default=None)


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[BoardCard] = field(default_factory=list)
    count: int = 0
    totals: list[tuple[Decimal, str]] = field(default_factory=list)  # (amount, currency)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def _board_card_ids(
    qs: QuerySet[Deal], stage_ids: list[int], per_stage: int = BOARD_CARDS_PER_STAGE
) -> QuerySet:
    """Ids of the newest-moved deals of each stage, at most `per_stage` each.

    Only narrow rows are ranked; the wide card columns are joined for the chosen ids.
    Ranking whole rows with their joins was the board's cost at 10,000+ open deals
    (docs/benchmarks.md). On PostgreSQL each stage is one LIMITed walk of
    deal_board_stage_idx, glued with UNION ALL, so the cost does not grow with the
    number of deals; SQLite (no LIMIT inside a compound) ranks with a window function.
    """
    from django.db import connections

    if connections[qs.db].features.supports_slicing_ordering_in_compound and stage_ids:
        per_stage = [
            qs.filter(stage_id=stage_id)
            .order_by("-stage_changed_at", "-id")
            .values("pk")[:per_stage]
            for stage_id in stage_ids
        ]
        return per_stage[0].union(*per_stage[1:], all=True) if len(per_stage) > 1 else per_stage[0]
    return (
        qs.order_by()
        .annotate(
            rn=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("stage_changed_at").desc(), F("id").desc()],
            )
        )
        .filter(rn__lte=per_stage)
        .values("pk")
    )


# Rows of sales_boardtotal a pipeline may pile up before a board read folds them.
BOARD_TOTALS_SLACK = 200


def _board_totals_ready(connection) -> bool:
    """The triggers of sales.0004 exist (and are enabled) on this database, so
    sales_boardtotal is exact. Checked once per raw connection through the driver (not a
    Django cursor, so pinned query counts do not change). On SQLite a migration that
    rebuilt sales_deal drops them: the board then aggregates the deals instead."""
    connection.ensure_connection()
    raw = connection.connection
    cached = getattr(connection, "_svyaz_board_totals", None)
    if cached is not None and cached[0] == id(raw):
        return cached[1]
    migration = importlib.import_module("svyaz.sales.migrations.0004_board_totals")
    if connection.vendor == "postgresql":
        wanted = set(migration.PG_TRIGGERS)
        sql = (
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgrelid IN (to_regclass('sales_deal'), to_regclass('sales_pipeline')) "
            "AND t.tgenabled <> 'D'"
        )
    elif connection.vendor == "sqlite":
        wanted = set(migration.SQLITE_TRIGGERS)
        sql = (
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name IN ('sales_deal', 'sales_pipeline')"
        )
    else:
        wanted, sql = {("", "")}, ""
    ready = bool(sql) and wanted <= {tuple(row) for row in raw.execute(sql).fetchall()}
    connection._svyaz_board_totals = (id(raw), ready)
    return ready


def _board_totals(pipeline: Pipeline, using: str) -> list[tuple[int, str, int, Decimal]] | None:
    """(stage_id, currency, count, total) of the pipeline's live deals from
    sales_boardtotal, groups without deals left out; None when the table cannot be
    trusted here (no triggers). Folds the pipeline's rows when they piled up."""
    from django.db import connections

    if not _board_totals_ready(connections[using]):
        return None
    rows = list(
        BoardTotal.objects.using(using)
        .filter(pipeline_id=pipeline.pk)
        .order_by()
        .values_list("stage_id", "currency")
        .annotate(n=Sum("n"), total=Sum("total"), parts=Count("id"))
    )
    if sum(r[4] for r in rows) > len(rows) + BOARD_TOTALS_SLACK:
        from svyaz.sales.services import board_totals_compact

        board_totals_compact(pipeline_id=pipeline.pk, using=using)
    return [(r[0], r[1], r[2], r[3]) for r in rows if r[2]]


def board_columns(
    *,
    user,
    pipeline: Pipeline,
    deals: QuerySet[Deal],
    per_stage: int = BOARD_CARDS_PER_STAGE,
    filtered: bool = True,
) -> list[BoardColumn]:
    """One column per stage: counts and totals per currency, the newest-moved cards (up
    to `per_stage` per stage) from one query.
    `deals` is the user's scoped, filtered queryset; `filtered=False` says that no filter
    narrowed it. Counts and totals: when the user sees every deal and nothing is
    filtered, from sales_boardtotal (kept by triggers, a few rows); otherwise one
    aggregate over the pipeline's deals that `deals` holds. Three queries whatever the
    size."""
    columns = {s.pk: BoardColumn(stage=s) for s in pipeline.stages.order_by("position", "id")}
    qs = deals.filter(pipeline=pipeline)
    groups = None
    if not filtered and scope_q(user, "deals") is None:
        groups = _board_totals(pipeline, qs.db)
    if groups is None:
        groups = (
            qs.order_by()
            .values_list("stage_id", "currency")
            .annotate(n=Count("id"), total=Sum("amount"))
        )
    for stage_id, currency, n, total in groups:
        col = columns.get(stage_id)
        if col is not None:
            col.count += n
            col.totals.append((total or Decimal("0"), currency))
    ranked = _board_card_ids(qs, list(columns), per_stage)
    rows = (
        Deal.objects.filter(pk__in=ranked)
        .order_by("stage_id", "-stage_changed_at", "-id")
        .values_list(*BoardCard.FIELDS)
    )
    now = timezone.now()
    for row in rows:
        card = BoardCard(row, now)
        col = columns.get(card.stage_id)
        if col is not None:
            col.cards.append(card)
    for col in columns.values():
        col.totals.sort(key=lambda t: t[1])
    return list(columns.values())


def board_stage_cards(
    *, pipeline: Pipeline, stage_id: int, deals: QuerySet[Deal], offset: int, limit: int
) -> tuple[list[BoardCard], bool]:
    """A column's next cards for its "show more": `limit` deals of the stage after the
    first `offset` (same order as the board), and whether there are more after them.
    `deals` is the user's scoped, filtered queryset. One query (an index walk)."""
    rows = list(
        deals.filter(pipeline=pipeline, stage_id=stage_id)
        .order_by("-stage_changed_at", "-id")
        .values_list(*BoardCard.FIELDS)[offset : offset + limit + 1]
    )
    now = timezone.now()
    return [BoardCard(row, now) for row in rows[:limit]], len(rows) > limit


# --- orders, products ------------------------------------------------------------------


def order_list(*, user) -> QuerySet[Order]:
    return visible_to(user, Order.objects.all()).select_related(
        "contact", "company", "owner", "deal"
    )


def order_get(*, user, pk) -> Order:
    return _get(user, order_list(user=user), pk)


def order_search(qs: QuerySet[Order], q: str) -> QuerySet[Order]:
    return qs.filter(
        Q(number__icontains=q)
        | Q(contact__full_name__icontains=q)
        | Q(company__name__icontains=q)
        | Q(external_id=q)
    )


def product_list(*, user=None, active_only: bool = False) -> QuerySet[Product]:
    """The catalogue; with `user`, only if a role lets them view products."""
    qs = Product.objects.all() if user is None else visible_to(user, Product.objects.all())
    return qs.filter(is_active=True) if active_only else qs


def product_get(pk, *, user=None) -> Product:
    if user is None:
        product = Product.objects.filter(pk=pk).first() if str(pk).isdigit() else None
        if product is None:
            raise NotFound()
        return product
    return _get(user, product_list(user=user), pk)


def product_search(qs: QuerySet[Product], q: str) -> QuerySet[Product]:
    return qs.filter(Q(name__icontains=q) | Q(sku__icontains=q))


def price_lists() -> QuerySet[PriceList]:
    return PriceList.objects.all()


def contacts_for(*, user) -> QuerySet[Contact]:
    return visible_to(user, Contact.objects.all()).only("id", "full_name")


def companies_for(*, user) -> QuerySet[Company]:
    return visible_to(user, Company.objects.all()).only("id", "name")
