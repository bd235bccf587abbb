"""Forms of the case page: logging an activity, holds, contact-point facts, protection.

They check the shape of the input only (a number is a number, a time is a time); whether
the work may be done is the services' decision (`WorkRefused`, `ContactRefused`). Times
are entered on the debtor's clock: the view validates and renders these forms inside
``timezone.override(<debtor's zone>)``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from arrears.cases.models import ActionCode, ActionCodeCategory, Case, Channel, Direction, HoldKind
from arrears.cases.selectors import STATUS_CHANNEL
from arrears.core import masking
from arrears.portfolio.models import ContactPoint, ProtectedReason

# datetime-local inputs send "2026-11-24T10:00" (and seconds when the browser shows them).
LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
# The service's own field names → the form's (the rest are the same).
SERVICE_FIELDS = {"contact_point_id": "contact_point", "promise_amount_fen": "promise_amount"}


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"class": "form-control", **(attrs or {})}, format="%Y-%m-%dT%H:%M")


def _local_time_field(label: Any, *, required: bool, **attrs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=LOCAL_INPUT_FORMATS,
        widget=LocalDateTimeInput(attrs=attrs),
    )


class ContactPointField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        value = masking.mask_value(obj.kind, obj.value)
        return f"{obj.get_kind_display()} · {obj.get_owner_role_display()} · {value}"


class ContactPointSelect(forms.Select):
    """Each option says the channel its kind is usually reached by, so the page can pick it."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: int | str,
        selected: bool,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-channel"] = STATUS_CHANNEL.get(instance.kind, Channel.CALL)
        return option


class ActionCodeSelect(forms.Select):
    """Each option says its category, so the page can show the promise fields for PTP/PTP2."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: int | str,
        selected: bool,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-category"] = instance.category
        return option


class ActionCodeField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.label}"


class ActivityForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("渠道"),
        choices=Channel.choices,
        initial=Channel.CALL,
        widget=forms.Select(attrs={"class": "form-select", "accesskey": "c"}),
    )
    contact_point = ContactPointField(
        label=_("联系方式"),
        queryset=ContactPoint.objects.none(),
        required=False,
        empty_label=_("请选择"),
        widget=ContactPointSelect(
            attrs={"class": "form-select", "accesskey": "p", "autofocus": True, "data-contact-point": ""}
        ),
    )
    direction = forms.ChoiceField(
        label=_("方向"),
        choices=Direction.choices,
        initial=Direction.OUTBOUND,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    started_at = _local_time_field(_("联系时间"), required=True, accesskey="t")
    connected = forms.BooleanField(
        label=_("接通"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    right_party = forms.BooleanField(
        label=_("本人接听"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    action_code = ActionCodeField(
        label=_("行动码"),
        queryset=ActionCode.objects.none(),
        to_field_name="code",
        empty_label=_("请选择"),
        widget=ActionCodeSelect(attrs={"class": "form-select", "accesskey": "a", "data-action-code": ""}),
    )
    notes = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3, "accesskey": "n"}),
    )
    recording_ref = forms.CharField(
        label=_("录音编号"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    duration_s = forms.IntegerField(
        label=_("通话时长（秒）"),
        required=False,
        min_value=0,
        max_value=86400,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    promise_amount = forms.DecimalField(
        label=_("承诺金额（元）"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=13,
        decimal_places=2,
        widget=forms.NumberInput(
            attrs={"class": "form-control", "inputmode": "decimal", "step": "0.01", "accesskey": "m"}
        ),
    )
    promise_due_at = _local_time_field(_("承诺还款时间"), required=False)
    callback_at = _local_time_field(_("约定回电时间"), required=False)
    visitors = forms.IntegerField(
        label=_("外访人数"),
        required=False,
        min_value=1,
        max_value=20,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        points: Any = self.fields["contact_point"]
        points.queryset = ContactPoint.objects.filter(customer_id=case.customer_id).order_by(
            "owner_role", "kind", "id"
        )
        codes: Any = self.fields["action_code"]
        codes.queryset = action_codes_for_logging()

    def is_promise(self) -> bool:
        """Whether the chosen action code makes a promise (the promise fields then count)."""
        code = self.cleaned_data.get("action_code") if hasattr(self, "cleaned_data") else None
        if code is None and self.is_bound:
            code = ActionCode.objects.filter(code=self.data.get(self.add_prefix("action_code")) or "").first()
        return code is not None and code.category == ActionCodeCategory.PROMISE

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code = data.get("action_code")
        if code is not None and code.category == ActionCodeCategory.PROMISE:
            if data.get("promise_amount") is None and "promise_amount" not in self.errors:
                self.add_error("promise_amount", _("请填写承诺金额（元）。"))
            if data.get("promise_due_at") is None and "promise_due_at" not in self.errors:
                self.add_error("promise_due_at", _("请填写承诺还款时间。"))
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The cleaned input as ``activity_log`` keyword arguments (amounts in integer fen)."""
        data = self.cleaned_data
        code = data["action_code"]
        promise = code.category == ActionCodeCategory.PROMISE
        amount: Decimal | None = data.get("promise_amount")
        return {
            "channel": data["channel"],
            "contact_point": data.get("contact_point"),
            "direction": data["direction"],
            "started_at": data["started_at"],
            "connected": bool(data.get("connected")),
            "right_party": bool(data.get("right_party")),
            "action_code": code.code,
            "notes": data.get("notes") or "",
            "recording_ref": data.get("recording_ref") or "",
            "duration_s": data.get("duration_s"),
            "promise_amount_fen": yuan_to_fen(amount) if promise and amount is not None else None,
            "promise_due_at": data.get("promise_due_at") if promise else None,
            "callback_at": data.get("callback_at"),
            "visitors": data.get("visitors"),
        }

    def add_service_error(self, field: str, message: str) -> None:
        """Show a service's refusal next to the field it names (or above the form)."""
        name = SERVICE_FIELDS.get(field, field)
        self.add_error(name if name in self.fields else None, message)


