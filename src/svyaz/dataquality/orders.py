"""Import of sales history: one order per row, attached to a client that already exists
(import contacts and companies first), written through sales.services.order_create."""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Company, Contact
from svyaz.core.scoping import visible_to
from svyaz.sales.models import Order, OrderStatus

_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y")
_DATETIME_FORMATS = ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S")


def parse_moment(text: str) -> datetime:
    """A date (noon, local time: safe from time-zone shifts) or a date and time."""
    text = text.strip().replace("T", " ")
    for fmt in _DATETIME_FORMATS:
        try:
            return timezone.make_aware(datetime.strptime(text, fmt))  # noqa: DTZ007
        except ValueError:
            continue
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()  # noqa: DTZ007
        except ValueError:
            continue
        return timezone.make_aware(datetime.combine(day, time(12)))
    raise ValidationError({"ordered_at": [_("“%(value)s” is not a date.") % {"value": text}]})


def parse_amount(text: str) -> Decimal:
    """'1 234,50', '1234.50', '1,234.50 ₽' → Decimal('1234.50')."""
    clean = re.sub(r"[^\d,.\-]", "", text)
    # With both marks the last one is the decimal mark (1,234.50 / 1.234,50); a comma
    # alone is the decimal mark (Russian Excel: 1 234,50).
    if clean.rfind(",") > clean.rfind("."):
        clean = clean.replace(".", "").replace(",", ".")
    else:
        clean = clean.replace(",", "")
    try:
        value = Decimal(clean)
    except InvalidOperation:
        raise ValidationError(
            {"amount": [_("“%(value)s” is not an amount.") % {"value": text}]}
        ) from None
    if value < 0:
        raise ValidationError({"amount": [_("The amount cannot be negative.")]})
    return value.quantize(Decimal("0.01"))


def parse_status(text: str) -> str:
    from django.utils import translation

    norm = text.strip().lower()
    for lang in ("en", "ru"):
        with translation.override(lang):
            for value, label in OrderStatus.choices:
                if norm in (value, str(label).lower()):
                    return value
    raise ValidationError({"status": [_("Unknown order status “%(value)s”.") % {"value": text}]})


def _one_visible(actor, qs, field: str):
    found = list(qs.order_by("pk")[:2])
    if not found:
        return None
    if len(found) > 1:
        raise ValidationError({field: [_("Matches several clients; use a more exact key.")]})
    if not visible_to(actor, type(found[0]).objects.filter(pk=found[0].pk)).exists():
        raise ValidationError({field: [_("Matches a client you do not have access to.")]})
    return found[0]


def find_client(actor, values: dict[str, Any]) -> tuple[Contact | None, Company | None]:
    contact = company = None
    if values.get("company_inn"):
        inn = values["company_inn"].replace(" ", "")
        company = _one_visible(actor, Company.objects.filter(inn=inn), "company_inn")
    if company is None and values.get("company"):
        folded = " ".join(values["company"].split()).lower()
        qs = contact_services.company_find_duplicates(name=values["company"])
        ids = [c.pk for c in qs[:5] if c.name.lower() == folded]
        company = _one_visible(actor, Company.objects.filter(pk__in=ids), "company")
    if values.get("email"):
        contact = _one_visible(
            actor, contact_services.contact_find_duplicates(emails=values["email"]), "email"
        )
    if contact is None and values.get("phone"):
        contact = _one_visible(
            actor, contact_services.contact_find_duplicates(phones=values["phone"]), "phone"
        )
    if contact is None and values.get("full_name"):
        name = " ".join(values["full_name"].split())
        contact = _one_visible(actor, Contact.objects.filter(full_name__iexact=name), "full_name")
    if contact is None and company is None:
        raise ValidationError(
            {"client": [_("No such client: import the contacts and companies first.")]}
        )
    return contact, company


def order_data(values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, parse in (
        ("ordered_at", parse_moment),
        ("amount", parse_amount),
        ("status", parse_status),
    ):
        if values.get(key):
            try:
                data[key] = parse(values[key])
            except ValidationError as exc:
                for k, msgs in exc.message_dict.items():
                    errors.setdefault(k, []).extend(msgs)
    if values.get("currency"):
        data["currency"] = values["currency"].strip().upper()
    if values.get("number"):
        data["number"] = values["number"][:32]
    if values.get("external_id"):
        data["external_id"] = values["external_id"][:64]
    if errors:
        raise ValidationError(errors)
    return data


def find_order(values: dict[str, Any], key: str):
    if key == "external_id" and values.get("external_id"):
        qs = Order.objects.filter(external_id=values["external_id"][:64])
    elif key == "number" and values.get("number"):
        qs = Order.objects.filter(number=values["number"][:32])
    else:
        return None
    found = list(qs.order_by("pk")[:2])
    if len(found) > 1:
        raise ValidationError({key: [_("Matches %(n)s existing records; fix the key.") % {"n": 2}]})
    return found[0] if found else None


def previous_values(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in data:
        value = getattr(order, key)
        out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return out
