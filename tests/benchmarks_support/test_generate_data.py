"""The data generator at a tiny scale: consistent, reproducible, on either database."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Max
from django.utils import timezone

from svyaz.accounts.models import User
from svyaz.activities.models import Activity
from svyaz.contacts.models import ClientSummary, Company, Contact, ContactCompany, Email, Phone
from svyaz.core.management.commands.generate_data import Generator, inn10, scaled_counts
from svyaz.core.models import CustomField, TimelineEntry
from svyaz.core.phones import normalize_phone
from svyaz.followups.models import Followup
from svyaz.sales.models import Deal, DealStageChange, Order

TINY = {
    "contacts": 60,
    "companies": 15,
    "deals": 40,
    "activities": 300,
    "orders": 80,
    "users": 6,
    "departments": 2,
}
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def generate(prefix: str = "gen", seed: int = 5, now=NOW) -> Generator:
    gen = Generator(counts=dict(TINY), seed=seed, prefix=prefix, out=lambda s: None, now=now)
    gen.run()
    return gen


@pytest.mark.django_db(transaction=True)
def test_it_generates_the_asked_counts_through_the_command():
    out = io.StringIO()
    call_command("generate_data", *[f"--{k}={v}" for k, v in TINY.items()], "--seed=3", stdout=out)

    assert Contact.objects.count() == 60
    assert Company.objects.count() == 15
    assert Deal.objects.count() == 40
    assert Activity.objects.count() == 300
    assert Order.objects.count() == 80
    assert User.objects.filter(username__startswith="gen").count() == 6
    # One timeline entry per deal, order and activity.
    assert TimelineEntry.objects.count() == 40 + 80 + 300
    text = out.getvalue()
    assert "rows/s" in text
    assert "contacts_contact: 60 rows" in text


@pytest.mark.django_db(transaction=True)
def test_it_writes_consistent_records():
    gen = generate()

    for contact in Contact.objects.all():
        assert contact.full_name == contact.compose_full_name() != ""
        assert contact.owner_id and contact.department_id
        assert contact.custom["segment"] in {"A", "B", "C", "D"}
    phones = list(Phone.objects.all())
    assert phones
    for phone in phones:
        assert phone.digits and phone.digits == phone.number.lstrip("+")
        assert normalize_phone(phone.number) == phone.number
        assert (phone.contact_id is None) != (phone.company_id is None)
    assert all("@" in e.email for e in Email.objects.all())
    assert ContactCompany.objects.exists()
    # Every deal's stage belongs to its pipeline, and its history starts with a change row.
    assert not Deal.objects.exclude(stage__pipeline=F("pipeline")).exists()
    assert set(DealStageChange.objects.values_list("deal_id", flat=True)) == set(
        Deal.objects.values_list("id", flat=True)
    )
    assert not Deal.objects.filter(contact__isnull=True, company__isnull=True).exists()
    for model in (Company, Deal, Order, Activity, Followup):
        assert not model.objects.filter(owner__isnull=True).exists()
        assert not model.objects.filter(department__isnull=True).exists()
    # Summaries exist for every client and agree with the orders.
    assert ClientSummary.objects.filter(contact__isnull=False).count() == 60
    assert ClientSummary.objects.filter(company__isnull=False).count() == 15
    buyer = Order.objects.exclude(status="cancelled").filter(contact__isnull=False).first()
    summary = ClientSummary.objects.get(contact_id=buyer.contact_id)
    assert summary.orders_count >= 1
    # The timeline points at real activities of the same client.
    entry = TimelineEntry.objects.filter(object_type="activity").first()
    activity = Activity.objects.get(pk=entry.object_id)
    assert (entry.contact_id, entry.company_id, entry.deal_id) == (
        activity.contact_id,
        activity.company_id,
        activity.deal_id,
    )
    # The busy manager has a full day: tasks due today and overdue.
    assert list(gen.busy.roles.values_list("code", flat=True)) == ["manager"]
    day_end = timezone.localtime(NOW).replace(hour=23, minute=59)
    assert (
        Followup.objects.filter(assignee=gen.busy, status="open", due_at__lte=day_end).count()
        >= 150
    )
    assert CustomField.objects.filter(entity="contact", code="segment").exists()


@pytest.mark.django_db(transaction=True)
def test_it_is_reproducible_with_the_same_seed():
    def snapshot(after: dict[str, int]) -> dict[str, list]:
        return {
            "contacts": list(
                Contact.objects.filter(id__gt=after["contact"])
                .order_by("id")
                .values_list("full_name", "job_title", "created_at", "custom")
            ),
            "phones": list(
                Phone.objects.filter(id__gt=after["phone"]).order_by("id").values_list("number")
            ),
            "deals": list(
                Deal.objects.filter(id__gt=after["deal"])
                .order_by("id")
                .values_list("title", "amount", "stage__name", "created_at")
            ),
            "activities": list(
                Activity.objects.filter(id__gt=after["activity"])
                .order_by("id")
                .values_list("kind", "subject", "occurred_at")
            ),
        }

    def high_water() -> dict[str, int]:
        return {
            name: model.aggregate(m=Max("id"))["m"] or 0
            for name, model in (
                ("contact", Contact.all_objects),
                ("phone", Phone.objects),
                ("deal", Deal.all_objects),
                ("activity", Activity.all_objects),
            )
        }

    start = high_water()
    generate(prefix="one", seed=11)
    first = snapshot(start)
    middle = high_water()
    generate(prefix="two", seed=11)
    second = snapshot(middle)
    assert first == second
    assert len(first["contacts"]) == 60

    before_third = high_water()
    generate(prefix="three", seed=12)
    assert snapshot(before_third)["contacts"] != first["contacts"]


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_generate_twice_with_the_same_prefix():
    generate(prefix="dup")
    with pytest.raises(CommandError, match="exist already"):
        generate(prefix="dup")


def test_it_scales_the_issue_sizes():
    full = scaled_counts(1.0)
    assert full == {
        "contacts": 1_000_000,
        "companies": 200_000,
        "deals": 500_000,
        "activities": 10_000_000,
        "orders": 2_000_000,
        "users": 200,
        "departments": 20,
    }
    tenth = scaled_counts(0.1, contacts=5)
    assert tenth["contacts"] == 5
    assert tenth["activities"] == 1_000_000
    assert tenth["users"] == 20
    assert scaled_counts(0.00001)["users"] == 5  # never fewer than an admin and managers


def test_it_rejects_a_bad_scale():
    with pytest.raises(CommandError):
        call_command("generate_data", "--scale=0")


def test_inn_has_a_valid_check_digit():
    import random

    from svyaz.contacts.services import inn_is_valid

    rng = random.Random(1)
    assert all(inn_is_valid(inn10(rng)) for _ in range(50))


@pytest.mark.django_db(transaction=True)
def test_it_makes_the_same_rows_with_any_number_of_workers():
    def rows(after: int) -> list:
        return list(
            TimelineEntry.objects.filter(id__gt=after)
            .exclude(kind="order")  # an order's title carries its id
            .order_by("id")
            .values_list("kind", "title", "body", "data", "occurred_at")
        )

    def high_water() -> int:
        return TimelineEntry.objects.aggregate(m=Max("id"))["m"] or 0

    start = high_water()
    Generator(counts=dict(TINY), seed=21, prefix="inproc", out=lambda s: None, now=NOW).run()
    first = rows(start)
    middle = high_water()
    Generator(
        counts=dict(TINY), seed=21, prefix="forked", out=lambda s: None, now=NOW, workers=2
    ).run()
    second = rows(middle)
    assert len(first) == 40 + 300
    # Same content (ids differ: the second run comes after the first).
    assert first == second


def test_copy_text_escaping_round_trips():
    from svyaz.core.management.commands.generate_data import esc, unesc

    for text in ["plain", "tab\there", "line\nbreak", "back\\slash", "cr\r", "\\N"]:
        escaped = esc(text)
        assert "\t" not in escaped and "\n" not in escaped
        assert unesc(escaped) == text


@pytest.mark.django_db(transaction=True)
def test_it_rebuilds_the_indexes_and_keys_it_drops_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: indexes and foreign keys are rebuilt after COPY")

    def schema() -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "UNION ALL SELECT conrelid::regclass::text || conname || "
                "pg_get_constraintdef(oid) || convalidated::text FROM pg_constraint "
                "ORDER BY 1"
            )
            return [r[0] for r in cursor.fetchall()]

    before = schema()
    generate(prefix="idx")
    assert schema() == before
    assert TimelineEntry.objects.count() == 40 + 80 + 300
