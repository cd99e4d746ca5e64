from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.activities.services import activity_log
from svyaz.core.models import TimelineEntry
from svyaz.followups.models import Followup

MSK = zoneinfo.ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=MSK)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _call(contact, **extra):
    return {
        "kind": "call",
        "direction": "out",
        "occurred_at": "2026-03-10T14:55",
        "duration": "5",
        "outcome": "answered",
        "contact": contact.pk,
        **extra,
    }


def test_it_shows_the_form_with_the_client_preselected(frozen, manager_client, contact):
    response = manager_client.get(reverse("activities:activity_create") + f"?contact={contact.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ivan Petrov" in html and 'name="callback_at"' in html
    assert 'data-callback="tomorrow"' in html and "2026-03-11T10:00" in html  # tomorrow 10:00
    assert "2026-03-10T17:00" in html  # in 2 hours
    assert response.context["form"]["occurred_at"].value().date() == NOW.date()


def test_it_logs_a_call_and_goes_back_to_the_card(frozen, manager_client, contact):
    url = reverse("activities:activity_create") + f"?contact={contact.pk}"
    response = manager_client.post(url, _call(contact))
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])
    activity = Activity.objects.get()
    assert activity.duration_seconds == 300
    assert activity.occurred_at == datetime(2026, 3, 10, 14, 55, tzinfo=MSK)
    assert not Followup.objects.exists()


def test_it_logs_a_call_with_call_back_tomorrow(frozen, manager_client, contact):
    url = reverse("activities:activity_create") + f"?contact={contact.pk}"
    response = manager_client.post(
        url,
        _call(
            contact,
            outcome="callback",
            callback_at="2026-03-11T10:00",
            next="/tasks/my-day/?date=2026-03-11",
        ),
    )
    assert response.status_code == 302 and response["Location"] == "/tasks/my-day/?date=2026-03-11"
    callback = Followup.objects.get()
    assert callback.kind == "callback" and callback.due_at == datetime(2026, 3, 11, 10, tzinfo=MSK)


def test_it_ignores_an_unsafe_next(frozen, manager_client, contact):
    url = reverse("activities:activity_create") + f"?contact={contact.pk}"
    response = manager_client.post(url, _call(contact, next="https://evil.example/"))
    assert response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])


def test_it_goes_back_to_the_deal_card(frozen, manager_client, deal):
    url = reverse("activities:activity_create") + f"?deal={deal.pk}"
    response = manager_client.post(
        url, {"kind": "note", "occurred_at": "2026-03-10T14:55", "body": "Hi", "deal": deal.pk}
    )
    assert response["Location"] == reverse("sales:deal_detail", args=[deal.pk])
    assert Activity.objects.get().contact == deal.contact


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"duration": "-1"}, "duration"),
        ({"kind": "note"}, "direction"),  # a note with a direction
        ({"direction": ""}, "direction"),
        ({"outcome": "bogus"}, "outcome"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"callback_at": "2026-03-01T10:00"}, "callback_at"),  # before the call
    ],
)
def test_it_shows_field_errors_and_writes_nothing(frozen, manager_client, contact, extra, field):
    url = reverse("activities:activity_create") + f"?contact={contact.pk}"
    response = manager_client.post(url, _call(contact, **extra))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert "invalid-feedback" in response.content.decode()
    assert not Activity.all_objects.exists() and not Followup.all_objects.exists()
    assert not TimelineEntry.objects.exists()


def test_it_needs_a_client(frozen, manager_client):
    response = manager_client.post(
        reverse("activities:activity_create"), {"kind": "note", "occurred_at": "2026-03-10T14:55"}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Activity.objects.exists()


def test_it_hides_other_peoples_clients(frozen, manager_client, foreign_contact):
    url = reverse("activities:activity_create") + f"?contact={foreign_contact.pk}"
    assert manager_client.get(url).status_code == 404
    assert manager_client.post(url, _call(foreign_contact)).status_code == 404
    bogus = reverse("activities:activity_create") + "?contact=abc"
    assert manager_client.get(bogus).status_code == 404
    assert not Activity.objects.exists()


def test_it_rejects_a_foreign_client_posted_without_a_preset(
    frozen, manager_client, foreign_contact
):
    response = manager_client.post(reverse("activities:activity_create"), _call(foreign_contact))
    assert response.status_code == 404
    assert not Activity.objects.exists()


def test_it_serves_an_htmx_partial_for_a_modal(frozen, manager_client, contact):
    url = (
        reverse("activities:activity_create")
        + f"?contact={contact.pk}&next=/clients/contacts/{contact.pk}/"
    )
    page = manager_client.get(url, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert "<html" not in html and 'id="activity-form"' in html and "hx-post" in html
    bad = manager_client.post(url, _call(contact, duration="-3"), HTTP_HX_REQUEST="true")
    assert (
        bad.status_code == 200
        and "<html" not in bad.content.decode()
        and "invalid-feedback" in bad.content.decode()
    )
    ok = manager_client.post(
        url, _call(contact, next=f"/clients/contacts/{contact.pk}/"), HTTP_HX_REQUEST="true"
    )
    assert ok["HX-Redirect"] == f"/clients/contacts/{contact.pk}/"


def test_it_rejects_other_methods(manager_client):
    assert manager_client.put(reverse("activities:activity_create")).status_code == 405
    assert manager_client.post(reverse("activities:activity_list")).status_code == 405


def test_the_list_filters_and_pins_queries(frozen, manager_client, manager, contact, deal):
    activity_log(actor=manager, kind="call", direction="out", contact=contact, subject="First call")
    url = reverse("activities:activity_list")
    manager_client.get(url)
    with CaptureQueriesContext(connection) as one:
        response = manager_client.get(url)
    assert "First call" in response.content.decode()
    for i in range(30):
        activity_log(actor=manager, kind="note", deal=deal, subject=f"Note {i}")
    with CaptureQueriesContext(connection) as many:
        manager_client.get(url)
    assert len(many.captured_queries) == len(one.captured_queries)
    filtered = manager_client.get(url + "?kind=call").content.decode()
    assert "First call" in filtered and "Note 3" not in filtered
    searched = manager_client.get(url + "?q=Note 2").content.decode()
    assert "Note 2" in searched and "First call" not in searched


def test_the_list_is_scoped(frozen, client, outsider, manager, contact):
    activity_log(
        actor=manager, kind="call", direction="out", contact=contact, subject="Secret call"
    )
    client.force_login(outsider)
    assert "Secret call" not in client.get(reverse("activities:activity_list")).content.decode()


def test_the_card_modal_snippet_points_at_the_partial(rf, manager, contact):
    from django.template.loader import render_to_string

    request = rf.get(f"/clients/contacts/{contact.pk}/")
    request.user = manager
    html = render_to_string(
        "activities/log_button.html", {"subject_param": f"contact={contact.pk}"}, request=request
    )
    assert f"/activities/new/?contact={contact.pk}&amp;next=/clients/contacts/{contact.pk}/" in html
    assert 'id="activity-modal-body"' in html
