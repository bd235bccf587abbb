"""Header rows of creditor files: aliases, decorations, and the errors that refuse a file.

Pure functions: no database, no Django settings.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from arrears.portfolio.importing.fields import normalize_text
from arrears.portfolio.importing.headers import (
    COLUMN_LABELS_ZH,
    COLUMNS,
    HEADER_MESSAGES,
    HeaderError,
    HeaderMap,
    column_letter,
    header_key,
    resolve_headers,
)

SAMPLES = Path("/work/shared/formats/samples")

ACCOUNT_HEADERS_ZH = [
    "委托方", "账号", "产品", "客户号", "姓名", "身份证号", "手机", "本金", "放款日", "期数", "首期还款日",
    "联系人1姓名", "联系人1电话", "联系人2姓名", "联系人2电话",
]  # fmt: skip
ACCOUNT_HEADERS_EN = [
    "creditor", "account_no", "product", "customer_id", "name", "id_number", "mobile", "principal",
    "open_date", "term", "first_due_date", "contact1_name", "contact1_phone", "contact2_name",
    "contact2_phone",
]  # fmt: skip
SCHEDULE_HEADERS = ["账号", "期次", "应还日", "应还本金", "应还利息", "应还费用", "应还保费"]
PAYMENT_HEADERS = ["账号", "流水号", "还款时间", "还款金额", "渠道", "冲正原流水号"]


def _error(kind: str, headers: Sequence[object]) -> HeaderError:
    with pytest.raises(HeaderError) as caught:
        resolve_headers(kind, headers)
    return caught.value


def _msgid(code: str) -> str:
    # gettext_lazy proxies keep their message id; reading it needs no Django settings.
    template: Any = HEADER_MESSAGES[code]
    return str(template._args[0])


def _sample_header(name: str) -> list[object]:
    with (SAMPLES / name).open(encoding="utf-8", newline="") as sample:
        return list(next(csv.reader(sample)))


# --- the sample files ----------------------------------------------------------------------


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not mounted")
def test_accounts_sample_header() -> None:
    header_map = resolve_headers("accounts", _sample_header("accounts-sample.csv"))
    assert header_map.index == {
        "creditor": 0, "account_no": 1, "product": 2, "customer_id": 3, "name": 4, "id_number": 5,
        "mobile": 6, "home_phone": 7, "work_phone": 8, "email": 9, "home_address": 10, "employer": 11,
        "principal": 12, "open_date": 13, "term": 14, "first_due_date": 15,
        "contact1_name": 16, "contact1_relation": 17, "contact1_phone": 18,
        "contact2_name": 19, "contact2_relation": 20, "contact2_phone": 21,
    }  # fmt: skip
    assert header_map.labels["principal"] == "本金"
    assert header_map.labels["contact2_phone"] == "联系人2电话"
    assert header_map.ignored == []
    assert header_map.contact_numbers == [1, 2]


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not mounted")
def test_payments_sample_header() -> None:
    header_map = resolve_headers("payments", _sample_header("payments-sample.csv"))
    assert header_map == HeaderMap(
        index={"account_no": 0, "txn_id": 1, "paid_at": 2, "amount": 3, "channel": 4},
        labels={
            "account_no": "账号",
            "txn_id": "流水号",
            "paid_at": "还款时间",
            "amount": "还款金额",
            "channel": "渠道",
        },
        ignored=[],
        contact_numbers=[],
    )


# --- accepted spellings --------------------------------------------------------------------


def test_english_and_chinese_headers_map_to_the_same_columns() -> None:
    chinese = resolve_headers("accounts", list(ACCOUNT_HEADERS_ZH))
    english = resolve_headers("accounts", list(ACCOUNT_HEADERS_EN))
    assert chinese.index == english.index
    assert english.labels["account_no"] == "account_no"


def test_any_column_order() -> None:
    headers: list[object] = list(reversed(PAYMENT_HEADERS))
    header_map = resolve_headers("payments", headers)
    assert header_map.index == {
        "reversal_of": 0, "channel": 1, "amount": 2, "paid_at": 3, "txn_id": 4, "account_no": 5,
    }  # fmt: skip


@pytest.mark.parametrize(
    "header",
    ["account_no", "Account No", "ACCOUNT_NO", "account no", " Account_No ", "account-no", "AccountNo",
     "ＡＣＣＯＵＮＴ＿ＮＯ", "账号", " 账号 ", "\u3000账号\u3000", "\ufeff账号", "合同号", "保单号", "账号*",
     "*账号", "account_no *", "账号(必填)", "账号（必填）", "账号 (必填) *"],
)  # fmt: skip
def test_account_no_spellings(header: str) -> None:
    headers: list[object] = [header, "流水号", "还款时间", "还款金额"]
    header_map = resolve_headers("payments", headers)
    assert header_map.index["account_no"] == 0


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("本金(元)", "principal"),
        ("本金（元）", "principal"),
        (" 本金 ( 元 ) ", "principal"),
        ("贷款金额（元）*", "principal"),
        ("Principal (CNY)", "principal"),
        ("联系人１姓名", "contact1_name"),
        ("Contact 1 Name", "contact1_name"),
        ("CONTACT9_RELATION", "contact9_relation"),
        ("联系人9关系", "contact9_relation"),
        ("首期还款日*", "first_due_date"),
    ],
)
def test_decorated_headers(header: str, column: str) -> None:
    # Replace the plain header of that column, or add the column with the pair it needs.
    plain = dict(zip(ACCOUNT_HEADERS_EN, ACCOUNT_HEADERS_ZH, strict=True))
    headers: list[object] = [h for name, h in plain.items() if name != column]
    if column.startswith("contact9"):
        headers += ["联系人9姓名", "联系人9电话"]
    headers.append(header)
    header_map = resolve_headers("accounts", headers)
    assert header_map.index[column] == len(headers) - 1
    # Labels are what the user wrote, with full-width forms folded and outer spaces trimmed.
    assert header_map.labels[column] == normalize_text(header)


def test_labels_keep_the_users_wording_and_ignored_headers_are_listed() -> None:
    headers: list[object] = [
        " 合同号 ",
        "流水号",
        "还款时间",
        "还款金额(元)",
        "备注",
        None,
        "",
        "Remark",
        2026,
    ]
    header_map = resolve_headers("payments", headers)
    assert header_map.labels == {
        "account_no": "合同号",
        "txn_id": "流水号",
        "paid_at": "还款时间",
        "amount": "还款金额(元)",
    }
    assert header_map.ignored == ["备注", "Remark", "2026"]
    assert header_map.index == {"account_no": 0, "txn_id": 1, "paid_at": 2, "amount": 3}


def test_contact_numbers_are_those_present() -> None:
    headers: list[object] = [
        *ACCOUNT_HEADERS_ZH,
        "联系人5姓名",
        "联系人5电话",
        "联系人3姓名",
        "联系人3关系",
        "联系人3电话",
    ]
    header_map = resolve_headers("accounts", headers)
    assert header_map.contact_numbers == [1, 2, 3, 5]
    assert "contact5_relation" not in header_map.index


def test_contact_columns_beyond_nine_are_ignored() -> None:
    headers: list[object] = [*ACCOUNT_HEADERS_ZH, "联系人10姓名"]
    assert resolve_headers("accounts", headers).ignored == ["联系人10姓名"]


def test_schedule_header() -> None:
    header_map = resolve_headers("schedule", list(SCHEDULE_HEADERS))
    assert header_map.index == {
        "account_no": 0, "seq": 1, "due_date": 2, "principal_due": 3, "interest_due": 4, "fee_due": 5,
        "premium_due": 6,
    }  # fmt: skip


def test_schedule_needs_one_amount_column_of_any_kind() -> None:
    assert resolve_headers("schedule", ["账号", "期次", "应还日", "应还保费"]).index["premium_due"] == 3
    error = _error("schedule", ["账号", "期次", "应还日"])
    assert (error.code, error.params) == ("missing_columns", {"columns": ["应还本金 (principal_due)"]})


def test_payments_channel_and_reversal_are_optional() -> None:
    header_map = resolve_headers("payments", ["account_no", "txn_id", "paid_at", "amount"])
    assert sorted(header_map.index) == ["account_no", "amount", "paid_at", "txn_id"]


# --- refusals ------------------------------------------------------------------------------


def test_missing_required_columns_are_all_named_in_format_order() -> None:
    headers: list[object] = [h for h in ACCOUNT_HEADERS_ZH if h not in ("身份证号", "本金", "联系人2电话")]
    error = _error("accounts", headers)
    assert error.code == "missing_columns"
    assert error.params == {
        "columns": ["身份证号 (id_number)", "本金 (principal)", "联系人2电话 (contact2_phone)"]
    }


def test_accounts_need_two_contacts() -> None:
    headers = ACCOUNT_HEADERS_ZH[:11]
    error = _error("accounts", headers)
    assert error.params == {
        "columns": [
            "联系人1姓名 (contact1_name)",
            "联系人1电话 (contact1_phone)",
            "联系人2姓名 (contact2_name)",
            "联系人2电话 (contact2_phone)",
        ]
    }


def test_contact_relation_column_is_optional_but_a_present_contact_needs_name_and_phone() -> None:
    assert resolve_headers("accounts", list(ACCOUNT_HEADERS_ZH)).contact_numbers == [1, 2]
    error = _error("accounts", [*ACCOUNT_HEADERS_ZH, "联系人3关系", "联系人3电话"])
    assert error.params == {"columns": ["联系人3姓名 (contact3_name)"]}


def test_payments_missing_everything() -> None:
    error = _error("payments", ["备注"])
    assert error.params == {
        "columns": ["账号 (account_no)", "流水号 (txn_id)", "还款时间 (paid_at)", "还款金额 (amount)"]
    }


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        (
            ["账号", "合同号", "流水号", "还款时间", "还款金额"],
            {"column": "账号 (account_no)", "first": "账号", "first_column": "A", "second": "合同号",
             "second_column": "B"},
        ),
        (
            ["Account No", "流水号", "还款时间", "还款金额", "account_no"],
            {"column": "账号 (account_no)", "first": "Account No", "first_column": "A",
             "second": "account_no", "second_column": "E"},
        ),
        (
            ["账号", "流水号", "还款金额", "还款时间", "还款金额(元)"],
            {"column": "还款金额 (amount)", "first": "还款金额", "first_column": "C",
             "second": "还款金额(元)", "second_column": "E"},
        ),
    ],
)  # fmt: skip
def test_duplicate_column(headers: list[object], params: dict[str, str]) -> None:
    error = _error("payments", headers)
    assert (error.code, error.params) == ("duplicate_column", params)


def test_principal_aliases_collide() -> None:
    error = _error("accounts", [*ACCOUNT_HEADERS_ZH, "贷款金额"])
    assert error.code == "duplicate_column"
    assert error.params["column"] == "本金 (principal)"


@pytest.mark.parametrize("headers", [[], [None, None], ["", "  ", "\u3000"]])
def test_no_header(headers: list[object]) -> None:
    error = _error("accounts", headers)
    assert (error.code, error.params) == ("no_header", {})


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown file kind"):
        resolve_headers("invoices", ["账号"])


# --- supporting pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Account No", "accountno"),
        ("account_no*", "accountno"),
        ("本金（元）", "本金"),
        ("* 本金 (元) *", "本金"),
    ],
)
def test_header_key(header: str, key: str) -> None:
    assert header_key(header) == key


@pytest.mark.parametrize(
    ("position", "letter"), [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letter(position: int, letter: str) -> None:
    assert column_letter(position) == letter


def test_column_definitions_follow_the_format_page() -> None:
    required = {kind: [spec.name for spec in specs if spec.required] for kind, specs in COLUMNS.items()}
    assert required == {
        "accounts": [
            "creditor", "account_no", "product", "customer_id", "name", "id_number", "mobile", "principal",
            "open_date", "term", "first_due_date", "contact1_name", "contact1_phone", "contact2_name",
            "contact2_phone",
        ],
        "schedule": ["account_no", "seq", "due_date"],
        "payments": ["account_no", "txn_id", "paid_at", "amount"],
    }  # fmt: skip
    assert len(COLUMNS["accounts"]) == 19 + 9 * 3
    assert COLUMN_LABELS_ZH["account_no"] == "账号"
    assert COLUMN_LABELS_ZH["principal"] == "本金"
    assert COLUMN_LABELS_ZH["contact7_relation"] == "联系人7关系"
    assert COLUMN_LABELS_ZH["reversal_of"] == "冲正原流水号"
    assert COLUMN_LABELS_ZH["premium_due"] == "应还保费"


def test_messages_format_with_the_params_raised() -> None:
    errors = [
        _error("payments", ["备注"]),
        _error("payments", ["账号", "账号"]),
        _error("payments", []),
    ]
    assert {error.code for error in errors} == set(HEADER_MESSAGES)
    for error in errors:
        # Lists are shown joined, as the error report renders them.
        shown = {k: "、".join(v) if isinstance(v, list) else v for k, v in error.params.items()}
        text = _msgid(error.code) % shown
        assert "%(" not in text
        assert re.search(r"请", text)
    missing = errors[0]
    shown = {"columns": "、".join(missing.params["columns"])}  # type: ignore[arg-type]
    assert _msgid("missing_columns") % shown == (
        "缺少必需的列：账号 (account_no)、流水号 (txn_id)、还款时间 (paid_at)、还款金额 (amount)。"
        "请在第一行表头中加入这些列（中文或英文列名均可），整个文件未导入"
    )
