"""Every read of follow-ups and notifications, scoped to what the user may see.

A user always sees the tasks assigned to them, whoever owns them
(`extra_owner_fields=("assignee",)`)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from svyaz.core.scoping import get_visible, visible_to
from svyaz.followups.models import Followup, FollowupKind, FollowupStatus, Notification

MY_DAY_SECTION_LIMIT = 100
UPCOMING_DAYS = 7


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


def my_day(*, user, now: datetime | None = None, day: date | None = None) -> dict[str, Any]:
    """The user's day: their own open follow-ups, in their time zone.

    Sections are disjoint, so a row shows once:
    - callbacks: open callbacks due that day, or overdue;
    - overdue: other open tasks due before that day and before now;
    - due_today: other open tasks due that day (rows already past due are flagged);
    - upcoming: open follow-ups of any type due in the 7 days after that day.
    Counts: `due_today` is every open follow-up due that day, `overdue` every open one past
    its due time, `callbacks` the callbacks section, `done_today` completed that day,
    `calls_today` calls the user logged that day.
    A constant number of queries, whatever the number of tasks."""
    from svyaz.activities.models import Activity, ActivityKind

    now = now or timezone.now()
    tz = user_timezone(user)
    day = day or timezone.localtime(now, tz).date()
    start, end = day_bounds(day, tz)
    past_cut = min(start, now)
    mine = followup_list(user=user).filter(assignee_id=user.pk)
    open_rows = mine.filter(status=FollowupStatus.OPEN).select_related("contact", "company", "deal")
    limit = MY_DAY_SECTION_LIMIT

    callbacks = list(
        open_rows.filter(kind=FollowupKind.CALLBACK)
        .filter(Q(due_at__gte=start, due_at__lt=end) | Q(due_at__lt=past_cut))
        .order_by("due_at", "id")[:limit]
    )
    tasks = open_rows.exclude(kind=FollowupKind.CALLBACK)
    overdue = list(tasks.filter(due_at__lt=past_cut).order_by("due_at", "id")[:limit])
    due_today = list(
        tasks.filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id")[:limit]
    )
    upcoming_end = datetime.combine(day + timedelta(days=UPCOMING_DAYS + 1), time.min, tzinfo=tz)
    upcoming = list(
        open_rows.filter(due_at__gte=end, due_at__lt=upcoming_end).order_by("due_at", "id")[:limit]
    )

    is_open = Q(status=FollowupStatus.OPEN)
    counts = mine.aggregate(
        due_today=Count("pk", filter=is_open & Q(due_at__gte=start, due_at__lt=end)),
        overdue=Count("pk", filter=is_open & Q(due_at__lt=now)),
        callbacks=Count(
            "pk",
            filter=is_open
            & Q(kind=FollowupKind.CALLBACK)
            & (Q(due_at__gte=start, due_at__lt=end) | Q(due_at__lt=past_cut)),
        ),
        upcoming=Count("pk", filter=is_open & Q(due_at__gte=end, due_at__lt=upcoming_end)),
        done_today=Count(
            "pk",
            filter=Q(status=FollowupStatus.DONE, completed_at__gte=start, completed_at__lt=end),
        ),
    )
    counts["calls_today"] = visible_to(
        user,
        Activity.objects.filter(
            owner_id=user.pk, kind=ActivityKind.CALL, occurred_at__gte=start, occurred_at__lt=end
        ),
    ).count()
    for rows in (callbacks, overdue, due_today, upcoming):
        for row in rows:
            row.overdue_now = row.due_at < now
    return {
        "day": day,
        "today": timezone.localtime(now, tz).date(),
        "start": start,
        "end": end,
        "now": now,
        "tz": tz,
        "callbacks": callbacks,
        "overdue": overdue,
        "due_today": due_today,
        "upcoming": upcoming,
        "counts": counts,
    }


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_list(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")
