"""Forms of the visit pages. They check the input's shape only; whether the visit may happen
is the services' (and the guard's) decision. Times are entered on the debtor's clock: the
views validate and render these forms inside ``timezone.override(<debtor's zone>)``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from arrears.accounts.models import User
from arrears.cases.forms import (
    LOCAL_INPUT_FORMATS,
    ActionCodeField,
    LocalDateTimeInput,
    action_codes_for_logging,
)
from arrears.cases.models import Case
from arrears.comms.visit_selectors import address_choices, eligible_visitors
from arrears.comms.visits import CANCEL_REASON_MAX, DEVICE_MAX, OUTCOME_MAX, PURPOSE_MAX
from arrears.core import masking
from arrears.portfolio.models import ContactPoint

# Service field names → form field names, for showing a service's refusal next to its field.
SERVICE_FIELDS = {"uploaded_file": "file"}


def _local_time_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, input_formats=LOCAL_INPUT_FORMATS, widget=LocalDateTimeInput())


class AddressField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        label = f" · {obj.label}" if obj.label else ""
        return f"{obj.get_owner_role_display()}{label} · {masking.mask_address(obj.value)}"


class VisitorsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.username} · {obj.get_role_display()})"


class ServiceErrors:
    """Show a service's refusal next to the field it names (or above the form)."""

    def add_service_error(self: Any, field: str, message: str) -> None:
        name = SERVICE_FIELDS.get(field, field)
        self.add_error(name if name in self.fields else None, message)


class VisitPlanForm(ServiceErrors, forms.Form):
    address = AddressField(
        label=_("外访地址"),
        queryset=ContactPoint.objects.none(),
        empty_label=_("请选择"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    planned_at = _local_time_field(_("外访时间"))
    purpose = forms.CharField(
        label=_("外访目的"),
        max_length=PURPOSE_MAX,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    visitors = VisitorsField(
        label=_("外访人员（至少 2 人）"),
        queryset=User.objects.none(),
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )
    recording_device = forms.CharField(
        label=_("录音录像设备编号"),
        max_length=DEVICE_MAX,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        address: Any = self.fields["address"]
        address.queryset = address_choices(case=case)
        visitors: Any = self.fields["visitors"]
        visitors.queryset = eligible_visitors()


class VisitRecordForm(ServiceErrors, forms.Form):
    started_at = _local_time_field(_("实际外访时间"))
    action_code = ActionCodeField(
        label=_("行动码"),
        queryset=action_codes_for_logging(),
        to_field_name="code",
        empty_label=_("请选择"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    connected = forms.BooleanField(
        label=_("见到人"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    right_party = forms.BooleanField(
        label=_("见到本人"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    outcome = forms.CharField(
        label=_("外访结果"),
        max_length=OUTCOME_MAX,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    notes = forms.CharField(
        label=_("外访经过"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )
    recording_ref = forms.CharField(
        label=_("录音录像编号"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "started_at": data["started_at"],
            "action_code": data["action_code"].code,
            "outcome": data["outcome"],
            "notes": data.get("notes") or "",
            "recording_ref": data["recording_ref"],
            "connected": bool(data.get("connected")),
            "right_party": bool(data.get("right_party")),
        }


class VisitCancelForm(ServiceErrors, forms.Form):
    reason = forms.CharField(
        label=_("取消原因"),
        max_length=CANCEL_REASON_MAX,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )


class VisitAttachmentForm(ServiceErrors, forms.Form):
    file = forms.FileField(
        label=_("照片或录音"),
        widget=forms.ClearableFileInput(
            attrs={
                "class": "form-control",
                # A hint for the phone's picker only: the server decides by the file's bytes.
                "accept": "image/jpeg,image/png,image/heic,image/webp,audio/*,.heic,.amr,.m4a",
            }
        ),
    )


class VisitDayForm(forms.Form):
    day = forms.DateField(
        label=_("日期"),
        required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d"),
    )
