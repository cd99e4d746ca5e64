"""Writes of the duplicate finder: the scan, "not a duplicate", settings, automatic merge.

The scan is idempotent: run it twice and the same pairs are there once. It adds the pairs
it finds, refreshes the score of open ones, removes open pairs it no longer finds (a record
was changed, merged or deleted), and never touches a pair somebody decided about — a
dismissed pair stays dismissed, so "not a duplicate" is remembered for good.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.core.events import emit
from svyaz.dataquality.dedup import presets
from svyaz.dataquality.dedup.records import company_records, contact_records
from svyaz.dataquality.models import (
    DedupSettings,
    DuplicateEntity,
    DuplicatePair,
    DuplicateStatus,
)

log = logging.getLogger(__name__)
BATCH = 1000


def _country_code() -> str:
    import phonenumbers

    region = getattr(django_settings, "SVYAZ_DEFAULT_REGION", "RU") or "RU"
    return str(phonenumbers.country_code_for_region(region) or "")


def engine_for(entity: str, *, threshold: float):
    cc = _country_code()
    if entity == DuplicateEntity.CONTACT:
        return presets.contact_engine(threshold=threshold, default_cc=cc)
    if entity == DuplicateEntity.COMPANY:
        return presets.company_engine(threshold=threshold, default_cc=cc)
    raise ValueError(f"unknown entity {entity!r}")


def _records(entity: str) -> Iterable[dict]:
    return contact_records() if entity == DuplicateEntity.CONTACT else company_records()


def find_pairs(entity: str, *, threshold: float) -> dict[tuple[int, int], tuple[float, dict]]:
    """{(a_id, b_id): (score, reasons)} of the whole base, a_id < b_id."""
    engine = engine_for(entity, threshold=threshold)
    ids: list[int] = []
    rows: list[tuple] = []
    for record in _records(entity):
        ids.append(record["id"])
        rows.append(engine.normalize(record))
    out: dict[tuple[int, int], tuple[float, dict]] = {}
    workers = int(getattr(django_settings, "SVYAZ_DEDUP_WORKERS", 1) or 1)
    for m in engine.find_normalized(ids, rows, workers=workers):
        a, b = (m.a, m.b) if m.a < m.b else (m.b, m.a)
        out[(a, b)] = (round(m.score, 4), engine.explain_normalized(rows[m.i], rows[m.j]))
    return out


def _store(entity: str, found: dict[tuple[int, int], tuple[float, dict]]) -> dict[str, int]:
    """Upsert the pairs of one scan (idempotent); returns what changed."""
    now = timezone.now()
    created = updated = removed = 0
    with transaction.atomic():
        # One writer at a time: a second scan waits here, then sees the first one's pairs.
        DedupSettings.load()
        DedupSettings.objects.select_for_update().get(pk=1)
        existing = {
            (a, b): (pk, status, score)
            for pk, a, b, status, score in DuplicatePair.objects.filter(entity=entity)
            .values_list("pk", "a_id", "b_id", "status", "score")
            .iterator(chunk_size=5000)
        }
        new = []
        changed = []
        for (a, b), (score, reasons) in found.items():
            old = existing.get((a, b))
            if old is None:
                new.append(
                    DuplicatePair(
                        entity=entity, a_id=a, b_id=b, score=score, reasons=reasons,
                        found_at=now, seen_at=now,
                    )
                )  # fmt: skip
            elif old[1] == DuplicateStatus.OPEN and abs(old[2] - score) > 1e-9:
                changed.append(DuplicatePair(pk=old[0], score=score, reasons=reasons, seen_at=now))
        DuplicatePair.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
        DuplicatePair.objects.bulk_update(
            changed, ["score", "reasons", "seen_at"], batch_size=BATCH
        )
        created, updated = len(new), len(changed)
        stale = {
            key: pk
            for key, (pk, status, _score) in existing.items()
            if status == DuplicateStatus.OPEN and key not in found
        }
        # Gone because a person merged them on the merge page: the pair was a duplicate.
        merged = [stale.pop(key) for key in _merged_pairs(entity, stale) if key in stale]
        for start in range(0, len(merged), BATCH):
            DuplicatePair.objects.filter(pk__in=merged[start : start + BATCH]).update(
                status=DuplicateStatus.MERGED, decided_at=now
            )
        gone = list(stale.values())
        for start in range(0, len(gone), BATCH):
            removed += DuplicatePair.objects.filter(pk__in=gone[start : start + BATCH]).delete()[0]
    return {"created": created, "updated": updated, "removed": removed, "merged": len(merged)}


def _merged_pairs(entity: str, pairs) -> set[tuple[int, int]]:
    """Which of these (a, b) pairs were merged one into the other (and not undone)."""
    try:
        from svyaz.dataquality.models import Merge
    except ImportError:  # the merge part of the app is not there
        return set()
    ids = sorted({i for pair in pairs for i in pair})
    out: set[tuple[int, int]] = set()
    for start in range(0, len(ids), BATCH):
        for survivor, other in Merge.objects.filter(
            entity=entity, undone_at__isnull=True, other_id__in=ids[start : start + BATCH]
        ).values_list("survivor_id", "other_id"):
            out.add((min(survivor, other), max(survivor, other)))
    return out


def duplicates_scan(*, entity: str | None = None) -> dict:
    """Scan the whole base (or one entity) for duplicates; then merge automatically if
    the organization turned it on. Returns a report per entity."""
    config = DedupSettings.load()
    entities = [entity] if entity else [DuplicateEntity.CONTACT, DuplicateEntity.COMPANY]
    report: dict = {}
    for ent in entities:
        if ent not in DuplicateEntity.values:
            raise ValidationError({"entity": [_("Choose contacts or companies.")]})
        started = time.monotonic()
        found = find_pairs(ent, threshold=config.review_threshold)
        result = _store(ent, found)
        result["found"] = len(found)
        if config.auto_merge:
            result["auto_merged"] = auto_merge(
                entity=ent, threshold=max(config.auto_merge_threshold, config.review_threshold)
            )
        result["seconds"] = round(time.monotonic() - started, 2)
        report[ent] = result
        log.info("duplicates scan %s: %s", ent, result)
    DedupSettings.objects.filter(pk=config.pk).update(
        last_scan_at=timezone.now(), last_scan_report=report
    )
    return report


def _merge_function():
    try:
        from svyaz.dataquality.merge import merge_records
    except ImportError:
        log.warning("automatic merge skipped: svyaz.dataquality.merge.merge_records is missing")
        return None
    return merge_records


def auto_merge(*, entity: str, threshold: float) -> int:
    """Merge the open pairs scoring at least `threshold` (the older record is kept)."""
    merge_records = _merge_function()
    if merge_records is None:
        return 0
    try:
        from svyaz.audit.context import audit_source
    except ImportError:  # the audit app is optional here
        audit_source = None
    gone: set[int] = set()
    merged = 0
    pairs = list(
        DuplicatePair.objects.filter(
            entity=entity, status=DuplicateStatus.OPEN, score__gte=threshold
        ).order_by("-score", "a_id", "b_id")
    )
    for pair in pairs:
        if pair.a_id in gone or pair.b_id in gone:
            continue
        source = audit_source("job") if audit_source else contextlib.nullcontext()
        try:
            with source, transaction.atomic():
                merge_records(
                    actor=None,
                    entity=entity,
                    survivor_id=pair.a_id,
                    other_id=pair.b_id,
                    choices=None,
                )
                mark_merged(entity=entity, survivor_id=pair.a_id, other_id=pair.b_id)
        except Exception:  # one failing pair must not stop the others
            log.exception("automatic merge of %s %s into %s failed", entity, pair.b_id, pair.a_id)
            continue
        gone.add(pair.b_id)
        merged += 1
    return merged


@transaction.atomic
def mark_merged(*, entity: str, survivor_id: int, other_id: int, actor=None) -> None:
    """Record that `other_id` was merged into `survivor_id`: their pair becomes "merged"
    (created if the scan had not found it), and the other open pairs of the merged record
    are removed (the next scan finds them again against the survivor).

    The merge service may call this; the scan also cleans up after merges made without it."""
    a, b = sorted((survivor_id, other_id))
    now = timezone.now()
    updated = DuplicatePair.objects.filter(entity=entity, a_id=a, b_id=b).update(
        status=DuplicateStatus.MERGED, decided_at=now, decided_by=actor
    )
    if not updated:
        DuplicatePair.objects.create(
            entity=entity, a_id=a, b_id=b, score=1.0, status=DuplicateStatus.MERGED,
            decided_at=now, decided_by=actor,
        )  # fmt: skip
    from django.db.models import Q

    DuplicatePair.objects.filter(
        Q(a_id=other_id) | Q(b_id=other_id), entity=entity, status=DuplicateStatus.OPEN
    ).delete()


@transaction.atomic
def duplicate_dismiss(*, actor, pair: DuplicatePair) -> DuplicatePair:
    """ "Not a duplicate": remembered, the scan never brings the pair back."""
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status == DuplicateStatus.DISMISSED:
        return pair
    if pair.status != DuplicateStatus.OPEN:
        raise ValidationError({"status": [_("This pair was already merged.")]})
    pair.status = DuplicateStatus.DISMISSED
    pair.decided_at = timezone.now()
    pair.decided_by = actor
    pair.full_clean()
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    emit("duplicate.dismissed", pk=pair.pk, entity=pair.entity, a=pair.a_id, b=pair.b_id)
    return pair


@transaction.atomic
def dedup_settings_update(*, actor, data: dict) -> DedupSettings:
    if actor is not None:  # settings/edit (the Administrator role); refusal logged → 403
        from svyaz.core.scoping import require

        require(actor, "settings", "edit")
    config = DedupSettings.load()
    config = DedupSettings.objects.select_for_update().get(pk=config.pk)
    for name in ("review_threshold", "auto_merge", "auto_merge_threshold"):
        if name in data:
            setattr(config, name, data[name])
    config.updated_by = actor
    config.full_clean(exclude=["last_scan_report"])
    config.save()
    return config
