"""The recycle bin: cascade soft delete, restore with children, purge after 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.activities.services import activity_log
from svyaz.contacts.models import Company, Contact
from svyaz.core import recycle
from svyaz.core.errors import NotFound, PermissionDenied, ValidationError
from svyaz.core.models import TimelineEntry
from svyaz.core.services import record_soft_delete
from svyaz.followups.models import Followup
from svyaz.followups.services import followup_create
from svyaz.sales.models import Deal, Order
from svyaz.sales.services import deal_create, order_create
from tests.factories import CompanyFactory, ContactFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def family(manager, pipeline):
    """A company of `manager` with a deal (with an activity and a task), an order and a
    contact-less activity."""
    company = CompanyFactory(owner=manager, name="Romashka")
    deal = deal_create(actor=manager, title="Big deal", pipeline=pipeline, company=company)
    call = activity_log(actor=manager, kind="call", direction="out", deal=deal, subject="Deal call")
    note = activity_log(actor=manager, kind="note", company=company, subject="Company note")
    task = followup_create(
        actor=manager, title="Send offer", due_at=T0 + timedelta(days=1), deal=deal
    )
    order = order_create(
        actor=manager, company=company, amount=Decimal("100"), currency="RUB", number="A-1"
    )
    return {
        "company": company,
        "deal": deal,
        "call": call,
        "note": note,
        "task": task,
        "order": order,
    }


def _live(obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).exists()


def _exists(obj) -> bool:
    return type(obj).all_objects.filter(pk=obj.pk).exists()


def test_it_deletes_the_children_with_the_parent_at_the_same_instant(manager, family):
    with time_machine.travel(T0, tick=False):
        assert record_soft_delete(actor=manager, obj=family["company"])
    for obj in family.values():
        assert not _live(obj)
        assert type(obj).all_objects.get(pk=obj.pk).deleted_at == T0


def test_restore_brings_back_the_children(manager, family):
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=family["company"])
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        recycle.record_restore(actor=manager, obj=family["company"])
    for obj in family.values():
        assert _live(obj), obj
    entry = TimelineEntry.objects.get(company=family["company"], data__recycle="restored")
    assert entry.title.startswith("Restored from the recycle bin")
    assert entry.actor == manager
    assert entry.data["children"] == 5


def test_restore_leaves_a_child_deleted_on_its_own_before(manager, family):
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=family["note"])
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        record_soft_delete(actor=manager, obj=family["company"])
        recycle.record_restore(actor=manager, obj=family["company"])
    assert _live(family["deal"]) and _live(family["call"])
    assert not _live(family["note"])


def test_a_child_cannot_come_back_before_its_parent(manager, family):
    record_soft_delete(actor=manager, obj=family["company"])
    with pytest.raises(ValidationError, match="Restore Romashka first"):
        recycle.record_restore(actor=manager, obj=family["deal"])
    assert not _live(family["deal"])


def test_deleting_a_deal_takes_its_activities_and_tasks_not_its_orders(manager, family):
    record_soft_delete(actor=manager, obj=family["deal"])
    assert not _live(family["call"]) and not _live(family["task"])
    assert _live(family["order"]) and _live(family["note"]) and _live(family["company"])


def test_the_purge_removes_them_after_30_days_not_before(manager, family):
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=family["company"])
    with time_machine.travel(T0 + timedelta(days=29, hours=23), tick=False):
        assert recycle.recycle_bin_purge() == 0
    assert all(_exists(obj) for obj in family.values())
    with time_machine.travel(T0 + timedelta(days=30, minutes=1), tick=False):
        assert recycle.recycle_bin_purge() == 6
    assert not any(_exists(obj) for obj in family.values())
    assert not Company.all_objects.exists()


def test_the_purge_never_takes_live_records_along(manager, pipeline):
    company = CompanyFactory(owner=manager)
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=company)
    # A record added under the deleted company afterwards (e.g. by an import) stays alive.
    deal = Deal.objects.create(
        title="Late",
        pipeline=pipeline,
        stage=pipeline.stages.first(),
        company=company,
        owner=manager,
        department=manager.department,
    )
    with time_machine.travel(T0 + timedelta(days=40), tick=False):
        assert recycle.recycle_bin_purge() == 0
    assert _live(deal) and _exists(company)


def test_the_celery_task_and_the_beat_schedule(settings, manager, family):
    from celery import current_app

    from svyaz.core.tasks import recycle_bin_purge

    names = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "svyaz.core.tasks.recycle_bin_purge" in names
    assert "svyaz.core.tasks.recycle_bin_purge" in current_app.tasks
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=family["company"])
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        assert recycle_bin_purge.delay().get() == 6
        assert recycle_bin_purge.delay().get() == 0  # idempotent


def test_restore_is_refused_after_the_window(manager, family, settings):
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=family["company"])
    with (
        time_machine.travel(T0 + timedelta(days=31), tick=False),
        pytest.raises(ValidationError, match="more than 30 days"),
    ):
        recycle.record_restore(actor=manager, obj=family["company"])


def test_who_may_restore(manager, teammate, head, outsider, admin, family):
    company = family["company"]
    record_soft_delete(actor=manager, obj=company)
    with pytest.raises(NotFound):
        recycle.record_restore(actor=outsider, obj=company)
    with pytest.raises(NotFound):  # own scope: the teammate does not see it at all
        recycle.record_restore(actor=teammate, obj=company)
    assert recycle.record_restore(actor=head, obj=company).deleted_at is None
    record_soft_delete(actor=manager, obj=company)
    assert recycle.record_restore(actor=admin, obj=company).deleted_at is None


def test_a_visible_record_of_someone_else_is_403(manager, teammate, family):
    from svyaz.accounts.models import Role

    # A role that sees the whole department but deletes only its own records.
    teammate.roles.add(
        Role.objects.create(
            code="dept_viewer",
            name="Department viewer",
            grants={"companies": {"view": "department", "delete": "own"}},
        )
    )
    record_soft_delete(actor=manager, obj=family["company"])
    with pytest.raises(PermissionDenied):
        recycle.record_restore(actor=teammate, obj=family["company"])
    assert not _live(family["company"])


def test_the_list_shows_what_the_user_may_see(manager, outsider, family):
    other = ContactFactory(owner=outsider, full_name="Not yours")
    with time_machine.travel(T0, tick=False):
        record_soft_delete(actor=manager, obj=family["company"])
        record_soft_delete(actor=outsider, obj=other)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        items = recycle.recycle_bin_list(user=manager)
        assert {(i.entity, i.pk) for i in items} == {
            ("company", family["company"].pk),
            ("deal", family["deal"].pk),
            ("activity", family["call"].pk),
            ("activity", family["note"].pk),
            ("followup", family["task"].pk),
            ("order", family["order"].pk),
        }
        assert all(i.deleted_by == manager and i.can_restore for i in items)
        assert items[0].expires_at == T0 + timedelta(days=30)
        assert [i.entity for i in recycle.recycle_bin_list(user=manager, entity="deal")] == ["deal"]
        assert [i.pk for i in recycle.recycle_bin_list(user=outsider)] == [other.pk]


# --- pages -----------------------------------------------------------------------------


def test_the_page_lists_and_restores(manager_client, manager, family):
    record_soft_delete(actor=manager, obj=family["company"])
    response = manager_client.get(reverse("core:recycle_bin"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Romashka" in html and "Big deal" in html and "Anna Petrova" in html
    url = reverse("core:recycle_restore", args=["company", family["company"].pk])
    response = manager_client.post(url, follow=True)
    assert response.status_code == 200
    assert "Restored: Romashka" in response.content.decode()
    assert _live(family["company"]) and _live(family["deal"])


def test_the_page_restores_over_htmx(manager_client, manager, family):
    record_soft_delete(actor=manager, obj=family["deal"])
    url = reverse("core:recycle_restore", args=["deal", family["deal"].pk])
    response = manager_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Restored" in html and "<html" not in html
    assert reverse("sales:deal_detail", args=[family["deal"].pk]) in html


def test_the_page_shows_a_refusal(manager_client, manager, family):
    record_soft_delete(actor=manager, obj=family["company"])
    url = reverse("core:recycle_restore", args=["deal", family["deal"].pk])
    response = manager_client.post(url, HTTP_HX_REQUEST="true")
    assert "Restore Romashka first" in response.content.decode()
    assert not _live(family["deal"])


def test_out_of_scope_restore_is_404(client, outsider, manager, family):
    record_soft_delete(actor=manager, obj=family["company"])
    client.force_login(outsider)
    url = reverse("core:recycle_restore", args=["company", family["company"].pk])
    assert client.post(url).status_code == 404
    assert client.post(reverse("core:recycle_restore", args=["nope", 1])).status_code == 404
    assert "Romashka" not in client.get(reverse("core:recycle_bin")).content.decode()
    assert not _live(family["company"])


def test_restore_is_post_only(manager_client, manager, family):
    record_soft_delete(actor=manager, obj=family["company"])
    url = reverse("core:recycle_restore", args=["company", family["company"].pk])
    assert manager_client.get(url).status_code == 405


# --- deleted records vanish everywhere -------------------------------------------------


def test_deleted_records_are_absent_from_lists_search_and_api(
    manager_client, api_client, manager, family
):
    contact = ContactFactory(owner=manager, full_name="Zyablikov Ivan")
    record_soft_delete(actor=manager, obj=family["company"])
    record_soft_delete(actor=manager, obj=contact)
    assert "Romashka" not in manager_client.get(reverse("contacts:company_list")).content.decode()
    assert "Zyablikov" not in manager_client.get(reverse("contacts:contact_list")).content.decode()
    for q in ("Romashka", "Zyablikov", "Big deal"):
        html = manager_client.get(reverse("core:search"), {"q": q}).content.decode()
        assert q not in html.split("</form>", 1)[-1]
    assert api_client.get("/api/v1/companies/").json()["count"] == 0
    assert api_client.get("/api/v1/deals/").json()["count"] == 0
    assert api_client.get("/api/v1/orders/").json()["count"] == 0
    assert api_client.get("/api/v1/activities/").json()["count"] == 0
    assert api_client.get("/api/v1/followups/").json()["count"] == 0
    assert api_client.get(f"/api/v1/companies/{family['company'].pk}/").status_code == 404
    assert api_client.get(f"/api/v1/contacts/{contact.pk}/").status_code == 404
    assert (
        manager_client.get(reverse("sales:deal_detail", args=[family["deal"].pk])).status_code
        == 404
    )
    assert Contact.all_objects.filter(pk=contact.pk).exists()
    assert Order.all_objects.count() == 1 and Activity.all_objects.count() == 2
    assert Followup.all_objects.count() == 1


def test_the_list_costs_the_same_queries_for_one_row_and_many(
    manager, pipeline, django_assert_num_queries
):
    one = CompanyFactory(owner=manager)
    record_soft_delete(actor=manager, obj=one)
    with django_assert_num_queries(8):
        items = recycle.recycle_bin_list(user=manager)
        _ = [(i.name, str(i.deleted_by), i.label) for i in items]
    for n in range(3):
        company = CompanyFactory(owner=manager)
        deal = deal_create(actor=manager, title=f"D{n}", pipeline=pipeline, company=company)
        activity_log(actor=manager, kind="note", deal=deal, subject="x")
        followup_create(actor=manager, title="t", due_at=T0, deal=deal)
        order_create(actor=manager, company=company, amount=Decimal("5"), currency="RUB")
        record_soft_delete(actor=manager, obj=company)
    ContactFactory(owner=manager)
    with django_assert_num_queries(8):
        items = recycle.recycle_bin_list(user=manager)
        _ = [(i.name, str(i.deleted_by), i.label) for i in items]
    assert len(items) == 16
