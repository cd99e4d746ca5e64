"""The activity form. It collects input; activities.services validates and writes, and
the service's errors land on the right fields (`add_service_errors`)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from svyaz.activities.models import ActivityKind, CallOutcome, Direction
from svyaz.contacts.models import Company, Contact
from svyaz.core.field_rules import FieldRulesFormMixin
from svyaz.core.forms import StyledForm
from svyaz.core.scoping import visible_to
from svyaz.sales.models import Deal

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def datetime_widget(**attrs) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format=DATETIME_LOCAL)


class SubjectFormMixin:
    """contact / company / deal fields scoped to the user; hidden when the page was
    opened from a card (?contact=<pk>...)."""

    subject_names = ("contact", "company", "deal")

    def _setup_subjects(self, user, preset: dict) -> None:
        self.fields["contact"] = forms.ModelChoiceField(
            label=_("Contact"), required=False, queryset=visible_to(user, Contact.objects.all())
        )
        self.fields["company"] = forms.ModelChoiceField(
            label=_("Company"), required=False, queryset=visible_to(user, Company.objects.all())
        )
        self.fields["deal"] = forms.ModelChoiceField(
            label=_("Deal"), required=False, queryset=visible_to(user, Deal.objects.all())
        )
        self.preset = preset
        for name in self.subject_names:
            field = self.fields[name]
            if preset:
                field.widget = forms.HiddenInput()
            else:
                field.widget.attrs.setdefault("class", "form-select")
            if name in preset and not self.is_bound:
                self.initial[name] = preset[name].pk

    def subject_values(self) -> dict:
        return {n: self.cleaned_data.get(n) for n in self.subject_names}

    def add_service_errors(
        self, exc: ValidationError, rename: dict[str, str] | None = None
    ) -> None:
        rename = rename or {}
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, messages in exc.message_dict.items():
            field = rename.get(key, key)
            if field in self.fields and field not in self.errors:
                self.add_error(field, messages)
            else:
                self.add_error(None, messages)


class ActivityForm(FieldRulesFormMixin, SubjectFormMixin, StyledForm):
    field_rules_entity = "activities"

    kind = forms.ChoiceField(
        label=_("Type"), choices=ActivityKind.choices, initial=ActivityKind.CALL
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=[("", "—"), *Direction.choices],
        required=False,
        initial=Direction.OUTBOUND,
    )
    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)
    body = forms.CharField(
        label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=datetime_widget())
    duration = forms.IntegerField(
        label=_("Duration, min"), min_value=0, max_value=24 * 60, required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *CallOutcome.choices], required=False
    )
    callback_at = forms.DateTimeField(
        label=_("Call back at"), required=False, widget=datetime_widget()
    )
    callback_note = forms.CharField(
        label=_("Note for the callback"), max_length=2000, required=False
    )

    # Service field → form field.
    service_names = {"duration_seconds": "duration"}

    def __init__(self, *args, user, preset: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_subjects(user, preset or {})

    def service_data(self) -> dict:
        d = self.cleaned_data
        duration = d.get("duration")
        return {
            "kind": d["kind"],
            "direction": d.get("direction") or "",
            "subject": d.get("subject") or "",
            "body": d.get("body") or "",
            "occurred_at": d["occurred_at"],
            "duration_seconds": duration * 60 if duration is not None else None,
            "outcome": d.get("outcome") or "",
            "callback_at": d.get("callback_at"),
            "callback_note": d.get("callback_note") or "",
            **self.subject_values(),
        }
