from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import datetime

import pytest
import time_machine

from svyaz.followups.services import followup_create
from svyaz.intake.models import RoutingGroup, RoutingMember
from svyaz.intake.routing import in_working_hours, route_assign
from svyaz.sales.services import lead_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MSK = zoneinfo.ZoneInfo("Europe/Moscow")
WEEKDAYS_9_18 = [[d, "09:00", "18:00"] for d in range(5)]


@pytest.fixture
def desk(sales_dept):
    users = [UserFactory(department=sales_dept) for _ in range(4)]
    group = RoutingGroup.objects.create(name="Desk")
    for i, u in enumerate(users):
        RoutingMember.objects.create(group=group, user=u, position=i)
    return group, users


@pytest.mark.parametrize("n", [1, 7, 13, 40])
def test_round_robin_spreads_leads_within_one(desk, n):
    group, users = desk
    counts = Counter(route_assign(channel="web", source="web_form").pk for _ in range(n))
    spread = [counts.get(u.pk, 0) for u in users]
    assert sum(spread) == n
    assert max(spread) - min(spread) <= 1


def test_rules_match_on_channel_and_source(desk, manager, teammate):
    group, users = desk
    group.position = 5
    group.save()
    phones = RoutingGroup.objects.create(name="Phones", position=1, channels=["phone"])
    RoutingMember.objects.create(group=phones, user=manager)
    partners = RoutingGroup.objects.create(
        name="Referrals", position=0, channels=["web"], sources=["referral"]
    )
    RoutingMember.objects.create(group=partners, user=teammate)
    assert route_assign(channel="phone", source="call") == manager
    assert route_assign(channel="web", source="referral") == teammate
    assert route_assign(channel="web", source="web_form") in users


def test_working_hours_are_respected(desk, manager):
    group, users = desk
    early, late = users[0], users[1]
    RoutingMember.objects.filter(user=early).update(working_hours=[[0, "08:00", "12:00"]])
    RoutingMember.objects.filter(user=late).update(working_hours=[[0, "12:00", "20:00"]])
    RoutingMember.objects.filter(user__in=users[2:]).delete()
    group.fallback_user = manager
    group.working_hours = WEEKDAYS_9_18
    group.save()
    monday_morning = datetime(2026, 3, 9, 9, 30, tzinfo=MSK)
    with time_machine.travel(monday_morning, tick=False):
        assert {route_assign(channel="web", source="") for _ in range(3)} == {early}
    with time_machine.travel(datetime(2026, 3, 9, 15, 0, tzinfo=MSK), tick=False):
        assert {route_assign(channel="web", source="") for _ in range(3)} == {late}
    # Nobody on duty on Sunday night: the group's fallback user.
    with time_machine.travel(datetime(2026, 3, 8, 23, 0, tzinfo=MSK), tick=False):
        assert route_assign(channel="web", source="") == manager


def test_without_a_fallback_nobody_on_duty_still_gets_a_manager(desk):
    group, users = desk
    group.working_hours = WEEKDAYS_9_18
    group.save()
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=MSK)
    assert route_assign(channel="web", source="", now=sunday) in users


def test_night_shift_windows_cross_midnight():
    windows = [[0, "22:00", "06:00"]]
    assert in_working_hours(windows, datetime(2026, 3, 9, 23, 0, tzinfo=MSK))  # Monday
    assert in_working_hours(windows, datetime(2026, 3, 10, 5, 0, tzinfo=MSK))  # Tuesday early
    assert not in_working_hours(windows, datetime(2026, 3, 10, 7, 0, tzinfo=MSK))


def test_least_loaded_picks_the_least_loaded(desk):
    group, users = desk
    group.strategy = "least_loaded"
    group.save()
    loads = {users[0]: 3, users[1]: 1, users[2]: 0, users[3]: 2}
    for user, n in loads.items():
        for i in range(n):
            lead_create(actor=user, title=f"lead {i}")
    followup_create(
        actor=users[2],
        title="busy",
        due_at=datetime(2026, 3, 9, 12, tzinfo=MSK),
    )
    followup_create(actor=users[2], title="busier", due_at=datetime(2026, 3, 9, 13, tzinfo=MSK))
    # users[1]: 1 open lead; users[2]: 2 open follow-ups.
    assert route_assign(channel="web", source="") == users[1]


def test_no_rule_falls_back_to_an_administrator(admin, manager):
    assert route_assign(channel="email", source="") == admin


@pytest.mark.django_db(transaction=True)
def test_concurrent_assignments_take_distinct_turns(sales_dept):
    """Eight threads assign at once: the rule's row lock serializes the cursor."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serializes writers anyway)")
    users = [UserFactory(department=sales_dept) for _ in range(4)]
    group = RoutingGroup.objects.create(name="Desk")
    for i, u in enumerate(users):
        RoutingMember.objects.create(group=group, user=u, position=i)
    picked: list[int] = []
    barrier = threading.Barrier(8)

    def work():
        try:
            barrier.wait()
            picked.append(route_assign(channel="web", source="").pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(Counter(picked).values()) == [2, 2, 2, 2]
