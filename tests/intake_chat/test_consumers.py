"""The WebSocket path, through the real ASGI application (svyaz.asgi) and its middleware,
with channels.testing.WebsocketCommunicator (asgiref's async_to_sync: no extra plugin)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from svyaz.asgi import application
from svyaz.intake.chat import realtime, services
from svyaz.intake.models import Conversation, Message
from tests.intake_chat.conftest import SITE

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


def widget_socket(key="shop-chat", origin=SITE):
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(application, f"/ws/chat/widget/{key}/", headers=headers)


def session_cookie(user) -> str:
    """Signed in through Django's test client (sync: before the async part starts)."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def operator_socket(cookie, path="/ws/chat/operator/", origin="http://testserver"):
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def run(coro_fn):
    return async_to_sync(coro_fn)()


@pytest.fixture
def visitor(widget, manager):
    """A started chat (processed: routed to `manager`) and the visitor's token."""
    conversation, token, _m = services.chat_start(widget=widget, text="Hello", ip="10.0.0.1")
    services.message_process(conversation.messages.get().pk)
    conversation.refresh_from_db()
    return conversation, token


def test_a_visitor_talks_to_an_operator_over_the_socket(visitor, manager):
    conversation, token = visitor
    cookie = session_cookie(manager)

    async def scenario():
        socket = widget_socket()
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        await socket.send_json_to({"type": "hello", "token": token})
        assert await socket.receive_json_from(TIMEOUT) == {"type": "ready", "status": "open"}

        operator = operator_socket(cookie, f"/ws/chat/operator/{conversation.pk}/")
        connected, _ = await operator.connect(timeout=TIMEOUT)
        assert connected

        await socket.send_json_to({"type": "message", "text": "<b>Is it in stock?</b>"})
        replies = [await socket.receive_json_from(TIMEOUT) for _ in range(2)]
        assert {r["type"] for r in replies} == {"sent", "message"}
        assert all(r["message"]["text"] == "<b>Is it in stock?</b>" for r in replies)
        note = await operator.receive_json_from(TIMEOUT)
        assert note["type"] == "message" and "text" not in note  # a note; HTML comes by HTTP

        from channels.db import database_sync_to_async

        await database_sync_to_async(services.operator_reply)(
            actor=manager, conversation=conversation, text="Yes!"
        )
        pushed = await socket.receive_json_from(TIMEOUT)
        assert pushed["type"] == "message"
        assert (pushed["message"]["direction"], pushed["message"]["text"]) == ("out", "Yes!")
        assert pushed["message"]["author"] == "Anna"
        await socket.disconnect()
        await operator.disconnect()

    run(scenario)
    assert list(Message.objects.order_by("id").values_list("direction", "body")) == [
        ("in", "Hello"),
        ("in", "<b>Is it in stock?</b>"),
        ("out", "Yes!"),
    ]


def test_a_socket_from_another_site_is_refused(visitor):
    async def scenario():
        for origin in ("https://evil.example", ""):
            socket = widget_socket(origin=origin)
            connected, _ = await socket.connect(timeout=TIMEOUT)
            assert not connected

    run(scenario)


def test_an_unknown_widget_is_refused(visitor):
    async def scenario():
        socket = widget_socket(key="nope")
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert not connected

    run(scenario)


def test_a_wrong_token_closes_the_socket_and_writes_nothing(visitor):
    async def scenario():
        socket = widget_socket()
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_json_to({"type": "message", "text": "before hello"})
        assert (await socket.receive_output(TIMEOUT))["type"] == "websocket.close"

        socket = widget_socket()
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_json_to({"type": "hello", "token": "guess"})
        assert (await socket.receive_json_from(TIMEOUT))["code"] == "unknown_conversation"
        closed = await socket.receive_output(TIMEOUT)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4401)

    run(scenario)
    assert Message.objects.count() == 1


