"""django-filter sets for the contact and company lists (pages and API)."""

from __future__ import annotations

from html import escape as _html_escape

import django_filters
import django_filters.fields
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.forms.models import ModelChoiceIteratorValue
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


def _escape(value) -> str:
    """conditional_escape without its lazy-string wrapper (it runs per <option>)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return _html_escape(str(value))


class FastSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        """Django's select.html / select_option.html output, built here: the same
        attributes (get_context's), the same selection rule (the first matching option
        of a single select), the same escaping."""
        choices = list(self.choices)
        if (
            self.allow_multiple_selected
            or self.option_inherits_attrs
            or any(isinstance(label, list | tuple) for _value, label in choices)
        ):
            return self._render_groups(name, value, attrs)
        values = self.format_value(value)
        out = [
            format_html('<select name="{}"{}>', name, flatatt(self.build_attrs(self.attrs, attrs)))
        ]
        has_selected = False
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            selected = not has_selected and option_value in values
            has_selected |= selected
            out.append(
                f'<option value="{_html_escape(option_value)}"'
                f"{' selected' if selected else ''}>{_escape(label)}</option>"
            )
        out.append("</select>")
        return mark_safe("".join(out))  # noqa: S308 - every piece escaped above

    def _render_groups(self, name, value, attrs=None):
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


# --- choices read with one plain query ------------------------------------------------------
# Django's ModelChoiceIterator reads the choices through `.iterator()`: on PostgreSQL a
# server-side cursor, five round trips (DECLARE, FETCH…, CLOSE) per select and per request.
# And a bound `owner=` / `tag=` was checked with a query of its own before the same rows
# were read again for the options. These read the rows once, as a list, per form.


class _ListChoiceIterator(django_filters.fields.ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.field.choice_objects():
            if hasattr(obj, "_meta"):
                yield self.choice(obj)
            else:  # a row standing for a record (core.lists.UserRow): pk and str()
                label = getattr(obj, "label_html", None)  # str(obj), escaped already
                yield (ModelChoiceIteratorValue(obj.pk, obj), str(obj) if label is None else label)

    def __len__(self):
        extra = (self.field.empty_label is not None) + (self.field.null_label is not None)
        return len(self.field.choice_objects()) + extra

    def __bool__(self):
        return self.field.empty_label is not None or bool(self.field.choice_objects())


class ListModelChoiceField(django_filters.fields.ModelChoiceField):
    """A ModelChoiceField whose choices are read once per form (a plain query), or come
    from `objects`: a callable returning the records of the field's queryset (read once
    per request, e.g.), as model instances or as light rows with `pk`, `str()` and
    `instance(db)` (core.lists.UserRow). With `objects`, a submitted value is checked
    against those records instead of by a `get()` query. Same choices, labels and errors
    as ModelChoiceField."""

    iterator = _ListChoiceIterator

    def __init__(self, *args, objects=None, **kwargs):
        self._objects_source = objects
        super().__init__(*args, **kwargs)

    def choice_objects(self) -> list:
        cached = self.__dict__.get("_choice_objects")
        if cached is None:
            source = self._objects_source
            cached = list(source() if source is not None else self.queryset)
            self._choice_objects = cached
        return cached

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.__dict__.pop("_choice_objects", None)  # the copy reads its own queryset
        return result

    def to_python(self, value):
        if self._objects_source is None or self.to_field_name:
            return super().to_python(value)
        if self.null_label is not None and value == self.null_value:
            return value
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        model = self.queryset.model
        if isinstance(value, model):
            value = value.pk
        try:
            pk = model._meta.pk.get_prep_value(model._meta.pk.to_python(value))
        except (ValueError, TypeError, ValidationError):
            pk = None
        for obj in self.choice_objects() if pk is not None else ():
            if obj.pk == pk:
                return obj if hasattr(obj, "_meta") else obj.instance(self.queryset.db)
        raise ValidationError(
            self.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": value},
        )


class ListModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ListModelChoiceField


class _OwnFields(dict):
    """The fields of one filter set's form class: FilterSet.get_form_class builds them
    fresh for that one form, so the form needn't deep-copy them again (Form.__init__ does,
    ~1 ms for these 7 fields); the dict itself is still copied."""

    def __deepcopy__(self, memo):
        return dict(self)


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class _ClientFilter(FieldRulesFilterSetMixin, django_filters.FilterSet):
    owner = ListModelChoiceFilter(label=_("Owner"), queryset=_users(), widget=FastSelect)
    tag = ListModelChoiceFilter(
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
    # The list pages' forms: the choices read once per request and shared with the page
    # (the owner select and the bulk bar's owner select: core.lists.active_users). The API
    # filters, never rendered, check a submitted owner or tag with a one-row get().
    page_choices = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.request
        if not self.page_choices or request is None:
            return
        if "owner" in self.filters:
            from svyaz.core.lists import active_users

            self.filters["owner"].extra["objects"] = lambda: active_users(request)
        if "tag" in self.filters:
            self.filters["tag"].extra["objects"] = lambda: list(Tag.objects.all())

    def get_form_class(self):
        form_class = super().get_form_class()
        form_class.base_fields = _OwnFields(form_class.base_fields)
        return form_class

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
    page_choices = False

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
    page_choices = False

    inn = django_filters.CharFilter(
        label=_("INN"), field_name="inn", lookup_expr="startswith", widget=forms.HiddenInput
    )

    class Meta:
        model = Company
        fields = ["owner", "tag", "status", "source", "city", "created_from", "created_to", "inn"]
