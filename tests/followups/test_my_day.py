from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from svyaz.activities.services import activity_log
from svyaz.followups import services
from svyaz.followups.selectors import my_day
from tests.followups.conftest import msk

NOW = msk(2026, 3, 10, 15, 0)  # Tuesday 15:00 in Moscow
VLAD = zoneinfo.ZoneInfo("Asia/Vladivostok")


def _ids(rows):
    return {r.pk for r in rows}


def test_it_sorts_tasks_into_due_today_overdue_and_tomorrow(manager, contact, make_task):
    late_today = make_task(title="Morning", due_at=msk(2026, 3, 10, 9))
    later_today = make_task(title="Evening", due_at=msk(2026, 3, 10, 18))
    yesterday = make_task(title="Yesterday", due_at=msk(2026, 3, 9, 12))
    tomorrow = make_task(title="Tomorrow", due_at=msk(2026, 3, 11, 10))
    callback = make_task(
        title="Call back", kind="callback", contact=contact, due_at=msk(2026, 3, 10, 16)
    )
    old_callback = make_task(
        title="Old callback", kind="callback", contact=contact, due_at=msk(2026, 3, 1, 16)
    )
    done = make_task(title="Done", due_at=msk(2026, 3, 10, 8))
    services.followup_complete(actor=manager, followup=done)

    day = my_day(user=manager, now=NOW)
    assert day["day"] == date(2026, 3, 10)
    assert _ids(day["due_today"]) == {late_today.pk, later_today.pk}
    assert _ids(day["overdue"]) == {yesterday.pk}
    assert _ids(day["callbacks"]) == {callback.pk, old_callback.pk}
    assert _ids(day["upcoming"]) == {tomorrow.pk}
    flags = {r.title: r.overdue_now for r in day["due_today"]}
    assert flags == {"Morning": True, "Evening": False}
    counts = day["counts"]
    assert counts["due_today"] == 3  # Morning, Evening and today's callback
    assert counts["overdue"] == 3  # Morning, Yesterday, the old callback
    assert counts["callbacks"] == 2
    assert counts["upcoming"] == 1


def test_it_shows_tomorrows_callbacks_on_tomorrows_page(manager, contact):
    activity_log(
        actor=manager,
        kind="call",
        direction="out",
        contact=contact,
        outcome="callback",
        occurred_at=NOW,
        callback_at=msk(2026, 3, 11, 10),
    )
    today = my_day(user=manager, now=NOW)
    assert not today["callbacks"]
    tomorrow = my_day(user=manager, now=NOW, day=date(2026, 3, 11))
    assert [r.title for r in tomorrow["callbacks"]] == ["Call back: Ivan Petrov"]
    assert not tomorrow["callbacks"][0].overdue_now
    # The clock moves past the callback: it is flagged overdue.
    later = my_day(user=manager, now=msk(2026, 3, 11, 12))
    assert later["callbacks"][0].overdue_now
    assert later["counts"]["overdue"] == 1


def test_it_counts_calls_and_done_tasks_of_the_day(manager, contact, make_task):
    activity_log(
        actor=manager,
        kind="call",
        direction="out",
        contact=contact,
        occurred_at=msk(2026, 3, 10, 9),
    )
    activity_log(
        actor=manager, kind="call", direction="in", contact=contact, occurred_at=msk(2026, 3, 9, 9)
    )
    activity_log(actor=manager, kind="note", contact=contact, occurred_at=msk(2026, 3, 10, 9))
    task = make_task(due_at=msk(2026, 3, 10, 9))
    import time_machine

    with time_machine.travel(msk(2026, 3, 10, 10), tick=False):
        services.followup_complete(actor=manager, followup=task)
    counts = my_day(user=manager, now=NOW)["counts"]
    assert counts["calls_today"] == 1
    assert counts["done_today"] == 1


@pytest.mark.parametrize(
    ("tzname", "expected"),
    [
        # 2026-03-10 23:30 in Moscow is already 2026-03-11 06:30 in Vladivostok.
        ("Europe/Moscow", "today"),
        ("Asia/Vladivostok", "tomorrow"),
    ],
)
def test_it_uses_the_users_time_zone_for_the_day(manager, make_task, tzname, expected):
    manager.timezone = tzname
    manager.save()
    task = make_task(due_at=msk(2026, 3, 10, 23, 30))
    now = msk(2026, 3, 10, 20, 0)  # Vladivostok: 03:00 on the 11th
    day = my_day(user=manager, now=now)
    if expected == "today":
        assert day["day"] == date(2026, 3, 10)
        assert _ids(day["due_today"]) == {task.pk}
    else:
        assert day["day"] == date(2026, 3, 11)
        # The task is due at 06:30 on the 11th in Vladivostok: today there.
        assert _ids(day["due_today"]) == {task.pk}
        assert day["start"] == datetime(2026, 3, 11, tzinfo=VLAD)


