"""The widget's public endpoints: script, settings, first message, HTTP fallback."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.followups.models import Followup
from svyaz.intake.chat import services
from svyaz.intake.models import Conversation, Message
from svyaz.sales.models import Lead
from tests.intake_chat.conftest import SITE, start_chat, widget_url

pytestmark = pytest.mark.django_db


def test_the_script_is_served_to_any_site(client, widget):
    response = client.get(reverse("intake:chat_widget_js"), HTTP_ORIGIN="https://other.example")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"data-key" in response.content
    assert response["Access-Control-Allow-Origin"] == "*"


def test_the_settings_answer_the_widgets_sites_with_cors(client, widget):
    response = client.get(widget_url("chat_widget_config"), HTTP_ORIGIN=SITE)
    assert response.status_code == 200
    data = response.json()
    assert data["title"] == "Chat with us" and data["greeting"]
    assert data["socket_path"] == "/ws/chat/widget/shop-chat/"
    assert response["Access-Control-Allow-Origin"] == SITE
    preflight = client.options(widget_url("chat_start"), HTTP_ORIGIN=SITE)
    assert preflight.status_code == 204
    assert "X-Svyaz-Visitor" in preflight["Access-Control-Allow-Headers"]


def test_another_site_is_refused(client, widget):
    response = start_chat(client, origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not Conversation.objects.exists()


def test_an_inactive_or_unknown_widget_is_a_404(client, widget):
    assert client.get(widget_url("chat_widget_config", "nope")).status_code == 404
    widget.active = False
    widget.save()
    assert start_chat(client).status_code == 404


def test_the_first_message_opens_a_conversation_and_a_routed_lead(
    client, widget, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = start_chat(client, name="Olga", contact="+7 903 555-12-34")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["ok"] and len(data["token"]) > 20
    assert [m["text"] for m in data["messages"]] == ["Hi! Is the blue kettle in stock?"]
    conversation = Conversation.objects.get()
    # Only the token's hash is kept.
    assert conversation.visitor_key == services.token_hash(data["token"])
    assert data["token"] not in json.dumps(list(Conversation.objects.values()), default=str)
    assert (conversation.channel, conversation.name, conversation.phone) == (
        "chat",
        "Olga",
        "+79035551234",
    )
    assert conversation.landing_page == f"{SITE}/kettles?utm_source=ya"
    lead = Lead.objects.get()
    assert (lead.channel, lead.source, lead.owner, lead.phone) == (
        "chat",
        "website",
        manager,
        "+79035551234",
    )
    assert conversation.lead == lead and conversation.owner == manager
    assert lead.intake.landing_page == f"{SITE}/kettles?utm_source=ya"
    task = Followup.objects.get(assignee=manager)
    assert abs((task.due_at - lead.intake.received_at).total_seconds() - 5 * 60) < 2


def test_a_known_email_attaches_to_the_contact_instead_of_a_lead(
    client, widget, known_contact, teammate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = start_chat(client, contact="IVAN@example.com")
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.contact == known_contact and conversation.owner == teammate
    assert not Lead.objects.exists()
    activity = Activity.objects.get()
    assert (activity.kind, activity.subject, activity.channel) == (
        "message",
        "Website chat",
        "chat",
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"text": "  "}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({"contact": "nope@"}, "contact"),
        ({"contact": "12"}, "contact"),
    ],
)
def test_wrong_input_gets_field_errors_and_writes_nothing(client, widget, extra, field):
    payload = {"text": "Hello", **extra}
    response = start_chat(client, **payload)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert response["Access-Control-Allow-Origin"] == SITE
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_the_http_fallback_sends_and_polls_with_the_visitors_token(
    client, widget, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        token = start_chat(client).json()["token"]
    conversation = Conversation.objects.get()
    first_id = conversation.messages.get().pk
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            widget_url("chat_send"),
            json.dumps({"text": "Also a red one?"}),
            content_type="application/json",
            HTTP_ORIGIN=SITE,
            HTTP_X_SVYAZ_VISITOR=token,
        )
        assert sent.status_code == 200, sent.content
        services.operator_reply(actor=manager, conversation=conversation, text="Both in stock!")
    polled = client.get(
        widget_url("chat_poll") + f"?after={first_id}", HTTP_ORIGIN=SITE, HTTP_X_SVYAZ_VISITOR=token
    )
    assert polled.status_code == 200
    data = polled.json()
    assert [(m["direction"], m["text"]) for m in data["messages"]] == [
        ("in", "Also a red one?"),
        ("out", "Both in stock!"),
    ]
    assert data["messages"][1]["author"] == "Anna"
    assert data["status"] == "open"
    assert polled["Access-Control-Allow-Origin"] == SITE


def test_a_wrong_token_reads_and_writes_nothing(client, widget, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        start_chat(client)
    for token in ("", "guess", "x" * 500):
        polled = client.get(widget_url("chat_poll"), HTTP_ORIGIN=SITE, HTTP_X_SVYAZ_VISITOR=token)
        assert polled.status_code == 404
        assert polled["Access-Control-Allow-Origin"] == SITE
        sent = client.post(
            widget_url("chat_send"),
            json.dumps({"text": "hi"}),
            content_type="application/json",
            HTTP_ORIGIN=SITE,
            HTTP_X_SVYAZ_VISITOR=token,
        )
        assert sent.status_code == 404
    assert Message.objects.count() == 1


def test_a_flood_of_new_chats_from_one_address_is_refused(client, widget):
    for _ in range(services.START_LIMIT):
        assert start_chat(client).status_code == 200
    refused = start_chat(client)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Conversation.objects.count() == services.START_LIMIT


def test_a_flood_of_messages_is_refused(client, widget, django_capture_on_commit_callbacks):
    token = start_chat(client).json()["token"]
    statuses = [
        client.post(
            widget_url("chat_send"),
            json.dumps({"text": f"spam {i}"}),
            content_type="application/json",
            HTTP_X_SVYAZ_VISITOR=token,
        ).status_code
        for i in range(services.MESSAGE_LIMIT + 2)
    ]
    assert statuses.count(429) == 2
    assert Message.objects.count() == services.MESSAGE_LIMIT + 1


def test_a_visitor_message_reopens_a_closed_conversation(
    client, widget, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        token = start_chat(client).json()["token"]
    conversation = Conversation.objects.get()
    services.conversation_close(actor=manager, conversation=conversation)
    assert Conversation.objects.get().status == "closed"
    client.post(
        widget_url("chat_send"),
        json.dumps({"text": "One more question"}),
        content_type="application/json",
        HTTP_X_SVYAZ_VISITOR=token,
    )
    assert Conversation.objects.get().status == "open"
