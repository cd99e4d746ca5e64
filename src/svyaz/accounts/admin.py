from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from svyaz.accounts.models import Department, Role, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "head", "require_2fa"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "head"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "department", "is_active"]
    list_filter = ["department", "roles", "is_active", "is_staff"]
    filter_horizontal = [*BaseUserAdmin.filter_horizontal, "roles"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Svyaz"), {"fields": ("department", "roles", "language", "timezone", "phone")}),
    )


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "require_2fa"]
    search_fields = ["name", "code"]
