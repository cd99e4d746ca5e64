"""Every write of the sales app: leads, deals (and THE stage change), lines, orders.

Each service is atomic, validates before it writes, writes its timeline rows in the same
transaction and emits its events after commit. Lifecycle figures live in
sales/lifecycle.py and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.audit.services import record_bulk as audit_record_bulk
from svyaz.contacts.models import Company, Contact
from svyaz.core.access import require_create
from svyaz.core.custom_fields import clean_custom_values
from svyaz.core.events import emit
from svyaz.core.models import Tag, TimelineKind
from svyaz.core.phones import normalize_phone
from svyaz.core.scoping import can, require
from svyaz.core.services import record_soft_delete, require_on
from svyaz.core.timeline import field_changes, snapshot, subjects_of, timeline_add
from svyaz.sales.lifecycle import (  # noqa: F401 - re-export
    client_summaries_rebuild,
    client_summary_refresh,
)
from svyaz.sales.models import (
    BoardTotal,
    Deal,
    DealLine,
    DealStageChange,
    Lead,
    LeadStatus,
    LostReason,
    Order,
    OrderLine,
    OrderStatus,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Stage,
    StageKind,
)

CENT = Decimal("0.01")


def _owner(actor, owner, entity: str):
    """The new record's owner (the actor unless given), within the actor's "create"
    scope: with "own" one creates only for oneself (PermissionDenied otherwise)."""
    owner = owner if owner is not None else actor
    require_create(actor, entity, owner)
    return owner


def _collect(errors: dict[str, list[str]], func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for key, msgs in exc.message_dict.items():
                errors.setdefault(key, []).extend(msgs)
        else:
            errors.setdefault("__all__", []).extend(exc.messages)
        return None


def _set_tags(obj, tags: Iterable[Any] | None) -> None:
    if tags is None:
        return
    objs = []
    for t in tags:
        if isinstance(t, Tag):
            objs.append(t)
        else:
            name = " ".join(str(t).split())[:64]
            if name:
                objs.append(
                    Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
                )
    obj.tags.set(objs)


def _refresh_clients(*objs) -> None:
    """Recompute lifecycle figures of every client touched by these deals/orders/ids."""
    contacts: set[int] = set()
    companies: set[int] = set()
    for obj in objs:
        if obj is None:
            continue
        if isinstance(obj, Contact):
            contacts.add(obj.pk)
        elif isinstance(obj, Company):
            companies.add(obj.pk)
        else:
            if obj.contact_id:
                contacts.add(obj.contact_id)
            if obj.company_id:
                companies.add(obj.company_id)
    for c in Contact.all_objects.filter(pk__in=contacts):
        client_summary_refresh(contact=c)
    for c in Company.all_objects.filter(pk__in=companies):
        client_summary_refresh(company=c)


def _client_has_orders(contact, company) -> bool:
    from django.db.models import Q

    cond = Q(pk__in=[])
    if contact is not None:
        cond |= Q(contact=contact)
    if company is not None:
        cond |= Q(company=company)
    return Order.objects.filter(cond).exclude(status=OrderStatus.CANCELLED).exists()


def _decimal(value, field: str, errors: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    if not d.is_finite():
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    return d


def _check_currency(currency: str, errors: dict) -> None:
    if currency not in settings.SVYAZ_CURRENCIES:
        errors.setdefault("currency", []).append(
            _("Choose one of: %(list)s.") % {"list": ", ".join(settings.SVYAZ_CURRENCIES)}
        )


# --- leads -----------------------------------------------------------------------------

LEAD_FIELDS = (
    "title",
    "first_name",
    "last_name",
    "company_name",
    "company_inn",
    "phone",
    "email",
    "source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "description",
    "status",
)


def _lead_clean(lead: Lead, errors: dict) -> None:
    lead.title = " ".join((lead.title or "").split())
    if lead.phone:
        try:
            lead.phone = normalize_phone(lead.phone)
        except ValidationError as exc:
            errors.setdefault("phone", []).extend(exc.messages)
    if lead.email:
        lead.email = lead.email.strip().lower()
    if lead.status == LeadStatus.CONVERTED and not lead.converted_at:
        errors.setdefault("status", []).append(_("Use “Convert” to convert a lead."))
    _collect(errors, lead.full_clean, exclude=["phone"] if "phone" in errors else None)


@transaction.atomic
def lead_create(
    *, actor, title: str, owner=None, tags=None, custom: dict | None = None, **fields: Any
) -> Lead:
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    owner = _owner(actor, owner, "leads")
    lead = Lead(
        title=title or "",
        owner=owner,
        department_id=getattr(owner, "department_id", None),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    errors: dict[str, list[str]] = {}
    lead.custom = _collect(errors, clean_custom_values, "lead", custom) or {}
    _lead_clean(lead, errors)
    if errors:
        raise ValidationError(errors)
    lead.save()
    _set_tags(lead, tags)
    timeline_add(
        kind=TimelineKind.LEAD,
        title=_("Lead: %(title)s") % {"title": lead.title},
        actor=actor,
        obj=lead,
    )
    emit("lead.created", pk=lead.pk)
    return lead


@transaction.atomic
def lead_update(*, actor, lead: Lead, data: dict[str, Any]) -> Lead:
    require_on(actor, "edit", lead)
    data = dict(data)
    tags = data.pop("tags", None)
    custom = data.pop("custom", None)
    owner = data.pop("owner", None)
    unknown = set(data) - set(LEAD_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    if (
        lead.status == LeadStatus.CONVERTED
        and data.get("status", LeadStatus.CONVERTED) != LeadStatus.CONVERTED
    ):
        raise ValidationError({"status": [_("A converted lead stays converted.")]})
    fields = [*data, "owner"]
    before = snapshot(lead, fields)
    for k, v in data.items():
        setattr(lead, k, v.strip() if isinstance(v, str) else v)
    if owner is not None:
        lead.owner = owner
        lead.department_id = owner.department_id
    errors: dict[str, list[str]] = {}
    if custom is not None:
        merged = {**(lead.custom or {}), **custom}
        lead.custom = _collect(
            errors, clean_custom_values, "lead", {k: v for k, v in merged.items() if v is not None}
        )
    _lead_clean(lead, errors)
    if errors:
        raise ValidationError(errors)
    lead.save()
    _set_tags(lead, tags)
    changes = field_changes(lead, before, fields)
    if changes:
        timeline_add(
            kind=TimelineKind.CHANGE,
            title=_("Lead changed: %(fields)s")
            % {"fields": ", ".join(c["label"] for c in changes)},
            actor=actor,
            obj=lead,
            contact=lead.contact,
            company=lead.company,
            data={"changes": changes},
        )
    emit("lead.updated", pk=lead.pk, fields=[c["field"] for c in changes])
    return lead


def default_pipeline() -> Pipeline | None:
    return Pipeline.objects.order_by("-is_default", "position", "id").first()


def first_open_stage(pipeline: Pipeline) -> Stage | None:
    return pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "id").first()


@transaction.atomic
def lead_convert(
    *,
    actor,
    lead: Lead,
    create_deal: bool = True,
    deal_title: str = "",
    pipeline: Pipeline | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    owner=None,
) -> tuple[Contact | None, Company | None, Deal | None]:
    """Turn a lead into a contact, a company and a deal in one step — never a duplicate:
    an existing contact with the same phone/email (any format) and an existing company
    with the same name/INN are linked instead of created. Converting twice is refused."""
    from svyaz.contacts import services as clients

    require_on(actor, "edit", lead)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED or lead.converted_at:
        raise ValidationError(_("This lead has already been converted."), code="converted")
    # The records it becomes are created for this owner: each create checks the actor's
    # "create" scope for it.
    owner = owner or lead.owner or actor
    has_person = bool(lead.first_name or lead.last_name or lead.phone or lead.email)
    if not has_person and not lead.company_name:
        raise ValidationError(
            _("Add a name, phone, email or company to the lead before converting it.")
        )
    if create_deal:
        pipeline = pipeline or default_pipeline()
        if pipeline is None:
            raise ValidationError({"pipeline": [_("Create a pipeline first.")]})
        if first_open_stage(pipeline) is None:
            raise ValidationError({"pipeline": [_("This pipeline has no open stage.")]})

    phones = [lead.phone] if lead.phone else []
    emails = [lead.email] if lead.email else []
    company = None
    if lead.company_name or lead.company_inn:
        company = clients.company_find_duplicates(
            name=lead.company_name, inn=lead.company_inn
        ).first()
        if company is None:
            company = clients.company_create(
                actor=actor,
                name=lead.company_name or lead.company_inn,
                inn=lead.company_inn,
                owner=owner,
                source=lead.source,
            )
    contact = None
    if has_person:
        if phones or emails:
            contact = clients.contact_find_duplicates(phones=phones, emails=emails).first()
        if contact is None:
            first, last = lead.first_name, lead.last_name
            if not (first or last):
                first = lead.email or lead.phone
            contact = clients.contact_create(
                actor=actor,
                first_name=first,
                last_name=last,
                phones=phones,
                emails=emails,
                owner=owner,
                source=lead.source,
            )
    # An existing contact the actor may not change keeps its companies (no write out of
    # scope); the deal still names both.
    if (
        contact is not None
        and company is not None
        and (actor is None or can(actor, "contacts", "edit", contact))
    ):
        clients.contact_link_company(actor=actor, contact=contact, company=company)

    deal = None
    if create_deal:
        deal = deal_create(
            actor=actor,
            title=deal_title or lead.title,
            pipeline=pipeline,
            amount=amount,
            currency=currency,
            contact=contact,
            company=company,
            owner=owner,
        )
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    lead.contact, lead.company, lead.deal = contact, company, deal
    lead.save(update_fields=["status", "converted_at", "contact", "company", "deal", "updated_at"])
    timeline_add(
        kind=TimelineKind.LEAD,
        title=_("Lead converted: %(title)s") % {"title": lead.title},
        actor=actor,
        obj=lead,
        contact=contact,
        company=company,
        deal=deal,
        data={
            "source": lead.source,
            "channel": lead.channel,
            "utm_source": lead.utm_source,
            "utm_medium": lead.utm_medium,
            "utm_campaign": lead.utm_campaign,
        },
    )
    emit(
        "lead.converted",
        pk=lead.pk,
        contact_id=getattr(contact, "pk", None),
        company_id=getattr(company, "pk", None),
        deal_id=getattr(deal, "pk", None),
    )
    return contact, company, deal


# --- deals -----------------------------------------------------------------------------

DEAL_FIELDS = (
    "title",
    "amount",
    "currency",
    "expected_close",
    "probability",
    "contact",
    "company",
    "owner",
    "price_list",
    "lost_comment",
)


@transaction.atomic
def deal_create(
    *,
    actor,
    title: str,
    pipeline: Pipeline,
    stage: Stage | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    expected_close=None,
    probability: int | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    owner=None,
    price_list: PriceList | None = None,
    tags=None,
    custom: dict | None = None,
) -> Deal:
    """A new deal, in an open stage of its pipeline (the first one unless given)."""
    errors: dict[str, list[str]] = {}
    if pipeline is None:
        raise ValidationError({"pipeline": [_("Choose a pipeline.")]})
    stage = stage or first_open_stage(pipeline)
    if stage is None:
        errors["stage"] = [_("This pipeline has no open stage.")]
    elif stage.pipeline_id != pipeline.pk:
        errors["stage"] = [_("This stage belongs to another pipeline.")]
    elif stage.kind != StageKind.OPEN:
        errors["stage"] = [
            _("A new deal starts in an open stage; move it to won or lost afterwards.")
        ]
    amt = _decimal(amount, "amount", errors)
    currency = currency or settings.SVYAZ_BASE_CURRENCY
    _check_currency(currency, errors)
    owner = _owner(actor, owner, "deals")
    deal = Deal(
        title=" ".join((title or "").split()),
        pipeline=pipeline,
        stage=stage if "stage" not in errors else None,
        amount=amt if amt is not None else Decimal("0"),
        currency=currency,
        expected_close=expected_close,
        probability=probability,
        contact=contact,
        company=company,
        owner=owner,
        price_list=price_list,
        department_id=getattr(owner, "department_id", None),
        stage_changed_at=timezone.now(),
    )
    deal.custom = _collect(errors, clean_custom_values, "deal", custom) or {}
    _collect(errors, deal.full_clean, exclude=["stage"])
    if errors:
        raise ValidationError(errors)
    deal.is_repeat = _client_has_orders(contact, company)
    deal.save()
    _set_tags(deal, tags)
    DealStageChange.objects.create(
        deal=deal,
        from_stage=None,
        to_stage=stage,
        changed_at=deal.stage_changed_at,
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    timeline_add(
        kind=TimelineKind.DEAL,
        title=_("Deal created: %(title)s") % {"title": deal.title},
        actor=actor,
        obj=deal,
        data={"amount": str(deal.amount), "currency": deal.currency, "stage": stage.name},
        **subjects_of(deal),
    )
    _refresh_clients(deal)
    emit("deal.created", pk=deal.pk)
    return deal


@transaction.atomic
def deal_update(*, actor, deal: Deal, data: dict[str, Any]) -> Deal:
    """Change a deal's fields (one timeline row listing the changes). The stage is not
    a field here: deal_stage_change() is its only write path."""
    require_on(actor, "edit", deal)
    data = dict(data)
    if "stage" in data or "pipeline" in data:
        key = "stage" if "stage" in data else "pipeline"
        raise ValidationError({key: [_("Move the deal to another stage with the “move” action.")]})
    tags = data.pop("tags", None)
    custom = data.pop("custom", None)
    if data.get("owner", False) is None:  # a deal always has an owner: empty means "keep"
        data.pop("owner")
    unknown = set(data) - set(DEAL_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    errors: dict[str, list[str]] = {}
    if "amount" in data:
        data["amount"] = _decimal(data["amount"], "amount", errors)
        if data["amount"] is None and "amount" not in errors:
            data["amount"] = Decimal("0")
        if deal.lines.exists() and data["amount"] is not None and data["amount"] != deal.amount:
            errors.setdefault("amount", []).append(_("The amount is the sum of the line items."))
    if "currency" in data:
        _check_currency(data["currency"], errors)
    if errors:
        raise ValidationError(errors)
    fields = list(data)
    before = snapshot(deal, fields)
    old_clients = (deal.contact, deal.company)
    for k, v in data.items():
        setattr(deal, k, v.strip() if isinstance(v, str) else v)
    if "owner" in data and deal.owner is not None:
        deal.department_id = deal.owner.department_id
    if custom is not None:
        merged = {**(deal.custom or {}), **custom}
        deal.custom = _collect(
            errors, clean_custom_values, "deal", {k: v for k, v in merged.items() if v is not None}
        )
    if "title" in data:
        deal.title = " ".join((deal.title or "").split())
    _collect(errors, deal.full_clean)
    if errors:
        raise ValidationError(errors)
    deal.save()
    _set_tags(deal, tags)
    changes = field_changes(deal, before, fields)
    if changes:
        timeline_add(
            kind=TimelineKind.CHANGE,
            title=_("Deal changed: %(fields)s")
            % {"fields": ", ".join(c["label"] for c in changes)},
            actor=actor,
            obj=deal,
            data={"changes": changes},
            **subjects_of(deal),
        )
    if "contact" in data or "company" in data:
        _refresh_clients(deal, *old_clients)
    emit("deal.updated", pk=deal.pk, fields=[c["field"] for c in changes])
    return deal


@transaction.atomic
def deal_stage_change(
    *,
    actor,
    deal: Deal,
    stage: Stage,
    lost_reason: LostReason | None = None,
    lost_comment: str = "",
) -> Deal:
    """THE one write path for a deal's stage (ARCHITECTURE.md rule 1).

    Writes DealStageChange (with the seconds spent in the previous stage) and a timeline
    row, keeps closed_at, and on the first win creates the deal's order — once per deal,
    however often it is reopened and won again."""
    require_on(actor, "edit", deal)
    locked = Deal.objects.select_for_update().filter(pk=deal.pk).first()
    if locked is None:
        raise ValidationError({"deal": [_("This deal no longer exists.")]})
    deal.refresh_from_db()
    if stage is None or stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": [_("Choose a stage of this deal's pipeline.")]})
    if stage.pk == deal.stage_id:
        return deal
    if stage.kind == StageKind.LOST and lost_reason is None:
        raise ValidationError({"lost_reason": [_("Say why the deal was lost.")]})
    now = timezone.now()
    old_stage = deal.stage
    seconds = (
        max(0, int((now - deal.stage_changed_at).total_seconds()))
        if deal.stage_changed_at
        else None
    )
    deal.stage = stage
    deal.stage_changed_at = now
    if stage.kind == StageKind.LOST:
        deal.lost_reason = lost_reason
        deal.lost_comment = (lost_comment or "").strip()[:500]
    else:
        deal.lost_reason = None
        deal.lost_comment = ""
    deal.closed_at = now if stage.kind in (StageKind.WON, StageKind.LOST) else None
    deal.save(
        update_fields=[
            "stage",
            "stage_changed_at",
            "lost_reason",
            "lost_comment",
            "closed_at",
            "updated_at",
        ]
    )
    DealStageChange.objects.create(
        deal=deal,
        from_stage=old_stage,
        to_stage=stage,
        changed_at=now,
        seconds_in_from=seconds,
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    body = ""
    if stage.kind == StageKind.LOST:
        body = str(lost_reason) + (f": {deal.lost_comment}" if deal.lost_comment else "")
    timeline_add(
        kind=TimelineKind.STAGE,
        title=_("Stage: %(old)s → %(new)s") % {"old": old_stage.name, "new": stage.name},
        actor=actor,
        obj=deal,
        body=body,
        occurred_at=now,
        data={"from": old_stage.pk, "to": stage.pk, "kind": stage.kind, "seconds_in_from": seconds},
        **subjects_of(deal),
    )
    # An order needs a client: a won deal without contact and company records no sale.
    has_client = bool(deal.contact_id or deal.company_id)
    if (
        stage.kind == StageKind.WON
        and has_client
        and not Order.all_objects.filter(deal=deal).exists()
    ):
        _order_create(
            actor=actor,
            contact=deal.contact,
            company=deal.company,
            deal=deal,
            ordered_at=now,
            lines=[
                {
                    "product": ln.product,
                    "name": ln.name,
                    "quantity": ln.quantity,
                    "price": ln.price,
                    "total": ln.total,
                }
                for ln in deal.lines.select_related("product")
            ],
            amount=deal.amount,
            currency=deal.currency,
            owner=deal.owner,
        )
    _refresh_clients(deal)
    emit(
        "deal.stage_changed",
        pk=deal.pk,
        from_stage=old_stage.pk,
        to_stage=stage.pk,
        kind=stage.kind,
    )
    return deal


@transaction.atomic
def deal_delete(*, actor, deal: Deal) -> bool:
    done = record_soft_delete(actor=actor, obj=deal)
    _refresh_clients(deal)
    return done


# --- deal lines ------------------------------------------------------------------------


def product_price(*, product: Product, price_list: PriceList | None = None) -> Decimal:
    """The product's price in the price list (else the default price list), else its own."""
    items = PriceListItem.objects.filter(product=product)
    item = None
    if price_list is not None:
        item = items.filter(price_list=price_list).first()
    if item is None:
        item = items.filter(price_list__is_default=True).first()
    return item.price if item is not None else product.price


