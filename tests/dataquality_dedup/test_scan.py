"""The scan job over the database: idempotent, remembers "not a duplicate", auto-merges."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from svyaz.dataquality.dedup import services
from svyaz.dataquality.models import DedupSettings, DuplicatePair, DuplicateStatus
from svyaz.dataquality.tasks import duplicates_scan

pytestmark = pytest.mark.django_db


def _pairs():
    return sorted(DuplicatePair.objects.values_list("entity", "a_id", "b_id", "status", "score"))


def test_it_finds_the_twins_with_reasons(twins):
    a, b = twins
    report = duplicates_scan.delay().get()
    assert report["contact"]["found"] == 1
    pair = DuplicatePair.objects.get()
    assert (pair.entity, pair.a_id, pair.b_id) == ("contact", a.pk, b.pk)
    assert pair.status == DuplicateStatus.OPEN
    assert pair.score >= 0.95
    assert pair.reasons["phones"] == 1.0 and pair.reasons["last_name"] == 1.0
    assert DedupSettings.load().last_scan_at is not None


def test_it_is_idempotent(twins, make_contact, manager):
    make_contact(manager, first_name="Anna", last_name="Lee", emails=["anna@lee.ru"])
    make_contact(manager, first_name="Ann", last_name="Lee", emails=["ANNA@lee.ru"])
    services.duplicates_scan()
    first = _pairs()
    assert len(first) == 2
    report = services.duplicates_scan()
    assert _pairs() == first
    assert report["contact"] == {**report["contact"], "created": 0, "updated": 0, "removed": 0}
    assert report["contact"]["merged"] == 0
    assert DuplicatePair.objects.count() == 2


def test_it_never_brings_a_dismissed_pair_back(twins, manager):
    services.duplicates_scan()
    pair = DuplicatePair.objects.get()
    services.duplicate_dismiss(actor=manager, pair=pair)
    services.duplicates_scan()
    services.duplicates_scan()
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert pair.decided_by == manager
    assert DuplicatePair.objects.count() == 1


def test_it_removes_open_pairs_that_are_no_longer_alike(twins, manager):
    from svyaz.contacts.services import contact_update

    a, b = twins
    services.duplicates_scan()
    assert DuplicatePair.objects.count() == 1
    contact_update(
        actor=manager,
        contact=b,
        data={"first_name": "Пётр", "last_name": "Иванов", "phones": ["+79039999999"]},
    )
    report = services.duplicates_scan()
    assert report["contact"]["removed"] == 1
    assert DuplicatePair.objects.count() == 0


def test_it_finds_company_duplicates(manager, make_company):
    a = make_company(manager, name='ООО "Ромашка"', inn="7707083893")
    b = make_company(manager, name="Ромашка", inn="7707083893", phones=["+74951234567"])
    make_company(manager, name="Василёк", inn="7736207543")
    services.duplicates_scan(entity="company")
    pair = DuplicatePair.objects.get(entity="company")
    assert (pair.a_id, pair.b_id) == (a.pk, b.pk)


def test_it_refuses_an_unknown_entity():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.duplicates_scan(entity="deal")
    assert not DuplicatePair.objects.exists()


def test_it_merges_automatically_above_the_threshold(twins, monkeypatch):
    a, b = twins
    calls = []
    fake = types.ModuleType("svyaz.dataquality.merge")

    def merge_records(**kwargs):
        calls.append(kwargs)

    fake.merge_records = merge_records
    monkeypatch.setitem(sys.modules, "svyaz.dataquality.merge", fake)
    DedupSettings.objects.update_or_create(
        pk=1, defaults={"auto_merge": True, "auto_merge_threshold": 0.95}
    )
    report = services.duplicates_scan(entity="contact")
    assert report["contact"]["auto_merged"] == 1
    assert calls == [
        {"actor": None, "entity": "contact", "survivor_id": a.pk, "other_id": b.pk, "choices": None}
    ]
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED


def test_it_skips_auto_merge_with_a_warning_when_merge_is_missing(twins, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "svyaz.dataquality.merge", None)  # import fails
    DedupSettings.objects.update_or_create(pk=1, defaults={"auto_merge": True})
    with caplog.at_level(logging.WARNING):
        report = services.duplicates_scan(entity="contact")
    assert report["contact"]["auto_merged"] == 0
    assert "automatic merge skipped" in caplog.text
    assert DuplicatePair.objects.get().status == DuplicateStatus.OPEN


def test_it_keeps_going_when_one_merge_fails(twins, monkeypatch):
    fake = types.ModuleType("svyaz.dataquality.merge")

    def merge_records(**kwargs):
        raise RuntimeError("boom")

    fake.merge_records = merge_records
    monkeypatch.setitem(sys.modules, "svyaz.dataquality.merge", fake)
    DedupSettings.objects.update_or_create(pk=1, defaults={"auto_merge": True})
    report = services.duplicates_scan(entity="contact")
    assert report["contact"]["auto_merged"] == 0
    assert DuplicatePair.objects.get().status == DuplicateStatus.OPEN


def test_it_leaves_merged_away_records_out(twins, manager):
    """A record soft-deleted (merged or in the recycle bin) is not scanned."""
    from svyaz.core.services import record_soft_delete

    a, b = twins
    services.duplicates_scan()
    record_soft_delete(actor=manager, obj=b)
    services.duplicates_scan()
    assert not DuplicatePair.objects.filter(status=DuplicateStatus.OPEN).exists()


def test_it_marks_a_pair_merged_for_the_merge_service(twins):
    a, b = twins
    services.mark_merged(entity="contact", survivor_id=b.pk, other_id=a.pk)
    pair = DuplicatePair.objects.get()
    assert (pair.a_id, pair.b_id, pair.status) == (a.pk, b.pk, DuplicateStatus.MERGED)
    services.duplicates_scan()
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED


def test_it_auto_merges_through_the_real_merge_service(twins):
    merge = pytest.importorskip("svyaz.dataquality.merge", reason="the merge service is missing")
    from svyaz.contacts.models import Contact
    from svyaz.dataquality.models import Merge

    a, b = twins
    DedupSettings.objects.update_or_create(
        pk=1, defaults={"auto_merge": True, "auto_merge_threshold": 0.95}
    )
    report = services.duplicates_scan(entity="contact")
    assert report["contact"]["auto_merged"] == 1, merge
    assert Merge.objects.filter(entity="contact", survivor_id=a.pk, other_id=b.pk).exists()
    assert not Contact.objects.filter(pk=b.pk).exists()  # soft-deleted by the merge
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED
    # The next scan leaves it so.
    services.duplicates_scan(entity="contact")
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED


def test_it_closes_a_pair_merged_on_the_merge_page(twins, manager):
    merge = pytest.importorskip("svyaz.dataquality.merge", reason="the merge service is missing")
    a, b = twins
    services.duplicates_scan()
    merge.merge_records(actor=manager, entity="contact", survivor_id=a.pk, other_id=b.pk)
    report = services.duplicates_scan(entity="contact")
    assert report["contact"]["merged"] == 1 and report["contact"]["removed"] == 0
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED
