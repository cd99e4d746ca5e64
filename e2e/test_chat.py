"""The website chat, end to end in Chromium.

1. Over WebSocket: the ASGI application (svyaz.asgi) is served by a real uvicorn on a free
   loopback port, in a thread of the test process (so it shares the test database). A plain
   HTML page on another port carries the widget snippet; the visitor writes, the signed-in
   operator sees the chat appear live on the list, opens it, answers, and the visitor sees
   the answer — both sides on WebSocket, no page reload.
2. Over the polling fallback: the same round trip against pytest-django's live server,
   a WSGI server with no WebSocket (like the embedded mode's waitress).
"""

from __future__ import annotations

import socket
import threading
import time
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect

from svyaz.intake.models import ChatWidget, Conversation, Message, RoutingGroup, RoutingMember
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e]

XSS = "<img src=x onerror=\"document.title='pwned'\">"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def host_site(tmp_path):
    """A tiny static web server on 127.0.0.1 (another port = another origin)."""
    server = HTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def asgi_server(transactional_db):
    """`uvicorn svyaz.asgi:application` on a free port, in a thread of this process."""
    import uvicorn

    from svyaz.asgi import application

    # Connections opened by the server's threads close after each request, so nothing
    # holds the test database when it is flushed or dropped.
    db = connections["default"].settings_dict
    max_age = db.get("CONN_MAX_AGE")
    db["CONN_MAX_AGE"] = 0
    port = _free_port()
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    db["CONN_MAX_AGE"] = max_age


def _setup(origin: str):
    anna = UserFactory(username="anna", first_name="Anna", timezone="Europe/Moscow")
    group = RoutingGroup.objects.create(name="Chat desk")
    RoutingMember.objects.create(group=group, user=anna)
    widget = ChatWidget.objects.create(
        name="Kettle shop",
        key="kettles",
        title="Kettle shop chat",
        greeting="Hello! Ask us anything about kettles.",
        allowed_origins=[origin],
        routing_group=group,
    )
    return anna, widget


def _landing(folder, base: str, widget) -> str:
    (folder / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Kettles</title></head>"
        "<body><h1>Kettles for every kitchen</h1><p>Blue, red and steel.</p>"
        f'<script src="{base}/intake/chat/widget.js" data-key="{widget.key}" async></script>'
        "</body></html>",
        encoding="utf-8",
    )
    return "/index.html?utm_source=yandex"


def _login(page, base: str, username: str) -> None:
    page.goto(base + reverse("accounts:login"))
    form = page.locator("form:has(#id_username)")
    form.locator("#id_username").fill(username)
    form.locator("#id_password").fill("password")
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda u: "/accounts/login/" not in u)


def _round_trip(*, base, origin, landing, visitor, operator, screenshot, transport, prefix):
    """The shared scenario; `transport` is what both sides must be using."""
    # The operator waits on the list of open chats.
    _login(operator, base, "anna")
    operator.goto(base + reverse("intake:chat_list"))
    expect(operator.locator("#chat-live")).to_have_attribute("data-live", transport)
    expect(operator.locator("#chat-rows")).to_contain_text("No conversations.")

    # The visitor opens the widget on the company's site and writes.
    visitor.goto(origin + landing)
    visitor.click("#svyaz-chat-launcher")
    expect(visitor.locator("#svyaz-chat-messages")).to_contain_text("Ask us anything")
    visitor.fill("#svyaz-chat-form input[name=name]", "Olga")
    visitor.fill("#svyaz-chat-form input[name=contact]", "olga@example.com")
    visitor.fill("#svyaz-chat-form textarea", "Is the blue kettle in stock?")
    visitor.click("#svyaz-chat-form button[type=submit]")
    expect(visitor.locator(".svyaz-msg.svyaz-in")).to_have_text("YouIs the blue kettle in stock?")
    expect(visitor.locator("#svyaz-chat")).to_have_attribute("data-transport", transport)

    # The chat appears on the operator's list without a reload.
    conversation = Conversation.objects.get()
    row = operator.locator(f"#conversation-{conversation.pk}")
    expect(row).to_contain_text("Olga")
    expect(row.locator("[data-awaiting]")).to_be_visible()
    screenshot(operator, f"{prefix}-operator-list")
    row.locator("a").first.click()
    expect(operator.locator("#chat-live")).to_have_attribute("data-live", transport)
    expect(operator.locator("#chat-messages")).to_contain_text("Is the blue kettle in stock?")
    expect(operator.locator("#chat-lead")).to_be_visible()  # a lead was made and routed

    # The operator answers; the visitor sees it.
    operator.fill("#chat-text", "Yes, 12 in stock. Shall I reserve one?")
    operator.click("#chat-send")
    expect(operator.locator("#chat-messages [data-direction=out]")).to_contain_text(
        "Shall I reserve one?"
    )
    answer = visitor.locator(".svyaz-msg.svyaz-out[data-message-id]")
    expect(answer).to_contain_text("Yes, 12 in stock. Shall I reserve one?")
    expect(answer).to_contain_text("Anna")

    # The visitor's reply (markup included) reaches the operator live, shown as text.
    visitor.fill("#svyaz-chat-form textarea", f"Yes please {XSS}")
    visitor.keyboard.press("Enter")
    last_in = operator.locator("#chat-messages [data-direction=in]").last
    expect(last_in.locator(".chat-text")).to_have_text(f"Yes please {XSS}")
    expect(operator.locator("#chat-messages img")).to_have_count(0)
    expect(visitor.locator("#svyaz-chat-messages img")).to_have_count(0)
    assert operator.title() != "pwned" and visitor.title() != "pwned"

    screenshot(visitor, f"{prefix}-visitor")
    screenshot(operator, f"{prefix}-operator")
    assert list(Message.objects.order_by("id").values_list("direction", flat=True)) == [
        "in",
        "out",
        "in",
    ]
    conversation.refresh_from_db()
    assert conversation.lead is not None and conversation.lead.email == "olga@example.com"
    assert conversation.landing_page == origin + landing


def test_a_chat_round_trip_over_websockets_served_by_uvicorn(
    asgi_server, host_site, new_page, screenshot
):
    folder, origin = host_site
    _anna, widget = _setup(origin)
    landing = _landing(folder, asgi_server, widget)
    _round_trip(
        base=asgi_server,
        origin=origin,
        landing=landing,
        visitor=new_page(),
        operator=new_page(),
        screenshot=screenshot,
        transport="websocket",
        prefix="chat-websocket",
    )


def test_a_chat_round_trip_over_polling_when_the_server_has_no_websocket(
    transactional_db, live_server, host_site, new_page, screenshot
):
    folder, origin = host_site
    _anna, widget = _setup(origin)
    landing = _landing(folder, live_server.url, widget)
    _round_trip(
        base=live_server.url,
        origin=origin,
        landing=landing,
        visitor=new_page(),
        operator=new_page(),
        screenshot=screenshot,
        transport="polling",
        prefix="chat-polling",
    )
