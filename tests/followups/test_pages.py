from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from svyaz.activities.services import activity_log
from svyaz.followups import services
from svyaz.followups.models import Followup, Notification
from tests.followups.conftest import msk

NOW = msk(2026, 3, 10, 15, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_lands_on_my_day_with_rows_and_counters(
    frozen, manager_client, manager, contact, deal, make_task
):
    late = make_task(
        title="Morning call", due_at=msk(2026, 3, 10, 9), contact=contact, priority="high"
    )
    make_task(title="Deal follow-up", due_at=msk(2026, 3, 10, 18), deal=deal)
    response = manager_client.get(reverse("followups:my_day"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-followup-id="{late.pk}"' in html and 'data-kind="task"' in html
    assert "Overdue" in html and "overdue" in html
    assert reverse("contacts:contact_detail", args=[contact.pk]) in html
    assert reverse("sales:deal_detail", args=[deal.pk]) in html
    assert 'data-counter="due_today">2<' in html


def test_it_shows_tomorrows_callback_on_tomorrow(frozen, manager_client, manager, contact):
    activity_log(
        actor=manager,
        kind="call",
        direction="out",
        contact=contact,
        outcome="callback",
        callback_at=msk(2026, 3, 11, 10),
    )
    today = manager_client.get(reverse("followups:my_day"))
    assert not today.context["callbacks"] and len(today.context["upcoming"]) == 1
    response = manager_client.get(reverse("followups:my_day") + "?date=2026-03-11")
    assert [f.title for f in response.context["callbacks"]] == ["Call back: Ivan Petrov"]
    tomorrow = response.content.decode()
    section = tomorrow.split('id="section-callbacks"')[1].split('id="section-')[0]
    assert (
        'data-kind="callback"' in section and "10:00" in section and "text-bg-danger" not in section
    )
    with time_machine.travel(msk(2026, 3, 11, 11), tick=False):
        manager_client.force_login(manager)  # sessions last 12 hours
        later = manager_client.get(reverse("followups:my_day")).content.decode()
    assert 'data-kind="callback"' in later and "text-bg-danger" in later


def test_it_shows_due_times_in_the_users_zone(frozen, manager_client, manager, make_task):
    manager.timezone = "Asia/Vladivostok"
    manager.save()
    make_task(due_at=msk(2026, 3, 10, 16))  # 23:00 in Vladivostok
    html = manager_client.get(reverse("followups:my_day")).content.decode()
    assert "23:00" in html


def test_it_ignores_a_wrong_date(frozen, manager_client):
    response = manager_client.get(reverse("followups:my_day") + "?date=tomorrow-ish")
    assert response.status_code == 200
    assert response.context["day"] == NOW.date()


def test_it_needs_a_login(client):
    response = client.get(reverse("followups:my_day"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_completes_a_task_by_htmx_and_refreshes_counters(frozen, manager_client, make_task):
    task = make_task(due_at=msk(2026, 3, 10, 18))
    response = manager_client.post(
        reverse("followups:followup_complete", args=[task.pk]),
        {"result": "Sent", "date": "2026-03-10"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-swap-oob="true"' in html and 'data-counter="done_today">1<' in html
    assert "data-followup-id" not in html  # the row goes away
    task.refresh_from_db()
    assert task.status == "done" and task.result == "Sent"
    again = manager_client.post(
        reverse("followups:followup_complete", args=[task.pk]), HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 200
    task.refresh_from_db()
    assert task.result == "Sent"


def test_it_completes_without_htmx_and_redirects(frozen, manager_client, make_task):
    task = make_task()
    response = manager_client.post(
        reverse("followups:followup_complete", args=[task.pk]), {"next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("followups:my_day")


def test_it_shows_an_error_row_for_a_cancelled_task(frozen, manager_client, manager, make_task):
    task = make_task()
    services.followup_cancel(actor=manager, followup=task)
    response = manager_client.post(
        reverse("followups:followup_complete", args=[task.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "cancelled" in response.content.decode()


def test_complete_rejects_get_and_outsiders(frozen, client, manager_client, outsider, make_task):
    task = make_task()
    assert (
        manager_client.get(reverse("followups:followup_complete", args=[task.pk])).status_code
        == 405
    )
    client.force_login(outsider)
    assert client.post(reverse("followups:followup_complete", args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.status == "open"


def test_the_assignee_sees_and_completes_a_task_from_another_department(
    frozen, client, outsider, manager, make_task
):
    task = make_task(assignee=outsider)
    client.force_login(outsider)
    assert (
        f'data-followup-id="{task.pk}"' in client.get(reverse("followups:my_day")).content.decode()
    )
    assert client.post(reverse("followups:followup_complete", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.status == "done"


def test_it_creates_a_task_from_a_card(frozen, manager_client, contact):
    url = reverse("followups:followup_create") + f"?contact={contact.pk}"
    page = manager_client.get(url)
    assert page.status_code == 200 and "Ivan Petrov" in page.content.decode()
    response = manager_client.post(
        url,
        {
            "title": "Send contract",
            "kind": "task",
            "priority": "normal",
            "due_at": "2026-03-11T10:00",
            "assignee": page.context["form"].initial["assignee"],
            "contact": contact.pk,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])
    task = Followup.objects.get()
    assert task.contact == contact and task.due_at == msk(2026, 3, 11, 10)


def test_the_task_form_shows_errors_and_writes_nothing(frozen, manager_client, manager):
    response = manager_client.post(
        reverse("followups:followup_create"),
        {
            "title": "x",
            "kind": "task",
            "priority": "normal",
            "assignee": manager.pk,
            "due_at": "2026-03-11T10:00",
            "remind_at": "2026-03-12T10:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["remind_at"]
    assert not Followup.objects.exists()


def test_the_task_form_is_an_htmx_partial(frozen, manager_client, manager, contact):
    url = reverse("followups:followup_create") + f"?contact={contact.pk}&next=/clients/"
    page = manager_client.get(url, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert "<html" not in html and 'id="followup-form"' in html and "hx-post" in html
    response = manager_client.post(
        url,
        {
            "title": "Call",
            "kind": "task",
            "priority": "normal",
            "assignee": manager.pk,
            "due_at": "2026-03-11T10:00",
            "contact": contact.pk,
            "next": "/clients/",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and response["HX-Redirect"] == "/clients/"


def test_the_task_form_hides_other_peoples_clients(frozen, manager_client, foreign_contact):
    url = reverse("followups:followup_create") + f"?contact={foreign_contact.pk}"
    assert manager_client.get(url).status_code == 404


def test_it_edits_a_task(frozen, manager_client, manager, make_task):
    task = make_task()
    url = reverse("followups:followup_edit", args=[task.pk])
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        url,
        {
            "title": "New title",
            "kind": "task",
            "priority": "high",
            "assignee": manager.pk,
            "due_at": "2026-03-12T10:00",
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "New title" and task.priority == "high"


def test_it_cancels_a_task(frozen, manager_client, make_task):
    task = make_task()
    response = manager_client.post(reverse("followups:followup_cancel", args=[task.pk]))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_the_task_list_filters_overdue(frozen, manager_client, make_task):
    late = make_task(title="Late one", due_at=NOW - timedelta(days=1))
    make_task(title="Future one", due_at=NOW + timedelta(days=1))
    response = manager_client.get(reverse("followups:task_list") + "?overdue=true")
    html = response.content.decode()
    assert response.status_code == 200 and "Late one" in html and "Future one" not in html
    assert f'data-id="{late.pk}"' in html
    partial = manager_client.get(
        reverse("followups:task_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-table"
    )
    assert "<html" not in partial.content.decode() and "Future one" in partial.content.decode()


def test_the_task_list_pins_its_queries(
    frozen, manager_client, contact, deal, make_task, django_assert_num_queries
):
    make_task(contact=contact)
    url = reverse("followups:task_list")
    manager_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        manager_client.get(url)
    for i in range(30):
        make_task(title=f"T{i}", deal=deal)
    with django_assert_num_queries(len(one.captured_queries)):
        manager_client.get(url)


def test_the_task_list_exports_plain_csv(frozen, manager_client, make_task):
    make_task(title="Late one", due_at=NOW - timedelta(days=1))
    response = manager_client.get(reverse("followups:task_list") + "?export=csv")
    body = b"".join(response.streaming_content).decode()
    assert "Late one" in body and "<span" not in body


def test_notifications_page_and_mark_read(frozen, manager_client, manager, make_task):
    make_task(due_at=NOW)
    services.reminders_send_due()
    note = Notification.objects.get()
    page = manager_client.get(reverse("followups:notifications"))
    assert page.status_code == 200 and note.text in page.content.decode()
    response = manager_client.post(
        reverse("followups:notification_read", args=[note.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'data-read="1"' in response.content.decode()
    note.refresh_from_db()
    assert note.read_at is not None


def test_nobody_marks_another_users_notification(frozen, client, outsider, manager, make_task):
    make_task(due_at=NOW)
    services.reminders_send_due()
    note = Notification.objects.get()
    client.force_login(outsider)
    client.post(reverse("followups:notification_read", args=[note.pk]))
    note.refresh_from_db()
    assert note.read_at is None
    assert client.get(reverse("followups:notification_read", args=[note.pk])).status_code == 405


def test_mark_all_read(frozen, manager_client, manager, make_task):
    make_task(due_at=NOW, title="A")
    make_task(due_at=NOW, title="B")
    services.reminders_send_due()
    manager_client.post(reverse("followups:notifications_read_all"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert timezone.now() == NOW


def test_my_day_page_pins_its_queries(frozen, manager_client, contact, deal, make_task):
    make_task(contact=contact, due_at=msk(2026, 3, 10, 12))
    url = reverse("followups:my_day")
    manager_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        manager_client.get(url)
    for i in range(30):
        make_task(
            title=f"T{i}",
            contact=contact,
            deal=deal,
            kind="callback" if i % 2 else "task",
            due_at=NOW + timedelta(hours=i - 15),
        )
    with CaptureQueriesContext(connection) as many:
        html = manager_client.get(url).content.decode()
    assert html.count("data-followup-id=") == 31
    assert len(many.captured_queries) == len(one.captured_queries)
    # My day's own part: one statement, the sections' rows with the counters and the calls.
    mine = [q["sql"] for q in many.captured_queries if "followups_followup" in q["sql"]]
    assert len(mine) == 1 and "activities_activity" in mine[0]
    # The "Done" form is rendered without the request: no second notification count.
    assert sum("followups_notification" in q["sql"] for q in many.captured_queries) == 1
