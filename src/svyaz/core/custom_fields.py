"""Custom field values: validation against the definitions, and form fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from svyaz.core.models import CustomField
from svyaz.core.models import CustomFieldType as T


def definitions(entity: str) -> list[CustomField]:
    return list(CustomField.objects.filter(entity=entity))


def clean_custom_values(
    entity: str, values: dict[str, Any] | None, *, partial: bool = False
) -> dict[str, Any]:
    """Validate and coerce `values` to JSON-safe types. Raises ValidationError keyed by
    `custom.<code>` so forms and the API can show it against the field."""
    values = dict(values or {})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    defs = {d.code: d for d in definitions(entity)}
    for code in values:
        if code not in defs:
            errors[f"custom.{code}"] = [_("Unknown field “%(code)s”.") % {"code": code}]
    for code, d in defs.items():
        if code not in values:
            if d.required and not partial:
                errors[f"custom.{code}"] = [_("This field is required.")]
            continue
        try:
            value = _coerce(d, values[code])
        except ValidationError as exc:
            errors[f"custom.{code}"] = exc.messages
            continue
        if value in (None, "", []) and d.required:
            errors[f"custom.{code}"] = [_("This field is required.")]
            continue
        if value not in (None, "", []):
            cleaned[code] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _coerce(d: CustomField, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    t = d.field_type
    if t == T.TEXT:
        return str(raw).strip()[:2000]
    if t in (T.NUMBER, T.MONEY):
        try:
            number = Decimal(str(raw).replace(" ", "").replace(",", "."))
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValidationError(_("Enter a number."))
        return str(number.quantize(Decimal("0.01"))) if t == T.MONEY else str(number)
    if t == T.DATE:
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw)).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a valid date (YYYY-MM-DD).")) from exc
    if t == T.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"1", "true", "yes", "on", "да"}:
            return True
        if str(raw).lower() in {"0", "false", "no", "off", "нет"}:
            return False
        raise ValidationError(_("Enter yes or no."))
    if t == T.CHOICE:
        if str(raw) not in d.choices:
            raise ValidationError(_("Select a valid choice."))
        return str(raw)
    if t == T.MULTI_CHOICE:
        items = raw if isinstance(raw, list) else [raw]
        bad = [i for i in items if str(i) not in d.choices]
        if bad:
            raise ValidationError(_("Select a valid choice."))
        return [str(i) for i in items]
    raise ValidationError(_("Unsupported field type."))


def form_field(d: CustomField) -> forms.Field:
    kwargs: dict[str, Any] = {"label": d.label, "required": d.required}
    t = d.field_type
    if t == T.TEXT:
        return forms.CharField(max_length=2000, **kwargs)
    if t in (T.NUMBER, T.MONEY):
        return forms.DecimalField(**kwargs)
    if t == T.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **kwargs)
    if t == T.BOOLEAN:
        kwargs["required"] = False
        return forms.BooleanField(**kwargs)
    choices = [(c, c) for c in d.choices]
    if t == T.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **kwargs)
    return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **kwargs)


class CustomFieldsFormMixin:
    """Adds one form field per definition (`custom_<code>`) and collects them into
    `cleaned_data["custom"]`; errors from the services land on the right field."""

    custom_entity: str = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_defs = definitions(self.custom_entity)
        instance = getattr(self, "instance", None)
        current = getattr(instance, "custom", None) or {}
        for d in self.custom_defs:
            field = form_field(d)
            if d.code in current and not self.is_bound:
                field.initial = current[d.code]
            self.fields[f"custom_{d.code}"] = field

    def custom_values(self) -> dict[str, Any]:
        out = {}
        for d in self.custom_defs:
            value = self.cleaned_data.get(f"custom_{d.code}")
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            out[d.code] = value
        return out

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errs in exc.message_dict.items():
            name = key.replace("custom.", "custom_") if key.startswith("custom.") else key
            if name not in self.fields:
                name = None
            for e in errs:
                self.add_error(name, e)