def _deal_recompute(deal: Deal) -> None:
    lines = list(deal.lines.all())
    if not lines:
        return
    total = sum((ln.total for ln in lines), Decimal("0")).quantize(CENT)
    if total != deal.amount:
        deal.amount = total
        deal.save(update_fields=["amount", "updated_at"])


def _line_clean(line: DealLine, errors: dict) -> None:
    _collect(errors, line.full_clean, exclude=["deal"])
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def deal_line_add(
    *,
    actor,
    deal: Deal,
    product: Product | None = None,
    name: str = "",
    quantity: Decimal | str | int = 1,
    price: Decimal | str | None = None,
    discount_percent: Decimal | str | int = 0,
) -> DealLine:
    require_on(actor, "edit", deal)
    errors: dict[str, list[str]] = {}
    qty = _decimal(quantity, "quantity", errors)
    pr = _decimal(price, "price", errors)
    disc = _decimal(discount_percent, "discount_percent", errors)
    if product is None and not (name or "").strip():
        errors.setdefault("product", []).append(_("Choose a product or enter a name."))
    if pr is None and product is None and "price" not in errors:
        errors.setdefault("price", []).append(_("Enter a price."))
    if errors:
        raise ValidationError(errors)
    if pr is None:
        pr = product_price(product=product, price_list=deal.price_list)
    line = DealLine(
        deal=deal,
        product=product,
        name=(name or "").strip() or product.name,
        quantity=qty if qty is not None else Decimal("1"),
        price=pr,
        discount_percent=disc or Decimal("0"),
    )
    _line_clean(line, errors)
    line.save()
    _deal_recompute(deal)
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Line added: %(name)s") % {"name": line.name},
        actor=actor,
        obj=deal,
        **subjects_of(deal),
    )
    emit("deal.updated", pk=deal.pk, fields=["lines"])
    return line


