"""GET /api/v1/audit/ and /api/v1/audit/denials/: read-only, settings/view grant only (the
Administrator and Auditor roles), without the fields the reader's roles hide. There is no
write endpoint: audit rows are never created, changed or deleted through the API."""

from __future__ import annotations

from django.urls import path
from rest_framework import generics, serializers

from svyaz.audit import selectors
from svyaz.audit.filters import AccessDenialFilter, AuditEntryFilter
from svyaz.audit.models import AccessDenial, AuditEntry
from svyaz.core.access import SettingsPermission


class AuditEntrySerializer(serializers.ModelSerializer):
    entity = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "source",
            "action",
            "entity",
            "object_id",
            "object_repr",
            "field",
            "old_value",
            "new_value",
            "old_display",
            "new_display",
            "request_id",
            "path",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        hidden = self.context.get("hidden")
        if hidden:
            data["old_value"] = selectors.strip_snapshot(instance, data["old_value"], hidden)
        return data

    def get_entity(self, obj: AuditEntry) -> str:
        """The record's model as "app_label.model", e.g. "sales.deal"."""
        return f"{obj.content_type.app_label}.{obj.content_type.model}"


class AccessDenialSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessDenial
        fields = [
            "id",
            "at",
            "user",
            "user_name",
            "method",
            "path",
            "entity",
            "action",
            "object_id",
            "reason",
            "source",
            "request_id",
        ]
        read_only_fields = fields


class AuditEntryListAPI(generics.ListAPIView):
    """The audit trail, newest first. Filters: actor, entity ("sales.deal" or "deal"),
    object_id, field, source, action, date_from, date_to, request_id."""

    serializer_class = AuditEntrySerializer
    permission_classes = [SettingsPermission]  # settings/view: Administrator, Auditor
    filterset_class = AuditEntryFilter
    ordering_fields = ["at", "id"]
    ordering = ["-at", "-id"]
    search_fields = ["object_repr", "actor_name"]

    def get_queryset(self):
        return selectors.without_hidden(selectors.audit_entries(), self._hidden())

    def _hidden(self) -> dict[int, set[str]]:
        if not hasattr(self, "_hidden_fields"):
            self._hidden_fields = selectors.hidden_audit_fields(self.request.user)
        return self._hidden_fields

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "hidden": self._hidden()}


class AccessDenialListAPI(generics.ListAPIView):
    """Refused accesses, newest first."""

    serializer_class = AccessDenialSerializer
    permission_classes = [SettingsPermission]  # settings/view: Administrator, Auditor
    filterset_class = AccessDenialFilter
    ordering_fields = ["at", "id"]
    ordering = ["-at", "-id"]
    search_fields = ["user_name", "path", "reason"]

    def get_queryset(self):
        return selectors.access_denials()


urlpatterns = [
    path("audit/", AuditEntryListAPI.as_view(), name="audit-list"),
    path("audit/denials/", AccessDenialListAPI.as_view(), name="audit-denials"),
]
