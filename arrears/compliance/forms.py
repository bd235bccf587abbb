"""Forms of the compliance pages: a pack's parameters, and the decision log's filters.

The parameter form only turns text into values (numbers, clock times, word lists); whether
the values are acceptable is decided by `pack_params_update` (via `params_problems`), whose
problem codes the view puts back on the fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from arrears.compliance.packs import PACKS

PACK_NAMES: Mapping[str, Any] = {
    "cn-house": _("本机构规则（种子文件）"),
    "cn-industry-2026": _("行业规则（2026）"),
    "us-regf": _("美国 Regulation F"),
}

PARAM_LABELS: Mapping[str, Any] = {
    "contact_window_start": _("联系时段开始"),
    "contact_window_end": _("联系时段结束（不含）"),
    "max_connected_calls_per_case_day": _("每案每日最多接通次数"),
    "max_outbound_calls_per_case_day": _("每案每日最多呼出次数"),
    "protected_call_interval_days": _("受保护客户通话间隔（天）"),
    "protected_max_visits_per_week": _("受保护客户每周最多外访次数"),
    "protected_max_visitors": _("受保护客户外访最多人数"),
    "third_party_template_classes": _("第三方可用的模板类别"),
    "legal_wording_principal_threshold_fen": _("刑法措辞本金门槛（分）"),
    "criminal_law_words": _("刑法相关措辞"),
    "prohibited_words": _("禁用语"),
    "small_balance_prohibited_words": _("小额欠款禁用语"),
    "small_balance_fen": _("小额欠款门槛（分）"),
    "min_visitors": _("外访最少人数"),
    "waiver_promise_words": _("减免承诺用语"),
    "personal_payment_words": _("私人收款用语"),
    "quiet_hours_start": _("休息时段开始"),
    "quiet_hours_end": _("休息时段结束"),
    "max_connected_calls_per_debtor_day": _("每位客户每日最多接通次数（含委外）"),
    "max_unanswered_attempts_per_number_day": _("每个号码每日最多未接通次数"),
    "unrelated_third_party_template_classes": _("无关第三方可用的模板类别"),
    "authority_names": _("行政或司法机关名称"),
    "max_call_attempts_in_window": _("窗口内最多呼叫次数"),
    "call_attempt_window_days": _("呼叫计数窗口（天）"),
    "conversation_quiet_days": _("通话后不得呼叫的天数"),
    "convenient_window_start": _("方便时段开始"),
    "convenient_window_end": _("方便时段结束（不含）"),
    "opt_out_words": _("退订关键词"),
    "suit_threat_words": _("起诉威胁用语"),
}

PROBLEM_TEXTS: Mapping[str, Any] = {
    "unknown": _("未知参数"),
    "missing": _("缺少此参数"),
    "not_a_number": _("须为不小于 0 的整数"),
    "not_a_time": _("须为 HH:MM 格式的时间"),
    "not_words": _("须为至少一个非空词语的列表"),
    "window_order": _("时段须先开始后结束：结束时间须晚于开始时间（免打扰时段：结束须早于开始）"),
    "unknown_pack": _("未知的策略包"),
    "empty": _("至少选择一个策略包"),
}

# Words may be typed one a line, or separated by commas or the Chinese enumeration comma.
_WORD_SEPARATORS = re.compile(r"[\n\r,，、;；]+")


def param_label(key: str) -> str:
    return str(PARAM_LABELS.get(key, key))


def words_from_text(text: str) -> list[str]:
    return [word.strip() for word in _WORD_SEPARATORS.split(text) if word.strip()]


class PackParamsForm(forms.Form):
    """One field per parameter of the pack, typed after the catalogue's default value."""

    note = forms.CharField(
        label=_("修改说明"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(
        self, *args: Any, pack_id: str, current: Mapping[str, object], read_only: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pack_id = pack_id
        defaults = PACKS[pack_id].params
        for key, default in defaults.items():
            value = current.get(key, default)
            field: forms.Field
            if isinstance(default, int) and not isinstance(default, bool):
                field = forms.IntegerField(
                    initial=value, widget=forms.NumberInput(attrs={"class": "form-control", "min": "0"})
                )
            elif isinstance(default, str):
                field = forms.CharField(
                    initial=value,
                    max_length=5,
                    widget=forms.TextInput(
                        attrs={
                            "class": "form-control font-monospace",
                            "placeholder": "HH:MM",
                            "inputmode": "numeric",
                        }
                    ),
                )
            else:
                words = value if isinstance(value, (list, tuple)) else []
                field = forms.CharField(
                    initial="\n".join(str(word) for word in words),
                    required=False,
                    help_text=_("每行一个词，也可用逗号或顿号分隔"),
                    widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
                )
            field.label = param_label(key)
            field.disabled = read_only
            self.fields[key] = field
        # The note goes last, under the parameters.
        self.order_fields([*defaults, "note"])
        self.fields["note"].disabled = read_only

    def param_fields(self) -> list[forms.BoundField]:
        return [self[key] for key in PACKS[self.pack_id].params]

    def params(self) -> dict[str, object]:
        """The cleaned values as pack parameters (word lists as lists)."""
        defaults = PACKS[self.pack_id].params
        values: dict[str, object] = {}
        for key, default in defaults.items():
            value = self.cleaned_data.get(key)
            if isinstance(default, (tuple, list)):
                values[key] = words_from_text(value or "")
            elif isinstance(default, str):
                values[key] = (value or "").strip()
            else:
                values[key] = value
        return values

    def add_problems(self, problems: list[tuple[str, str]]) -> None:
        for key, code in problems:
            message = PROBLEM_TEXTS.get(code, code)
            self.add_error(key if key in self.fields else None, str(message))


def rule_choices() -> list[tuple[str, str]]:
    return [(rule.id, f"{rule.id}（{pack.id}）") for pack in PACKS.values() for rule in pack.rules]


class DecisionFilterForm(forms.Form):
    OUTCOMES = (("", _("全部结果")), ("allowed", _("允许")), ("denied", _("拒绝")))

    outcome = forms.ChoiceField(label=_("结果"), choices=OUTCOMES, required=False)
    rule = forms.ChoiceField(label=_("规则"), required=False)
    date_from = forms.DateField(
        label=_("日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    case = forms.IntegerField(label=_("案件编号"), min_value=1, required=False)
    before = forms.IntegerField(label=_("翻页位置"), min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule_field: Any = self.fields["rule"]
        rule_field.choices = [("", _("全部规则")), *rule_choices()]
        for name in ("outcome", "rule"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        for name in ("date_from", "date_to", "case"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("date_from"), data.get("date_to")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("开始日期不能晚于结束日期"), code="date_range")
        return data
