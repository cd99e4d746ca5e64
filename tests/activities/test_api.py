from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from svyaz.activities.models import Activity
from svyaz.activities.services import activity_log
from svyaz.followups.models import Followup

URL = "/api/v1/activities/"


def test_it_creates_a_call_with_a_callback(api_client, contact):
    response = api_client.post(
        URL,
        {
            "kind": "call",
            "direction": "out",
            "contact": contact.pk,
            "duration_seconds": 90,
            "outcome": "callback",
            "callback_at": "2030-05-06T10:00:00+03:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "call" and data["contact"] == contact.pk
    callback = Followup.objects.get()
    assert data["followups"] == [callback.pk]
    assert callback.kind == "callback"


def test_it_answers_400_with_field_errors_and_writes_nothing(api_client, contact):
    for body, field in [
        ({"kind": "call", "contact": contact.pk}, "direction"),
        ({"kind": "note", "contact": contact.pk, "outcome": "answered"}, "outcome"),
        (
            {"kind": "call", "direction": "out", "contact": contact.pk, "duration_seconds": -1},
            "duration_seconds",
        ),
        ({"kind": "nope", "contact": contact.pk}, "kind"),
        ({"kind": "note"}, "non_field_errors"),
        ({"kind": "note", "contact": 999999}, "contact"),
        ({"kind": "note", "contact": contact.pk, "occurred_at": "soon"}, "occurred_at"),
    ]:
        response = api_client.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert not Activity.all_objects.exists()


def test_it_refuses_a_client_outside_the_scope(api_client, foreign_contact):
    response = api_client.post(URL, {"kind": "note", "contact": foreign_contact.pk}, format="json")
    assert response.status_code == 400 and "contact" in response.json()


def test_it_reads_updates_and_soft_deletes(api_client, manager, contact):
    activity = activity_log(actor=manager, kind="call", direction="out", contact=contact)
    assert api_client.get(f"{URL}{activity.pk}/").json()["id"] == activity.pk
    response = api_client.patch(f"{URL}{activity.pk}/", {"duration_seconds": 600}, format="json")
    assert response.status_code == 200 and response.json()["duration_seconds"] == 600
    bad = api_client.patch(
        f"{URL}{activity.pk}/", {"outcome": "busy", "direction": ""}, format="json"
    )
    assert bad.status_code == 400 and "direction" in bad.json()
    assert api_client.delete(f"{URL}{activity.pk}/").status_code == 204
    assert Activity.all_objects.get().deleted_at is not None
    assert api_client.get(f"{URL}{activity.pk}/").status_code == 404


def test_out_of_scope_is_404(api_client, outsider, foreign_contact):
    activity = activity_log(actor=outsider, kind="note", contact=foreign_contact)
    assert api_client.get(f"{URL}{activity.pk}/").status_code == 404
    assert api_client.patch(f"{URL}{activity.pk}/", {"body": "x"}, format="json").status_code == 404
    assert api_client.delete(f"{URL}{activity.pk}/").status_code == 404
    assert Activity.objects.get().deleted_at is None


def test_the_list_filters_orders_and_pins_queries(api_client, manager, contact, deal):
    activity_log(
        actor=manager,
        kind="call",
        direction="out",
        contact=contact,
        duration_seconds=10,
        subject="A",
    )
    api_client.get(URL)
    with CaptureQueriesContext(connection) as one:
        api_client.get(URL)
    for i in range(30):
        activity_log(actor=manager, kind="note", deal=deal, subject=f"N{i}", duration_seconds=1)
    with CaptureQueriesContext(connection) as many:
        data = api_client.get(URL).json()
    assert len(many.captured_queries) == len(one.captured_queries)
    assert data["count"] == 31
    calls = api_client.get(URL, {"kind": "call"}).json()
    assert [a["subject"] for a in calls["results"]] == ["A"]
    assert api_client.get(URL, {"deal": deal.pk}).json()["count"] == 30
    assert api_client.get(URL, {"search": "N1"}).json()["count"] == 11
    ordered = api_client.get(URL, {"ordering": "-duration_seconds", "page_size": 1}).json()
    assert ordered["results"][0]["subject"] == "A" and ordered["next"]
    assert api_client.get(URL, {"kind": "bogus"}).status_code == 400


def test_it_needs_authentication(client):
    assert client.get(URL).status_code in (401, 403)
