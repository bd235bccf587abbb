"""Header rows of creditor files: which column holds what.

Creditors write headers in Chinese or English, in any order, with decorations their own
templates add (a ``*`` for required, a unit hint such as ``本金(元)``). ``resolve_headers``
maps such a row onto the canonical column names of the format page
(shared/formats/creditor-files.md) or refuses the whole file with ``HeaderError``.

Pure: no ORM, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from arrears.portfolio.importing.fields import normalize_text

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

FILE_KINDS = ("accounts", "schedule", "payments")
MAX_CONTACTS = 9
# Seed 003: every account comes with at least two contacts.
REQUIRED_CONTACTS = 2
CONTACT_PARTS = {"name": "姓名", "relation": "关系", "phone": "电话"}
# Without a name and a phone number a contact cannot be called, so these two columns come as a
# pair for every contact present; relation is optional.
CONTACT_REQUIRED_PARTS = ("name", "phone")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    aliases_zh: tuple[str, ...]
    required: bool

    @property
    def label_zh(self) -> str:
        return self.aliases_zh[0]


def contact_column(number: int, part: str) -> str:
    """Canonical name of a contact column, e.g. ``contact_column(2, "phone") == "contact2_phone"``."""
    return f"contact{number}_{part}"


def _contact_specs() -> tuple[ColumnSpec, ...]:
    return tuple(
        ColumnSpec(
            contact_column(number, part),
            (f"联系人{number}{part_zh}",),
            required=number <= REQUIRED_CONTACTS and part in CONTACT_REQUIRED_PARTS,
        )
        for number in range(1, MAX_CONTACTS + 1)
        for part, part_zh in CONTACT_PARTS.items()
    )


_ACCOUNT_NO = ColumnSpec("account_no", ("账号", "合同号", "保单号"), required=True)

COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "accounts": (
        ColumnSpec("creditor", ("委托方",), required=True),
        _ACCOUNT_NO,
        ColumnSpec("product", ("产品",), required=True),
        ColumnSpec("customer_id", ("客户号", "客户编号"), required=True),
        ColumnSpec("name", ("姓名", "客户姓名"), required=True),
        ColumnSpec("id_number", ("身份证号", "身份证号码", "证件号码"), required=True),
        ColumnSpec("mobile", ("手机", "手机号", "手机号码"), required=True),
        ColumnSpec("home_phone", ("家庭电话",), required=False),
        ColumnSpec("work_phone", ("单位电话",), required=False),
        ColumnSpec("email", ("邮箱",), required=False),
        ColumnSpec("home_address", ("家庭地址",), required=False),
        ColumnSpec("work_address", ("单位地址",), required=False),
        ColumnSpec("employer", ("单位名称",), required=False),
        ColumnSpec("principal", ("本金", "贷款金额"), required=True),
        ColumnSpec("open_date", ("放款日", "放款日期"), required=True),
        ColumnSpec("term", ("期数",), required=True),
        ColumnSpec("instalment", ("每期应还",), required=False),
        ColumnSpec("first_due_date", ("首期还款日", "首期还款日期"), required=True),
        *_contact_specs(),
        ColumnSpec("flags", ("特殊标记",), required=False),
    ),
    "schedule": (
        _ACCOUNT_NO,
        ColumnSpec("seq", ("期次",), required=True),
        ColumnSpec("due_date", ("应还日", "应还日期"), required=True),
        # Any one amount column makes a usable schedule (a premium-only insurer schedule has no
        # principal); see AT_LEAST_ONE_OF.
        ColumnSpec("principal_due", ("应还本金",), required=False),
        ColumnSpec("interest_due", ("应还利息",), required=False),
        ColumnSpec("fee_due", ("应还费用",), required=False),
        ColumnSpec("premium_due", ("应还保费",), required=False),
    ),
    "payments": (
        _ACCOUNT_NO,
        ColumnSpec("txn_id", ("流水号", "交易流水号"), required=True),
        ColumnSpec("paid_at", ("还款时间",), required=True),
        ColumnSpec("amount", ("还款金额",), required=True),
        # Informational only: refusing a whole payments file for lacking it would cost more than
        # the column is worth, so rows without it load with an empty channel.
        ColumnSpec("channel", ("渠道", "还款渠道"), required=False),
        ColumnSpec("reversal_of", ("冲正原流水号",), required=False),
    ),
}

# Column groups of which a file needs at least one; when none is present the first is reported.
AT_LEAST_ONE_OF: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounts": (),
    "schedule": (("principal_due", "interest_due", "fee_due", "premium_due"),),
    "payments": (),
}

COLUMN_LABELS_ZH: dict[str, str] = {spec.name: spec.label_zh for specs in COLUMNS.values() for spec in specs}

HEADER_MESSAGES: dict[str, StrPromise] = {
    "missing_columns": _(
        "缺少必需的列：%(columns)s。请在第一行表头中加入这些列（中文或英文列名均可），整个文件未导入"
    ),
    "duplicate_column": _(
        "“%(column)s”列出现了两次（第 %(first_column)s 列“%(first)s”和第 %(second_column)s 列"
        "“%(second)s”），请删除或改名其中一列，整个文件未导入"
    ),
    "no_header": _("第一行（表头）是空的，请把列名放在第一行后重新上传，整个文件未导入"),
}


class HeaderError(ValueError):
    """The header row cannot be used; nothing in the file is loaded."""

    def __init__(self, code: str, **params: str | int | list[str]) -> None:
        super().__init__(code, params)
        self.code = code
        self.params: dict[str, str | int | list[str]] = dict(params)

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


@dataclass(frozen=True)
class HeaderMap:
    index: dict[str, int]
    labels: dict[str, str]
    ignored: list[str]
    contact_numbers: list[int]


# Decorations creditor templates add around a column name: required markers and unit hints.
_REQUIRED_MARKER = re.compile(r"^\*+\s*|\s*\*+$")
_TRAILING_HINT = re.compile(r"^(?P<name>.+?)\s*\([^()]*\)$")
# English names are compared without case, spaces, underscores or dashes: exports write
# ``Account No``, ``account_no`` and ``ACCOUNT-NO`` for the same column.
_KEY_NOISE = re.compile(r"[\s_\-]+")
_CONTACT_NAME = re.compile(r"contact(?P<number>\d+)_")


def header_key(header: str) -> str:
    """The comparison key of a header cell (also used for the column names themselves)."""
    text = normalize_text(header)
    previous = None
    while text != previous:
        previous = text
        text = _REQUIRED_MARKER.sub("", text)
        hint = _TRAILING_HINT.fullmatch(text)
        if hint:
            text = hint["name"]
    return _KEY_NOISE.sub("", text.lower())


def _build_lookup(specs: tuple[ColumnSpec, ...]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for spec in specs:
        for alias in (spec.name, *spec.aliases_zh):
            key = header_key(alias)
            if lookup.setdefault(key, spec.name) != spec.name:
                raise AssertionError(f"header alias {alias!r} is ambiguous")  # a mistake in COLUMNS
    return lookup


_LOOKUPS = {kind: _build_lookup(specs) for kind, specs in COLUMNS.items()}


def column_display_name(name: str) -> str:
    """How a column is named to the user: the Chinese header with the English one beside it."""
    return f"{COLUMN_LABELS_ZH[name]} ({name})"


def column_letter(position: int) -> str:
    """Excel's name for a 0-based column position: 0 -> A, 26 -> AA."""
    letters = ""
    number = position + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _header_text(header: object) -> str:
    if header is None or isinstance(header, str | int | float | Decimal | datetime | date):
        return normalize_text(header)
    return normalize_text(str(header))


