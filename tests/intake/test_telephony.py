from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from svyaz.activities.models import Activity
from svyaz.followups.models import Followup
from svyaz.intake.models import CallEvent
from svyaz.intake.telephony.generic import sign
from svyaz.sales.models import Lead

pytestmark = pytest.mark.django_db

URL = reverse("intake:call_event", args=["pbx"])


def event(**overrides):
    data = {
        "event_id": "call-1",
        "direction": "in",
        "status": "answered",
        "caller": "8 916 123 45 67",
        "callee": "+74950000000",
        "started_at": timezone.now().isoformat(),
        "duration": 125,
        "recording_url": "https://pbx.example/rec/1.mp3",
    }
    data.update(overrides)
    return data


def send(client, data, *, secret="s3cret", timestamp=None, signature=None):  # noqa: S107 - test secret
    body = json.dumps(data).encode()
    ts = str(int(timestamp if timestamp is not None else time.time()))
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_SVYAZ_TIMESTAMP=ts,
        HTTP_X_SVYAZ_SIGNATURE=signature or sign(secret, ts, body),
    )


def test_a_call_from_a_known_number_lands_on_the_contact_timeline(client, provider, known_contact):
    response = send(client, event())
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    activity = Activity.objects.get()
    assert activity.contact == known_contact and activity.kind == "call"
    assert (activity.direction, activity.outcome, activity.duration_seconds) == (
        "in",
        "answered",
        125,
    )
    assert "https://pbx.example/rec/1.mp3" in activity.body
    assert activity.owner == known_contact.owner
    assert not Lead.objects.exists() and not Followup.objects.exists()
    ev = CallEvent.objects.get()
    assert ev.processed_at is not None and ev.activity == activity


def test_a_bad_signature_is_refused(client, provider, known_contact):
    assert send(client, event(), secret="wrong").status_code == 403
    assert send(client, event(), signature="deadbeef").status_code == 403
    unsigned = client.post(URL, json.dumps(event()), content_type="application/json")
    assert unsigned.status_code == 403
    assert not CallEvent.objects.exists() and not Activity.objects.exists()


def test_a_stale_timestamp_is_refused(client, provider, known_contact):
    response = send(client, event(), timestamp=time.time() - 301)
    assert response.status_code == 400
    assert "too old" in response.json()["error"]
    assert not CallEvent.objects.exists()


def test_a_replayed_event_has_one_effect(client, provider, known_contact):
    assert send(client, event()).json()["status"] == "accepted"
    again = send(client, event())
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert Activity.objects.count() == 1 and CallEvent.objects.count() == 1


def test_a_missed_call_creates_a_callback_for_the_contact_owner(
    client, provider, known_contact, teammate
):
    send(client, event(status="missed", duration=0))
    activity = Activity.objects.get()
    assert activity.outcome == "missed"
    callback = Followup.objects.get()
    assert callback.kind == "callback" and callback.assignee == teammate
    assert callback.contact == known_contact and callback.source_activity == activity


def test_an_unknown_caller_becomes_a_routed_lead(client, provider, manager):
    send(client, event(caller="+7 999 000-11-22", status="missed"))
    lead = Lead.objects.get()
    assert (lead.source, lead.channel, lead.phone) == ("call", "phone", "+79990001122")
    assert lead.owner == manager
    task = Followup.objects.get()
    assert task.assignee == manager and task.title.startswith("Call back")
    assert not Activity.objects.exists()


def test_malformed_events_are_refused(client, provider):
    response = send(client, {"event_id": "", "direction": "sideways"})
    assert response.status_code == 400
    assert "direction" in response.json()["error"]
    assert not CallEvent.objects.exists()


def test_a_failed_effect_keeps_the_event_for_a_retry(client, provider, known_contact, monkeypatch):
    from svyaz.intake.telephony import services

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "activity_log", broken)
    assert send(client, event()).status_code == 200
    ev = CallEvent.objects.get()
    assert ev.processed_at is None and "boom" in ev.error
    monkeypatch.undo()
    assert services.call_events_retry() == 1
    services.call_event_process(ev.pk)
    assert Activity.objects.count() == 1
    assert services.call_events_retry() == 0


# --- Zadarma ------------------------------------------------------------------------


def zadarma_post(client, data, secret="zsecret"):  # noqa: S107 - test secret
    fields = ("caller_id", "called_did", "call_start")
    if data["event"].startswith("NOTIFY_OUT"):
        fields = ("internal", "destination", "call_start")
    message = "".join(data.get(f, "") for f in fields)
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()
    return client.post(
        reverse("intake:call_event", args=["zd"]),
        data,
        HTTP_SIGNATURE=base64.b64encode(digest.encode()).decode(),
    )


def test_zadarma_end_of_a_missed_call(client, group, sla, known_contact, teammate):
    from svyaz.intake.models import TelephonyProvider

    TelephonyProvider.objects.create(
        name="zd", kind="zadarma", secret="zsecret", routing_group=group
    )
    echo = client.get(reverse("intake:call_event", args=["zd"]), {"zd_echo": "abc"})
    assert echo.content == b"abc"
    start = {
        "event": "NOTIFY_START",
        "call_start": "2026-03-10 12:00:00",
        "pbx_call_id": "in_1",
        "caller_id": "79161234567",
        "called_did": "74950000000",
    }
    assert zadarma_post(client, start).json()["status"] == "ignored"
    end = {
        **start,
        "event": "NOTIFY_END",
        "duration": "0",
        "disposition": "no answer",
        "internal": "100",
        "status_code": "19",
        "is_recorded": "0",
    }
    assert zadarma_post(client, end).json()["status"] == "accepted"
    assert zadarma_post(client, end).json()["status"] == "duplicate"
    assert zadarma_post(client, end, secret="wrong").status_code == 403
    activity = Activity.objects.get()
    assert activity.contact == known_contact and activity.outcome == "missed"
    assert Followup.objects.get().assignee == teammate
