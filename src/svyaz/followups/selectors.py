"""Every read of follow-ups and notifications, scoped to what the user may see.

A user always sees the tasks assigned to them, whoever owns them
(`extra_owner_fields=("assignee",)`)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from svyaz.core.scoping import get_visible, visible_to
from svyaz.followups.models import Followup, FollowupKind, FollowupStatus, Notification

MY_DAY_SECTION_LIMIT = 100
UPCOMING_DAYS = 7
# What a My day row on the page shows (the API reads whole rows): fewer columns to fetch
# and convert, hundreds of times per page.
MY_DAY_ROW_FIELDS = (
    "id",
    "kind",
    "title",
    "description",
    "due_at",
    "priority",
    "status",
    "contact_id",
    "company_id",
    "deal_id",
    "contact__full_name",
    "company__name",
    "deal__title",
)


def user_timezone(user) -> tzinfo:
    """The user's own time zone, else the installation's."""
    name = getattr(user, "timezone", "") or ""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.get_default_timezone()


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in a zone (23 or 25 hours long on DST days)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def followup_list(*, user) -> QuerySet[Followup]:
    return visible_to(user, Followup.objects.all(), extra_owner_fields=("assignee",))


def followup_list_rows(*, user) -> QuerySet[Followup]:
    """Follow-ups with everything a list row shows."""
    return followup_list(user=user).select_related("assignee", "contact", "company", "deal")


def followup_get(*, user, pk) -> Followup:
    """core.errors.NotFound (404) when missing or out of scope (that one logged)."""
    return get_visible(user, followup_list_rows(user=user), pk)


def followups_for_subject(
    *, user, contact=None, company=None, deal=None, limit: int = 20
) -> list[Followup]:
    """Open tasks of a client card."""
    subject = {
        k: v
        for k, v in (("contact", contact), ("company", company), ("deal", deal))
        if v is not None
    }
    qs = followup_list_rows(user=user).filter(status=FollowupStatus.OPEN, **subject)
    return list(qs.order_by("due_at", "id")[:limit])


MY_DAY_SECTIONS = ("callbacks", "overdue", "due_today", "upcoming")


def my_day_window(*, user, now: datetime | None = None, day: date | None = None) -> dict[str, Any]:
    """The day My day shows and its bounds, in the user's time zone."""
    now = now or timezone.now()
    tz = user_timezone(user)
    today = timezone.localtime(now, tz).date()
    day = day or today
    start, end = day_bounds(day, tz)
    upcoming_end = datetime.combine(day + timedelta(days=UPCOMING_DAYS + 1), time.min, tzinfo=tz)
    return {
        "now": now,
        "tz": tz,
        "today": today,
        "day": day,
        "start": start,
        "end": end,
        "past_cut": min(start, now),
        "upcoming_end": upcoming_end,
    }


def _sla_deadline() -> Subquery:
    """The first-response SLA deadline of a task made by intake (None for other tasks).
    Intake builds on follow-ups, not the reverse: imported here, read-only."""
    from svyaz.intake.models import LeadIntake

    return Subquery(
        LeadIntake.objects.filter(first_response=OuterRef("pk")).values("sla_due_at")[:1]
    )


def _sla_lead() -> Subquery:
    """The lead a first-response task answers (None for other tasks): My day links to it."""
    from svyaz.intake.models import LeadIntake

    return Subquery(LeadIntake.objects.filter(first_response=OuterRef("pk")).values("lead_id")[:1])


def _my_day_querysets(
    *, user, window: dict[str, Any], fields: tuple[str, ...] | None = None
) -> dict[str, QuerySet[Followup]]:
    """The four disjoint sections of My day, ordered, not yet sliced; `fields` limits
    the columns read (`MY_DAY_ROW_FIELDS`)."""
    start, end, past_cut = window["start"], window["end"], window["past_cut"]
    open_rows = (
        followup_list(user=user)
        .filter(assignee_id=user.pk, status=FollowupStatus.OPEN)
        .select_related("contact", "company", "deal")
        .annotate(sla_due_at=_sla_deadline(), sla_lead_id=_sla_lead())
        .order_by("due_at", "id")
    )
    if fields:
        open_rows = open_rows.only(*fields)
    tasks = open_rows.exclude(kind=FollowupKind.CALLBACK)
    return {
        "callbacks": open_rows.filter(kind=FollowupKind.CALLBACK).filter(
            Q(due_at__gte=start, due_at__lt=end) | Q(due_at__lt=past_cut)
        ),
        "overdue": tasks.filter(due_at__lt=past_cut),
        "due_today": tasks.filter(due_at__gte=start, due_at__lt=end),
        "upcoming": open_rows.filter(due_at__gte=end, due_at__lt=window["upcoming_end"]),
    }


