"""The bulk import's phone, e-mail and field checks: the contacts services' own functions,
with an exact shortcut for the plain cases that make up almost every row of a big file.

Each shortcut answers only when its answer is provably the one the full code gives, and
hands everything else to that code (so error messages are the services' own):

- phones: a Russian number typed with digits, spaces, brackets and hyphens ("8 (916)
  123-45-67", "+7 916 1234567", "9161234567") is "+7" + its ten national digits when
  those start with 9 (a mobile; phonenumbers finds such a number "possible" and formats
  it so). Anything else goes through core.phones.normalize_phone.
- e-mails: a plain ASCII address (letters, digits, "._+-" in the local part, no dot at
  either end or twice, a short whole) whose domain e-mail-validator already accepted for
  an earlier address (the domain check is what costs, and domains repeat) is the address
  lower-cased. Anything else goes through email_validator.validate_email.
- fields: Contact.full_clean() when a cheap look (lengths, blanks, choices, NUL) finds
  something to report, so a clean row does not pay for it.

tests/dataquality/test_bulk_import.py checks the shortcuts against the full code on many
generated and hand-picked inputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from email_validator import validate_email

from svyaz.contacts.services import email_normalized, normalized_unique
from svyaz.core.phones import normalize_phone

_PHONE_SHAPE = re.compile(r"^\+?[\d\s()\-]+$")
_NON_DIGITS = re.compile(r"\D+")
_LOCAL = re.compile(r"^[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*$")
_DOMAIN = re.compile(r"^[A-Za-z0-9.\-]+$")
_DOMAINS_KEPT = 10_000
_good_domains: set[str] = set()


def phone_e164(text: str) -> str:
    """core.phones.normalize_phone(text), faster for plain Russian mobile numbers."""
    if settings.SVYAZ_DEFAULT_REGION == "RU" and _PHONE_SHAPE.match(text):
        digits = _NON_DIGITS.sub("", text)
        plus = text.startswith("+")
        if len(digits) == 11 and digits[1] == "9" and digits[0] == ("7" if plus else "8"):
            return "+7" + digits[1:]
        if len(digits) == 10 and not plus and digits[0] == "9":
            return "+7" + digits
    return normalize_phone(text)


def phones(raw: Sequence[str]) -> tuple[list[str], list[str]]:
    """(E.164 numbers without duplicates, error messages) — contacts.services.clean_phones
    raises ValidationError({"phones": messages}) when there are messages."""
    return normalized_unique(raw, phone_e164)


def _email(text: str) -> str:
    if len(text) <= 200 and text.count("@") == 1:
        local, domain = text.split("@")
        if (
            len(local) <= 64
            and _LOCAL.match(local)
            and domain.lower() in _good_domains
            and _DOMAIN.match(domain)
        ):
            return text.lower()
    email = validate_email(text, check_deliverability=False).normalized.lower()
    domain = text.rsplit("@", 1)[-1]
    if domain.isascii() and _DOMAIN.match(domain) and email.endswith("@" + domain.lower()):
        if len(_good_domains) >= _DOMAINS_KEPT:
            _good_domains.clear()
        _good_domains.add(domain.lower())
    return email


def emails(raw: Sequence[str]) -> list[str]:
    """contacts.services.clean_emails, with the shortcut above."""
    out, errors = normalized_unique(raw, lambda text: email_normalized(text, validate=_email))
    if errors:
        raise ValidationError({"emails": errors})
    return out


def _looks_clean(obj: models.Model, fields) -> bool:
    for f, choices in fields:
        value = getattr(obj, f.attname)
        if isinstance(value, str):
            if "\x00" in value or (f.max_length and len(value) > f.max_length):
                return False
            if not value and not f.blank:
                return False
            if value and choices is not None and value not in choices:
                return False
        elif value is None and not f.null and not f.blank:
            return False
    return True


class FieldCheck:
    """`obj.full_clean(exclude=...)` for new records of one model, run only when a cheap
    look at the plain fields finds something it would report."""

    def __init__(self, model: type[models.Model]):
        self.fields = []
        for f in model._meta.concrete_fields:
            if f.primary_key or f.is_relation:
                continue
            if not isinstance(f, models.CharField | models.TextField | models.DateField):
                continue  # JSON, timestamps: set by code, never from the file
            choices = {str(v) for v, _label in f.flatchoices} if f.choices else None
            self.fields.append((f, choices))

    def __call__(self, obj: models.Model, exclude: list[str]) -> None:
        if _looks_clean(obj, [(f, c) for f, c in self.fields if f.name not in exclude]):
            return
        obj.full_clean(exclude=exclude)
