"""django-filter sets shared by the list pages, the board and the API."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from svyaz.core.field_rules import FieldRulesFilterSetMixin
from svyaz.core.models import Tag
from svyaz.sales.models import (
    Channel,
    Deal,
    Lead,
    LeadStatus,
    Order,
    OrderStatus,
    Pipeline,
    Product,
    Stage,
)

DATE = forms.DateInput(attrs={"type": "date"})


def _users(request):
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class LeadFilter(FieldRulesFilterSetMixin, df.FilterSet):
    status = df.ChoiceFilter(label=_("Status"), choices=LeadStatus.choices)
    channel = df.ChoiceFilter(label=_("Channel"), choices=Channel.choices)
    owner = df.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    created_from = df.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte", widget=DATE
    )
    created_to = df.DateFilter(
        label=_("Created to"), field_name="created_at", lookup_expr="date__lte", widget=DATE
    )

    class Meta:
        model = Lead
        fields = ["status", "channel", "owner"]


class DealFilter(FieldRulesFilterSetMixin, df.FilterSet):
    pipeline = df.ModelChoiceFilter(label=_("Pipeline"), queryset=Pipeline.objects.all())
    stage = df.ModelChoiceFilter(
        label=_("Stage"), queryset=Stage.objects.select_related("pipeline")
    )
    owner = df.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    tag = df.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all())
    contact = df.NumberFilter(field_name="contact_id", widget=forms.HiddenInput)
    company = df.NumberFilter(field_name="company_id", widget=forms.HiddenInput)
    created_from = df.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte", widget=DATE
    )
    created_to = df.DateFilter(
        label=_("Created to"), field_name="created_at", lookup_expr="date__lte", widget=DATE
    )
    close_from = df.DateFilter(
        label=_("Close from"), field_name="expected_close", lookup_expr="gte", widget=DATE
    )
    close_to = df.DateFilter(
        label=_("Close to"), field_name="expected_close", lookup_expr="lte", widget=DATE
    )

    class Meta:
        model = Deal
        fields = ["pipeline", "stage", "owner"]


class BoardFilter(FieldRulesFilterSetMixin, df.FilterSet):
    """The board picks its pipeline itself and always shows every stage."""

    owner = df.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    tag = df.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all())
    created_from = df.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte", widget=DATE
    )
    created_to = df.DateFilter(
        label=_("Created to"), field_name="created_at", lookup_expr="date__lte", widget=DATE
    )
    close_from = df.DateFilter(
        label=_("Close from"), field_name="expected_close", lookup_expr="gte", widget=DATE
    )
    close_to = df.DateFilter(
        label=_("Close to"), field_name="expected_close", lookup_expr="lte", widget=DATE
    )

    class Meta:
        model = Deal
        fields = ["owner"]


class OrderFilter(FieldRulesFilterSetMixin, df.FilterSet):
    status = df.ChoiceFilter(label=_("Status"), choices=OrderStatus.choices)
    owner = df.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    contact = df.NumberFilter(field_name="contact_id", widget=forms.HiddenInput)
    company = df.NumberFilter(field_name="company_id", widget=forms.HiddenInput)
    deal = df.NumberFilter(field_name="deal_id", widget=forms.HiddenInput)
    date_from = df.DateFilter(
        label=_("From"), field_name="ordered_at", lookup_expr="date__gte", widget=DATE
    )
    date_to = df.DateFilter(
        label=_("To"), field_name="ordered_at", lookup_expr="date__lte", widget=DATE
    )

    class Meta:
        model = Order
        fields = ["status", "owner"]


class ProductFilter(FieldRulesFilterSetMixin, df.FilterSet):
    is_active = df.BooleanFilter(label=_("Active"))

    class Meta:
        model = Product
        fields = ["is_active", "currency"]