def test_bad_frames_get_an_error_and_nothing_is_stored(visitor):
    conversation, token = visitor

    async def scenario():
        socket = widget_socket()
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_to(text_data="not json")
        await socket.send_json_to({"type": "hello", "token": token})
        assert (await socket.receive_json_from(TIMEOUT))["type"] == "ready"
        await socket.send_json_to({"type": "message", "text": "   "})
        error = await socket.receive_json_from(TIMEOUT)
        assert error["type"] == "error" and error["errors"]["text"] == ["Write a message."]
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(TIMEOUT) == {"type": "pong"}
        await socket.disconnect()

    run(scenario)
    assert Message.objects.count() == 1


def test_operator_sockets_need_a_signed_in_user_of_this_site(visitor, manager):
    conversation, _token = visitor
    cookie = session_cookie(manager)

    async def scenario():
        for socket in (
            operator_socket(None),
            operator_socket(cookie, origin="https://evil.example"),
        ):
            connected, _ = await socket.connect(timeout=TIMEOUT)
            assert not connected

    run(scenario)


def test_an_operator_out_of_scope_cannot_listen_to_a_conversation(visitor, outsider):
    conversation, _token = visitor
    cookie = session_cookie(outsider)

    async def scenario():
        socket = operator_socket(cookie, f"/ws/chat/operator/{conversation.pk}/")
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert not connected

    run(scenario)


def test_the_operators_list_hears_only_about_chats_in_scope(visitor, manager, outsider, widget):
    conversation, token = visitor
    mine_cookie, theirs_cookie = session_cookie(manager), session_cookie(outsider)

    async def scenario():
        mine = operator_socket(mine_cookie)
        theirs = operator_socket(theirs_cookie)
        assert (await mine.connect(timeout=TIMEOUT))[0]
        assert (await theirs.connect(timeout=TIMEOUT))[0]
        from channels.db import database_sync_to_async

        await database_sync_to_async(services.visitor_message_add)(
            conversation=conversation, text="Anyone there?"
        )
        note = await mine.receive_json_from(TIMEOUT)
        assert note == {"type": "changed", "conversation": conversation.pk}
        assert await theirs.receive_nothing(0.5)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


def test_closing_is_pushed_to_the_visitor(visitor, manager):
    conversation, token = visitor

    async def scenario():
        socket = widget_socket()
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_json_to({"type": "hello", "token": token})
        await socket.receive_json_from(TIMEOUT)
        from channels.db import database_sync_to_async

        await database_sync_to_async(services.conversation_close)(
            actor=manager, conversation=conversation
        )
        assert await socket.receive_json_from(TIMEOUT) == {"type": "status", "status": "closed"}
        await socket.disconnect()

    run(scenario)
    assert Conversation.objects.get().status == "closed"


def test_a_layer_that_is_down_loses_no_message(visitor, settings):
    """Redis away: the message is stored and polling still delivers it."""
    conversation, _token = visitor
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    try:
        message = services.visitor_message_add(conversation=conversation, text="Still there?")
    finally:
        channel_layers.backends.pop("default", None)
    assert Message.objects.filter(pk=message.pk).exists()


def test_the_redis_layer_carries_messages_between_processes(visitor, settings):
    """Production mode (REDIS_URL set): the same round trip over the Redis channel layer."""
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/15"], "prefix": "svyaz-test-chat"},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    conversation, token = visitor

    async def scenario():
        socket = widget_socket()
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_json_to({"type": "hello", "token": token})
        await socket.receive_json_from(TIMEOUT)
        layer = get_channel_layer()
        assert type(layer).__name__ == "RedisChannelLayer"
        await layer.group_send(
            realtime.conversation_group(conversation.pk),
            {"type": "chat.message", "message": {"id": 999, "text": "via redis"}},
        )
        got = await socket.receive_json_from(TIMEOUT)
        assert got["message"]["text"] == "via redis"
        await socket.disconnect()

    try:
        run(scenario)
    finally:
        channel_layers.backends.pop("default", None)
