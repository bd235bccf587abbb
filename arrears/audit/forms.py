from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from arrears.audit.models import AuditAction, AuditObject
from arrears.audit.selectors import AuditFilters


class Purpose(models.TextChoices):
    VERIFY_IDENTITY = "verify_identity", _("核实身份")
    FIELD_VISIT = "field_visit", _("外访")
    COMPLAINT = "complaint", _("客户投诉处理")
    OTHER = "other", _("其他")


class RevealForm(forms.Form):
    """Why the user needs to see the full value; "other" needs a few words of its own."""

    purpose = forms.ChoiceField(
        label=_("用途"), choices=[("", _("请选择用途")), *Purpose.choices], required=True
    )
    detail = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["purpose"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["detail"].widget.attrs.update(
            {"class": "form-control form-control-sm", "placeholder": _("说明（选“其他”时必填）")}
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("purpose") == Purpose.OTHER and not (data.get("detail") or "").strip():
            self.add_error("detail", _("请说明用途"))
        return data

    def purpose_text(self) -> str:
        """The purpose as the trail stores it: in the source language, whatever the UI language,
        so that one search finds it."""
        with translation.override("zh-hans"):
            label = str(Purpose(self.cleaned_data["purpose"]).label)
        detail = (self.cleaned_data.get("detail") or "").strip()
        return f"{label}：{detail}" if detail else label


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("用户"), max_length=160, required=False)
    action = forms.ChoiceField(
        label=_("操作"), choices=[("", _("全部操作")), *AuditAction.choices], required=False
    )
    date_from = forms.DateField(
        label=_("日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    object_type = forms.ChoiceField(
        label=_("对象类型"), choices=[("", _("全部对象")), *AuditObject.choices], required=False
    )
    q = forms.CharField(label=_("摘要包含"), max_length=100, required=False)
    before = forms.IntegerField(label=_("翻页位置"), min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("actor", "date_from", "date_to", "q"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        for name in ("action", "object_type"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("date_from"), data.get("date_to")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("开始日期不能晚于结束日期"), code="date_range")
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor_name=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            object_type=data.get("object_type") or "",
            text=(data.get("q") or "").strip(),
        )
