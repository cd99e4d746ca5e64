from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from svyaz.activities.models import Activity
from svyaz.activities.services import activity_log, activity_update
from svyaz.core.errors import PermissionDenied
from svyaz.core.models import TimelineEntry
from svyaz.followups.models import Followup

MSK = zoneinfo.ZoneInfo("Europe/Moscow")


def _counts():
    return Activity.all_objects.count(), Followup.all_objects.count(), TimelineEntry.objects.count()


def test_it_logs_a_call_on_the_timeline(manager, contact, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        activity = activity_log(
            actor=manager,
            kind="call",
            direction="out",
            contact=contact,
            duration_seconds=300,
            outcome="answered",
        )
    assert activity.owner == manager
    assert activity.department == manager.department
    entry = TimelineEntry.objects.get(object_type="activity", object_id=activity.pk)
    assert entry.kind == "activity"
    assert entry.title == "Outgoing call, 5 min — answered"
    assert entry.contact == contact
    assert len(callbacks) == 1  # activity.created, after commit
    assert not Followup.objects.exists()


def test_it_fills_the_deals_contact_and_company(manager, deal):
    activity = activity_log(actor=manager, kind="note", deal=deal, body="Asked for a discount")
    assert (activity.contact, activity.company, activity.deal) == (deal.contact, deal.company, deal)
    entry = TimelineEntry.objects.get(object_type="activity", object_id=activity.pk)
    assert (entry.contact, entry.company, entry.deal) == (deal.contact, deal.company, deal)


def test_it_creates_exactly_one_callback_with_a_call(manager, contact):
    due = datetime(2030, 5, 6, 10, 0, tzinfo=MSK)
    activity = activity_log(
        actor=manager,
        kind="call",
        direction="out",
        contact=contact,
        outcome="callback",
        callback_at=due,
        callback_note="Wants the price list",
    )
    callback = Followup.objects.get()
    assert callback.kind == "callback"
    assert callback.assignee == manager
    assert callback.due_at == due
    assert callback.remind_at == due - timedelta(minutes=15)
    assert callback.source_activity == activity
    assert callback.contact == contact
    assert callback.title == "Call back: Ivan Petrov"
    assert callback.description == "Wants the price list"
    kinds = sorted(TimelineEntry.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["activity", "followup"]


@time_machine.travel(datetime(2030, 5, 5, 15, 0, tzinfo=MSK), tick=False)
def test_it_defaults_the_callback_to_tomorrow_at_ten(manager, contact):
    manager.timezone = "Asia/Vladivostok"
    manager.save()
    activity_log(actor=manager, kind="call", direction="in", contact=contact, outcome="callback")
    callback = Followup.objects.get()
    # 15:00 in Moscow is 22:00 in Vladivostok: tomorrow there is May 6.
    assert callback.due_at == datetime(
        2030, 5, 6, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Vladivostok")
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "call", "direction": "out"}, "__all__"),  # no subject
        ({"kind": "call", "direction": "", "with_contact": True}, "direction"),
        ({"kind": "note", "direction": "out", "with_contact": True}, "direction"),
        ({"kind": "note", "outcome": "answered", "with_contact": True}, "outcome"),
        ({"kind": "call", "direction": "out", "outcome": "nope", "with_contact": True}, "outcome"),
        (
            {"kind": "call", "direction": "out", "duration_seconds": -5, "with_contact": True},
            "duration_seconds",
        ),
        ({"kind": "dance", "with_contact": True}, "kind"),
        (
            {
                "kind": "call",
                "direction": "out",
                "with_contact": True,
                "callback_at": datetime(2001, 1, 1, tzinfo=MSK),
            },
            "callback_at",
        ),
        (
            {
                "kind": "call",
                "direction": "out",
                "with_contact": True,
                "callback_at": datetime(2040, 1, 1),  # noqa: DTZ001 - naive on purpose
            },
            "callback_at",
        ),
    ],
)
def test_it_rejects_wrong_input_and_writes_nothing(manager, contact, kwargs, field):
    kwargs = dict(kwargs)
    if kwargs.pop("with_contact", False):
        kwargs["contact"] = contact
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        activity_log(actor=manager, **kwargs)
    assert field in exc.value.message_dict
    assert _counts() == before


def test_it_refuses_a_client_outside_the_scope(manager, foreign_contact):
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        activity_log(actor=manager, kind="note", contact=foreign_contact)
    assert "contact" in exc.value.message_dict
    assert _counts() == before


def test_it_rolls_back_the_activity_when_the_callback_fails(manager, contact, monkeypatch):
    from svyaz.followups import services as followup_services

    def broken(**kwargs):
        raise ValidationError({"due_at": ["boom"]})

    monkeypatch.setattr(followup_services, "followup_create", broken)
    before = _counts()
    with pytest.raises(ValidationError):
        activity_log(
            actor=manager, kind="call", direction="out", contact=contact, outcome="callback"
        )
    assert _counts() == before


def test_it_updates_an_activity_with_a_change_row(manager, contact):
    activity = activity_log(
        actor=manager, kind="call", direction="out", contact=contact, duration_seconds=60
    )
    activity_update(
        actor=manager, activity=activity, data={"duration_seconds": 120, "body": "More"}
    )
    activity.refresh_from_db()
    assert activity.duration_seconds == 120
    change = TimelineEntry.objects.get(kind="change", object_id=activity.pk)
    assert {c["field"] for c in change.data["changes"]} == {"duration_seconds", "body"}


def test_it_rejects_a_wrong_update(manager, contact):
    activity = activity_log(actor=manager, kind="note", contact=contact)
    with pytest.raises(ValidationError):
        activity_update(actor=manager, activity=activity, data={"outcome": "answered"})
    activity.refresh_from_db()
    assert activity.outcome == ""


def test_it_lets_only_who_sees_it_update(manager, outsider, contact):
    activity = activity_log(actor=manager, kind="note", contact=contact)
    with pytest.raises(PermissionDenied):
        activity_update(actor=outsider, activity=activity, data={"body": "x"})
