from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from arrears.accounts.models import Agency, ApiToken, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "role", "team", "agency", "is_active")
    list_filter = ("role", "team", "agency", "is_active")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Arrears", {"fields": ("role", "team", "agency")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Arrears", {"fields": ("role", "team", "agency")}))


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `arrears token create` (the secret is shown once); here they can be revoked."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("name", "user", "prefix", "secret_hash", "created_at", "last_used_at")
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
