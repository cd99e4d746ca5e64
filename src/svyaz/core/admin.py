from django.contrib import admin

from svyaz.core.models import CustomField, SavedView, Tag, TimelineEntry


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ["entity", "label", "code", "field_type", "required", "show_in_list", "position"]
    list_filter = ["entity", "field_type"]
    prepopulated_fields = {"code": ("label",)}


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    """Read-only: the history is not edited by hand."""

    list_display = ["occurred_at", "kind", "title", "actor"]
    list_filter = ["kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(SavedView)
