"""Every read of follow-ups and notifications, scoped to what the user may see.

A user always sees the tasks assigned to them, whoever owns them
(`extra_owner_fields=("assignee",)`)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet
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


# --- My day in one statement -------------------------------------------------------------
# My day is the landing page: a busy manager opens it all day long (issue #6). Its rows and
# counters come from one statement written here around the WHERE clauses the scoping layer
# builds (`visible_to`), instead of eight ORM queries: building and compiling those cost
# more CPU than the database took to answer them, and each was a round trip. The SQL runs
# on PostgreSQL and SQLite; table and column names are fixed, every value goes in as a
# parameter (hence the noqa S608 below).

_T = '"followups_followup"'


class DayRow:
    """A My day row as the page shows it: the task's own columns, the names of its
    contact, company and deal, and the first-response deadline of intake's tasks
    (`sla_due_at`, `sla_lead_id`; None for other tasks)."""

    __slots__ = (
        "pk",
        "kind",
        "title",
        "description",
        "due_at",
        "priority",
        "contact_id",
        "company_id",
        "deal_id",
        "contact_name",
        "company_name",
        "deal_title",
        "sla_due_at",
        "sla_lead_id",
        "overdue_now",
        "row_error",
        "html",
    )

    def __init__(self, **values):
        self.row_error = ""
        self.html = ""
        for name, value in values.items():
            setattr(self, name, value)

    @property
    def id(self) -> int:
        return self.pk

    @classmethod
    def from_record(cls, rec, now: datetime) -> DayRow:
        """From the columns of `_ROW_SELECT` (after the section number)."""
        due_at, sla_due_at = _aware(rec[4]), _aware(rec[12])
        row = cls.__new__(cls)
        row.pk, row.kind, row.title, row.description = rec[0], rec[1], rec[2], rec[3]
        row.due_at, row.priority = due_at, rec[5]
        row.contact_id, row.company_id, row.deal_id = rec[6], rec[7], rec[8]
        row.contact_name = (rec[9] or "—") if rec[6] else ""  # Contact.__str__
        row.company_name = (rec[10] or "") if rec[7] else ""
        row.deal_title = (rec[11] or "") if rec[8] else ""
        row.sla_due_at, row.sla_lead_id = sla_due_at, rec[13]
        # A first-response task is late once its SLA has passed, whatever its due time.
        row.overdue_now = due_at < now or (sla_due_at is not None and sla_due_at < now)
        row.row_error = row.html = ""
        return row

    @classmethod
    def from_followup(cls, followup: Followup) -> DayRow:
        """A task read by the ORM (with its contact, company and deal), no SLA columns."""
        return cls(
            pk=followup.pk,
            kind=followup.kind,
            title=followup.title,
            description=followup.description,
            due_at=followup.due_at,
            priority=followup.priority,
            contact_id=followup.contact_id,
            company_id=followup.company_id,
            deal_id=followup.deal_id,
            contact_name=str(followup.contact) if followup.contact_id else "",
            company_name=str(followup.company) if followup.company_id else "",
            deal_title=str(followup.deal) if followup.deal_id else "",
            sla_due_at=None,
            sla_lead_id=None,
            overdue_now=getattr(followup, "overdue_now", followup.is_overdue),
            row_error=getattr(followup, "row_error", ""),
        )


def _where(qs: QuerySet) -> tuple[str, list] | None:
    """The WHERE clause the ORM builds for `qs` (soft delete, scope, filters) as SQL on the
    model's own table, to write a statement around; None when `qs` matches nothing (no
    right to see it). A filter that needs a join becomes `id IN (…)`."""
    connection = connections[qs.db]
    query = qs.query
    try:
        if any(query.alias_refcount[alias] for alias in list(query.alias_map)[1:]):
            sql, params = qs.order_by().values("pk").query.sql_with_params()
            qn = connection.ops.quote_name
            meta = qs.model._meta
            return f"{qn(meta.db_table)}.{qn(meta.pk.column)} IN ({sql})", list(params)
        sql, params = query.get_compiler(connection=connection).compile(query.where)
    except EmptyResultSet:
        return None
    except FullResultSet:
        return "1 = 1", []
    return sql or "1 = 1", list(params)


def _aware(value):
    """A timestamp read by a raw statement: PostgreSQL gives aware datetimes, SQLite
    gives text or naive datetimes in UTC."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


