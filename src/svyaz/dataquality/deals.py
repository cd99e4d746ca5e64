"""Import of deals with their history: one deal per row, written through the sales services.

A row names its pipeline and stage by name (or only an outcome: won / lost / open). The deal
is created by `deal_create` in an open stage and, when the row says it was won or lost,
moved there by `deal_stage_change` — the one write path of a stage, which writes the
DealStageChange row and, on a win, the deal's order (once per deal, as the sales rules say).
The client (contact and/or company) must already exist: import contacts and companies first.

History: "Created" and "Closed" columns put the deal, its stage changes, its timeline rows
and the order of a won deal at those dates (the services stamp "now"; this module then
moves those freshly written timestamps — only timestamps, after the services validated and
wrote everything), so funnel, time-in-stage, RFM and revenue by month read the real past.

Keys: external id, or the title (with the row's client, when it names one)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from svyaz.audit.services import record_bulk
from svyaz.contacts.models import Company, Contact
from svyaz.core.models import TimelineKind
from svyaz.dataquality import orders, rowtools
from svyaz.dataquality.models import ImportedRecord, ImportJob, ImportKey
from svyaz.sales import services as sales_services
from svyaz.sales.models import (
    Deal,
    DealStageChange,
    LostReason,
    Order,
    Pipeline,
    Stage,
    StageKind,
)

LABEL = "sales.deal"
MODELS = {LABEL: Deal}
KEYS = {ImportKey.EXTERNAL_ID, ImportKey.TITLE}
ERROR_FIELD = {"client": "full_name", "contact": "full_name", "lost_comment": "lost_reason"}
_CLIENT_KEYS = ("full_name", "email", "phone", "company", "company_inn")
_FALLBACK_REASONS = ("other", "другое", "прочее", "иное")


def mapping_errors(used: set[str]) -> list[str]:
    if not used & {"title", "external_id"}:  # updates by external id need no title
        return [_("Map a column to the deal title.")]
    return []


@cache
def _outcomes() -> dict[str, str]:
    won, lost, open_ = StageKind.WON, StageKind.LOST, StageKind.OPEN
    return rowtools.choice_lookup(
        StageKind.choices,
        {
            "выиграна": won,
            "выигрыш": won,
            "успешно": won,
            "успешна": won,
            "успех": won,
            "сделка заключена": won,
            "закрыта успешно": won,
            "win": won,
            "closed won": won,
            "проиграна": lost,
            "проигрыш": lost,
            "провалена": lost,
            "отказ": lost,
            "неуспешно": lost,
            "закрыта неуспешно": lost,
            "closed lost": lost,
            "loss": lost,
            "в работе": open_,
            "открыта": open_,
            "in progress": open_,
            "active": open_,
        },
    )


def deal_data(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields for deal_create/deal_update, extras: dates, outcome, tags)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    if values.get("title"):
        data["title"] = values["title"]
    if values.get("amount"):
        data["amount"] = rowtools.collect(errors, rowtools.parse_money, values["amount"], "amount")
    if values.get("currency"):
        data["currency"] = values["currency"].strip().upper()
    if values.get("expected_close"):
        data["expected_close"] = rowtools.collect(
            errors, rowtools.parse_day, values["expected_close"], "expected_close"
        )
    if values.get("probability"):
        data["probability"] = rowtools.collect(
            errors, rowtools.parse_int, values["probability"], "probability", low=0, high=100
        )
    if values.get("owner"):
        data["owner"] = rowtools.collect(errors, rowtools.resolve_owner, values["owner"])
    extra: dict[str, Any] = {"tags": values.get("tags") or []}
    for key in ("created_at", "closed_at"):
        if values.get(key):
            extra[key] = rowtools.collect(errors, rowtools.parse_moment, values[key], key)
    if values.get("outcome"):
        extra["outcome"] = rowtools.collect(
            errors, rowtools.parse_choice, values["outcome"], _outcomes(), "outcome", _("outcome")
        )
    created, closed = extra.get("created_at"), extra.get("closed_at")
    if created and closed and closed < created:
        errors.setdefault("closed_at", []).append(_("The deal closes before it was created."))
    if errors:
        raise ValidationError(errors)
    return data, extra


def find_client(actor, values: dict[str, Any]) -> tuple[Contact | None, Company | None]:
    """The row's existing client; (None, None) when the row names none."""
    if not any(values.get(k) for k in _CLIENT_KEYS):
        return None, None
    return orders.find_client(actor, values)


def _first_stage(pipeline: Pipeline, kind: str, field: str) -> Stage:
    stage = pipeline.stages.filter(kind=kind).order_by("position", "id").first()
    if stage is None:
        label = StageKind(kind).label
        raise rowtools.key_error(
            field,
            _("The pipeline “%(pipeline)s” has no “%(kind)s” stage.")
            % {"pipeline": pipeline.name, "kind": label},
        )
    return stage


