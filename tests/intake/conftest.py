from __future__ import annotations

import pytest
from django.core.cache import cache

from svyaz.contacts.services import contact_create
from svyaz.intake.models import (
    ResponseSla,
    RoutingGroup,
    RoutingMember,
    TelephonyProvider,
    WebForm,
)

FIELDS = [
    {"name": "name", "label": "Name", "target": "first_name", "required": True},
    {"name": "phone", "label": "Phone", "target": "phone"},
    {"name": "email", "label": "Email", "target": "email"},
    {"name": "message", "label": "Message", "target": "description"},
]


@pytest.fixture(autouse=True)
def _clean_cache():
    # The rate limit counts in the cache; every test starts with a fresh budget.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def group(manager, teammate):
    g = RoutingGroup.objects.create(name="Sales desk")
    RoutingMember.objects.create(group=g, user=manager, position=0)
    RoutingMember.objects.create(group=g, user=teammate, position=1)
    return g


@pytest.fixture
def sla(db):
    ResponseSla.objects.create(channel="web", minutes=15)
    ResponseSla.objects.create(channel="phone", minutes=10)


@pytest.fixture
def webform(group, sla):
    return WebForm.objects.create(
        name="Contact us",
        key="contact-us",
        fields=FIELDS,
        consent_text="I agree to the processing of my personal data.",
        routing_group=group,
    )


@pytest.fixture
def provider(group, sla):
    return TelephonyProvider.objects.create(
        name="pbx", kind="generic", secret="s3cret", routing_group=group
    )


@pytest.fixture
def known_contact(teammate):
    return contact_create(
        actor=teammate, first_name="Ivan", last_name="Sidorov", phones=["+7 916 123-45-67"]
    )