class _Day:
    """The pieces of My day's statement for one user and window."""

    def __init__(self, user, window: dict[str, Any]):
        mine = followup_list(user=user).filter(assignee_id=user.pk)
        self.user = user
        self.window = window
        self.connection = connections[mine.db]
        self.now = window["now"]
        self.scope = _where(mine)  # None: no right to see tasks
        adapt = self.connection.ops.adapt_datetimefield_value
        p = {k: adapt(window[k]) for k in ("now", "start", "end", "past_cut", "upcoming_end")}
        # No counter reads an open follow-up due after this.
        p["cutoff"] = adapt(max(window["upcoming_end"], window["now"]))
        self.p = p
        in_day = f"{_T}.due_at >= %s AND {_T}.due_at < %s"
        callback = FollowupKind.CALLBACK.value
        # Each section's condition on the user's open follow-ups: disjoint, so a row
        # shows once.
        self.sections = {
            # Callbacks due that day, or overdue.
            "callbacks": (
                f"{_T}.kind = %s AND (({in_day}) OR {_T}.due_at < %s)",
                [callback, p["start"], p["end"], p["past_cut"]],
            ),
            # Other tasks due before that day and before now.
            "overdue": (f"{_T}.kind <> %s AND {_T}.due_at < %s", [callback, p["past_cut"]]),
            # Other tasks due that day (rows already past due are flagged).
            "due_today": (f"{_T}.kind <> %s AND {in_day}", [callback, p["start"], p["end"]]),
            # Follow-ups of any type due in the UPCOMING_DAYS days after that day.
            "upcoming": (
                f"{_T}.due_at >= %s AND {_T}.due_at < %s",
                [p["end"], p["upcoming_end"]],
            ),
        }

    # The counters, in this order (`section:<name>`: each section's size).
    COUNTS = (
        "due_today",
        "overdue",
        *(f"section:{name}" for name in MY_DAY_SECTIONS),
        "done_today",
        "calls_today",
    )

    def calls(self) -> QuerySet:
        """The calls the user logged that day."""
        from svyaz.activities.models import Activity, ActivityKind

        return visible_to(
            self.user,
            Activity.objects.filter(
                owner_id=self.user.pk,
                kind=ActivityKind.CALL,
                occurred_at__gte=self.window["start"],
                occurred_at__lt=self.window["end"],
            ),
        )

    def counts_sql(self) -> tuple[str, list]:
        """One row: the counters, each section's size and the calls logged that day (a
        subquery on activities, scoped the same way). Reads the user's open follow-ups
        due before the end of the upcoming days (or before now) and those done that day."""
        p = self.p
        is_open = f"{_T}.status = %s"
        open_, done = FollowupStatus.OPEN.value, FollowupStatus.DONE.value
        done_today = f"{_T}.status = %s AND {_T}.completed_at >= %s AND {_T}.completed_at < %s"
        columns = [
            # Due that day and past due (any type; the second one compared with now).
            (
                f"{is_open} AND {_T}.due_at >= %s AND {_T}.due_at < %s",
                [open_, p["start"], p["end"]],
            ),
            (f"{is_open} AND {_T}.due_at < %s", [open_, p["now"]]),
            *(
                (f"{is_open} AND ({sql})", [open_, *params])
                for sql, params in self.sections.values()
            ),
            (done_today, [done, p["start"], p["end"]]),
        ]
        select, params = [], []
        for number, (condition, condition_params) in enumerate(columns):
            select.append(f"COUNT(CASE WHEN {condition} THEN 1 END) AS k{number}")
            params += condition_params
        calls = _where(self.calls())
        if calls is None:
            select.append("0 AS calls")
        else:
            calls_sql, calls_params = calls
            calls_sql = f'(SELECT COUNT(*) FROM "activities_activity" WHERE {calls_sql})'  # noqa: S608
            select.append(f"{calls_sql} AS calls")
            params += calls_params
        scope_sql, scope_params = self.scope
        sql = (
            f"SELECT {', '.join(select)} FROM {_T} WHERE {scope_sql} "  # noqa: S608
            f"AND (({is_open} AND {_T}.due_at < %s) OR ({done_today}))"
        )
        return sql, [*params, *scope_params, open_, p["cutoff"], done, p["start"], p["end"]]

    def rows_sql(
        self,
        limits: dict[str, int],
        *,
        after: tuple[datetime, int] | None = None,
        with_total: bool = False,
    ) -> tuple[str, list]:
        """The first `limits[name]` open follow-ups of each section in (due, id) order —
        each one an index range walk that stops at its limit — with their contact,
        company and deal names and first-response deadline (joined for those rows only).
        `after`: the (due, id) to read on from; `with_total`: `total` is the number of
        rows of the section after it (all of them are read then), else NULL.
        Columns: section number, `DayRow.from_record`'s, total."""
        scope_sql, scope_params = self.scope
        keyset, keyset_params = "", []
        if after is not None:
            due = self.connection.ops.adapt_datetimefield_value(after[0])
            keyset = f" AND ({_T}.due_at > %s OR ({_T}.due_at = %s AND {_T}.id > %s))"
            keyset_params = [due, due, after[1]]
        total = "COUNT(*) OVER ()" if with_total else "NULL"
        branches, params = [], []
        for number, name in enumerate(MY_DAY_SECTIONS):
            if limits.get(name, 0) <= 0:
                continue
            condition, condition_params = self.sections[name]
            branches.append(
                f"SELECT * FROM (SELECT {number} AS section, id, kind, title, description, "  # noqa: S608
                f"due_at, priority, contact_id, company_id, deal_id, {total} AS total "
                f"FROM {_T} WHERE {scope_sql} AND {_T}.status = %s AND ({condition}){keyset} "
                f"ORDER BY {_T}.due_at, {_T}.id LIMIT {int(limits[name])}) AS s{number}"
            )
            params += [*scope_params, FollowupStatus.OPEN.value, *condition_params, *keyset_params]
        sla = '(SELECT i.{} FROM "intake_leadintake" i WHERE i.first_response_id = r.id LIMIT 1)'
        sql = (
            "SELECT r.section, r.id, r.kind, r.title, r.description, r.due_at, r.priority, "  # noqa: S608
            "r.contact_id, r.company_id, r.deal_id, c.full_name, co.name AS company_name, "
            f"d.title AS deal_title, {sla.format('sla_due_at')} AS sla_due_at, "
            f"{sla.format('lead_id')} AS sla_lead_id, r.total "
            f"FROM ({' UNION ALL '.join(branches)}) AS r "
            'LEFT JOIN "contacts_contact" c ON c.id = r.contact_id '
            'LEFT JOIN "contacts_company" co ON co.id = r.company_id '
            'LEFT JOIN "sales_deal" d ON d.id = r.deal_id'
        )
        return sql, params

    def fetch(self, sql: str, params: list) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def my_day(
    *,
    user,
    now: datetime | None = None,
    day: date | None = None,
    limit: int = MY_DAY_SECTION_LIMIT,
    limits: dict[str, int] | None = None,
    light: bool = False,
) -> dict[str, Any]:
    """The user's day: their own open follow-ups, in their time zone.

    Sections are disjoint, so a row shows once:
    - callbacks: open callbacks due that day, or overdue;
    - overdue: other open tasks due before that day and before now;
    - due_today: other open tasks due that day (rows already past due are flagged);
    - upcoming: open follow-ups of any type due in the 7 days after that day.
    Each section holds its first `limit` rows (`limits` may raise it per section);
    `section_totals` counts each section's rows, and `my_day_section` reads further pages.
    Rows are Followup instances with their contact, company, deal and assignee, or, with
    `light`, `DayRow`s (what the page shows). Both carry `overdue_now`, `sla_due_at` (the
    first-response deadline, or None) and `sla_lead_id`.
    Counts: `due_today` is every open follow-up due that day, `overdue` every open one past
    its due time, `callbacks` the callbacks section, `done_today` completed that day,
    `calls_today` calls the user logged that day.
    One query with `light` (the rows and counts together; the whole records are a second
    one), whatever the number of tasks."""
    window = my_day_window(user=user, now=now, day=day)
    q = _Day(user, window)
    sizes = {name: max(limit, (limits or {}).get(name, 0)) for name in MY_DAY_SECTIONS}
    rows: dict[str, list] = {name: [] for name in MY_DAY_SECTIONS}
    if q.scope is None:  # no right to see tasks at all
        totals = dict.fromkeys(q.COUNTS, 0)
        totals["calls_today"] = q.calls().count()
    elif not any(sizes.values()):  # only the counters
        totals = dict(zip(q.COUNTS, q.fetch(*q.counts_sql())[0], strict=True))
    else:
        # The counters' row joined to each row (alone when there are no rows).
        counts_sql, counts_params = q.counts_sql()
        rows_sql, rows_params = q.rows_sql(sizes)
        records = q.fetch(
            f"SELECT * FROM ({counts_sql}) AS k LEFT JOIN ({rows_sql}) AS r ON 1 = 1 "  # noqa: S608
            "ORDER BY r.section, r.due_at, r.id",
            [*counts_params, *rows_params],
        )
        n = len(q.COUNTS)
        totals = dict(zip(q.COUNTS, records[0][:n], strict=True))
        for rec in records:
            if rec[n] is not None:
                rows[MY_DAY_SECTIONS[rec[n]]].append(DayRow.from_record(rec[n + 1 :], q.now))
    if not light and any(rows.values()):
        rows = _full_rows(user, rows)
    return {
        "day": window["day"],
        "today": window["today"],
        "start": window["start"],
        "end": window["end"],
        "now": window["now"],
        "tz": window["tz"],
        **rows,
        "counts": {
            "due_today": totals["due_today"],
            "overdue": totals["overdue"],
            "callbacks": totals["section:callbacks"],
            "upcoming": totals["section:upcoming"],
            "done_today": totals["done_today"],
            "calls_today": totals["calls_today"],
        },
        "section_totals": {name: totals[f"section:{name}"] for name in MY_DAY_SECTIONS},
    }