def _missing_columns(kind: str, index: dict[str, int], contact_numbers: list[int]) -> list[str]:
    required = [spec.name for spec in COLUMNS[kind] if spec.required]
    required += [
        contact_column(number, part)
        for number in contact_numbers
        for part in CONTACT_REQUIRED_PARTS
        if contact_column(number, part) not in required
    ]
    required += [group[0] for group in AT_LEAST_ONE_OF[kind] if not any(name in index for name in group)]
    return [name for name in required if name not in index]


def resolve_headers(kind: str, headers: Sequence[object]) -> HeaderMap:
    """Map a header row onto canonical column names, or raise ``HeaderError``."""
    if kind not in COLUMNS:
        raise ValueError(f"unknown file kind {kind!r}; expected one of {FILE_KINDS}")
    lookup = _LOOKUPS[kind]
    texts = [_header_text(header) for header in headers]
    if not any(texts):
        raise HeaderError("no_header")
    index: dict[str, int] = {}
    labels: dict[str, str] = {}
    ignored: list[str] = []
    for position, text in enumerate(texts):
        if not text:
            continue
        name = lookup.get(header_key(text))
        if name is None:
            ignored.append(text)
            continue
        if name in index:
            raise HeaderError(
                "duplicate_column",
                column=column_display_name(name),
                first=labels[name],
                first_column=column_letter(index[name]),
                second=text,
                second_column=column_letter(position),
            )
        index[name] = position
        labels[name] = text
    contact_numbers = sorted({int(m["number"]) for name in index if (m := _CONTACT_NAME.match(name))})
    missing = _missing_columns(kind, index, contact_numbers)
    if missing:
        raise HeaderError("missing_columns", columns=[column_display_name(name) for name in missing])
    return HeaderMap(index=index, labels=labels, ignored=ignored, contact_numbers=contact_numbers)