def test_it_puts_a_midnight_task_on_the_right_side_of_the_boundary(manager, make_task):
    manager.timezone = "Asia/Vladivostok"
    manager.save()
    # 00:00 on the 11th in Vladivostok = 17:00 on the 10th in Moscow.
    at_midnight = make_task(title="Midnight", due_at=datetime(2026, 3, 11, 0, 0, tzinfo=VLAD))
    before = make_task(title="Before", due_at=datetime(2026, 3, 10, 23, 59, tzinfo=VLAD))
    day = my_day(user=manager, now=datetime(2026, 3, 10, 12, 0, tzinfo=VLAD))
    assert _ids(day["due_today"]) == {before.pk}
    assert _ids(day["upcoming"]) == {at_midnight.pk}


def test_it_shows_only_the_users_own_tasks(manager, head, teammate, make_task):
    make_task(actor=head, assignee=teammate, due_at=msk(2026, 3, 10, 12))
    mine = make_task(actor=head, assignee=manager, due_at=msk(2026, 3, 10, 12))
    assert _ids(my_day(user=manager, now=NOW)["due_today"]) == {mine.pk}
    assert not my_day(user=head, now=NOW)["due_today"]  # the head sees them, but they are not his


def _queries(user, *, light: bool = False) -> int:
    with CaptureQueriesContext(connection) as ctx:
        day = my_day(user=user, now=NOW, light=light)
        for name in ("callbacks", "overdue", "due_today", "upcoming"):
            for row in day[name]:
                if light:
                    _ = (row.contact_name, row.deal_title, row.company_name, row.sla_due_at)
                else:
                    str(row.contact), str(row.deal), str(row.company), str(row.assignee)
    return len(ctx.captured_queries)


def test_it_takes_the_same_number_of_queries_for_1_and_30_tasks(manager, contact, deal, make_task):
    make_task(contact=contact, due_at=msk(2026, 3, 10, 12))
    one, one_light = _queries(manager), _queries(manager, light=True)
    for i in range(30):
        make_task(
            title=f"T{i}",
            contact=contact,
            deal=deal,
            kind="callback" if i % 3 else "task",
            due_at=NOW + timedelta(hours=i - 15),
        )
    # The sections' rows with the counters (one statement), the whole records (not when light).
    assert _queries(manager) == one == 2
    assert _queries(manager, light=True) == one_light == 1


def test_a_user_who_may_not_see_tasks_gets_an_empty_day(manager, make_task, client):
    from tests.factories import UserFactory

    nobody = UserFactory(roles=[], department=manager.department)
    make_task(assignee=nobody, due_at=msk(2026, 3, 10, 12))
    day = my_day(user=nobody, now=NOW, light=True)
    assert not any(day[name] for name in ("callbacks", "overdue", "due_today", "upcoming"))
    assert set(day["counts"].values()) == {0}
    client.force_login(nobody)
    assert client.get("/tasks/my-day/").status_code == 200


def test_a_superusers_day_is_their_own_tasks(admin, manager, make_task):
    mine = make_task(actor=admin, assignee=admin, due_at=msk(2026, 3, 10, 12))
    make_task(actor=manager, due_at=msk(2026, 3, 10, 12))
    day = my_day(user=admin, now=NOW, light=True)
    assert [row.pk for row in day["due_today"]] == [mine.pk]
    assert day["counts"]["due_today"] == 1


def test_the_where_clause_of_a_filter_with_a_join_still_selects_the_same_rows(
    manager, contact, make_task
):
    from svyaz.followups.models import Followup
    from svyaz.followups.selectors import _where

    make_task(contact=contact)
    make_task()
    for qs in (
        Followup.objects.filter(contact__owner_id=manager.pk),  # a join: id IN (…)
        Followup.objects.filter(assignee_id=manager.pk),
        Followup.objects.all(),
    ):
        sql, params = _where(qs)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT COUNT(*) FROM "followups_followup" WHERE {sql}', params)  # noqa: S608
            assert cursor.fetchone()[0] == qs.count()
    assert _where(Followup.objects.none()) is None
