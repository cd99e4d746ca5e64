from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from django.core import mail

from svyaz.followups import services
from svyaz.followups.models import Followup, Notification
from svyaz.followups.tasks import reminders_send_due
from tests.followups.conftest import msk

DUE = msk(2026, 3, 10, 12)


def test_it_fires_once_even_when_run_twice(manager, contact, make_task):
    task = make_task(contact=contact, due_at=DUE)
    with time_machine.travel(DUE, tick=False):
        assert services.reminders_send_due() == 1
        assert services.reminders_send_due() == 0
    assert Notification.objects.filter(user=manager, followup=task).count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [manager.email]
    assert "Send the offer" in mail.outbox[0].subject
    task.refresh_from_db()
    assert task.reminded_at == DUE


def test_it_waits_for_remind_at(manager, contact, make_task):
    make_task(kind="callback", contact=contact, due_at=DUE)  # reminds at 11:45
    with time_machine.travel(DUE - timedelta(minutes=16), tick=False):
        assert services.reminders_send_due() == 0
    assert not Notification.objects.exists() and not mail.outbox
    with time_machine.travel(DUE - timedelta(minutes=15), tick=False):
        assert services.reminders_send_due() == 1
    note = Notification.objects.get()
    assert note.text.startswith("Call back Ivan Petrov")


def test_it_skips_done_cancelled_and_deleted_tasks(manager, make_task):
    done = make_task(title="Done one")
    services.followup_complete(actor=manager, followup=done)
    cancelled = make_task(title="Cancelled one")
    services.followup_cancel(actor=manager, followup=cancelled)
    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        assert services.reminders_send_due() == 0
    assert not Notification.objects.exists() and not mail.outbox


def test_it_notifies_only_the_rows_it_claimed(manager, make_task):
    """A second runner that already claimed the row wins; this one sends nothing."""
    task = make_task()
    Followup.objects.filter(pk=task.pk).update(reminded_at=DUE)
    with time_machine.travel(DUE, tick=False):
        assert services.reminders_send_due() == 0
    assert not Notification.objects.exists()


def test_it_writes_in_the_users_language_and_time_zone(manager, make_task):
    manager.language = "ru"
    manager.timezone = "Asia/Vladivostok"
    manager.save()
    make_task(due_at=DUE)
    with time_machine.travel(DUE, tick=False):
        services.reminders_send_due()
    body = mail.outbox[0].body
    assert "19:00" in body  # 12:00 in Moscow is 19:00 in Vladivostok


def test_it_skips_the_email_when_the_user_has_none(manager, make_task):
    manager.email = ""
    manager.save()
    make_task(due_at=DUE)
    with time_machine.travel(DUE, tick=False):
        assert services.reminders_send_due() == 1
    assert Notification.objects.count() == 1 and not mail.outbox


def test_it_reminds_again_after_a_reschedule(manager, make_task):
    task = make_task(due_at=DUE)
    with time_machine.travel(DUE, tick=False):
        services.reminders_send_due()
    task.refresh_from_db()
    services.followup_update(actor=manager, followup=task, data={"due_at": DUE + timedelta(days=1)})
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        assert services.reminders_send_due() == 1
    assert Notification.objects.count() == 1  # the same notification, refreshed and unread
    assert len(mail.outbox) == 2


def test_the_celery_task_runs_eagerly(settings, manager, make_task):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    make_task(due_at=DUE)
    with time_machine.travel(DUE, tick=False):
        result = reminders_send_due.delay()
    assert result.get() == 1
    assert Notification.objects.count() == 1


def test_the_embedded_scheduler_knows_the_task(manager, make_task):
    from celery import current_app

    from svyaz.core.scheduler import run_due_jobs

    assert "svyaz.followups.tasks.reminders_send_due" in current_app.tasks
    make_task(due_at=msk(2020, 1, 1, 12))
    assert "reminders-send-due" in run_due_jobs({}, 1_000_000.0)
    assert Notification.objects.count() == 1


def test_it_marks_notifications_read(manager, make_task):
    make_task(due_at=DUE)
    with time_machine.travel(DUE, tick=False):
        services.reminders_send_due()
    from svyaz.followups.selectors import notification_unread_count

    assert notification_unread_count(user=manager) == 1
    assert services.notification_mark_read(user=manager) == 1
    assert notification_unread_count(user=manager) == 0
    assert isinstance(Notification.objects.get().read_at, datetime)
