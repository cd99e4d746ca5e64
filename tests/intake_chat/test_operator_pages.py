"""Operators' pages: the open chats, one conversation, answering, closing, scope, XSS."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.followups.models import Followup
from svyaz.intake.chat import services
from svyaz.intake.models import Conversation, Message
from tests.intake_chat.conftest import start_chat

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def chat(client, widget, manager, django_capture_on_commit_callbacks):
    """A visitor's conversation, routed to `manager`."""
    with django_capture_on_commit_callbacks(execute=True):
        start_chat(client, name="Olga")
    conversation = Conversation.objects.get()
    assert conversation.owner == manager
    return conversation


def test_the_list_shows_open_chats_awaiting_an_answer(manager_client, chat):
    response = manager_client.get(reverse("intake:chat_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="conversation-{chat.pk}"' in html
    assert "awaiting answer" in html and "Olga" in html
    assert "/ws/chat/operator/" in html


def test_the_htmx_list_is_the_rows_only(manager_client, chat):
    response = manager_client.get(reverse("intake:chat_list"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'id="conversation-{chat.pk}"' in html and "<nav" not in html


def test_the_list_costs_the_same_queries_for_one_chat_and_many(
    manager_client, chat, widget, django_assert_num_queries, django_capture_on_commit_callbacks
):
    url = reverse("intake:chat_list")
    manager_client.get(url)  # warm the per-session caches
    with CaptureQueriesContext(connection) as one:
        manager_client.get(url, HTTP_HX_REQUEST="true")
    for i in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            services.chat_start(widget=widget, text=f"hi {i}", ip=f"10.0.0.{i}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = manager_client.get(url, HTTP_HX_REQUEST="true")
    assert response.content.decode().count('id="conversation-') >= 3


def test_visitors_input_is_escaped_on_every_page(client, widget, manager_client, manager):
    conversation, _token, _m = services.chat_start(
        widget=widget, text=XSS, name=XSS[:200], ip="10.1.1.1"
    )
    Conversation.objects.filter(pk=conversation.pk).update(owner=manager)
    pages = [
        manager_client.get(reverse("intake:chat_list")),
        manager_client.get(reverse("intake:chat_detail", args=[conversation.pk])),
        manager_client.get(reverse("intake:chat_messages", args=[conversation.pk])),
    ]
    for response in pages:
        html = response.content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_conversation_page_and_its_htmx_messages(manager_client, chat):
    first = chat.messages.get()
    page = manager_client.get(reverse("intake:chat_detail", args=[chat.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="message-{first.pk}"' in html and "Hi! Is the blue kettle in stock?" in html
    assert f"/ws/chat/operator/{chat.pk}/" in html
    assert "chat-lead" in html  # the lead is linked
    newer = manager_client.get(
        reverse("intake:chat_messages", args=[chat.pk]) + f"?after={first.pk}"
    )
    assert newer.status_code == 200 and "data-message-id" not in newer.content.decode()
    assert newer["X-Chat-Status"] == "open"


def test_an_answer_over_htmx_is_stored_and_completes_the_first_response(
    manager_client, chat, manager, django_capture_on_commit_callbacks
):
    task = Followup.objects.get(assignee=manager)
    assert task.status == "open"
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("intake:chat_reply", args=[chat.pk]),
            {"text": "Yes, we have it."},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "chat-sent"
    assert 'id="chat-reply"' in response.content.decode()
    answer = Message.objects.get(direction="out")
    assert (answer.body, answer.author, answer.processed_at is not None) == (
        "Yes, we have it.",
        manager,
        True,
    )
    task.refresh_from_db()
    assert task.status == "done" and task.result == "Answered in the chat."
    assert Conversation.objects.get().last_direction == "out"


def test_an_empty_answer_shows_the_error_and_writes_nothing(manager_client, chat):
    response = manager_client.post(
        reverse("intake:chat_reply", args=[chat.pk]), {"text": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="chat-error"' in response.content.decode()
    assert "HX-Trigger" not in response
    plain = manager_client.post(reverse("intake:chat_reply", args=[chat.pk]), {"text": ""})
    assert plain.status_code == 400 and "Write a message." in plain.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_an_answer_without_htmx_redirects_back(manager_client, chat):
    response = manager_client.post(reverse("intake:chat_reply", args=[chat.pk]), {"text": "Hi"})
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:chat_detail", args=[chat.pk])


def test_closing_a_conversation(manager_client, chat):
    response = manager_client.post(
        reverse("intake:chat_close", args=[chat.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("intake:chat_list")
    assert Conversation.objects.get().status == "closed"
    listed = manager_client.get(reverse("intake:chat_list"))
    assert f'id="conversation-{chat.pk}"' not in listed.content.decode()
    closed = manager_client.get(reverse("intake:chat_list") + "?status=closed")
    assert f'id="conversation-{chat.pk}"' in closed.content.decode()


def test_an_outsider_gets_404_everywhere(client, chat, outsider):
    client.force_login(outsider)
    assert f"conversation-{chat.pk}" not in client.get(reverse("intake:chat_list")).content.decode()
    for name in ("chat_detail", "chat_messages"):
        assert client.get(reverse(f"intake:{name}", args=[chat.pk])).status_code == 404
    for name in ("chat_reply", "chat_close"):
        assert (
            client.post(reverse(f"intake:{name}", args=[chat.pk]), {"text": "x"}).status_code == 404
        )
    assert not Message.objects.filter(direction="out").exists()


def test_anonymous_users_are_sent_to_log_in(client, chat):
    response = client.get(reverse("intake:chat_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_answers_to_a_known_client_are_on_the_contacts_timeline(
    client, widget, known_contact, teammate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start_chat(client, contact="+7 916 123 45 67")
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.operator_reply(actor=teammate, conversation=conversation, text="Hello, Ivan!")
    kinds = list(
        Activity.objects.filter(contact=known_contact)
        .order_by("occurred_at", "id")
        .values_list("direction", "body", "owner__username")
    )
    assert kinds == [
        ("in", "Hi! Is the blue kettle in stock?", "teammate"),
        ("out", "Hello, Ivan!", "teammate"),
    ]


def test_messages_before_a_lead_is_converted_follow_it_to_the_contact(
    client, chat, manager, django_capture_on_commit_callbacks
):
    from svyaz.sales.services import lead_convert

    contact, _company, _deal = lead_convert(actor=manager, lead=chat.lead, create_deal=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.operator_reply(actor=manager, conversation=chat, text="Welcome!")
    chat.refresh_from_db()
    assert chat.contact == contact
    assert list(
        Activity.objects.filter(contact=contact, kind="message")
        .order_by("id")
        .values_list("direction", flat=True)
    ) == ["in", "out"]


def test_the_widgets_page_shows_the_embed_code_to_staff(widget, admin, manager):
    from django.test import Client

    client, manager_client = Client(), Client()
    client.force_login(admin)
    manager_client.force_login(manager)
    response = client.get(reverse("intake:chat_widgets"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'src="http://testserver/intake/chat/widget.js"' in html.replace("&quot;", '"')
    assert 'data-key="shop-chat"' in html.replace("&quot;", '"')
    assert (
        manager_client.get(reverse("intake:chat_widgets")).status_code == 403
    )  # no settings grant
