"""The trail in the admin, read-only: the table refuses changes anyway, the admin should not offer them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from arrears.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_name", "action", "object_type", "object_id", "ip", "summary")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "summary")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
