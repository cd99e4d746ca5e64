from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from svyaz.core.errors import PermissionDenied
from svyaz.core.models import TimelineEntry
from svyaz.followups import services
from svyaz.followups.models import Followup, Notification
from tests.followups.conftest import msk


def test_it_creates_a_task_with_a_timeline_row(manager, contact, make_task):
    task = make_task(contact=contact, priority="high")
    assert task.assignee == manager and task.owner == manager
    assert task.department == manager.department
    assert task.status == "open"
    assert task.remind_at == task.due_at  # tasks remind at the due time
    entry = TimelineEntry.objects.get(object_type="followup", object_id=task.pk)
    assert entry.kind == "followup" and entry.contact == contact
    assert not Notification.objects.exists()  # own task: nobody to tell


def test_it_reminds_callbacks_15_minutes_early(contact, make_task):
    task = make_task(kind="callback", contact=contact, due_at=msk(2026, 3, 10, 10))
    assert task.remind_at == msk(2026, 3, 10, 9, 45)


def test_it_tells_the_assignee_about_a_task_from_someone_else(head, teammate, make_task):
    task = make_task(actor=head, assignee=teammate)
    note = Notification.objects.get(user=teammate)
    assert task.title in note.text and note.followup is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "  "}, "title"),
        ({"due_at": None}, "due_at"),
        ({"priority": "urgent"}, "priority"),
        ({"kind": "chore"}, "kind"),
        ({"remind_at": msk(2026, 3, 11, 9)}, "remind_at"),  # after due
        ({"kind": "callback"}, "__all__"),  # a callback needs a client
    ],
)
def test_it_rejects_wrong_input_and_writes_nothing(manager, kwargs, field):
    data = {"title": "Call", "due_at": msk(2026, 3, 10, 12), **kwargs}
    with pytest.raises(ValidationError) as exc:
        services.followup_create(actor=manager, **data)
    assert field in exc.value.message_dict
    assert not Followup.all_objects.exists() and not TimelineEntry.objects.exists()


def test_it_rejects_an_inactive_assignee(manager, teammate):
    teammate.is_active = False
    teammate.save()
    with pytest.raises(ValidationError) as exc:
        services.followup_create(
            actor=manager, title="x", due_at=msk(2026, 3, 10, 12), assignee=teammate
        )
    assert "assignee" in exc.value.message_dict


def test_it_completes_once(manager, contact, make_task):
    task = make_task(contact=contact)
    services.followup_complete(actor=manager, followup=task, result="Sent")
    again = services.followup_complete(actor=manager, followup=task, result="Other")
    assert again.status == "done" and again.result == "Sent"
    assert TimelineEntry.objects.filter(object_id=task.pk, title__startswith="Done").count() == 1


def test_it_lets_the_assignee_and_the_head_complete_but_not_an_outsider(
    manager, head, teammate, outsider, make_task
):
    task = make_task(assignee=teammate)
    with pytest.raises(PermissionDenied):
        services.followup_complete(actor=outsider, followup=task)
    services.followup_complete(actor=teammate, followup=task)
    other = make_task(assignee=teammate, title="Second")
    services.followup_complete(actor=head, followup=other)
    assert Followup.objects.filter(status="done").count() == 2


def test_it_cancels_and_refuses_to_complete_a_cancelled_task(manager, make_task):
    task = make_task()
    services.followup_cancel(actor=manager, followup=task, reason="Client left")
    with pytest.raises(ValidationError):
        services.followup_complete(actor=manager, followup=task)
    task.refresh_from_db()
    assert task.status == "cancelled" and task.completed_at is None


def test_it_updates_and_rearms_the_reminder(manager, teammate, make_task):
    task = make_task(kind="task", remind_at=msk(2026, 3, 10, 11))
    Followup.objects.filter(pk=task.pk).update(reminded_at=msk(2026, 3, 10, 11))
    task.refresh_from_db()
    services.followup_update(
        actor=manager, followup=task, data={"due_at": msk(2026, 3, 12, 12), "assignee": teammate}
    )
    task.refresh_from_db()
    assert task.remind_at == msk(2026, 3, 12, 11)  # the same hour of lead time
    assert task.reminded_at is None
    assert task.assignee == teammate
    change = TimelineEntry.objects.filter(object_id=task.pk, title__startswith="Task changed").get()
    assert {c["field"] for c in change.data["changes"]} >= {"due_at", "assignee", "remind_at"}


def test_it_rejects_a_wrong_update_and_keeps_the_task(manager, make_task):
    task = make_task()
    with pytest.raises(ValidationError):
        services.followup_update(actor=manager, followup=task, data={"title": ""})
    task.refresh_from_db()
    assert task.title == "Send the offer"


def test_it_refuses_updates_from_an_outsider(outsider, make_task):
    task = make_task()
    with pytest.raises(PermissionDenied):
        services.followup_update(actor=outsider, followup=task, data={"title": "Mine"})


def test_it_keeps_closed_tasks_closed(manager, make_task):
    task = make_task()
    services.followup_complete(actor=manager, followup=task)
    task.refresh_from_db()
    with pytest.raises(ValidationError):
        services.followup_update(
            actor=manager, followup=task, data={"due_at": task.due_at + timedelta(days=1)}
        )
