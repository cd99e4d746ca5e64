"""django-filter sets for the contact and company lists (pages and API)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from svyaz.contacts.models import Address, Company, Contact, LifecycleStatus, Source
from svyaz.core.field_rules import FieldRulesFilterSetMixin
from svyaz.core.models import Tag
from svyaz.core.search import Casefold


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class _ClientFilter(FieldRulesFilterSetMixin, django_filters.FilterSet):
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_users())
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"), field_name="tags", queryset=Tag.objects.all()
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=LifecycleStatus.choices, method="filter_status"
    )
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Source.choices)
    created_from = django_filters.DateFilter(
        label=_("Created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = django_filters.DateFilter(
        label=_("Created to"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    city = django_filters.CharFilter(label=_("City"), method="filter_city")

    owner_field = "contact"

    def filter_status(self, queryset, name, value):
        if value == LifecycleStatus.LEAD:
            # A client without a summary row has bought nothing yet: a lead.
            return queryset.filter(Q(summary__status=value) | Q(summary__isnull=True))
        return queryset.filter(summary__status=value)

    def filter_city(self, queryset, name, value):
        value = (value or "").strip().lower()
        if not value:
            return queryset
        sub = Address.objects.annotate(_city_lc=Casefold("city")).filter(
            _city_lc__contains=value, **{self.owner_field: OuterRef("pk")}
        )
        return queryset.filter(Exists(sub))


class ContactFilter(_ClientFilter):
    class Meta:
        model = Contact
        fields = ["owner", "tag", "status", "source", "city", "created_from", "created_to"]


class ContactApiFilter(ContactFilter):
    company = django_filters.NumberFilter(
        label=_("Company"), field_name="memberships__company_id", widget=forms.HiddenInput
    )

    class Meta:
        model = Contact
        fields = [
            "owner",
            "tag",
            "status",
            "source",
            "city",
            "created_from",
            "created_to",
            "company",
        ]


class CompanyFilter(_ClientFilter):
    owner_field = "company"

    class Meta:
        model = Company
        fields = ["owner", "tag", "status", "source", "city", "created_from", "created_to"]


class CompanyApiFilter(CompanyFilter):
    inn = django_filters.CharFilter(
        label=_("INN"), field_name="inn", lookup_expr="startswith", widget=forms.HiddenInput
    )

    class Meta:
        model = Company
        fields = ["owner", "tag", "status", "source", "city", "created_from", "created_to", "inn"]
