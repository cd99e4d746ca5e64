"""GET /api/v1/conversations/ and /api/v1/conversations/<id>/: conversations of the
clients the user can see (through the contact or the lead), filters, pagination, the
detail with its messages, and a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from svyaz.contacts.services import contact_create
from svyaz.intake.chat.api import DETAIL_MESSAGES
from svyaz.intake.models import ChatWidget, Conversation, Message, MessageSource
from svyaz.sales.services import lead_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/conversations/"


def conversation(*, contact=None, lead=None, channel="chat", status="open", messages=1, **kw):
    source = widget = None
    if channel == "chat":
        widget, _ = ChatWidget.objects.get_or_create(key="site", defaults={"name": "Site"})
    if channel == "messenger":
        source, _ = MessageSource.objects.get_or_create(
            name="tg", defaults={"network": "Telegram", "secret": "s"}
        )
    conv = Conversation.objects.create(
        channel=channel,
        status=status,
        contact=contact,
        lead=lead,
        source=source,
        widget=widget,
        external_id=f"x{Conversation.objects.count()}" if source else "",
        **kw,
    )
    start = timezone.now() - timedelta(hours=1)
    for i in range(messages):
        Message.objects.create(
            conversation=conv,
            direction="in" if i % 2 == 0 else "out",
            body=f"message {i}",
            sent_at=start + timedelta(seconds=i),
        )
    return conv


@pytest.fixture
def world(manager, teammate, outsider):
    mine = contact_create(actor=manager, first_name="Mine")
    peer = contact_create(actor=teammate, first_name="Peer")
    theirs = contact_create(actor=outsider, first_name="Theirs")
    my_lead = lead_create(actor=manager, title="My lead", owner=manager)
    their_lead = lead_create(actor=outsider, title="Their lead", owner=outsider)
    return {
        "mine": conversation(contact=mine, name="Olga"),
        "mine_tg": conversation(contact=mine, channel="messenger"),
        "peer": conversation(contact=peer, channel="messenger"),
        "lead": conversation(lead=my_lead, channel="messenger", status="closed"),
        "theirs": conversation(contact=theirs),
        "their_lead": conversation(lead=their_lead),
        "nobody": conversation(),  # not linked to a client yet
        "contacts": {"mine": mine, "peer": peer},
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.data["results"]}


def test_it_lists_the_conversations_of_visible_clients_only(api_client, head, world):
    # The manager sees the own clients' conversations: not the teammate's or the
    # outsider's, and not one that has no client yet.
    assert ids(api_client.get(URL)) == {world[k].pk for k in ("mine", "mine_tg", "lead")}
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(head)  # the head of sales sees the department's clients
    assert ids(client.get(URL)) == {world[k].pk for k in ("mine", "mine_tg", "peer", "lead")}
    row = next(r for r in api_client.get(URL).data["results"] if r["id"] == world["mine"].pk)
    assert row["network"] == "Website chat" and row["name"] == "Olga"
    assert "messages" not in row  # only the detail carries them


def test_the_outsider_sees_their_own_and_nothing_else(outsider, world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(outsider)
    assert ids(client.get(URL)) == {world["theirs"].pk, world["their_lead"].pk}


def test_it_filters_by_channel_status_and_contact(api_client, world):
    assert ids(api_client.get(URL, {"channel": "messenger"})) == {
        world["mine_tg"].pk,
        world["lead"].pk,
    }
    assert ids(api_client.get(URL, {"status": "closed"})) == {world["lead"].pk}
    mine = world["contacts"]["mine"]
    assert ids(api_client.get(URL, {"contact": mine.pk})) == {
        world["mine"].pk,
        world["mine_tg"].pk,
    }
    assert ids(api_client.get(URL, {"channel": "chat", "contact": mine.pk})) == {world["mine"].pk}
    assert ids(api_client.get(URL, {"search": "olg"})) == {world["mine"].pk}
    # Filtering by someone else's contact shows nothing, not their conversations.
    for key in ("theirs", "peer"):
        assert ids(api_client.get(URL, {"contact": world[key].contact_id})) == set()


def test_a_wrong_filter_is_a_400_with_field_errors(api_client, world):
    response = api_client.get(URL, {"channel": "pigeon", "status": "lost"})
    assert response.status_code == 400
    assert set(response.data) == {"channel", "status"}


def test_it_paginates(api_client, manager, world):
    contact = world["contacts"]["mine"]
    for _ in range(4):
        conversation(contact=contact)
    pages = [api_client.get(URL, {"page_size": 3})]
    while pages[-1].data["next"]:
        pages.append(api_client.get(pages[-1].data["next"]))
    assert [len(p.data["results"]) for p in pages] == [3, 3, 1]  # 3 of the world + 4
    assert pages[0].data["count"] == 7
    rows = [r for p in pages for r in p.data["results"]]
    assert len({r["id"] for r in rows}) == 7
    ordered = [r["last_message_at"] for r in rows]
    assert ordered == sorted(ordered, reverse=True)


def test_the_detail_has_the_messages_oldest_first(api_client, world):
    conv = world["mine"]
    for i in range(1, 4):
        Message.objects.create(conversation=conv, direction="out", body=f"answer {i}")
    response = api_client.get(f"{URL}{conv.pk}/")
    assert response.status_code == 200
    data = response.data
    assert data["id"] == conv.pk and data["contact"] == world["contacts"]["mine"].pk
    assert [m["body"] for m in data["messages"]] == [
        "message 0",
        "answer 1",
        "answer 2",
        "answer 3",
    ]
    assert data["has_earlier_messages"] is False


def test_a_long_conversation_is_read_in_pages_backwards(api_client, world):
    conv = conversation(contact=world["contacts"]["mine"], messages=DETAIL_MESSAGES + 5)
    latest = api_client.get(f"{URL}{conv.pk}/").data
    assert len(latest["messages"]) == DETAIL_MESSAGES and latest["has_earlier_messages"]
    assert latest["messages"][-1]["body"] == f"message {DETAIL_MESSAGES + 4}"
    earlier = api_client.get(f"{URL}{conv.pk}/", {"before": latest["messages"][0]["id"]}).data
    assert [m["body"] for m in earlier["messages"]] == [f"message {i}" for i in range(5)]
    assert earlier["has_earlier_messages"] is False
    bad = api_client.get(f"{URL}{conv.pk}/", {"before": "abc"})
    assert bad.status_code == 400 and "before" in bad.data


@pytest.mark.parametrize("key", ["peer", "theirs", "their_lead", "nobody"])
def test_a_conversation_out_of_scope_is_a_404(api_client, world, key):
    assert api_client.get(f"{URL}{world[key].pk}/").status_code == 404


def test_unknown_ids_are_404_and_writes_are_not_allowed(api_client, world):
    assert api_client.get(f"{URL}999999/").status_code == 404
    assert api_client.post(URL, {}).status_code == 405
    assert api_client.delete(f"{URL}{world['mine'].pk}/").status_code == 405


def test_anonymous_gets_nothing(world):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code in (401, 403)


def test_the_list_costs_the_same_queries_for_one_row_and_for_many(
    api_client, manager, django_assert_num_queries
):
    contact = contact_create(actor=manager, first_name="Many")
    conversation(contact=contact)
    api_client.get(URL)  # warm caches (roles, content types)
    with django_assert_num_queries(3) as one:  # the page, the capped count, the grants
        assert len(api_client.get(URL).data["results"]) == 1
    lead = lead_create(actor=manager, title="Many", owner=manager)
    for n in range(11):
        conversation(
            contact=contact if n % 2 else None,
            lead=lead if not n % 2 else None,
            channel="messenger" if n % 3 else "chat",
        )
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(api_client.get(URL).data["results"]) == 12


def test_the_detail_costs_the_same_queries_for_one_message_and_for_many(
    api_client, manager, django_assert_num_queries
):
    from tests.factories import UserFactory

    contact = contact_create(actor=manager, first_name="Many")
    short = conversation(contact=contact, messages=1)
    long = conversation(contact=contact, messages=30)
    operator = UserFactory()
    Message.objects.filter(conversation=long, direction="out").update(author=operator)
    api_client.get(f"{URL}{short.pk}/")
    with django_assert_num_queries(3) as one:  # the grants, the conversation, its messages
        assert len(api_client.get(f"{URL}{short.pk}/").data["messages"]) == 1
    with django_assert_num_queries(len(one.captured_queries)):
        data = api_client.get(f"{URL}{long.pk}/").data
    assert len(data["messages"]) == 30
    assert {m["author_name"] for m in data["messages"] if m["direction"] == "out"} == {
        str(operator)
    }