@transaction.atomic
def deal_line_update(*, actor, line: DealLine, data: dict[str, Any]) -> DealLine:
    require_on(actor, "edit", line.deal)
    errors: dict[str, list[str]] = {}
    for key in ("quantity", "price", "discount_percent"):
        if key in data:
            value = _decimal(data[key], key, errors)
            if value is None and key not in errors:
                errors[key] = [_("This field is required.")]
            setattr(line, key, value)
    if "name" in data:
        line.name = (data["name"] or "").strip()
    if "product" in data:
        line.product = data["product"]
    if errors:
        raise ValidationError(errors)
    _line_clean(line, errors)
    line.save()
    _deal_recompute(line.deal)
    emit("deal.updated", pk=line.deal_id, fields=["lines"])
    return line


@transaction.atomic
def deal_line_remove(*, actor, line: DealLine) -> None:
    deal = line.deal
    require_on(actor, "edit", deal)
    name = line.name
    line.delete()
    _deal_recompute(deal)
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Line removed: %(name)s") % {"name": name},
        actor=actor,
        obj=deal,
        **subjects_of(deal),
    )
    emit("deal.updated", pk=deal.pk, fields=["lines"])


# --- orders ----------------------------------------------------------------------------

ORDER_FIELDS = (
    "number",
    "contact",
    "company",
    "ordered_at",
    "amount",
    "currency",
    "status",
    "external_id",
    "owner",
)


