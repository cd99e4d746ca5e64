"""Template helpers shared by every page."""

from __future__ import annotations

from decimal import Decimal

from django import forms, template
from django.utils.formats import number_format

from svyaz.core.phones import format_phone

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """Locale-formatted amount with its currency: «1 234,50 RUB» / «1,234.50 RUB»."""
    if amount is None or amount == "":
        return ""
    text = number_format(Decimal(amount), decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{text} {currency}".strip()


@register.filter
def phone(e164: str) -> str:
    return format_phone(e164)


@register.filter
def add_class(field, css: str):
    """Render a bound field with Bootstrap classes (and is-invalid when it has errors)."""
    widget = field.field.widget
    base = (
        "form-select" if isinstance(widget, forms.Select | forms.SelectMultiple) else "form-control"
    )
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
        base = ""
    classes = f"{base} {css}".strip()
    if field.errors:
        classes += " is-invalid"
    return field.as_widget(attrs={"class": classes})


@register.simple_tag(takes_context=True)
def query_replace(context, **kwargs) -> str:
    """The current query string with some parameters replaced (None removes)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def get_item(mapping, key):
    """`request.GET|get_item:code` — looks up cf_<code> in a QueryDict."""
    try:
        return mapping.get(f"cf_{key}")
    except AttributeError:
        return None


@register.simple_tag(takes_context=True)
def can(context, entity: str, action: str, obj=None) -> bool:
    """`{% can "deals" "edit" deal as may_edit %}`: may the signed-in user do this (on
    this record, or at all)? The same rule the services enforce (core.scoping.can)."""
    from svyaz.core.scoping import can as scoping_can

    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if obj == "":
        obj = None
    return scoping_can(user, entity, action, obj)
