"""django-filter set for the task list (page and API)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from svyaz.core.field_rules import FieldRulesFilterSetMixin
from svyaz.followups.models import Followup, FollowupKind, FollowupStatus, Priority


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class FollowupFilter(FieldRulesFilterSetMixin, django_filters.FilterSet):
    assignee = django_filters.ModelChoiceFilter(label=_("Assignee"), queryset=_users())
    status = django_filters.ChoiceFilter(label=_("Status"), choices=FollowupStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=FollowupKind.choices)
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=Priority.choices)
    overdue = django_filters.BooleanFilter(
        label=_("Overdue"),
        method="filter_overdue",
        widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
    )
    due_from = django_filters.DateFilter(
        label=_("Due from"),
        field_name="due_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    due_to = django_filters.DateFilter(
        label=_("Due to"),
        field_name="due_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # Hidden, set by links from a card (?contact=5): no label on the list page.
    contact = django_filters.NumberFilter(
        label="", field_name="contact_id", widget=forms.HiddenInput
    )
    company = django_filters.NumberFilter(
        label="", field_name="company_id", widget=forms.HiddenInput
    )
    deal = django_filters.NumberFilter(label="", field_name="deal_id", widget=forms.HiddenInput)

    class Meta:
        model = Followup
        fields = [
            "assignee",
            "status",
            "kind",
            "priority",
            "overdue",
            "due_from",
            "due_to",
            "contact",
            "company",
            "deal",
        ]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status=FollowupStatus.OPEN, due_at__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)
