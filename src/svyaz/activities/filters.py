"""django-filter set for the activity list (page and API)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from svyaz.activities.models import Activity, ActivityKind, CallOutcome, Direction
from svyaz.core.field_rules import FieldRulesFilterSetMixin


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class ActivityFilter(FieldRulesFilterSetMixin, django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=ActivityKind.choices)
    direction = django_filters.ChoiceFilter(label=_("Direction"), choices=Direction.choices)
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=CallOutcome.choices)
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_users())
    occurred_from = django_filters.DateFilter(
        label=_("From"),
        field_name="occurred_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    occurred_to = django_filters.DateFilter(
        label=_("To"),
        field_name="occurred_at",
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
        model = Activity
        fields = [
            "kind",
            "direction",
            "outcome",
            "owner",
            "occurred_from",
            "occurred_to",
            "contact",
            "company",
            "deal",
        ]
