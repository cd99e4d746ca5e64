from django.contrib import admin

from svyaz.dataquality.models import ImportJob, MappingTemplate


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "original_name",
        "entity",
        "status",
        "user",
        "total_rows",
        "created",
        "updated",
        "errors",
        "created_at",
    ]
    list_filter = ["status", "entity"]
    search_fields = ["original_name"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(MappingTemplate)
class MappingTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "entity", "owner", "created_at"]
    list_filter = ["entity"]