def _full_rows(user, rows: dict[str, list[DayRow]]) -> dict[str, list[Followup]]:
    """The same rows as Followup instances (the API serializes whole records), with
    their contact, company, deal and assignee: one query for all sections."""
    ids = [row.pk for section in rows.values() for row in section]
    found = {f.pk: f for f in followup_list_rows(user=user).filter(pk__in=ids)}
    full: dict[str, list[Followup]] = {}
    for name, section in rows.items():
        full[name] = []
        for row in section:
            followup = found.get(row.pk)
            if followup is None:  # deleted in between
                continue
            followup.sla_due_at = row.sla_due_at
            followup.sla_lead_id = row.sla_lead_id
            followup.overdue_now = row.overdue_now
            full[name].append(followup)
    return full


def my_day_section(
    *,
    user,
    section: str,
    after: tuple[datetime, int] | None,
    limit: int,
    now: datetime | None = None,
    day: date | None = None,
) -> dict[str, Any]:
    """The next `DayRow`s of a My day section (`section` in MY_DAY_SECTIONS) after the row
    (due_at, id) last shown — keyset, so rows completed meanwhile shift nothing — and
    how many rows are `left` after them. One query."""
    window = my_day_window(user=user, now=now, day=day)
    q = _Day(user, window)
    if q.scope is None:
        return {**window, "rows": [], "left": 0}
    sql, params = q.rows_sql({section: limit}, after=after, with_total=True)
    records = q.fetch(f"{sql} ORDER BY r.due_at, r.id", params)
    rows = [DayRow.from_record(rec[1:], q.now) for rec in records]
    left = records[0][-1] - len(rows) if len(rows) == limit else 0
    return {**window, "rows": rows, "left": left}


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_list(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")
