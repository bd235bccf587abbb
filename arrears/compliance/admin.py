"""The guard's tables in the Django admin: read-only. Parameters change on the packs page
(`/compliance/packs/`, a new version each time), a creditor's packs through the API, and
decisions are never edited (a trigger refuses it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from arrears.compliance.models import CreditorPolicyPack, Decision, PolicyPackVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PolicyPackVersion)
class PolicyPackVersionAdmin(ReadOnlyAdmin):
    list_display = ("pack", "version", "created_by", "created_at", "note")
    list_filter = ("pack",)
    list_select_related = ("created_by",)


@admin.register(CreditorPolicyPack)
class CreditorPolicyPackAdmin(ReadOnlyAdmin):
    list_display = ("creditor", "pack")
    list_filter = ("pack",)
    list_select_related = ("creditor",)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "case",
        "channel",
        "at",
        "purpose",
        "allowed",
        "next_allowed_at",
        "asked_by",
        "created_at",
    )
    list_filter = ("allowed", "purpose", "channel")
    list_select_related = ("case", "asked_by")
    # The log grows fast; no count of all rows on every page.
    show_full_result_count = False
