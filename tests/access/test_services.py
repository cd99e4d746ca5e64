"""The services are the one write path: each checks the actor's grant before it writes
(issue #3). actor=None is the system (jobs, intake automations) and stays allowed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from svyaz.activities.services import activity_log, activity_update
from svyaz.contacts import services as clients
from svyaz.core.errors import PermissionDenied
from svyaz.core.services import record_soft_delete
from svyaz.followups.services import (
    followup_cancel,
    followup_complete,
    followup_create,
    followup_update,
)
from svyaz.sales import services as sales
from svyaz.sales.models import Deal, Order, Product, StageKind
from tests.access.conftest import row
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# --- create: the owner must be within the actor's "create" scope ------------------------


@pytest.mark.parametrize(
    "create",
    [
        lambda actor, owner, pipeline: clients.contact_create(
            actor=actor, first_name="Ann", owner=owner
        ),
        lambda actor, owner, pipeline: clients.company_create(
            actor=actor, name="Acme", owner=owner
        ),
        lambda actor, owner, pipeline: sales.lead_create(actor=actor, title="L", owner=owner),
        lambda actor, owner, pipeline: sales.deal_create(
            actor=actor, title="D", pipeline=pipeline, owner=owner
        ),
    ],
    ids=["contact", "company", "lead", "deal"],
)
def test_own_scope_creates_only_for_oneself(create, manager, teammate, head, pipeline, denials):
    from svyaz.audit.context import audit_source

    # The denial row survives the service's rollback (written when the context ends).
    with audit_source("job", actor=manager), pytest.raises(PermissionDenied):
        create(manager, teammate, pipeline)
    assert denials.count() == 1
    assert create(manager, None, pipeline).owner == manager  # for oneself: fine
    assert create(head, teammate, pipeline).owner == teammate  # subtree scope: fine
    assert create(None, teammate, pipeline).owner == teammate  # the system: fine


def test_an_order_for_someone_else_needs_the_scope(manager, teammate, make):
    client = make("contacts", manager)
    with pytest.raises(PermissionDenied):
        sales.order_create(actor=manager, contact=client, amount=Decimal("5"), owner=teammate)
    assert not Order.objects.exists()


def test_a_role_without_create_creates_nothing(dept_viewer_role, pipeline):
    viewer = UserFactory(roles=[dept_viewer_role])
    with pytest.raises(PermissionDenied):
        clients.contact_create(actor=viewer, first_name="Ann")
    with pytest.raises(PermissionDenied):
        sales.deal_create(actor=viewer, title="D", pipeline=pipeline)
    with pytest.raises(PermissionDenied):
        followup_create(actor=viewer, title="T", due_at=timezone.now())
    assert not Deal.objects.exists()


# --- edit / delete --------------------------------------------------------------------


def test_contact_writes_check_the_edit_grant(seeing_manager, teammate, make):
    contact, company = make("contacts", teammate), make("companies", seeing_manager)
    before = row(contact)
    with pytest.raises(PermissionDenied):
        clients.contact_update(actor=seeing_manager, contact=contact, data={"first_name": "X"})
    with pytest.raises(PermissionDenied):
        clients.contact_link_company(actor=seeing_manager, contact=contact, company=company)
    with pytest.raises(PermissionDenied):
        record_soft_delete(actor=seeing_manager, obj=contact)
    assert row(contact) == before
    assert not contact.memberships.exists()


def test_deal_writes_check_the_edit_grant(seeing_manager, teammate, make, pipeline):
    deal = make("deals", teammate)
    before = row(deal)
    won = pipeline.stages.get(kind=StageKind.WON)
    for write in (
        lambda: sales.deal_update(actor=seeing_manager, deal=deal, data={"title": "X"}),
        lambda: sales.deal_stage_change(actor=seeing_manager, deal=deal, stage=won),
        lambda: sales.deal_line_add(actor=seeing_manager, deal=deal, name="X", price="1"),
        lambda: sales.deal_delete(actor=seeing_manager, deal=deal),
    ):
        with pytest.raises(PermissionDenied):
            write()
    assert row(deal) == before
    assert not deal.lines.exists() and not deal.stage_changes.exclude(from_stage=None).exists()


def test_lines_of_a_teammates_deal_cannot_change(seeing_manager, teammate, make):
    deal = make("deals", teammate)
    line = sales.deal_line_add(actor=None, deal=deal, name="Pump", price="10")
    with pytest.raises(PermissionDenied):
        sales.deal_line_update(actor=seeing_manager, line=line, data={"price": "1"})
    with pytest.raises(PermissionDenied):
        sales.deal_line_remove(actor=seeing_manager, line=line)
    line.refresh_from_db()
    assert line.price == Decimal("10")


def test_order_writes_check_the_edit_grant(seeing_manager, teammate, make):
    order = make("orders", teammate)
    before = row(order)
    with pytest.raises(PermissionDenied):
        sales.order_update(actor=seeing_manager, order=order, data={"external_id": "X"})
    with pytest.raises(PermissionDenied):
        sales.order_cancel(actor=seeing_manager, order=order)
    with pytest.raises(PermissionDenied):
        sales.order_delete(actor=seeing_manager, order=order)
    assert row(order) == before


def test_winning_a_deal_makes_its_order_without_an_orders_create_grant(pipeline, db):
    """The order is the won deal's consequence: the deals "edit" grant is enough."""
    from svyaz.accounts.models import Role

    seller = UserFactory(
        roles=[
            Role.objects.create(
                code="deals_only",
                name="Deals only",
                grants={
                    "deals": {"view": "own", "create": "own", "edit": "own"},
                    "contacts": {"view": "own", "create": "own"},
                },
            )
        ]
    )
    client = clients.contact_create(actor=seller, first_name="Buyer")
    deal = sales.deal_create(
        actor=seller, title="D", pipeline=pipeline, contact=client, amount=Decimal("5")
    )
    sales.deal_stage_change(actor=seller, deal=deal, stage=pipeline.stages.get(kind="won"))
    assert Order.objects.get(deal=deal).owner == seller
    with pytest.raises(PermissionDenied):  # but no order of their own making
        sales.order_create(actor=seller, contact=client, amount=Decimal("1"))


