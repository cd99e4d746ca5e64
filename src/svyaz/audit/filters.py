"""Filters of the audit page and the audit API (one FilterSet each for both)."""

from __future__ import annotations

import datetime as dt

import django_filters as df
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from svyaz.audit.models import AccessDenial, AuditAction, AuditEntry, AuditSource

DATE = forms.DateInput(attrs={"type": "date"})


def _users(request):
    return get_user_model().objects.order_by("last_name", "first_name", "username")


def entity_choices() -> list[tuple[str, str]]:
    """(model label, its name) of every model the audit follows."""
    from svyaz.audit.capture import tracked_models

    out = [(t.label, str(t.model._meta.verbose_name).capitalize()) for t in tracked_models()]
    return sorted(out, key=lambda c: c[1].casefold())


def content_type_of(label: str) -> ContentType | None:
    """The content type of a followed model, by "app.model" or a model name alone."""
    from svyaz.audit.capture import tracked_models

    label = (label or "").strip().lower()
    for t in tracked_models():
        if label in (t.label, t.model._meta.model_name):
            return ContentType.objects.get_for_model(t.model)
    return None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class _PeriodMixin:
    def filter_date_from(self, qs, name, value):
        return qs.filter(at__gte=_day_start(value)) if value else qs

    def filter_date_to(self, qs, name, value):
        return qs.filter(at__lt=_day_start(value + dt.timedelta(days=1))) if value else qs


class AuditEntryFilter(_PeriodMixin, df.FilterSet):
    actor = df.ModelChoiceFilter(label=_("Who"), queryset=_users)
    # "sales.deal" or just "deal"; the page shows a list of the followed models.
    entity = df.CharFilter(label=_("Type"), method="filter_entity")
    object_id = df.NumberFilter(label=_("Record id"), field_name="object_id")
    field = df.CharFilter(label=_("Field"), field_name="field")
    source = df.ChoiceFilter(label=_("Through"), choices=AuditSource.choices)
    action = df.ChoiceFilter(label=_("Action"), choices=AuditAction.choices)
    date_from = df.DateFilter(label=_("From"), method="filter_date_from", widget=DATE)
    date_to = df.DateFilter(label=_("To"), method="filter_date_to", widget=DATE)
    request_id = df.CharFilter(
        label=_("Request id"), field_name="request_id", widget=forms.HiddenInput
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "entity", "object_id", "field", "source", "action"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["entity"].extra["widget"] = forms.Select(
            choices=[("", "---------"), *entity_choices()]
        )

    def filter_entity(self, qs, name, value):
        ct = content_type_of(value)
        return qs.filter(content_type=ct) if ct is not None else qs.none()


class AccessDenialFilter(_PeriodMixin, df.FilterSet):
    user = df.ModelChoiceFilter(label=_("Who"), queryset=_users)
    entity = df.CharFilter(label=_("Entity"), field_name="entity")
    action = df.CharFilter(label=_("Action"), field_name="action")
    object_id = df.CharFilter(label=_("Record id"), field_name="object_id")
    date_from = df.DateFilter(label=_("From"), method="filter_date_from", widget=DATE)
    date_to = df.DateFilter(label=_("To"), method="filter_date_to", widget=DATE)

    class Meta:
        model = AccessDenial
        fields = ["user", "entity", "action", "object_id"]
