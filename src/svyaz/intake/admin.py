"""Settings pages of intake (Django admin for this round): forms, routing, SLA, telephony."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from svyaz.intake import webforms
from svyaz.intake.models import (
    CallEvent,
    LeadIntake,
    ResponseSla,
    RoutingGroup,
    RoutingMember,
    Submission,
    SubmissionStatus,
    TelephonyProvider,
    WebForm,
)
from svyaz.intake.regions import languages_errors, regions_errors
from svyaz.intake.routing import working_hours_errors


class WebFormAdminForm(forms.ModelForm):
    class Meta:
        model = WebForm
        fields = (
            "name",
            "key",
            "fields",
            "title_template",
            "consent_text",
            "success_message",
            "allowed_origins",
            "honeypot_field",
            "routing_group",
            "active",
        )

    def clean_fields(self):
        value = self.cleaned_data["fields"]
        errors = webforms.fields_errors(value)
        if errors:
            raise forms.ValidationError(errors)
        return value

    def clean_allowed_origins(self):
        value = self.cleaned_data["allowed_origins"] or []
        if not isinstance(value, list) or not all(
            isinstance(o, str) and o.startswith(("http://", "https://")) for o in value
        ):
            raise forms.ValidationError(_('Enter a list like ["https://example.com"].'))
        return [o.rstrip("/") for o in value]


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    form = WebFormAdminForm
    list_display = ("name", "key", "active", "routing_group", "snippet_link")
    list_filter = ("active",)

    @admin.display(description=_("embed code"))
    def snippet_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("intake:form_snippet", args=[obj.pk]), _("Show")
        )


@admin.action(description=_("Process again"))
def reprocess(modeladmin, request, queryset):
    from svyaz.intake.webforms import submission_process

    done = 0
    for pk in queryset.filter(status=SubmissionStatus.RECEIVED).values_list("pk", flat=True):
        try:
            if submission_process(pk) is not None:
                done += 1
        except Exception as exc:  # noqa: BLE001 - shown to the admin, noted on the row
            modeladmin.message_user(request, f"#{pk}: {exc}", level="error")
    modeladmin.message_user(request, _("Processed: %(n)d") % {"n": done})


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "form", "received_at", "status", "ip", "lead", "error")
    list_filter = ("status", "form")
    readonly_fields = [f.name for f in Submission._meta.fields]
    actions = [reprocess]


class RoutingMemberAdminForm(forms.ModelForm):
    class Meta:
        model = RoutingMember
        fields = ("user", "position", "working_hours")

    def clean_working_hours(self):
        value = self.cleaned_data["working_hours"] or []
        errors = working_hours_errors(value)
        if errors:
            raise forms.ValidationError(errors)
        return value


class RoutingMemberInline(admin.TabularInline):
    model = RoutingMember
    form = RoutingMemberAdminForm
    extra = 1


class RoutingGroupAdminForm(forms.ModelForm):
    class Meta:
        model = RoutingGroup
        fields = (
            "name",
            "position",
            "active",
            "channels",
            "sources",
            "regions",
            "languages",
            "strategy",
            "working_hours",
            "fallback_user",
        )

    def clean_working_hours(self):
        value = self.cleaned_data["working_hours"] or []
        errors = working_hours_errors(value)
        if errors:
            raise forms.ValidationError(errors)
        return value

    def clean_regions(self):
        value = self.cleaned_data["regions"]
        cleaned, errors = regions_errors([] if value is None else value)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned

    def clean_languages(self):
        value = self.cleaned_data["languages"]
        cleaned, errors = languages_errors([] if value is None else value)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


@admin.register(RoutingGroup)
class RoutingGroupAdmin(admin.ModelAdmin):
    form = RoutingGroupAdminForm
    list_display = (
        "name",
        "position",
        "strategy",
        "channels",
        "sources",
        "regions",
        "languages",
        "active",
    )
    inlines = [RoutingMemberInline]


@admin.register(ResponseSla)
class ResponseSlaAdmin(admin.ModelAdmin):
    list_display = ("channel", "minutes")


@admin.register(TelephonyProvider)
class TelephonyProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active", "routing_group")


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ("provider", "event_id", "direction", "status", "caller", "started_at", "error")
    list_filter = ("provider", "status", "direction")
    readonly_fields = [f.name for f in CallEvent._meta.fields]


@admin.register(LeadIntake)
class LeadIntakeAdmin(admin.ModelAdmin):
    list_display = (
        "lead",
        "channel",
        "region",
        "language",
        "received_at",
        "routed_to",
        "sla_due_at",
    )
    list_filter = ("channel", "language")
    raw_id_fields = ("lead", "first_response", "duplicate_of")


# The chat's settings pages live in their package; importing registers them.
from svyaz.intake.chat import admin as chat_admin  # noqa: E402, F401
