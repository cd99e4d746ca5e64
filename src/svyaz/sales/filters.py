"""django-filter sets shared by the list pages, the board and the API."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.contrib.auth import get_user_model
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_filters import fields as df_fields
from django_filters.constants import EMPTY_VALUES

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


def _board_users(request):
    # What an option shows: User.__str__ (get_full_name() or username).
    return _users(request).only("id", "username", "first_name", "last_name")


# --- the board's filter form without the template engine --------------------------------
# The board renders its filter form on every request; Django renders each widget and each
# <option> (one per active user) through its own template include. These render the
# same markup in Python — Django's select.html, select_option.html, input.html and
# attrs.html: attribute order and escaping included, blank lines between options not —
# from the widget's own attributes and choices (tests/board_speed/test_board_markup.py).


def _attrs_html(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class _Select(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        # Widget.get_context() and ChoiceWidget.optgroups() for a flat, single select: a
        # dict per option is not needed to write its one line.
        choices = list(iter(self.choices))  # list(choices) would ask len(): a COUNT query
        if self.allow_multiple_selected or any(isinstance(c[1], list | tuple) for c in choices):
            self.choices = choices
            return super().render(name, value, attrs, renderer)
        values = self.format_value(value)
        out = [
            f'<select name="{conditional_escape(name)}"'
            f"{_attrs_html(self.build_attrs(self.attrs, attrs))}>"
        ]
        has_selected = False
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            selected = not has_selected and option_value in values
            has_selected |= selected
            out.append(
                f'\n  <option value="{conditional_escape(option_value)}"'
                f"{' selected' if selected else ''}>{conditional_escape(label)}</option>"
            )
        out.append("\n</select>")
        return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


class _DateInput(forms.DateInput):
    def __init__(self):
        super().__init__(attrs={"type": "date"})

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        value_attr = (
            ""
            if widget["value"] is None
            else f' value="{conditional_escape(str(widget["value"]))}"'
        )
        return mark_safe(  # noqa: S308 - every value is escaped
            f'<input type="{conditional_escape(widget["type"])}" '
            f'name="{conditional_escape(widget["name"])}"{value_attr}{_attrs_html(widget["attrs"])}>'
        )


class _ListedChoiceIterator(df_fields.ModelChoiceIterator):
    """The options from one plain query: Django's iterator reads them with
    queryset.iterator(), a server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in list(self.queryset.all()):
            yield self.choice(obj)


class _ListedChoiceField(df_fields.ModelChoiceField):
    iterator = _ListedChoiceIterator


class _BoardChoiceFilter(df.ModelChoiceFilter):
    field_class = _ListedChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _Select)
        super().__init__(*args, **kwargs)


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
    """The board picks its pipeline itself and always shows every stage. Its widgets
    render in Python (see _Select): the same HTML as the other filter forms."""

    owner = _BoardChoiceFilter(label=_("Owner"), queryset=_board_users)
    tag = _BoardChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all())
    created_from = df.DateFilter(
        label=_("Created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=_DateInput(),
    )
    created_to = df.DateFilter(
        label=_("Created to"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=_DateInput(),
    )
    close_from = df.DateFilter(
        label=_("Close from"), field_name="expected_close", lookup_expr="gte", widget=_DateInput()
    )
    close_to = df.DateFilter(
        label=_("Close to"), field_name="expected_close", lookup_expr="lte", widget=_DateInput()
    )

    class Meta:
        model = Deal
        fields = ["owner"]

    def narrows(self) -> bool:
        """A valid form with at least one filter that `qs` applies (django-filter skips
        the empty values); False: `qs` is the queryset it was given."""
        data = self.form.cleaned_data
        return any(data.get(name) not in EMPTY_VALUES for name in self.filters)


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
