"""Phone normalization: E.164 for storage, digits for lookup by whatever people type."""

from __future__ import annotations

import contextlib
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_NON_DIGITS = re.compile(r"\D+")


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the E.164 form of `raw` or raise ValidationError with a clear message."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    region = region or settings.SVYAZ_DEFAULT_REGION
    candidate = text
    digits = _NON_DIGITS.sub("", text)
    # Russian habit: 8 instead of +7 for the trunk prefix ("8 (916) 123-45-67").
    if region == "RU" and not text.startswith("+") and len(digits) == 11 and digits[0] == "8":
        candidate = "+7" + digits[1:]
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number.") % {"value": text}, code="invalid"
        ) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(
            _("“%(value)s” is not a phone number.") % {"value": text}, code="invalid"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_digits(e164: str) -> str:
    return _NON_DIGITS.sub("", e164)


def phone_search_keys(text: str) -> list[str]:
    """Digit strings that a typed phone fragment may match in Phone.digits.

    "8 (916) 123-45-67" and "+7 916 1234567" both give "79161234567"; a short
    fragment ("123-45") gives its digits, matched as a substring by the caller.
    """
    digits = _NON_DIGITS.sub("", text or "")
    if not digits:
        return []
    keys = [digits]
    with contextlib.suppress(ValidationError):  # a fragment is not a whole number
        keys.insert(0, phone_digits(normalize_phone(text)))
    return list(dict.fromkeys(keys))


def format_phone(e164: str) -> str:
    """Human form for display: +7 916 123-45-67."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
