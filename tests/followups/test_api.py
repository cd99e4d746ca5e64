from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from svyaz.followups import services
from svyaz.followups.models import Followup, Notification
from tests.followups.conftest import msk

URL = "/api/v1/followups/"


def test_it_creates_reads_and_updates(api_client, manager, teammate, contact):
    response = api_client.post(
        URL,
        {
            "title": "Send the offer",
            "due_at": "2030-03-10T12:00:00+03:00",
            "contact": contact.pk,
            "priority": "high",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert (
        data["assignee"] == manager.pk
        and data["status"] == "open"
        and data["contact"] == contact.pk
    )
    patched = api_client.patch(f"{URL}{data['id']}/", {"assignee": teammate.pk}, format="json")
    assert patched.status_code == 200 and patched.json()["assignee"] == teammate.pk


def test_it_answers_400_and_writes_nothing(api_client, contact):
    for body, field in [
        ({"due_at": "2030-03-10T12:00:00+03:00"}, "title"),
        ({"title": "x"}, "due_at"),
        ({"title": "x", "due_at": "2030-03-10T12:00:00+03:00", "priority": "urgent"}, "priority"),
        (
            {
                "title": "x",
                "due_at": "2030-03-10T12:00:00+03:00",
                "remind_at": "2030-03-11T12:00:00+03:00",
            },
            "remind_at",
        ),
        (
            {"title": "x", "due_at": "2030-03-10T12:00:00+03:00", "kind": "callback"},
            "non_field_errors",
        ),
        ({"title": "x", "due_at": "2030-03-10T12:00:00+03:00", "contact": 99999}, "contact"),
        ({"title": "x", "due_at": "2030-03-10T12:00:00+03:00", "assignee": 99999}, "assignee"),
    ]:
        response = api_client.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert not Followup.all_objects.exists()


def test_it_completes_through_the_api_once(api_client, make_task):
    task = make_task()
    response = api_client.post(f"{URL}{task.pk}/complete/", {"result": "Done well"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "done" and response.json()["result"] == "Done well"
    again = api_client.post(f"{URL}{task.pk}/complete/", {"result": "Other"}, format="json")
    assert again.json()["result"] == "Done well"
    assert api_client.get(f"{URL}{task.pk}/complete/").status_code == 405


def test_it_cancels_and_then_refuses_completion(api_client, make_task):
    task = make_task()
    assert (
        api_client.post(f"{URL}{task.pk}/cancel/", {}, format="json").json()["status"]
        == "cancelled"
    )
    response = api_client.post(f"{URL}{task.pk}/complete/", {}, format="json")
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_out_of_scope_is_404_and_delete_is_soft(api_client, outsider, make_task):
    foreign = make_task(actor=outsider, title="Theirs")
    assert api_client.get(f"{URL}{foreign.pk}/").status_code == 404
    assert api_client.post(f"{URL}{foreign.pk}/complete/").status_code == 404
    assert api_client.delete(f"{URL}{foreign.pk}/").status_code == 404
    mine = make_task()
    assert api_client.delete(f"{URL}{mine.pk}/").status_code == 204
    assert Followup.all_objects.get(pk=mine.pk).deleted_at is not None
    assert api_client.get(f"{URL}{mine.pk}/").status_code == 404


def test_the_list_filters_and_pins_queries(api_client, manager, contact, deal, make_task):
    make_task(contact=contact, due_at=msk(2020, 1, 1, 12))
    api_client.get(URL)
    with CaptureQueriesContext(connection) as one:
        api_client.get(URL)
    for i in range(30):
        make_task(title=f"T{i}", deal=deal, due_at=msk(2030, 1, 1, 12), kind="callback")
    with CaptureQueriesContext(connection) as many:
        data = api_client.get(URL).json()
    assert len(many.captured_queries) == len(one.captured_queries)
    assert data["count"] == 31
    assert api_client.get(URL, {"overdue": "true"}).json()["count"] == 1
    assert api_client.get(URL, {"kind": "callback"}).json()["count"] == 30
    assert (
        api_client.get(URL, {"due_from": "2029-12-31", "due_to": "2030-01-02"}).json()["count"]
        == 30
    )
    assert api_client.get(URL, {"assignee": manager.pk, "status": "open"}).json()["count"] == 31
    assert (
        api_client.get(URL, {"ordering": "-due_at"}).json()["results"][0]["title"].startswith("T")
    )
    assert api_client.get(URL, {"search": "T2"}).json()["count"] == 11  # T2, T20..T29
    assert api_client.get(URL, {"status": "bogus"}).status_code == 400


def test_my_day_endpoint(api_client, manager, contact, make_task):
    import time_machine

    make_task(title="Today", due_at=msk(2026, 3, 10, 18))
    make_task(title="Callback", kind="callback", contact=contact, due_at=msk(2026, 3, 11, 10))
    with time_machine.travel(msk(2026, 3, 10, 15), tick=False):
        today = api_client.get("/api/v1/my-day/").json()
        tomorrow = api_client.get("/api/v1/my-day/", {"date": "2026-03-11"}).json()
        bad = api_client.get("/api/v1/my-day/", {"date": "someday"})
    assert today["date"] == "2026-03-10" and [t["title"] for t in today["due_today"]] == ["Today"]
    assert today["counts"]["due_today"] == 1
    assert [t["title"] for t in tomorrow["callbacks"]] == ["Callback"]
    assert bad.status_code == 400 and "date" in bad.json()


def test_my_day_endpoint_takes_the_same_queries_for_1_and_30_rows(
    api_client, manager, head, contact, company, deal, make_task
):
    """No query per row: the assignee (its name is in each row), contact, company and deal
    come with the rows."""
    import time_machine

    sections = ("callbacks", "overdue", "due_today", "upcoming")
    with time_machine.travel(msk(2026, 3, 10, 15), tick=False):
        make_task(title="One", contact=contact, due_at=msk(2026, 3, 10, 18))
        api_client.get("/api/v1/my-day/")
        with CaptureQueriesContext(connection) as one:
            first = api_client.get("/api/v1/my-day/").json()
        for i in range(30):
            make_task(
                actor=head,
                assignee=manager,
                title=f"T{i}",
                kind="callback" if i % 3 else "task",
                due_at=msk(2026, 3, 10, 15) + timedelta(hours=(i - 15) * 7),
                **({"contact": contact}, {"company": company}, {"deal": deal})[i % 3],
            )
        with CaptureQueriesContext(connection) as many:
            data = api_client.get("/api/v1/my-day/").json()
    assert sum(len(first[name]) for name in sections) == 1
    assert sum(len(data[name]) for name in sections) == 31
    assert all(all(row["assignee_name"] for row in data[name]) for name in sections)
    assert len(many.captured_queries) == len(one.captured_queries)
    # The sections' rows with the counters, then the whole records.
    assert sum("followups_followup" in q["sql"] for q in many.captured_queries) == 2


def test_notifications_api(api_client, manager, make_task):
    make_task(due_at=msk(2020, 1, 1, 12))
    services.reminders_send_due()
    note = Notification.objects.get()
    data = api_client.get("/api/v1/notifications/", {"unread": "1"}).json()
    assert [n["id"] for n in data["results"]] == [note.pk]
    assert api_client.post(f"/api/v1/notifications/{note.pk}/read/").json()["read_at"]
    assert api_client.get("/api/v1/notifications/", {"unread": "1"}).json()["count"] == 0


def test_notifications_of_others_are_404(api_client, outsider):
    other = Notification.objects.create(user=outsider, text="Theirs")
    assert api_client.get(f"/api/v1/notifications/{other.pk}/").status_code == 404
    assert api_client.post(f"/api/v1/notifications/{other.pk}/read/").status_code == 404