def test_converting_a_lead_does_not_relink_a_contact_out_of_edit_scope(
    seeing_manager, teammate, pipeline
):
    existing = clients.contact_create(
        actor=None, first_name="Ann", phones=["+7 912 000-00-01"], owner=teammate
    )
    lead = sales.lead_create(
        actor=seeing_manager, title="L", phone="89120000001", company_name="Acme"
    )
    contact, company, deal = sales.lead_convert(actor=seeing_manager, lead=lead)
    assert contact == existing  # never a duplicate …
    assert not existing.memberships.exists()  # … and no write to a record not theirs
    assert deal.contact == existing and deal.company == company


def test_activities_and_tasks_use_the_grants(seeing_manager, teammate, make):
    note, task = make("activities", teammate), make("tasks", teammate)
    with pytest.raises(PermissionDenied):
        activity_update(actor=seeing_manager, activity=note, data={"subject": "X"})
    for write in (
        lambda: followup_update(actor=seeing_manager, followup=task, data={"title": "X"}),
        lambda: followup_complete(actor=seeing_manager, followup=task),
        lambda: followup_cancel(actor=seeing_manager, followup=task),
    ):
        with pytest.raises(PermissionDenied):
            write()
    task.refresh_from_db()
    assert task.status == "open" and task.title != "X"


def test_a_tasks_assignee_counts_as_its_owner(manager, teammate, make):
    contact = make("contacts", teammate)
    task = followup_create(
        actor=teammate,
        title="For Anna",
        due_at=timezone.now() + timedelta(hours=2),
        assignee=manager,
        contact=contact,
    )
    followup_update(actor=manager, followup=task, data={"title": "Renamed"})
    assert followup_complete(actor=manager, followup=task).status == "done"


def test_a_head_edits_the_departments_records(head, teammate, make):
    deal, note = make("deals", teammate), make("activities", teammate)
    sales.deal_update(actor=head, deal=deal, data={"title": "By the head"})
    activity_update(actor=head, activity=note, data={"subject": "By the head"})
    assert row(deal)["title"] == "By the head"


def test_the_system_may_write_anything(teammate, make):
    deal, task = make("deals", teammate), make("tasks", teammate)
    sales.deal_update(actor=None, deal=deal, data={"title": "By a job"})
    assert followup_complete(actor=None, followup=task).status == "done"
    assert record_soft_delete(actor=None, obj=deal)


def test_products_need_their_grant(manager, admin):
    with pytest.raises(PermissionDenied):
        sales.product_save(actor=manager, data={"name": "Pump", "price": Decimal("1")})
    product = sales.product_save(actor=admin, data={"name": "Pump", "price": Decimal("1")})
    with pytest.raises(PermissionDenied):
        sales.product_save(actor=manager, product=product, data={"name": "X"})
    assert Product.objects.get().name == "Pump"


def test_logging_an_activity_needs_the_create_grant(dept_viewer_role, manager, make):
    viewer = UserFactory(roles=[dept_viewer_role], department=manager.department)
    contact = make("contacts", manager)
    with pytest.raises(PermissionDenied):
        activity_log(actor=viewer, kind="note", subject="x", contact=contact)
