"""Policies are edited here, holds placed and released here; every change goes through a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from arrears.governance.models import SUPPORTED_ACTIONS, LegalHold, RetentionPolicy, RetentionRun
from arrears.governance.services import (
    MINIMUM_RETENTION_DAYS,
    GovernanceError,
    legal_hold_place,
    legal_hold_release,
    retention_policy_update,
)


class RetentionPolicyForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["enabled", "days", "action", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        action = cleaned.get("action")
        if action and action != SUPPORTED_ACTIONS[self.instance.data_class]:
            self.add_error("action", _("此数据类别不支持该处理方式"))
        days = cleaned.get("days")
        if days is not None and days < MINIMUM_RETENTION_DAYS:
            self.add_error("days", _("保留天数不得少于 %(days)s 天") % {"days": MINIMUM_RETENTION_DAYS})
        return cleaned


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    form = RetentionPolicyForm
    list_display = ("data_class", "enabled", "days", "action", "note", "updated_at")
    readonly_fields = ("data_class", "updated_at")
    fields = ("data_class", "enabled", "days", "action", "note", "updated_at")

    # The data classes are code (each has its own statement): none is added or removed here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool) -> None:
        retention_policy_update(
            policy=obj,
            enabled=obj.enabled,
            days=obj.days,
            action=obj.action,
            note=obj.note,
            actor=request.user,
        )


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["customer", "account", "reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("customer")) == bool(cleaned.get("account")):
            raise forms.ValidationError(_("请选择一个客户或一个账户(二选一)"))
        return cleaned


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldForm
    list_display = ("id", "customer", "account", "reason", "placed_by", "placed_at", "released_at")
    list_filter = (("released_at", admin.EmptyFieldListFilter),)
    raw_id_fields = ("customer", "account")
    search_fields = ("reason", "customer__customer_no", "account__account_no")
    actions = ["release_holds"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A hold is evidence: once placed it is only ever released, never edited.
        if obj is not None:
            return ("customer", "account", "reason", "placed_by", "placed_at", "released_by", "released_at")
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: LegalHold, form: Any, change: bool) -> None:
        if change:
            return
        hold = legal_hold_place(
            customer=obj.customer, account=obj.account, reason=obj.reason, actor=request.user
        )
        obj.pk, obj.placed_by, obj.placed_at = hold.pk, hold.placed_by, hold.placed_at
        obj._state.adding = False

    @admin.action(description=_("解除所选法律保全"))
    def release_holds(self, request: HttpRequest, queryset: QuerySet[LegalHold]) -> None:
        released = 0
        for hold in queryset.filter(released_at__isnull=True).order_by("pk"):
            try:
                legal_hold_release(hold=hold, actor=request.user)
            except GovernanceError:
                continue  # released meanwhile by someone else
            released += 1
        self.message_user(request, _("已解除 %(count)s 项法律保全") % {"count": released}, messages.SUCCESS)


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):
    list_display = ("id", "today", "state", "started_at", "finished_at")
    list_filter = ("state",)
    readonly_fields = ("today", "state", "results", "error", "started_at", "finished_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
