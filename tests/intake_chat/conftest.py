from __future__ import annotations

import json
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from svyaz.contacts.services import contact_create
from svyaz.intake.models import ChatWidget, MessageSource, ResponseSla, RoutingGroup, RoutingMember
from svyaz.intake.telephony.generic import sign

SITE = "https://shop.example"
API_URL = "/api/v1/intake/messages/"
SECRET = "tg-s3cret"  # noqa: S105 - a test secret


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate limits count in the cache: every test starts with a fresh budget.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def group(manager, teammate):
    g = RoutingGroup.objects.create(name="Chat desk")
    RoutingMember.objects.create(group=g, user=manager, position=0)
    RoutingMember.objects.create(group=g, user=teammate, position=1)
    return g


@pytest.fixture
def sla(db):
    ResponseSla.objects.create(channel="chat", minutes=5)
    ResponseSla.objects.create(channel="messenger", minutes=30)


@pytest.fixture
def widget(group, sla):
    return ChatWidget.objects.create(
        name="Shop", key="shop-chat", allowed_origins=[SITE], routing_group=group
    )


@pytest.fixture
def source(group, sla):
    return MessageSource.objects.create(
        name="tg-bot", network="Telegram", secret=SECRET, routing_group=group
    )


@pytest.fixture
def known_contact(teammate):
    return contact_create(
        actor=teammate,
        first_name="Ivan",
        last_name="Sidorov",
        phones=["+7 916 123-45-67"],
        emails=["ivan@example.com"],
    )


def inbound(**overrides) -> dict:
    data = {
        "event_id": "tg-1",
        "sender": {"id": "555", "name": "Olga"},
        "text": "Hello, do you deliver to Tula?",
    }
    data.update(overrides)
    return data


def post_signed(client, data, *, source="tg-bot", secret=SECRET, timestamp=None, signature=None):
    body = json.dumps(data).encode() if not isinstance(data, bytes) else data
    ts = str(int(timestamp if timestamp is not None else time.time()))
    headers = {"HTTP_X_SVYAZ_TIMESTAMP": ts, "HTTP_X_SVYAZ_SOURCE": source}
    headers["HTTP_X_SVYAZ_SIGNATURE"] = signature or "sha256=" + sign(secret, ts, body)
    return client.post(API_URL, body, content_type="application/json", **headers)


def widget_url(name: str, key: str = "shop-chat") -> str:
    return reverse(f"intake:{name}", args=[key])


def start_chat(client, *, text="Hi! Is the blue kettle in stock?", origin=SITE, **extra):
    return client.post(
        widget_url("chat_start"),
        json.dumps({"text": text, "page": f"{SITE}/kettles?utm_source=ya", **extra}),
        content_type="application/json",
        HTTP_ORIGIN=origin,
    )
