from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from arrears.cases.models import ActionCode, AssignmentRule


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    """Which team works which product's cases in which bucket group (the batch assigns by these)."""

    list_display = ("bucket_group", "product", "team")
    list_filter = ("bucket_group", "team")


@admin.register(ActionCode)
class ActionCodeAdmin(admin.ModelAdmin):
    """Admins add action codes for their operation; the defaults (domain page) are kept, and a
    code in use is deactivated rather than deleted (activities point at it)."""

    list_display = (
        "code",
        "label",
        "label_en",
        "category",
        "system_only",
        "implies_connected",
        "active",
        "sort_order",
    )
    list_filter = ("category", "active")
    list_editable = ("active", "sort_order")
    search_fields = ("code", "label", "label_en")

    def get_readonly_fields(self, request: HttpRequest, obj: ActionCode | None = None) -> tuple[str, ...]:
        # The code is the key activities refer to: fixed once created.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: ActionCode | None = None) -> bool:
        return False