def _order_lines(lines: Sequence[dict[str, Any]], errors: dict) -> list[OrderLine]:
    out = []
    for i, raw in enumerate(lines or ()):
        product = raw.get("product")
        name = (raw.get("name") or "").strip() or (product.name if product else "")
        qty = _decimal(raw.get("quantity", 1), f"lines.{i}.quantity", errors)
        price = _decimal(raw.get("price"), f"lines.{i}.price", errors)
        if price is None and product is not None:
            price = product.price
        if not name:
            errors.setdefault(f"lines.{i}.name", []).append(_("Choose a product or enter a name."))
            continue
        if price is None:
            errors.setdefault(f"lines.{i}.price", []).append(_("Enter a price."))
            continue
        line = OrderLine(
            product=product,
            name=name,
            quantity=qty if qty is not None else Decimal("1"),
            price=price,
        )
        try:
            line.full_clean(exclude=["order"])
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                errors.setdefault(f"lines.{i}.{key}", []).extend(msgs)
            continue
        line._total = raw.get("total")  # a deal line's discounted total, when copied from a deal
        out.append(line)
    return out


@transaction.atomic
def order_create(
    *,
    actor,
    contact: Contact | None = None,
    company: Company | None = None,
    deal: Deal | None = None,
    ordered_at=None,
    lines: Sequence[dict[str, Any]] = (),
    amount: Decimal | None = None,
    currency: str | None = None,
    status: str = OrderStatus.NEW,
    number: str = "",
    external_id: str = "",
    owner=None,
    custom: dict | None = None,
) -> Order:
    """A sale. Lines: dicts with product, name, quantity, price. With lines the amount is
    their sum (a given amount — e.g. a won deal's, after discounts — wins when lines carry
    discounts); without lines the amount is required."""
    owner = _owner(actor, owner, "orders")
    return _order_create(
        actor=actor,
        contact=contact,
        company=company,
        deal=deal,
        ordered_at=ordered_at,
        lines=lines,
        amount=amount,
        currency=currency,
        status=status,
        number=number,
        external_id=external_id,
        owner=owner,
        custom=custom,
    )


