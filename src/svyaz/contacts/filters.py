"""django-filter sets for the contact and company lists (pages and API)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from svyaz.contacts.models import Address, Company, Contact, LifecycleStatus, Source
from svyaz.core.field_rules import FieldRulesFilterSetMixin
from svyaz.core.models import Tag
from svyaz.core.search import Casefold

# --- widgets rendered without the template engine -----------------------------------------
# The list pages render these filters on every request; Django renders each widget, and
# each <option> of a select, through its own template include (~15 ms for this form).
# These build the same markup in Python from the widget's own context.


class FastSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        out = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                out.append(format_html('<optgroup label="{}">', group_name))
            out.extend(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    str(o["value"]),
                    flatatt(o["attrs"]),
                    o["label"],
                )
                for o in options
            )
            if group_name:
                out.append("</optgroup>")
        out.append("</select>")
        return mark_safe("".join(out))  # noqa: S308 - every piece went through format_html


class _FastInputMixin:
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        value_attr = (
            format_html(' value="{}"', str(widget["value"])) if widget["value"] is not None else ""
        )
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            value_attr,
            flatatt(widget["attrs"]),
        )


class FastDateInput(_FastInputMixin, forms.DateInput):
    pass


class FastTextInput(_FastInputMixin, forms.TextInput):
    pass


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class _ClientFilter(FieldRulesFilterSetMixin, django_filters.FilterSet):
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_users(), widget=FastSelect)
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"), field_name="tags", queryset=Tag.objects.all(), widget=FastSelect
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=LifecycleStatus.choices,
        method="filter_status",
        widget=FastSelect,
    )
    source = django_filters.ChoiceFilter(
        label=_("Source"), choices=Source.choices, widget=FastSelect
    )
    created_from = django_filters.DateFilter(
        label=_("Created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=FastDateInput(attrs={"type": "date"}),
    )
    created_to = django_filters.DateFilter(
        label=_("Created to"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=FastDateInput(attrs={"type": "date"}),
    )
    city = django_filters.CharFilter(label=_("City"), method="filter_city", widget=FastTextInput)

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
