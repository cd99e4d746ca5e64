"""Bad input gets a clear error, never a 500: every page and API route of the URL
configuration, called with junk by a signed-in user (GET with junk query strings, POST with
junk forms and junk JSON), answers below 500."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from svyaz.activities.services import activity_log
from svyaz.contacts.services import company_create, contact_create
from svyaz.sales import services as sales

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("admin/", "i18n/", "api/schema", "api/docs", "accounts/logout")
JUNK_FORM = {
    "name": "<script>alert(1)</script>",
    "title": "x" * 5000,
    "first_name": "",
    "last_name": "💥",
    "phones": "not a phone\n+7 999",
    "emails": "@@",
    "email": "nope",
    "phone": "abc",
    "amount": "-1e999",
    "price": "NaN",
    "quantity": "0",
    "due_at": "yesterday",
    "remind_at": "31.02.2026",
    "callback_at": "2026-13-45T99:99",
    "occurred_at": "never",
    "duration_minutes": "-5",
    "kind": "zzz",
    "stage": "999999",
    "pipeline": "abc",
    "contact": "999999",
    "company": "-1",
    "deal": "x",
    "owner": "999999",
    "lost_reason": "0",
    "action": "delete",
    "ids": ["1", "x", "999999"],
    "value": "",
    "language": "xx",
    "timezone": "Nowhere/Never",
    "date": "2026-99-99",
    "page": "-3",
    "sort": "__class__",
    "q": "' OR 1=1 --\x00",
    "description": "a\x00b",
    "subject": "\x00",
    "next": "https://evil.example/",
    "custom_size": "huge",
}
JUNK_QUERY = "?page=abc&sort=-password&q=%27%22%5C&date=2026-02-31&pipeline=x&owner=abc&created_from=notadate&cf_x=1&kind=zzz"
JUNK_JSON = [
    {
        "name": None,
        "phones": [{"number": 5}],
        "emails": "x",
        "custom": {"nope": 1},
        "amount": "abc",
        "stage": "x",
        "due_at": 5,
        "contact": "a",
        "title": ["list"],
        "kind": {},
        "lines": "x",
    },
    {
        "name": "a\x00b",
        "title": "\x00",
        "first_name": "\x00",
        "subject": "\x00",
        "description": "\x00",
    },
    [],
    "just a string",
]


def _routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _routes(p, route)
        elif isinstance(p, URLPattern):
            yield route


def _concrete(route: str, pk: int) -> str:
    path = re.sub(r"\(\?P<\w+>[^)]*\)", str(pk), route)  # DRF router regexes
    path = re.sub(r"<int:\w+>", str(pk), path)
    path = re.sub(r"<(?:slug|str):\w+>", "contact", path)
    path = re.sub(r"<[^>]+>", "x", path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + path


@pytest.fixture
def world(manager, pipeline):
    company = company_create(actor=manager, name="Acme", inn="7707083893")
    contact = contact_create(
        actor=manager, first_name="Ivan", company=company, phones=["+79161234567"]
    )
    deal = sales.deal_create(actor=manager, title="Deal", pipeline=pipeline, contact=contact)
    activity_log(actor=manager, kind="call", direction="out", contact=contact)
    sales.lead_create(actor=manager, title="Lead")
    sales.order_create(actor=manager, contact=contact, amount="10")
    return deal


def test_no_route_answers_500_to_junk(client, manager, world):
    client.force_login(manager)
    routes = sorted({r for r in _routes() if not r.startswith(SKIP_PREFIXES)})
    assert len(routes) > 40
    failures = []
    for route in routes:
        for pk in (world.pk, 999999):
            url = _concrete(route, pk)
            calls = [("GET", url + JUNK_QUERY, None, None), ("POST", url, JUNK_FORM, None)]
            if url.startswith("/api/"):
                calls += [("POST", url, body, "application/json") for body in JUNK_JSON]
                calls += [("PATCH", url, JUNK_JSON[0], "application/json")]
            for method, target, data, ctype in calls:
                kwargs = {"content_type": ctype} if ctype else {}
                response = (
                    getattr(client, method.lower())(target, data, **kwargs)
                    if data is not None
                    else client.get(target)
                )
                if response.status_code >= 500:
                    failures.append(f"{method} {target} → {response.status_code}")
                client.force_login(
                    manager
                )  # a junk call may have logged us out or switched language
    assert failures == []


def test_a_nul_character_gets_a_clear_400(client, manager):
    # (The sweep above sends no NUL: this middleware would answer 400 before any view ran.)
    client.force_login(manager)
    assert client.get("/clients/contacts/?q=a%00b").status_code == 400
    assert (
        client.post(
            "/clients/contacts/new/",
            "first_name=a%00b",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 400
    )
    # A multipart form reaches the form, whose fields refuse NUL with a field error.
    response = client.post("/clients/contacts/new/", {"first_name": "a\x00b"})
    assert response.status_code == 200 and "first_name" in response.context["form"].errors
    assert client.get("/clients/contacts/?q=ab").status_code == 200