def action_codes_for_logging() -> QuerySet[ActionCode]:
    """The codes a person may log: active and not the batch's own (BP, KP)."""
    return ActionCode.objects.filter(active=True, system_only=False).order_by("sort_order", "code")


def yuan_to_fen(amount: Decimal) -> int:
    """Yuan with at most two decimals as integer fen, exactly (the field limits the decimals)."""
    return int((amount * 100).to_integral_value())


def local_now_for_input(zone: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """Now on the debtor's clock, to the minute (what a datetime-local input shows)."""
    return now.astimezone(zone).replace(second=0, microsecond=0)


class HoldPlaceForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("停催类型"), choices=HoldKind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    reason = forms.CharField(
        label=_("停催原因"),
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )


class HoldReleaseForm(forms.Form):
    note = forms.CharField(
        label=_("解除说明"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "autocomplete": "off"}),
    )


class ContactPointActionForm(forms.Form):
    """One change to a contact point: do-not-contact on/off (with a reason), valid/invalid."""

    DO_NOT_CONTACT = "do_not_contact"
    ALLOW_CONTACT = "allow_contact"
    INVALID = "invalid"
    VALID = "valid"
    ACTIONS = (
        (DO_NOT_CONTACT, _("标记勿扰")),
        (ALLOW_CONTACT, _("取消勿扰")),
        (INVALID, _("标记错号/无效")),
        (VALID, _("恢复有效")),
    )

    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(
        label=_("原因"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "autocomplete": "off"}),
    )

    def service_arguments(self) -> dict[str, Any]:
        action = self.cleaned_data["action"]
        reason = self.cleaned_data.get("reason") or ""
        if action == self.DO_NOT_CONTACT:
            return {"do_not_contact": True, "reason": reason}
        if action == self.ALLOW_CONTACT:
            return {"do_not_contact": False, "reason": reason}
        return {"valid": action == self.VALID, "reason": reason}


class ProtectionForm(forms.Form):
    protected_reason = forms.ChoiceField(
        label=_("保护原因"),
        choices=[("", _("不保护")), *ProtectedReason.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
