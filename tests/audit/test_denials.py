"""Refused accesses: a row and a line in the "svyaz.security" log, kept even when the
request's transaction is rolled back."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from svyaz.audit.context import audit_source
from svyaz.audit.denials import log_denial
from svyaz.audit.middleware import AuditContextMiddleware
from svyaz.audit.models import AccessDenial

pytestmark = pytest.mark.django_db


def test_it_writes_a_row_and_logs(manager, caplog):
    with caplog.at_level(logging.WARNING, logger="svyaz.security"):
        log_denial(user=manager, entity="deals", action="edit", obj_id=5, reason="own only")
    row = AccessDenial.objects.get()
    assert (row.user, row.user_name, row.entity, row.action, row.object_id, row.reason) == (
        manager,
        "Anna Petrova",
        "deals",
        "edit",
        "5",
        "own only",
    )
    assert row.source == "system"
    assert "access denied" in caplog.text and "deals" in caplog.text


def test_a_refusal_through_scoping_logs_one_line_and_one_row(manager, caplog):
    from svyaz.core import scoping
    from svyaz.core.errors import PermissionDenied

    with (
        caplog.at_level(logging.WARNING, logger="svyaz.security"),
        pytest.raises(PermissionDenied),
    ):
        scoping.require(manager, "settings", "edit")
    lines = [r for r in caplog.records if r.name == "svyaz.security"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert AccessDenial.objects.filter(entity="settings", action="edit").count() == 1


def test_an_anonymous_user_is_logged_without_a_user(rf):
    from django.contrib.auth.models import AnonymousUser

    log_denial(user=AnonymousUser(), entity="deals", action="view", request=rf.get("/x/"))
    row = AccessDenial.objects.get()
    assert row.user is None and row.method == "GET" and row.path == "/x/"


def test_in_a_request_the_row_survives_the_rollback(manager):
    """The view refuses inside its transaction, which rolls back; the denial stays."""

    def view(request):
        try:
            with transaction.atomic():
                log_denial(user=request.user, entity="deals", action="delete", obj_id=9)
                raise PermissionError
        except PermissionError:
            return HttpResponse(status=403)

    request = RequestFactory().post("/sales/deals/9/delete/")
    request.user = manager
    response = AuditContextMiddleware(view)(request)
    assert response.status_code == 403
    row = AccessDenial.objects.get()
    assert (row.method, row.path, row.source, row.object_id) == (
        "POST",
        "/sales/deals/9/delete/",
        "page",
        "9",
    )
    assert len(row.request_id) == 32


def test_inside_an_audit_source_block_it_is_written_when_the_block_ends(manager):
    with audit_source("job"):
        log_denial(user=manager, entity="deals", action="edit")
        assert not AccessDenial.objects.exists()
    assert AccessDenial.objects.get().source == "job"