def find_target(
    values: dict[str, Any], outcome: str | None, existing: Deal | None
) -> tuple[Pipeline, Stage | None]:
    """The pipeline and the stage the row asks for (stage None: keep / first open stage)."""
    if values.get("pipeline"):
        name = " ".join(values["pipeline"].split())
        pipeline = rowtools.iexact(Pipeline.objects.all(), "name", name)
        pipeline = pipeline.order_by("position", "id").first()
        if pipeline is None:
            raise rowtools.key_error(
                "pipeline", _("Unknown pipeline “%(value)s”.") % {"value": name}
            )
    elif existing is not None:
        pipeline = existing.pipeline
    else:
        pipeline = sales_services.default_pipeline()
        if pipeline is None:
            raise rowtools.key_error("pipeline", _("Create a pipeline first."))
    if existing is not None and pipeline.pk != existing.pipeline_id:
        raise rowtools.key_error(
            "pipeline",
            _("The deal is in the pipeline “%(pipeline)s”; an import does not move it to another.")
            % {"pipeline": existing.pipeline.name},
        )
    stage = None
    if values.get("stage"):
        name = " ".join(values["stage"].split())
        stage = rowtools.iexact(pipeline.stages.all(), "name", name)
        stage = stage.order_by("position", "id").first()
        if stage is None:
            raise rowtools.key_error(
                "stage",
                _("Unknown stage “%(value)s” in the pipeline “%(pipeline)s”.")
                % {"value": name, "pipeline": pipeline.name},
            )
        if outcome and outcome != stage.kind:
            raise rowtools.key_error(
                "outcome",
                _("The stage “%(stage)s” does not match the outcome “%(value)s”.")
                % {"stage": stage.name, "value": values.get("outcome", "")},
            )
    elif outcome in (StageKind.WON, StageKind.LOST):
        stage = _first_stage(pipeline, outcome, "outcome")
    elif outcome == StageKind.OPEN and existing is not None and existing.stage.kind != outcome:
        stage = _first_stage(pipeline, StageKind.OPEN, "outcome")
    return pipeline, stage


def _lost_reason(values: dict[str, Any]) -> tuple[LostReason, str]:
    """The reason by name; an unknown or missing one falls back to "Other" (when such a
    reason exists) with the file's text as the comment."""
    text = " ".join((values.get("lost_reason") or "").split())
    if text:
        reason = rowtools.iexact(LostReason.objects.all(), "name", text).first()
        if reason is not None:
            return reason, ""
    fallback = next(
        (r for r in LostReason.objects.all() if r.name.strip().lower() in _FALLBACK_REASONS),
        None,
    )
    if fallback is not None:
        return fallback, text
    if text:
        known = ", ".join(LostReason.objects.values_list("name", flat=True)[:20])
        raise rowtools.key_error(
            "lost_reason",
            _("Unknown lost reason “%(value)s” (known: %(known)s).")
            % {"value": text, "known": known or "—"},
        )
    raise rowtools.key_error("lost_reason", _("Say why the deal was lost."))


def find_existing(job: ImportJob, actor, values, contact, company) -> Deal | None:
    key = job.key_field
    qs = None
    if key == ImportKey.EXTERNAL_ID:
        qs = rowtools.by_external(LABEL, Deal, values)
    elif key == ImportKey.TITLE and values.get("title"):
        qs = rowtools.iexact(Deal.objects.all(), "title", values["title"])
        if company is not None:
            qs = qs.filter(company=company)
        elif contact is not None:
            qs = qs.filter(contact=contact)
    return rowtools.one_existing(actor, qs, key)


def _move(actor, job, deal: Deal, stage: Stage, values, row, chunk) -> None:
    """deal_stage_change, recording the order a first win creates (undo removes it)."""
    reason, comment = (None, "")
    if stage.kind == StageKind.LOST:
        reason, comment = _lost_reason(values)
    had_order = Order.all_objects.filter(deal=deal).exists()
    sales_services.deal_stage_change(
        actor=actor, deal=deal, stage=stage, lost_reason=reason, lost_comment=comment
    )
    if not had_order:
        order = Order.objects.filter(deal=deal).first()
        if order is not None:
            rowtools.record(job, order, ImportedRecord.Action.CREATED, {}, row, chunk)


