"""Merge fields in email templates: {{ contact.first_name }}, {{ user.full_name }}…

A fixed list of names, each mapped to a function of the contact and the sender. No
template language: a template cannot reach any other attribute, call methods or loop,
and the values are inserted as plain text (the mail is text/plain)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

FIELD_RE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _primary_email(contact) -> str:
    if contact is None:
        return ""
    emails = list(contact.emails.all())
    return emails[0].email if emails else ""


def _company(contact) -> str:
    if contact is None:
        return ""
    memberships = sorted(contact.memberships.all(), key=lambda m: (not m.is_primary, m.pk))
    return memberships[0].company.name if memberships else ""


def _lead(attr: str) -> Callable[[Any], str]:
    return lambda ctx: getattr(ctx["lead"], attr, "") if ctx.get("lead") is not None else ""


def _contact(attr: str) -> Callable[[Any], str]:
    def value(ctx) -> str:
        contact = ctx.get("contact")
        if contact is not None:
            return getattr(contact, attr, "") or ""
        lead = ctx.get("lead")
        # A lead stands in for the contact it may become.
        if lead is not None and attr in ("first_name", "last_name", "email"):
            return getattr(lead, attr, "") or ""
        if lead is not None and attr == "full_name":
            return " ".join(p for p in (lead.first_name, lead.last_name) if p)
        return ""

    return value


def _user(attr: str) -> Callable[[Any], str]:
    def value(ctx) -> str:
        user = ctx.get("user")
        if user is None:
            return ""
        if attr == "full_name":
            return user.get_full_name() or user.get_username()
        return getattr(user, attr, "") or ""

    return value


MERGE_FIELDS: dict[str, Callable[[dict], str]] = {
    "contact.first_name": _contact("first_name"),
    "contact.middle_name": _contact("middle_name"),
    "contact.last_name": _contact("last_name"),
    "contact.full_name": _contact("full_name"),
    "contact.job_title": _contact("job_title"),
    "contact.email": lambda ctx: _primary_email(ctx.get("contact")) or _contact("email")(ctx),
    "contact.company": lambda ctx: _company(ctx.get("contact")) or _lead("company_name")(ctx),
    "lead.title": _lead("title"),
    "user.first_name": _user("first_name"),
    "user.last_name": _user("last_name"),
    "user.full_name": _user("full_name"),
    "user.email": _user("email"),
}


def merge_unknown(text: str) -> list[str]:
    """Names in `text` that are not merge fields."""
    return sorted({m.group(1) for m in FIELD_RE.finditer(text or "")} - set(MERGE_FIELDS))


def merge_check(**texts: str) -> None:
    """ValidationError keyed by field name for every unknown merge field."""
    errors = {}
    for name, text in texts.items():
        unknown = merge_unknown(text)
        if unknown:
            errors[name] = [
                _("Unknown merge field: %(names)s. Available: %(list)s.")
                % {
                    "names": ", ".join("{{ %s }}" % n for n in unknown),  # noqa: UP031
                    "list": ", ".join("{{ %s }}" % n for n in MERGE_FIELDS),  # noqa: UP031
                }
            ]
    if errors:
        raise ValidationError(errors)


def merge_render(text: str, *, contact=None, lead=None, user=None) -> str:
    """`text` with every known merge field replaced by its value (plain text)."""
    ctx = {"contact": contact, "lead": lead, "user": user}

    def replace(match: re.Match) -> str:
        getter = MERGE_FIELDS.get(match.group(1))
        return str(getter(ctx) or "") if getter is not None else match.group(0)

    return FIELD_RE.sub(replace, text or "")
