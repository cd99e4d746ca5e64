"""{% record_completeness obj as c %}: a contact's, company's or lead's completeness."""

from __future__ import annotations

from django import template

from svyaz.dataquality.completeness import record_completeness as _record_completeness

register = template.Library()


@register.simple_tag
def record_completeness(obj):
    return _record_completeness(obj)
