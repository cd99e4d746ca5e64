"""Read-only admin: audit rows and refused accesses can be looked at, never added,
changed or deleted."""

from django.contrib import admin

from svyaz.audit.models import AccessDenial, AuditEntry


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


@admin.register(AuditEntry)
class AuditEntryAdmin(_ReadOnly):
    list_display = ["at", "actor_name", "source", "action", "content_type", "object_id", "field"]
    list_filter = ["source", "action", "content_type"]
    search_fields = ["object_repr", "actor_name", "request_id"]
    list_select_related = ["content_type"]
    show_full_result_count = False


@admin.register(AccessDenial)
class AccessDenialAdmin(_ReadOnly):
    list_display = ["at", "user_name", "action", "entity", "object_id", "path"]
    list_filter = ["action", "entity"]
    search_fields = ["user_name", "path"]
    show_full_result_count = False