def _backdate(deal: Deal, created: datetime | None, closed: datetime | None) -> None:
    """Move the timestamps the services just wrote to the file's dates."""
    deal.refresh_from_db()
    is_closed = deal.stage.kind != StageKind.OPEN
    changes = list(DealStageChange.objects.filter(deal=deal).order_by("changed_at", "id"))
    if created is not None:
        Deal.objects.filter(pk=deal.pk).update(created_at=created)
        if changes and changes[0].from_stage_id is None:
            DealStageChange.objects.filter(pk=changes[0].pk).update(changed_at=created)
        rowtools.backdate_timeline(deal, created, title_kind=TimelineKind.DEAL)
        if not is_closed:
            record_bulk([deal], changes={"stage_changed_at": created})  # update() sends no signals
            Deal.objects.filter(pk=deal.pk).update(stage_changed_at=created)
    if closed is None or not is_closed:
        return
    start = created or deal.created_at
    record_bulk([deal], changes={"closed_at": closed, "stage_changed_at": closed})
    Deal.objects.filter(pk=deal.pk).update(closed_at=closed, stage_changed_at=closed)
    last = changes[-1] if changes else None
    if last is not None and last.from_stage_id is not None:
        DealStageChange.objects.filter(pk=last.pk).update(
            changed_at=closed, seconds_in_from=max(0, int((closed - start).total_seconds()))
        )
    rowtools.backdate_timeline(deal, closed, title_kind=TimelineKind.STAGE)
    order = Order.objects.filter(deal=deal).first()
    if order is not None and deal.stage.kind == StageKind.WON:
        record_bulk([order], changes={"ordered_at": closed})
        Order.objects.filter(pk=order.pk).update(ordered_at=closed)
        rowtools.backdate_timeline(order, closed)
        if order.contact_id:
            sales_services.client_summary_refresh(contact=order.contact)
        if order.company_id:
            sales_services.client_summary_refresh(company=order.company)


def apply_row(job: ImportJob, actor, values: dict[str, Any], row: int, chunk: int) -> str:
    data, extra = deal_data(values)
    contact, company = find_client(actor, values)
    existing = find_existing(job, actor, values, contact, company) if job.key_field else None
    rowtools.check_mode(job, existing)
    pipeline, stage = find_target(values, extra.get("outcome"), existing)
    if existing is None:
        if not data.get("title"):
            raise rowtools.key_error("title", _("Enter the deal title."))
        closing = stage is not None and stage.kind != StageKind.OPEN
        deal = sales_services.deal_create(
            actor=actor,
            pipeline=pipeline,
            stage=None if closing else stage,
            contact=contact,
            company=company,
            tags=extra["tags"] or None,
            **data,
        )
        rowtools.record(job, deal, ImportedRecord.Action.CREATED, {}, row, chunk)
        if closing:
            _move(actor, job, deal, stage, values, row, chunk)
        _backdate(deal, extra.get("created_at"), extra.get("closed_at"))
        rowtools.remember_external(job, LABEL, values, deal)
        return ImportedRecord.Action.CREATED

    deal = existing
    update = dict(data)
    if job.key_field == ImportKey.TITLE:
        update.pop("title", None)  # matched by it, ignoring case: the key keeps its spelling
    if contact is not None:
        update["contact"] = contact
    if company is not None:
        update["company"] = company
    previous: dict[str, Any] = {}
    for key in update:
        attr = f"{key}_id" if key in ("owner", "contact", "company") else key
        previous[key] = rowtools.jsonable(getattr(deal, attr))
    if extra["tags"]:
        old = list(deal.tags.values_list("name", flat=True))
        previous["tags"] = old
        update["tags"] = old + extra["tags"]
    moving = stage is not None and stage.pk != deal.stage_id
    if moving:
        previous["_stage"] = deal.stage_id
        previous["_lost_reason"] = deal.lost_reason_id
        previous["_lost_comment"] = deal.lost_comment
    rowtools.record(job, deal, ImportedRecord.Action.UPDATED, previous, row, chunk)
    if update:
        deal = sales_services.deal_update(actor=actor, deal=deal, data=update)
    if moving:
        _move(actor, job, deal, stage, values, row, chunk)
        _backdate(deal, None, extra.get("closed_at"))
    rowtools.remember_external(job, LABEL, values, deal)
    return ImportedRecord.Action.UPDATED


def undo_record(actor, rec: ImportedRecord) -> None:
    deal = Deal.all_objects.filter(pk=rec.object_id).first()
    if deal is None or deal.deleted_at is not None:
        return
    if rec.action == ImportedRecord.Action.CREATED:
        sales_services.deal_delete(actor=actor, deal=deal)
        return
    previous = dict(rec.previous)
    stage_id = previous.pop("_stage", None)
    reason_id = previous.pop("_lost_reason", None)
    comment = previous.pop("_lost_comment", "")
    for key, manager in (
        ("owner", get_user_model()._default_manager),
        ("contact", Contact.all_objects),
        ("company", Company.all_objects),
    ):
        if key in previous:
            pk = previous.pop(key)
            previous[key] = manager.filter(pk=pk).first() if pk else None
    if previous.get("expected_close"):
        previous["expected_close"] = date.fromisoformat(previous["expected_close"])
    if stage_id and stage_id != deal.stage_id:
        stage = Stage.objects.filter(pk=stage_id).first()
        if stage is not None:
            reason = LostReason.objects.filter(pk=reason_id).first() if reason_id else None
            sales_services.deal_stage_change(
                actor=actor, deal=deal, stage=stage, lost_reason=reason, lost_comment=comment
            )
    if previous:
        sales_services.deal_update(actor=actor, deal=deal, data=previous)
