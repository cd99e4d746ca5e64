"""The clients an activity or a follow-up is about: a contact, a company and/or a deal.

Shared by activities and follow-ups (services, forms, the API): resolving ids in the
user's scope, filling a deal's contact and company, links and names for pages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

from svyaz.contacts.models import Company, Contact
from svyaz.core.scoping import visible_to
from svyaz.sales.models import Deal

SUBJECT_MODELS: dict[str, type] = {"contact": Contact, "company": Company, "deal": Deal}


def subjects_resolve(*, user, **ids: Any) -> dict[str, Any]:
    """{"contact": 5, "deal": "7"} → the records, each in `user`'s scope.

    Empty values are skipped. An unknown or out-of-scope id is a field error (the same
    message for both: we never tell whether a record outside the scope exists)."""
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, model in SUBJECT_MODELS.items():
        value = ids.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, model):
            value = value.pk
        try:
            pk = int(value)
        except (TypeError, ValueError):
            errors[name] = [_("Unknown record.")]
            continue
        obj = visible_to(user, model.objects.filter(pk=pk)).first()
        if obj is None:
            errors[name] = [_("Unknown record.")]
        else:
            out[name] = obj
    if errors:
        raise ValidationError(errors)
    return out


def subjects_check(
    *, actor, contact=None, company=None, deal=None, required: bool = True
) -> dict[str, Any]:
    """Validate the subjects a service was given and fill a deal's contact and company.

    Returns {"contact": .., "company": .., "deal": ..} (None where absent)."""
    given = {"contact": contact, "company": company, "deal": deal}
    if required and not any(given.values()):
        raise ValidationError({"__all__": [_("Link it to a contact, a company or a deal.")]})
    errors: dict[str, list[str]] = {}
    for name, obj in given.items():
        if obj is None:
            continue
        model = SUBJECT_MODELS[name]
        if (
            not isinstance(obj, model)
            or obj.deleted_at is not None
            or not visible_to(actor, model.objects.filter(pk=obj.pk)).exists()
        ):
            errors[name] = [_("Unknown record.")]
    if errors:
        raise ValidationError(errors)
    if deal is not None:
        if contact is None and deal.contact_id:
            given["contact"] = deal.contact
        if company is None and deal.company_id:
            given["company"] = deal.company
    return given


def subject_link(obj) -> tuple[str, str] | None:
    """(url, name) of the main client of an activity or follow-up: deal, else contact,
    else company."""
    if getattr(obj, "deal_id", None):
        return reverse("sales:deal_detail", args=[obj.deal_id]), str(obj.deal)
    if getattr(obj, "contact_id", None):
        return reverse("contacts:contact_detail", args=[obj.contact_id]), str(obj.contact)
    if getattr(obj, "company_id", None):
        return reverse("contacts:company_detail", args=[obj.company_id]), str(obj.company)
    return None


def subject_name(obj) -> str:
    """The client's name for titles: "Call back: Ivan Petrov"."""
    for attr in ("contact", "company", "deal"):
        if getattr(obj, f"{attr}_id", None):
            return str(getattr(obj, attr))
    return ""


def subject_url(*, contact=None, company=None, deal=None) -> str:
    """The card to go back to after a form."""
    if deal is not None:
        return reverse("sales:deal_detail", args=[deal.pk])
    if contact is not None:
        return reverse("contacts:contact_detail", args=[contact.pk])
    if company is not None:
        return reverse("contacts:company_detail", args=[company.pk])
    return ""
