"""POST /api/v1/intake/messages/: signed, replay-safe, one conversation per sender."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.core.models import TimelineEntry
from svyaz.followups.models import Followup
from svyaz.intake.chat import services
from svyaz.intake.models import Conversation, Message
from svyaz.intake.telephony.generic import sign
from svyaz.sales.models import Lead
from tests.intake_chat.conftest import API_URL, SECRET, inbound, post_signed

pytestmark = pytest.mark.django_db


def test_the_url_is_the_documented_one():
    assert reverse("intake-messages") == API_URL


def test_an_unknown_sender_becomes_a_routed_lead_with_a_first_response_task(
    client, source, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, inbound())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] and body["status"] == "accepted"
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.external_id, conversation.name) == (
        "messenger",
        "555",
        "Olga",
    )
    lead = Lead.objects.get()
    assert conversation.lead == lead and conversation.owner == manager
    assert (lead.channel, lead.first_name, lead.owner) == ("messenger", "Olga", manager)
    assert lead.description == "Hello, do you deliver to Tula?"
    assert lead.title == "Telegram: Olga"
    task = Followup.objects.get(assignee=manager)
    assert task.title == "Answer the chat: Telegram: Olga"
    # The messenger SLA (30 min) sets the due time.
    assert abs((task.due_at - lead.intake.received_at).total_seconds() - 30 * 60) < 2
    assert Message.objects.get().processed_at is not None


def test_the_same_event_twice_is_one_message(client, source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post_signed(client, inbound())
        second = post_signed(client, inbound())
    assert first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert second.json()["id"] == first.json()["id"]
    assert Message.objects.count() == 1 and Lead.objects.count() == 1


def test_one_conversation_per_sender_and_channel(
    client, source, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, inbound(event_id="a"))
        post_signed(client, inbound(event_id="b", text="And to Kaluga?"))
        post_signed(client, inbound(event_id="c", sender={"id": "777", "name": "Petr"}))
    assert Conversation.objects.count() == 2
    olga = Conversation.objects.get(external_id="555")
    assert list(olga.messages.values_list("body", flat=True)) == [
        "Hello, do you deliver to Tula?",
        "And to Kaluga?",
    ]
    # The second message joins the first one's lead: no second lead for the same sender.
    assert Lead.objects.count() == 2


def test_a_known_phone_puts_the_messages_on_the_contacts_timeline(
    client, source, known_contact, teammate, django_capture_on_commit_callbacks
):
    sender = {"id": "900", "name": "Ivan", "phone": "8 (916) 123-45-67"}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, inbound(sender=sender))
    assert response.status_code == 200, response.content
    conversation = Conversation.objects.get()
    assert conversation.contact == known_contact and conversation.lead is None
    assert conversation.owner == teammate  # the contact's owner answers
    assert not Lead.objects.exists()
    activity = Activity.objects.get()
    assert (activity.kind, activity.direction, activity.contact, activity.channel) == (
        "message",
        "in",
        known_contact,
        "messenger",
    )
    assert activity.body == "Hello, do you deliver to Tula?"
    assert TimelineEntry.objects.filter(
        contact=known_contact, title="Incoming message: Telegram"
    ).exists()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"signature": "sha256=" + "0" * 64}, 403),
        ({"secret": "wrong"}, 403),
        ({"source": "nobody"}, 403),
        ({"timestamp": time.time() - 3600}, 400),
        ({"timestamp": time.time() + 3600}, 400),
    ],
)
def test_bad_signatures_unknown_sources_and_stale_requests_are_refused(
    client, source, headers, status
):
    response = post_signed(client, inbound(), **headers)
    assert response.status_code == status
    assert response.json()["ok"] is False and response.json()["error"]
    assert not Message.objects.exists() and not Conversation.objects.exists()


def test_an_unsigned_request_is_refused(client, source):
    response = client.post(
        API_URL,
        json.dumps(inbound()),
        content_type="application/json",
        HTTP_X_SVYAZ_SOURCE="tg-bot",
    )
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_an_inactive_source_is_refused(client, source):
    source.active = False
    source.save()
    assert post_signed(client, inbound()).status_code == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (inbound(text="   "), "text"),
        (inbound(event_id=""), "event_id"),
        (inbound(sender={"name": "No id"}), "sender"),
        (inbound(sender={"id": "1", "phone": "not a phone"}), "sender"),
        (inbound(sender={"id": "1", "email": "nope@"}), "sender"),
        (inbound(text="x" * 4001), "text"),
    ],
)
def test_wrong_input_gets_field_errors_and_writes_nothing(client, source, payload, field):
    response = post_signed(client, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Message.objects.exists() and not Conversation.objects.exists()


def test_a_body_that_is_not_json_is_a_400(client, source):
    response = post_signed(client, b"{not json")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_message_is_kept_when_processing_fails_and_the_retry_job_finishes_it(
    client, source, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise RuntimeError("routing is down")

    monkeypatch.setattr(services, "intake_lead_create", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, inbound())
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    message = Message.objects.get()
    assert message.processed_at is None and "routing is down" in message.error
    assert not Lead.objects.exists()

    monkeypatch.undo()
    Message.objects.update(received_at=message.received_at.replace(year=2020))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.messages_retry() == 1
        assert services.messages_retry() == 0  # processed once, not twice
    message.refresh_from_db()
    assert message.processed_at is not None and message.error == ""
    assert Lead.objects.count() == 1


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/reply", _Receiver.received
    server.shutdown()
    server.server_close()


def test_an_operators_answer_is_delivered_to_the_messenger_signed(
    client, source, manager, receiver, django_capture_on_commit_callbacks
):
    url, received = receiver
    source.reply_url = url
    source.save()
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, inbound())
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = services.operator_reply(
            actor=manager, conversation=conversation, text="Yes, in two days."
        )
    answer.refresh_from_db()
    assert answer.delivered_at is not None
    assert len(received) == 1
    headers, body = received[0]
    assert json.loads(body) == {
        "event_id": f"svyaz-{answer.pk}",
        "sender_id": "555",
        "text": "Yes, in two days.",
        "sent_at": answer.sent_at.isoformat(),
    }
    expected = sign(SECRET, headers["X-Svyaz-Timestamp"], body)
    assert headers["X-Svyaz-Signature"] == f"sha256={expected}"
    # Delivered once: the retry job leaves it alone.
    assert services.message_deliver(answer.pk) is True
    assert len(received) == 1