def _order_create(
    *,
    actor,
    contact: Contact | None = None,
    company: Company | None = None,
    deal: Deal | None = None,
    ordered_at=None,
    lines: Sequence[dict[str, Any]] = (),
    amount: Decimal | None = None,
    currency: str | None = None,
    status: str = OrderStatus.NEW,
    number: str = "",
    external_id: str = "",
    owner=None,
    custom: dict | None = None,
) -> Order:
    """order_create without the access check: also the order a won deal makes (the deal's
    stage change is the authorised write; the order is its consequence)."""
    errors: dict[str, list[str]] = {}
    if contact is None and company is None:
        errors["contact"] = [_("Choose a contact or a company.")]
    order_lines = _order_lines(lines, errors)
    amt = _decimal(amount, "amount", errors)
    if order_lines:
        total = sum(
            ((ln._total if ln._total is not None else ln.total) for ln in order_lines), Decimal("0")
        )
        amt = total.quantize(CENT) if amt is None else amt
    elif amt is None and "amount" not in errors:
        errors["amount"] = [_("Enter the amount or add lines.")]
    currency = currency or (deal.currency if deal else settings.SVYAZ_BASE_CURRENCY)
    _check_currency(currency, errors)
    owner = owner if owner is not None else actor
    order = Order(
        contact=contact,
        company=company,
        deal=deal,
        ordered_at=ordered_at or timezone.now(),
        amount=amt if amt is not None else Decimal("0"),
        currency=currency,
        status=status,
        number=number or "",
        external_id=external_id or "",
        owner=owner,
        department_id=getattr(owner, "department_id", None),
    )
    order.custom = _collect(errors, clean_custom_values, "order", custom) or {}
    _collect(errors, order.full_clean)
    if errors:
        raise ValidationError(errors)
    order.save()
    if not order.number:
        order.number = f"S-{order.pk:06d}"
        order.save(update_fields=["number"])
    for ln in order_lines:
        ln.order = order
    OrderLine.objects.bulk_create(order_lines)
    audit_record_bulk(order_lines, action="create")  # bulk_create sends no signals
    timeline_add(
        kind=TimelineKind.ORDER,
        title=_("Order %(number)s: %(amount)s %(currency)s")
        % {"number": order.number, "amount": order.amount, "currency": order.currency},
        actor=actor,
        obj=order,
        occurred_at=order.ordered_at,
        **subjects_of(order),
    )
    _refresh_clients(order)
    emit("order.created", pk=order.pk, deal_id=getattr(deal, "pk", None))
    return order


