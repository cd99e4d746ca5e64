"""Settings pages of the chat (Django admin, registered through svyaz.intake.admin):
widgets, messenger integrations, and conversations for inspection."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from svyaz.intake.models import ChatWidget, Conversation, Message, MessageSource


class ChatWidgetAdminForm(forms.ModelForm):
    class Meta:
        model = ChatWidget
        fields = ("name", "key", "title", "greeting", "allowed_origins", "routing_group", "active")

    def clean_allowed_origins(self):
        value = self.cleaned_data["allowed_origins"] or []
        if not isinstance(value, list) or not all(
            isinstance(o, str) and o.startswith(("http://", "https://")) for o in value
        ):
            raise forms.ValidationError(_('Enter a list like ["https://example.com"].'))
        return [o.rstrip("/") for o in value]


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    form = ChatWidgetAdminForm
    list_display = ("name", "key", "active", "snippet_link")
    list_filter = ("active",)
    search_fields = ("name", "key")

    @admin.display(description=_("embed code"))
    def snippet_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("intake:chat_widgets"), _("Embed code"))


@admin.register(MessageSource)
class MessageSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "network", "channel", "active", "reply_url")
    list_filter = ("channel", "active")
    search_fields = ("name", "network")


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("sent_at", "direction", "body", "author", "processed_at", "delivered_at", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel", "status", "owner", "contact", "lead", "last_message_at")
    list_filter = ("status", "channel")
    search_fields = ("name", "email", "phone", "external_id")
    readonly_fields = (
        "owner",
        "channel",
        "source",
        "widget",
        "external_id",
        "contact",
        "lead",
        "created_at",
        "last_message_at",
        "last_direction",
        "closed_at",
        "landing_page",
        "referrer",
        "ip",
        "user_agent",
    )
    fields = ("name", "email", "phone", "status", *readonly_fields)
    inlines = [MessageInline]
