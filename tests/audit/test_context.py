"""Who and through what: page, API (token authentication), job, import, automation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from svyaz.audit.context import audit_source, current_actor, current_source
from svyaz.contacts.services import contact_create
from svyaz.sales import services as sales

pytestmark = pytest.mark.django_db


def test_a_page_writes_with_source_page_and_the_signed_in_user(
    manager_client, manager, pipeline, since
):
    deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline)
    mark = since()
    won = pipeline.stages.get(name="Won")
    response = manager_client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": won.pk})
    assert response.status_code in (200, 302)
    row = mark.rows(field="stage")[0]
    assert (row.source, row.actor_id, row.actor_name) == ("page", manager.pk, "Anna Petrova")
    assert (row.old_display, row.new_display) == ("New", "Won")
    assert row.path == f"POST {reverse('sales:deal_move', args=[deal.pk])}"
    assert len(row.request_id) == 32


def test_the_api_writes_with_source_api_and_the_token_user(manager, since):
    contact = contact_create(actor=manager, first_name="Olga")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=manager).key}")
    mark = since()
    response = client.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CEO"}, format="json")
    assert response.status_code == 200, response.content
    (row,) = mark.rows()
    assert (row.source, row.field, row.new_value) == ("api", "job_title", "CEO")
    assert (row.actor_id, row.actor_name) == (manager.pk, "Anna Petrova")


def test_a_request_id_header_is_kept(manager_client, manager, since):
    contact = contact_create(actor=manager, first_name="Olga")
    mark = since()
    manager_client.post(
        reverse("core:bulk", args=["contact"]),
        {"action": "add_tag", "value": "hot", "ids": [contact.pk]},
        HTTP_X_REQUEST_ID="trace-42",
    )
    assert {r.request_id for r in mark.rows()} == {"trace-42"}


def test_a_task_runs_with_source_job(manager, since, settings):
    from datetime import timedelta

    from django.utils import timezone

    from svyaz.core import tasks
    from svyaz.core.services import record_soft_delete

    settings.CELERY_TASK_ALWAYS_EAGER = True
    contact = contact_create(actor=manager, first_name="Olga")
    record_soft_delete(actor=manager, obj=contact)
    type(contact).all_objects.filter(pk=contact.pk).update(
        deleted_at=timezone.now() - timedelta(days=40)
    )
    mark = since()
    assert tasks.recycle_bin_purge.delay().get() == 1
    (row,) = mark.rows()
    assert (row.action, row.source, row.actor_id) == ("purge", "job", None)
    assert row.request_id  # the task id
    assert current_source() == "system"  # the job's context ended with it


def test_the_embedded_scheduler_runs_jobs_with_source_job(manager, since, settings):
    from svyaz.core.scheduler import run_due_jobs

    seen = []
    from svyaz.celery import app

    @app.task(name="svyaz.tests.audit_probe")
    def probe():
        seen.append(current_source())

    settings.CELERY_BEAT_SCHEDULE = {"probe": {"task": "svyaz.tests.audit_probe", "schedule": 1}}
    assert run_due_jobs({}, 100.0) == ["probe"]
    assert seen == ["job"]


def test_a_job_started_from_a_page_keeps_its_user(manager, rf):
    from svyaz.audit.context import pop, push

    request = rf.get("/")
    request.user = manager
    entered = push("page", request=request)
    try:
        with audit_source("job"):
            assert (current_source(), current_actor()) == ("job", manager)
        with audit_source("job", actor=None):
            assert current_actor() is None
    finally:
        pop(*entered)


def test_a_web_form_submission_creates_the_lead_as_automation(client, db, since):
    from svyaz.intake.models import RoutingGroup, RoutingMember, WebForm
    from tests.factories import UserFactory

    manager = UserFactory()
    group = RoutingGroup.objects.create(name="Desk")
    RoutingMember.objects.create(group=group, user=manager)
    WebForm.objects.create(
        name="Contact us",
        key="contact-us",
        fields=[
            {"name": "name", "label": "Name", "target": "first_name", "required": True},
            {"name": "phone", "label": "Phone", "target": "phone"},
        ],
        routing_group=group,
    )
    mark = since()
    response = client.post(
        reverse("intake:form_submit", args=["contact-us"]),
        {"name": "Olga", "phone": "+79035551234"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    lead_rows = mark.rows(content_type__model="lead")
    assert lead_rows and {(r.source, r.actor_id) for r in lead_rows} == {("automation", None)}
    assert {r.source for r in mark.rows(content_type__model="followup")} == {"automation"}


def test_api_writes_inside_the_view_transaction_roll_back_with_it(manager, pipeline, since):
    """A refused write leaves neither the change nor its audit rows."""
    deal = sales.deal_create(actor=manager, title="Boiler", pipeline=pipeline)
    client = APIClient()
    client.force_authenticate(manager)
    mark = since()
    response = client.patch(f"/api/v1/deals/{deal.pk}/", {"amount": "-5"}, format="json")
    assert response.status_code == 400
    assert mark.rows() == []
    deal.refresh_from_db()
    assert deal.amount == Decimal("0")