@transaction.atomic
def order_update(*, actor, order: Order, data: dict[str, Any]) -> Order:
    require_on(actor, "edit", order)
    data = dict(data)
    custom = data.pop("custom", None)
    if data.get("owner", False) is None:
        data.pop("owner")
    unknown = set(data) - set(ORDER_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    errors: dict[str, list[str]] = {}
    if "amount" in data:
        data["amount"] = _decimal(data["amount"], "amount", errors)
        if data["amount"] is None and "amount" not in errors:
            errors["amount"] = [_("Enter the amount.")]
    if "currency" in data:
        _check_currency(data["currency"], errors)
    if errors:
        raise ValidationError(errors)
    fields = list(data)
    before = snapshot(order, fields)
    old = (order.contact, order.company)
    for k, v in data.items():
        setattr(order, k, v.strip() if isinstance(v, str) else v)
    if order.contact is None and order.company is None:
        errors["contact"] = [_("Choose a contact or a company.")]
    if "owner" in data and order.owner is not None:
        order.department_id = order.owner.department_id
    if custom is not None:
        merged = {**(order.custom or {}), **custom}
        order.custom = _collect(
            errors, clean_custom_values, "order", {k: v for k, v in merged.items() if v is not None}
        )
    _collect(errors, order.full_clean)
    if errors:
        raise ValidationError(errors)
    order.save()
    changes = field_changes(order, before, fields)
    if changes:
        timeline_add(
            kind=TimelineKind.CHANGE,
            title=_("Order %(number)s changed: %(fields)s")
            % {"number": order.number, "fields": ", ".join(c["label"] for c in changes)},
            actor=actor,
            obj=order,
            data={"changes": changes},
            **subjects_of(order),
        )
    _refresh_clients(order, *old)
    emit("order.updated", pk=order.pk, fields=[c["field"] for c in changes])
    return order


@transaction.atomic
def order_cancel(*, actor, order: Order) -> Order:
    require_on(actor, "edit", order)
    if order.status == OrderStatus.CANCELLED:
        raise ValidationError({"status": [_("This order is already cancelled.")]})
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status", "updated_at"])
    timeline_add(
        kind=TimelineKind.ORDER,
        title=_("Order %(number)s cancelled") % {"number": order.number},
        actor=actor,
        obj=order,
        **subjects_of(order),
    )
    _refresh_clients(order)
    emit("order.cancelled", pk=order.pk)
    return order


@transaction.atomic
def order_delete(*, actor, order: Order) -> bool:
    done = record_soft_delete(actor=actor, obj=order)
    _refresh_clients(order)
    return done


# --- products --------------------------------------------------------------------------

PRODUCT_FIELDS = ("name", "sku", "unit", "price", "currency", "is_active", "description")


@transaction.atomic
def product_save(*, actor, product: Product | None = None, data: dict[str, Any]) -> Product:
    unknown = set(data) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    if product is None or product.pk is None:
        require(actor, "products", "create")
    else:
        require(actor, "products", "edit", product)
    product = product or Product()
    errors: dict[str, list[str]] = {}
    for k, v in data.items():
        setattr(product, k, v.strip() if isinstance(v, str) else v)
    if "currency" in data:
        _check_currency(product.currency, errors)
    _collect(errors, product.full_clean)
    if errors:
        raise ValidationError(errors)
    created = product.pk is None
    product.save()
    emit("product.created" if created else "product.updated", pk=product.pk)
    return product


# --- board totals (sales.0004: sales_boardtotal, written by triggers) -------------------

_BOARD_TOTALS_MIGRATION = "svyaz.sales.migrations.0004_board_totals"


def board_totals_compact(*, pipeline_id: int, using: str = "default") -> None:
    """Fold a pipeline's rows of board totals into one row per (stage, currency).

    The triggers on sales_deal only ever add rows; the board sums them, so this changes
    no figure: exactly the rows it deletes are summed into the new ones, in one
    transaction (a concurrent compaction deletes and sums only the rows it got; rows
    written meanwhile by other transactions are left as they are)."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "WITH gone AS (DELETE FROM sales_boardtotal WHERE pipeline_id = %s "
                "RETURNING stage_id, currency, n, total) "
                "INSERT INTO sales_boardtotal (pipeline_id, stage_id, currency, n, total) "
                "SELECT %s, stage_id, currency, SUM(n), SUM(total) FROM gone "
                "GROUP BY stage_id, currency HAVING SUM(n) <> 0 OR SUM(total) <> 0",
                [pipeline_id, pipeline_id],
            )
            return
        # SQLite (3.35+): the DELETE is the transaction's first statement, so it holds the
        # write lock until the new rows are in. Sums in Decimal, each row to the cent.
        cursor.execute(
            "DELETE FROM sales_boardtotal WHERE pipeline_id = %s "
            "RETURNING stage_id, currency, n, total",
            [pipeline_id],
        )
        sums: dict[tuple[int, str], list] = {}
        for stage_id, currency, n, total in cursor.fetchall():
            acc = sums.setdefault((stage_id, currency), [0, Decimal("0")])
            acc[0] += n
            acc[1] += Decimal(str(total)).quantize(CENT)
        BoardTotal.objects.using(using).bulk_create(
            BoardTotal(pipeline_id=pipeline_id, stage_id=s, currency=c, n=n, total=t)
            for (s, c), (n, t) in sums.items()
            if n or t
        )


def board_totals_rebuild(*, using: str = "default") -> None:
    """Refill sales_boardtotal from the live deals (one row per pipeline, stage and
    currency), in one transaction. The triggers keep it exact anyway; the generator calls
    this after a bulk load (on SQLite its row triggers leave one row per deal)."""
    import importlib

    migration = importlib.import_module(_BOARD_TOTALS_MIGRATION)
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        migration.fill(cursor.execute, connection.vendor)


def board_totals_repair(*, using: str = "default") -> bool:
    """(Re)create the triggers of sales.0004 and refill sales_boardtotal from the live
    deals, in one transaction (writes to sales_deal wait for it). For SQLite after a
    migration rebuilt sales_deal (which drops its triggers; the board aggregates until
    then), and for the generator after a bulk load. False on a database without them."""
    import importlib

    migration = importlib.import_module(_BOARD_TOTALS_MIGRATION)
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        done = migration.create(cursor.execute, connection.vendor)
    if hasattr(connection, "_svyaz_board_totals"):
        del connection._svyaz_board_totals
    return done
