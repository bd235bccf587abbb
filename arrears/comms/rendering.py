"""Template text and its variables (pure Python, no ORM).

A template writes variables as ``${name}`` — the notation Chinese SMS providers use for
registered templates, so the same text and parameters go to the provider unchanged.
Only the variables listed in `VARIABLES` exist; each has a safe, already-masked value
(numbers show their last 4 digits only, H10). Asking for a full account, card or ID
number is refused with the masked variable to use instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

_PLACEHOLDER = re.compile(r"\$\{\s*([^}]*?)\s*\}")
# A `$` or brace that is not a well-formed placeholder is almost always a typo.
_STRAY = re.compile(r"\$\{[^}]*$|\$(?!\{)|(?<!\$)\{|\}")


@dataclasses.dataclass(frozen=True, slots=True)
class Variable:
    name: str
    label: Any  # a lazy translation
    example: str
    # The longest value it can take, for the SMS length check of a template.
    max_chars: int


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("customer_name", _("客户姓名"), "张伟", 20),
        Variable("account_last4", _("账号后四位"), "6789", 4),
        Variable("card_last4", _("卡号后四位"), "4321", 4),
        Variable("id_last4", _("证件号后四位"), "123X", 4),
        Variable("overdue_amount", _("逾期金额(元)"), "1,234.56", 16),
        Variable("outstanding_amount", _("剩余欠款(元)"), "12,345.67", 16),
        Variable("instalment_amount", _("本期应还(元)"), "1,050.00", 16),
        Variable("due_date", _("到期日"), "2026年12月1日", 12),
        Variable("days_past_due", _("逾期天数"), "15", 5),
        Variable("creditor_name", _("委托方名称"), "示例银行", 40),
        Variable("product_name", _("产品名称"), "消费贷", 40),
        Variable("hotline", _("客服热线"), "400-000-0000", 20),
        Variable("today", _("今天日期"), "2026年11月23日", 12),
    )
}

# Names someone might reach for that would print a full number: refused with a pointer.
FULL_NUMBER_VARIABLES: dict[str, str] = {
    "id_number": "id_last4",
    "id_no": "id_last4",
    "id_card": "id_last4",
    "account_no": "account_last4",
    "account_number": "account_last4",
    "card_no": "card_last4",
    "card_number": "card_last4",
    "phone": "",
    "mobile": "",
}


@dataclasses.dataclass(frozen=True, slots=True)
class TextProblem:
    """Something wrong with a template's text: a code, the offending part, a hint."""

    code: str  # unknown_variable | full_number_variable | malformed_placeholder | empty
    part: str = ""
    hint: str = ""


def variables_in(text: str) -> list[str]:
    """The variable names a text uses, in first-use order."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def text_problems(text: str) -> list[TextProblem]:
    """What makes the text unusable as a template (empty list when it is fine)."""
    problems: list[TextProblem] = []
    if not text.strip():
        return [TextProblem("empty")]
    for name in variables_in(text):
        if name in VARIABLES:
            continue
        if name in FULL_NUMBER_VARIABLES:
            problems.append(TextProblem("full_number_variable", name, FULL_NUMBER_VARIABLES[name]))
        else:
            problems.append(TextProblem("unknown_variable", name))
    leftover = _PLACEHOLDER.sub("", text)
    stray = _STRAY.search(leftover)
    if stray is not None:
        problems.append(
            TextProblem("malformed_placeholder", leftover[max(stray.start() - 5, 0) : stray.end() + 5])
        )
    return problems


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``${name}`` by its value. Values are plain text (never re-expanded);
    a variable without a value is an error, not an empty string."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(name)
        return str(values[name])

    return _PLACEHOLDER.sub(replace, text)


def sample_values() -> dict[str, str]:
    return {name: variable.example for name, variable in VARIABLES.items()}


def longest_render(text: str) -> int:
    """The length of the text with every variable at its longest value (SMS limit check)."""
    length = len(_PLACEHOLDER.sub("", text))
    for match in _PLACEHOLDER.finditer(text):
        variable = VARIABLES.get(match.group(1))
        length += variable.max_chars if variable else 0
    return length


def yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators: 123456 → "1,234.56"."""
    fen = fen or 0
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def date_text(day: dt.date | None, language: str) -> str:
    if day is None:
        return ""
    if language == "en":
        return day.isoformat()
    return f"{day.year}年{day.month}月{day.day}日"


def last4(value: str | None) -> str:
    digits = "".join(ch for ch in (value or "") if ch.isalnum())
    return digits[-4:]
