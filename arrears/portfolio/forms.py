"""Forms that check what a page is given before a selector or service sees it.

Forms validate and convert; they decide nothing about the business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from arrears.portfolio.models import AccountStatus, ImportKind
from arrears.portfolio.selectors import creditor_list, product_list

IMPORT_SUFFIXES = (".csv", ".xlsx")


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.creditor.code} / {obj.name}"


class CreditorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.name}"


class AccountFilterForm(forms.Form):
    """The account list's GET filters; every field is optional and an empty form lists everything."""

    creditor = CreditorChoiceField(
        label=_("委托方"), queryset=creditor_list(), required=False, empty_label=_("全部委托方")
    )
    product = ProductChoiceField(
        label=_("产品"), queryset=product_list(), required=False, empty_label=_("全部产品")
    )
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部状态")), *AccountStatus.choices], required=False
    )
    account_no = forms.CharField(label=_("账号"), max_length=64, required=False, strip=True)
    phone_or_id = forms.CharField(label=_("手机号/证件号"), max_length=300, required=False, strip=True)
    before = forms.IntegerField(label=_("翻页位置"), min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("creditor", "product", "status"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["account_no"].widget.attrs.update(
            {"class": "form-control form-control-sm", "placeholder": _("完整账号"), "autocomplete": "off"}
        )
        self.fields["phone_or_id"].widget.attrs.update(
            {"class": "form-control form-control-sm", "placeholder": _("完整号码"), "autocomplete": "off"}
        )

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as ``account_list`` keyword arguments."""
        data = self.cleaned_data
        return {
            "creditor_id": data["creditor"].pk if data.get("creditor") else None,
            "product_id": data["product"].pk if data.get("product") else None,
            "status": data.get("status") or None,
            "account_no": data.get("account_no") or None,
            "phone_or_id": data.get("phone_or_id") or None,
            "before_id": data.get("before"),
        }


class ImportUploadForm(forms.Form):
    creditor = CreditorChoiceField(label=_("委托方"), queryset=creditor_list(), empty_label=None)
    kind = forms.ChoiceField(label=_("文件类型"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("文件"),
        help_text=_("CSV（UTF-8 或 GBK/GB18030 编码）或 XLSX，第一行为表头"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(IMPORT_SUFFIXES)}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["creditor"].widget.attrs["class"] = "form-select"
        self.fields["kind"].widget.attrs["class"] = "form-select"
        self.fields["file"].widget.attrs["class"] = "form-control"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name or "").suffix.lower()
        if suffix not in IMPORT_SUFFIXES:
            raise forms.ValidationError(
                _("不支持的文件类型 %(suffix)s，请上传 .csv 或 .xlsx 文件"),
                code="unsupported_format",
                params={"suffix": suffix or "—"},
            )
        limit = settings.ARREARS_IMPORT_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                _("文件过大（%(size)s），上限为 %(limit)s"),
                code="too_large",
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            )
        return upload
