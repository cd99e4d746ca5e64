"""Fixtures of the access tests (issue #3, "enforced in one place").

The cast of tests/conftest.py plus:
- `seeing_manager`: the manager with a second role that lets them VIEW their department's
  records (companies, contacts, leads, deals, activities, tasks, orders) but grants no
  write: their writes stay "own" (the manager role) — a teammate's record is visible and
  not editable;
- `make(entity, owner)`: one record of an entity owned by `owner`, written by the system;
- `denials`: the access denials logged since the test began (audit rows when the audit
  app is installed, else the "svyaz.security" log records).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from svyaz.accounts.models import Role
from svyaz.accounts.roles import ensure_default_roles

RECORD_ENTITIES = ("companies", "contacts", "leads", "deals", "activities", "tasks", "orders")

# entity → (API path, a valid PATCH, the model field that PATCH changes)
API = {
    "companies": ("/api/v1/companies/", {"name": "Changed Co"}, "name"),
    "contacts": ("/api/v1/contacts/", {"first_name": "Changed"}, "first_name"),
    "leads": ("/api/v1/leads/", {"title": "Changed"}, "title"),
    "deals": ("/api/v1/deals/", {"title": "Changed"}, "title"),
    "activities": ("/api/v1/activities/", {"subject": "Changed"}, "subject"),
    "tasks": ("/api/v1/followups/", {"title": "Changed"}, "title"),
    "orders": ("/api/v1/orders/", {"external_id": "CHANGED"}, "external_id"),
}


@pytest.fixture
def roles(db):
    return ensure_default_roles()


@pytest.fixture
def dept_viewer_role(db):
    """Views the own department's records; grants nothing else."""
    return Role.objects.create(
        code="dept_viewer",
        name="Department viewer",
        grants={e: {"view": "department"} for e in RECORD_ENTITIES},
    )


@pytest.fixture
def seeing_manager(manager, dept_viewer_role):
    manager.roles.add(dept_viewer_role)
    return manager


@pytest.fixture
def make(pipeline):
    """make("deals", owner) → a deal owned by `owner` (written by the system, actor None,
    except activities and tasks, which their owner writes)."""
    from svyaz.activities.services import activity_log
    from svyaz.contacts.services import company_create, contact_create
    from svyaz.followups.services import followup_create
    from svyaz.sales import services as sales

    def _make(entity: str, owner, **kwargs):
        if entity == "companies":
            return company_create(actor=None, name=kwargs.get("name", "Acme"), owner=owner)
        if entity == "contacts":
            return contact_create(
                actor=None, first_name=kwargs.get("name", "Ivan"), last_name="P", owner=owner
            )
        if entity == "leads":
            return sales.lead_create(actor=None, title=kwargs.get("name", "Lead"), owner=owner)
        if entity == "deals":
            return sales.deal_create(
                actor=None,
                title=kwargs.get("name", "Deal"),
                pipeline=pipeline,
                amount=Decimal("100"),
                owner=owner,
            )
        if entity == "orders":
            client = contact_create(actor=None, first_name="Buyer", owner=owner)
            return sales.order_create(actor=None, contact=client, amount=Decimal("10"), owner=owner)
        client = contact_create(actor=None, first_name="Client", owner=owner)
        if entity == "activities":
            return activity_log(
                actor=owner, kind="note", subject=kwargs.get("name", "Note"), contact=client
            )
        if entity == "tasks":
            return followup_create(
                actor=owner,
                title=kwargs.get("name", "Task"),
                due_at=timezone.now() + timedelta(days=1),
                contact=client,
            )
        raise AssertionError(entity)

    return _make


def api_as(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def page_as(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def row(obj) -> dict:
    """The record's row as stored (soft-deleted ones too)."""
    model = type(obj)
    manager = getattr(model, "all_objects", model.objects)
    return manager.filter(pk=obj.pk).values().first()


class Denials:
    """Access denials logged since the fixture was created: AccessDenial rows when the
    audit app provides them, else the "svyaz.security" warnings."""

    def __init__(self, request):
        try:
            from svyaz.audit.models import AccessDenial
        except ImportError:  # pragma: no cover - the audit app is optional
            self.model = None
            self.caplog = request.getfixturevalue("caplog")
            self.caplog.set_level("WARNING", logger="svyaz.security")
        else:
            self.model = AccessDenial
            self.last = AccessDenial.objects.order_by("-id").values_list("id", flat=True).first()

    def find(self, *, user, entity: str, action: str, obj_id=None) -> bool:
        if self.model is not None:
            qs = self.model.objects.filter(
                id__gt=self.last or 0, user=user, entity=entity, action=action
            )
            if obj_id is not None:
                qs = qs.filter(object_id=str(obj_id))
            return qs.exists()
        for rec in self.caplog.records:  # pragma: no cover
            text = rec.getMessage()
            if (
                rec.name == "svyaz.security"
                and f"user={user.pk}" in text
                and f"entity={entity}" in text
                and f"action={action}" in text
                and (obj_id is None or str(obj_id) in text)
            ):
                return True
        return False

    def count(self) -> int:
        if self.model is not None:
            return self.model.objects.filter(id__gt=self.last or 0).count()
        return sum(1 for r in self.caplog.records if r.name == "svyaz.security")  # pragma: no cover


@pytest.fixture
def denials(request, db):
    return Denials(request)
