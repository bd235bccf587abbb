from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SecondFactorCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("验证码"),
        regex=r"^\d{6}$",
        error_messages={"invalid": _("请输入验证器应用显示的 6 位数字。")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