def _flag(rows: list[Followup], now: datetime) -> list[Followup]:
    for row in rows:
        # A first-response task is late once its SLA has passed, whatever its due time.
        row.overdue_now = row.due_at < now or (row.sla_due_at is not None and row.sla_due_at < now)
    return rows


def my_day(
    *,
    user,
    now: datetime | None = None,
    day: date | None = None,
    limit: int = MY_DAY_SECTION_LIMIT,
    limits: dict[str, int] | None = None,
    fields: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The user's day: their own open follow-ups, in their time zone.

    Sections are disjoint, so a row shows once:
    - callbacks: open callbacks due that day, or overdue;
    - overdue: other open tasks due before that day and before now;
    - due_today: other open tasks due that day (rows already past due are flagged);
    - upcoming: open follow-ups of any type due in the 7 days after that day.
    Each section holds its first `limit` rows (`limits` may raise it per section; `fields`
    limits the columns read, see `MY_DAY_ROW_FIELDS`);
    `section_totals` counts each section's rows, and `my_day_section` reads further pages.
    Rows carry `overdue_now` and `sla_due_at` (the first-response deadline, or None).
    Counts: `due_today` is every open follow-up due that day, `overdue` every open one past
    its due time, `callbacks` the callbacks section, `done_today` completed that day,
    `calls_today` calls the user logged that day.
    A constant number of queries, whatever the number of tasks."""
    from svyaz.activities.models import Activity, ActivityKind

    window = my_day_window(user=user, now=now, day=day)
    now, start, end = window["now"], window["start"], window["end"]
    past_cut, upcoming_end = window["past_cut"], window["upcoming_end"]
    sections = _my_day_querysets(user=user, window=window, fields=fields)
    limits = limits or {}
    rows = {
        name: _flag(list(qs[: max(limit, limits.get(name, 0))]), now)
        for name, qs in sections.items()
    }

    mine = followup_list(user=user).filter(assignee_id=user.pk)
    is_open = Q(status=FollowupStatus.OPEN)
    is_task = ~Q(kind=FollowupKind.CALLBACK)
    in_day = Q(due_at__gte=start, due_at__lt=end)
    counts = mine.aggregate(
        due_today=Count("pk", filter=is_open & in_day),
        overdue=Count("pk", filter=is_open & Q(due_at__lt=now)),
        callbacks=Count(
            "pk",
            filter=is_open & Q(kind=FollowupKind.CALLBACK) & (in_day | Q(due_at__lt=past_cut)),
        ),
        upcoming=Count("pk", filter=is_open & Q(due_at__gte=end, due_at__lt=upcoming_end)),
        done_today=Count(
            "pk",
            filter=Q(status=FollowupStatus.DONE, completed_at__gte=start, completed_at__lt=end),
        ),
        # Section sizes the counters above don't give (same query).
        overdue_tasks=Count("pk", filter=is_open & is_task & Q(due_at__lt=past_cut)),
        due_today_tasks=Count("pk", filter=is_open & is_task & in_day),
    )
    section_totals = {
        "callbacks": counts["callbacks"],
        "overdue": counts.pop("overdue_tasks"),
        "due_today": counts.pop("due_today_tasks"),
        "upcoming": counts["upcoming"],
    }
    counts["calls_today"] = visible_to(
        user,
        Activity.objects.filter(
            owner_id=user.pk, kind=ActivityKind.CALL, occurred_at__gte=start, occurred_at__lt=end
        ),
    ).count()
    return {
        "day": window["day"],
        "today": window["today"],
        "start": start,
        "end": end,
        "now": now,
        "tz": window["tz"],
        **rows,
        "counts": counts,
        "section_totals": section_totals,
    }


def my_day_section(
    *,
    user,
    section: str,
    after: tuple[datetime, int] | None,
    limit: int,
    now: datetime | None = None,
    day: date | None = None,
    fields: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The next rows of a My day section (`section` in MY_DAY_SECTIONS) after the row
    (due_at, id) last shown — keyset, so rows completed meanwhile shift nothing — and
    how many rows are `left` after them. Two queries at most."""
    window = my_day_window(user=user, now=now, day=day)
    qs = _my_day_querysets(user=user, window=window, fields=fields)[section]
    if after is not None:
        due, pk = after
        qs = qs.filter(Q(due_at__gt=due) | Q(due_at=due, pk__gt=pk))
    rows = _flag(list(qs[:limit]), window["now"])
    left = qs.count() - len(rows) if len(rows) == limit else 0
    return {**window, "rows": rows, "left": left}


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_list(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")
