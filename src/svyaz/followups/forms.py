"""The task form. followups.services validates and writes; its errors land on fields."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from svyaz.activities.forms import SubjectFormMixin, datetime_widget
from svyaz.core.field_rules import FieldRulesFormMixin
from svyaz.core.forms import StyledForm
from svyaz.followups.models import FollowupKind, Priority


class FollowupForm(FieldRulesFormMixin, SubjectFormMixin, StyledForm):
    field_rules_entity = "tasks"

    title = forms.CharField(label=_("Title"), max_length=255)
    kind = forms.ChoiceField(
        label=_("Type"), choices=FollowupKind.choices, initial=FollowupKind.TASK
    )
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=get_user_model().objects.none())
    due_at = forms.DateTimeField(label=_("Due"), widget=datetime_widget())
    remind_at = forms.DateTimeField(
        label=_("Remind at"),
        required=False,
        widget=datetime_widget(),
        help_text=_("Empty: at the due time (callbacks: 15 minutes before)."),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, preset: dict | None = None, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.fields["assignee"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .order_by("last_name", "first_name", "username")
        )
        if instance is None:
            self._setup_subjects(user, preset or {})
            if not self.is_bound:
                self.initial.setdefault("assignee", user.pk)
        else:
            self.preset = {}
            if not self.is_bound:
                self.initial.update(
                    {
                        n: getattr(instance, n)
                        for n in ("title", "kind", "due_at", "remind_at", "priority", "description")
                    }
                )
                self.initial["assignee"] = instance.assignee_id

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {
            k: d.get(k) for k in ("title", "kind", "assignee", "due_at", "remind_at", "priority")
        }
        data["description"] = d.get("description") or ""
        if self.instance is None:
            data.update(self.subject_values())
        return data
