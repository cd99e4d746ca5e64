"""seed_demo: the demo data set keeps the invariants the domain services keep."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max
from django.utils import timezone

from svyaz.accounts.models import Department, User
from svyaz.activities.models import Activity
from svyaz.contacts.models import Company, Contact, ContactCompany, Email, Phone
from svyaz.core.management.demo import DEMO_PASSWORD, DEMO_USERNAME, DemoBuilder
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.followups.models import Followup, FollowupKind, FollowupStatus
from svyaz.sales.models import Deal, DealStageChange, Lead, Order, Pipeline, Product, StageKind

OWNED = [Company, Contact, Deal, Order, Activity, Followup, Lead]


def test_it_loads_every_kind_of_record_in_expected_amounts(demo_data):
    assert "Demo data loaded" in demo_data
    assert f"{DEMO_USERNAME} / {DEMO_PASSWORD}" in demo_data
    assert User.objects.count() == 10
    assert Department.objects.count() == 5
    assert Pipeline.objects.count() == 2
    assert Product.objects.count() >= 40
    assert Company.objects.count() == 50
    assert Contact.objects.count() == 50
    assert Deal.objects.count() == 25
    assert 900 <= Activity.objects.count() <= 1200
    assert 150 <= Order.objects.count() <= 260
    assert Followup.objects.filter(kind=FollowupKind.CALLBACK).exists()
    assert TimelineEntry.objects.count() > Activity.objects.count()


def test_it_makes_the_demo_user_a_russian_speaking_superuser(demo_data):
    demo = User.objects.get(username=DEMO_USERNAME)
    assert demo.is_superuser and demo.is_staff
    assert set(demo.roles.values_list("code", flat=True)) == {"administrator"}
    assert demo.language == "ru"
    assert demo.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="anna").check_password(DEMO_PASSWORD)
    assert set(User.objects.get(username="anna").roles.values_list("code", flat=True)) == {
        "manager"
    }
    heads = Department.objects.exclude(head=None)
    assert heads.count() == 5
    root = Department.objects.get(parent=None)
    assert set(root.subtree_ids()) == set(Department.objects.values_list("pk", flat=True))


def test_it_sets_owner_and_the_owners_department_on_every_record(demo_data):
    for model in OWNED:
        rows = list(model.objects.select_related("owner").all())
        assert rows, model
        for row in rows:
            assert row.owner_id is not None, (model, row.pk)
            assert row.department_id == row.owner.department_id, (model, row.pk)


def test_it_keeps_deals_consistent_with_their_stage_history(demo_data):
    deals = Deal.objects.select_related("stage", "lost_reason").prefetch_related(
        "stage_changes__to_stage"
    )
    kinds = set()
    for deal in deals:
        kinds.add(deal.stage.kind)
        assert deal.stage.pipeline_id == deal.pipeline_id
        changes = list(deal.stage_changes.all())
        assert changes[0].from_stage_id is None
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id
            assert after.changed_at >= before.changed_at
            assert after.seconds_in_from == int(
                (after.changed_at - before.changed_at).total_seconds()
            )
        assert changes[-1].to_stage_id == deal.stage_id
        assert all(c.to_stage.pipeline_id == deal.pipeline_id for c in changes)
        assert deal.stage_changed_at == changes[-1].changed_at
        assert changes[-1].changed_at <= timezone.now()
        if deal.stage.kind == StageKind.LOST:
            assert deal.lost_reason is not None
            assert deal.closed_at == changes[-1].changed_at
        elif deal.stage.kind == StageKind.WON:
            assert deal.lost_reason is None
            assert deal.closed_at is not None
            assert deal.orders.count() == 1
            assert deal.orders.get().amount == deal.amount
        else:
            assert deal.closed_at is None and deal.lost_reason is None
    assert kinds == {StageKind.OPEN, StageKind.WON, StageKind.LOST}
    stage_entries = TimelineEntry.objects.filter(kind=TimelineKind.STAGE).count()
    assert stage_entries == DealStageChange.objects.exclude(from_stage=None).count()


def test_it_stores_phones_in_e164_with_their_digits(demo_data):
    phones = list(Phone.objects.all())
    assert len(phones) >= 100
    for phone in phones:
        assert re.fullmatch(r"\+\d{10,14}", phone.number), phone.number
        assert phone.digits == phone.number[1:]
    assert not Contact.objects.annotate(n=Count("phones")).filter(n=0).exists()
    assert not Contact.objects.annotate(n=Count("emails")).filter(n=0).exists()
    assert Email.objects.filter(email__contains="@").count() == Email.objects.count()


def test_it_composes_contact_names_and_company_links(demo_data):
    for contact in Contact.objects.all():
        assert contact.full_name == contact.compose_full_name()
    assert ContactCompany.objects.exists()
    for company in Company.objects.filter(country="RU"):
        assert len(company.inn) in (10, 12) and company.inn.isdigit()
        assert re.fullmatch(r"\d\d\.\d\d", company.industry_code)


def test_it_gives_every_user_a_day_of_tasks(demo_data):
    now = timezone.now()
    today = timezone.localdate()
    for user in User.objects.all():
        open_tasks = Followup.objects.filter(assignee=user, status=FollowupStatus.OPEN)
        assert open_tasks.filter(due_at__lt=now).exists(), user  # overdue
        assert any(timezone.localtime(f.due_at).date() == today for f in open_tasks) or (
            timezone.localtime(now).hour >= 23
        ), user
        callbacks = open_tasks.filter(kind=FollowupKind.CALLBACK)
        assert callbacks.exists(), user
        assert all(
            c.source_activity is not None and c.source_activity.outcome == "callback"
            for c in callbacks
        )
    assert Followup.objects.filter(status=FollowupStatus.DONE, completed_at__isnull=False).exists()


def test_it_writes_purchase_histories_of_one_time_repeat_and_lapsed_buyers(demo_data):
    per_company = (
        Order.objects.exclude(company=None)
        .values("company")
        .annotate(n=Count("id"), last=Max("ordered_at"))
    )
    counts = [row["n"] for row in per_company]
    assert 1 in counts
    assert any(n >= 3 for n in counts)
    year_ago = timezone.now() - timezone.timedelta(days=365)
    assert any(row["last"] < year_ago for row in per_company)
    assert Order.objects.filter(lines__isnull=True).count() == 0
    assert TimelineEntry.objects.filter(kind=TimelineKind.ORDER).count() == Order.objects.count()
    assert TimelineEntry.objects.filter(object_type="activity").count() == Activity.objects.count()


def test_it_does_not_load_twice(demo_data):
    before = {m.__name__: m.objects.count() for m in OWNED}
    out = StringIO()
    call_command("seed_demo", "--scale", "0.05", stdout=out)
    assert "already loaded" in out.getvalue()
    assert {m.__name__: m.objects.count() for m in OWNED} == before


def test_it_refuses_a_non_positive_scale(db):
    with pytest.raises(CommandError, match="--scale"):
        call_command("seed_demo", "--scale", "0", stdout=StringIO())
    assert not User.objects.exists()


def test_it_builds_the_same_names_from_the_same_seed():
    def names(seed):
        builder = DemoBuilder(seed=seed, scale=0.01)
        return [builder._company_name(i % 5 == 0) for i in range(20)] + [
            builder._person(False) for _ in range(20)
        ]

    assert names(3) == names(3)
    assert names(3) != names(4)


def test_it_rebuilds_client_summaries(demo_data):
    services = pytest.importorskip(
        "svyaz.sales.services",
        reason="svyaz.sales.services does not exist yet, so client_summaries_rebuild() cannot run",
    )
    if not hasattr(services, "client_summaries_rebuild"):
        pytest.skip("svyaz.sales.services.client_summaries_rebuild() does not exist yet")
    from svyaz.contacts.models import ClientSummary

    assert "client summaries:" in demo_data
    statuses = set(ClientSummary.objects.values_list("status", flat=True))
    assert {"customer", "repeat", "inactive"} <= statuses
