"""Cell parsers of the creditor import: every accepted form and every error code.

Pure functions: no database, no Django settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.portfolio.importing.fields import (
    FIELD_MESSAGES,
    FieldError,
    check_formula_error,
    check_length,
    id_check_digit,
    is_blank,
    normalize_text,
    parse_amount_fen,
    parse_date,
    parse_datetime,
    parse_email,
    parse_flags,
    parse_id_number,
    parse_int,
    parse_phones,
    parse_relation,
    parse_text,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)


def _error(parse: Callable[[], object]) -> FieldError:
    with pytest.raises(FieldError) as caught:
        parse()
    return caught.value


def _msgid(code: str) -> str:
    # gettext_lazy proxies keep their message id; reading it needs no Django settings.
    template: Any = FIELD_MESSAGES[code]
    return str(template._args[0])


# --- normalize_text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("  abc  ", "abc"),
        ("ＡＢＣ１２３", "ABC123"),
        ("１，２３４．５０", "1,234.50"),
        ("a；b", "a;b"),
        ("\u3000张三\u3000", "张三"),
        ("\xa0x\xa0y\xa0", "x y"),
        ("\ufeff账号", "账号"),
        (12, "12"),
        (12.0, "12"),
        (13812345678.0, "13812345678"),
        (12.5, "12.5"),
        (Decimal("1234.50"), "1234.50"),
        (date(2026, 11, 23), "2026-11-23"),
        (datetime(2026, 2, 15, 9, 12), "2026-02-15 09:12:00"),
    ],
)
def test_normalize_text(value: Any, expected: str) -> None:
    assert normalize_text(value) == expected


def test_is_blank() -> None:
    assert is_blank(None)
    assert is_blank(" \u3000 ")
    assert not is_blank("0")
    assert not is_blank(0)


@pytest.mark.parametrize(
    "value", ["#DIV/0!", "#REF!", "#VALUE!", "#N/A", "#NAME?", "#NUM!", "#NULL!", " #n/a "]
)
def test_formula_errors_are_refused_by_every_parser(value: str) -> None:
    parsers: list[Callable[[Any], object]] = [
        check_formula_error,
        parse_text,
        parse_date,
        lambda v: parse_datetime(v, SHANGHAI),
        parse_amount_fen,
        parse_int,
        parse_phones,
        parse_id_number,
        parse_email,
        parse_relation,
        parse_flags,
    ]
    for parse in parsers:
        error = _error(lambda parse=parse: parse(value))  # type: ignore[misc]
        assert error.code == "formula_error"
        assert error.params == {"value": value.strip()}


def test_check_length() -> None:
    assert check_length("张三", 2) == "张三"
    error = _error(lambda: check_length("张三丰", 2))
    assert (error.code, error.params) == ("value_too_long", {"length": 3, "max_len": 2})


def test_parse_text() -> None:
    assert parse_text("  北京市 ") == "北京市"
    assert parse_text(" ", required=False) == ""
    assert _error(lambda: parse_text(None)).code == "required"
    assert _error(lambda: parse_text("abc", max_len=2)).code == "value_too_long"


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-23",
        "2026/11/23",
        "20261123",
        "2026-11-23 00:00:00",
        "2026/11/23 00:00",
        "２０２６－１１－２３",
        "2026年11月23日",
        "2026.11.23",
        20261123,
        date(2026, 11, 23),
        datetime(2026, 11, 23, 0, 0),
    ],
)
def test_parse_date_accepts(value: Any) -> None:
    assert parse_date(value) == date(2026, 11, 23)


def test_parse_date_without_leading_zeros() -> None:
    assert parse_date("2026-1-5") == date(2026, 1, 5)
    assert parse_date("2026/1/5") == date(2026, 1, 5)


@pytest.mark.parametrize("value", ["2026-02-30", "2025-02-29", "2026-13-01", "20260230", "2026-00-10"])
def test_parse_date_impossible(value: str) -> None:
    error = _error(lambda: parse_date(value))
    assert (error.code, error.params) == ("impossible_date", {"value": value})


@pytest.mark.parametrize("value", ["23/11/2026", "2026-11/23", "2026-11-23 09:00:00", "next monday", "46349"])
def test_parse_date_bad(value: str) -> None:
    error = _error(lambda: parse_date(value))
    assert (error.code, error.params) == ("bad_date", {"value": value})


def test_parse_date_refuses_an_excel_timestamp_with_a_time() -> None:
    error = _error(lambda: parse_date(datetime(2026, 11, 23, 9, 30)))
    assert (error.code, error.params) == ("bad_date", {"value": "2026-11-23 09:30:00"})


def test_parse_date_empty_is_required() -> None:
    assert _error(lambda: parse_date("  ")).code == "required"
    assert _error(lambda: parse_date(None)).code == "required"


def test_parse_date_leap_day() -> None:
    assert parse_date("2028-02-29") == date(2028, 2, 29)


# --- datetimes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-15 09:12:00",
        "2026-02-15 09:12",
        "2026/02/15 09:12:00",
        "20260215091200",
        "2026-02-15T09:12:00",
        20260215091200,
        datetime(2026, 2, 15, 9, 12),
    ],
)
def test_parse_datetime_accepts(value: Any) -> None:
    assert parse_datetime(value, SHANGHAI) == datetime(2026, 2, 15, 9, 12, tzinfo=SHANGHAI)


@pytest.mark.parametrize("value", ["2026-02-15", "20260215", date(2026, 2, 15)])
def test_parse_datetime_date_only_is_midnight(value: Any) -> None:
    parsed = parse_datetime(value, SHANGHAI)
    assert parsed == datetime(2026, 2, 15, 0, 0, tzinfo=SHANGHAI)
    assert parsed.tzinfo == SHANGHAI


def test_parse_datetime_keeps_aware_values() -> None:
    aware = datetime(2026, 2, 15, 1, 12, tzinfo=UTC)
    assert parse_datetime(aware, SHANGHAI) is aware
    assert parse_datetime("2026-02-15T01:12:00Z", SHANGHAI) == aware
    assert parse_datetime("2026-02-15T09:12:00+08:00", SHANGHAI) == aware


def test_parse_datetime_fraction_of_second() -> None:
    expected = datetime(2026, 2, 15, 9, 12, 3, 500000, tzinfo=SHANGHAI)
    assert parse_datetime("2026-02-15 09:12:03.5", SHANGHAI) == expected


@pytest.mark.parametrize(
    "value", ["2026-02-15 25:00:00", "2026-02-15 09:61", "15/02/2026 09:12", "yesterday"]
)
def test_parse_datetime_bad(value: str) -> None:
    error = _error(lambda: parse_datetime(value, SHANGHAI))
    assert (error.code, error.params) == ("bad_datetime", {"value": value})


def test_parse_datetime_impossible_date() -> None:
    error = _error(lambda: parse_datetime("2026-02-30 09:12:00", SHANGHAI))
    assert (error.code, error.params) == ("impossible_date", {"value": "2026-02-30 09:12:00"})


# --- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("30000.00", 3_000_000),
        ("2722.50", 272_250),
        ("2722.5", 272_250),
        ("1,234.50", 123_450),
        ("1,234,567", 123_456_700),
        ("123", 12_300),
        ("0.01", 1),
        ("1.", 100),
        ("¥100", 10_000),
        ("￥100.5", 10_050),
        ("100元", 10_000),
        ("¥ 1 234.50 元", 123_450),
        ("１，２３４．５０", 123_450),
        ("1234.500", 123_450),
        ("+12", 1_200),
        (100, 10_000),
        (2722.5, 272_250),
        (0.01, 1),
        (8000.0, 800_000),
        (Decimal("1234.56"), 123_456),
        (Decimal("1234.5600"), 123_456),
    ],
)
def test_parse_amount_fen_accepts(value: Any, fen: int) -> None:
    assert parse_amount_fen(value) == fen


def test_parse_amount_fen_is_exact_where_float_is_not() -> None:
    # 0.29 * 100 == 28.999999999999996 in binary floating point.
    assert parse_amount_fen("0.29") == 29
    assert parse_amount_fen(0.29) == 29
    assert parse_amount_fen("12345678901.23") == 1_234_567_890_123


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1,2,3", "bad_thousands"),
        ("12,34", "bad_thousands"),
        ("1234,567", "bad_thousands"),
        ("1,2345.00", "bad_thousands"),
        (",123", "bad_thousands"),
        ("1.234", "too_many_decimals"),
        ("0.001", "too_many_decimals"),
        (0.001, "too_many_decimals"),
        (0.1 + 0.2, "too_many_decimals"),
        (Decimal("1.234"), "too_many_decimals"),
        ("abc", "bad_amount"),
        ("1.2.3", "bad_amount"),
        ("--3", "bad_amount"),
        ("1e3", "bad_amount"),
        ("USD 10", "bad_amount"),
        (float("nan"), "bad_amount"),
        (float("inf"), "bad_amount"),
        (True, "bad_amount"),
        (date(2026, 1, 1), "bad_amount"),
        ("0", "amount_not_positive"),
        ("0.00", "amount_not_positive"),
        ("-0", "amount_not_positive"),
        (0, "amount_not_positive"),
        ("-5", "negative_amount"),
        ("-¥3.50", "negative_amount"),
        (-1.5, "negative_amount"),
        ("", "required"),
        (None, "required"),
        ("#VALUE!", "formula_error"),
    ],
)
def test_parse_amount_fen_errors(value: Any, code: str) -> None:
    assert _error(lambda: parse_amount_fen(value)).code == code


def test_parse_amount_fen_error_params_name_the_value() -> None:
    assert _error(lambda: parse_amount_fen("1,2,3")).params == {"value": "1,2,3"}
    assert _error(lambda: parse_amount_fen(0.1 + 0.2)).params == {"value": "0.30000000000000004"}
    assert _error(lambda: parse_amount_fen("１，２，３")).params == {"value": "1,2,3"}


def test_parse_amount_fen_negative_when_allowed() -> None:
    assert parse_amount_fen("-1,234.50", allow_negative=True) == -123_450
    assert parse_amount_fen("¥-3", allow_negative=True) == -300
    assert parse_amount_fen(-2722.5, allow_negative=True) == -272_250
    assert _error(lambda: parse_amount_fen("0", allow_negative=True)).code == "amount_not_positive"


def test_parse_amount_fen_too_large() -> None:
    error = _error(lambda: parse_amount_fen("9" * 5000))
    assert error.code == "amount_too_large"
    assert error.params["maximum"] == 10**13
    assert len(str(error.params["value"])) == 80
    assert parse_amount_fen("10000000000000") == 10**15
    assert _error(lambda: parse_amount_fen("10000000000000.01")).code == "amount_too_large"
    assert _error(lambda: parse_amount_fen(1e20)).code == "amount_too_large"


# --- integers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), (" 12 ", 12), ("１２", 12), (12, 12), (12.0, 12), ("12.0", 12)]
)
def test_parse_int_accepts(value: Any, expected: int) -> None:
    assert parse_int(value) == expected


@pytest.mark.parametrize("value", ["12.5", 12.5, "twelve", "1e3", True])
def test_parse_int_bad(value: Any) -> None:
    assert _error(lambda: parse_int(value)).code == "bad_integer"


def test_parse_int_range() -> None:
    assert parse_int("0", minimum=0, maximum=5) == 0
    error = _error(lambda: parse_int("0"))
    assert (error.code, error.params) == (
        "integer_out_of_range",
        {"value": "0", "minimum": 1, "maximum": 1000},
    )
    assert _error(lambda: parse_int("1001")).code == "integer_out_of_range"
    assert _error(lambda: parse_int("9" * 5000)).code == "integer_out_of_range"
    assert _error(lambda: parse_int(None)).code == "required"


# --- phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("18260181590", ["18260181590"]),
        ("182 6018 1590", ["18260181590"]),
        ("182-6018-1590", ["18260181590"]),
        ("+86 138 1234 5678", ["13812345678"]),
        ("+8613812345678", ["13812345678"]),
        ("0086 13812345678", ["13812345678"]),
        ("8613812345678", ["13812345678"]),
        ("１３８１２３４５６７８", ["13812345678"]),
        (13812345678, ["13812345678"]),
        (13812345678.0, ["13812345678"]),
        ("010-56000000", ["010-56000000"]),
        ("01056000000", ["010-56000000"]),
        ("(010)56000000", ["010-56000000"]),
        ("（010）56000000", ["010-56000000"]),
        ("021-50001234", ["021-50001234"]),
        ("0755-86001234", ["0755-86001234"]),
        ("0755 8600 1234", ["0755-86001234"]),
        ("0351-1234567", ["0351-1234567"]),
        ("+86 10 5600 0000", ["010-56000000"]),
        ("010-56000000转8001", ["010-56000000"]),
        ("010-56000000-8001", ["010-56000000"]),
        ("0755-86001234 ext 12", ["0755-86001234"]),
        ("", []),
        (None, []),
    ],
)
def test_parse_phones_single_number(value: Any, expected: list[str]) -> None:
    assert parse_phones(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13900000000,13800000000", ["13900000000", "13800000000"]),
        ("13900000000，13800000000", ["13900000000", "13800000000"]),
        ("13900000000;13800000000", ["13900000000", "13800000000"]),
        ("13900000000；13800000000", ["13900000000", "13800000000"]),
        ("13900000000/010-56000000", ["13900000000", "010-56000000"]),
        ("13900000000、13800000000", ["13900000000", "13800000000"]),
        ("13900000000\n13800000000", ["13900000000", "13800000000"]),
        ("13900000000 13800000000", ["13900000000", "13800000000"]),
        ("13900000000, 139 0000 0000,+8613900000000", ["13900000000"]),
        ("010-56000000; 01056000000 ,", ["010-56000000"]),
    ],
)
def test_parse_phones_several_numbers(value: str, expected: list[str]) -> None:
    assert parse_phones(value) == expected


@pytest.mark.parametrize(
    ("value", "bad_part"),
    [
        ("123", "123"),
        ("１２３４５６７８９０１", "12345678901"),
        ("56000000", "56000000"),
        ("1381234567", "1381234567"),
        ("138123456789", "138123456789"),
        ("14012345678", "14012345678"),
        ("011-56000000", "011-56000000"),
        ("0755-860012", "0755-860012"),
        ("13812345678转12", "13812345678转12"),
        ("+1 415 555 0100", "+1 415 555 0100"),
        ("无", "无"),
        ("13812345678,123", "123"),
        ("13812345678 123", "123"),
    ],
)
def test_parse_phones_bad(value: str, bad_part: str) -> None:
    error = _error(lambda: parse_phones(value))
    assert (error.code, error.params) == ("bad_phone", {"value": bad_part})


def test_parse_phones_mobile_only() -> None:
    assert parse_phones("+86 138 1234 5678, 13900000000", mobile_only=True) == ["13812345678", "13900000000"]
    error = _error(lambda: parse_phones("13812345678, 010-56000000", mobile_only=True))
    assert (error.code, error.params) == ("bad_mobile", {"value": "010-56000000"})
    assert _error(lambda: parse_phones("123", mobile_only=True)).code == "bad_mobile"


def test_parse_phones_sample_file_numbers() -> None:
    sample = "18260181590,15016613186,13913909960,15082462819,18821993518,13909378657,19543231948"
    assert parse_phones(sample, mobile_only=True) == sample.split(",")


# --- identity numbers ----------------------------------------------------------------------


def _reference_check_digit(body: str) -> str:
    # ISO 7064 MOD 11-2 written from the standard's formula, independent of the module's table.
    total = sum(int(digit) * pow(2, 17 - position, 11) for position, digit in enumerate(body))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110105198803141237", "110105198803141237"),
        ("440304199208072340", "440304199208072340"),
        ("310115197501223451", "310115197501223451"),
        (" 110105 19880314 1237 ", "110105198803141237"),
        ("１１０１０５１９８８０３１４１２３７", "110105198803141237"),
        ("'110105198803141237", "110105198803141237"),
        (110105198803141237, "110105198803141237"),
        (Decimal("110105198803141237"), "110105198803141237"),
        ("11010519900101007x", "11010519900101007X"),
        ("11010519900101007X", "11010519900101007X"),
    ],
)
def test_parse_id_number_accepts(value: Any, expected: str) -> None:
    assert parse_id_number(value, today=TODAY) == expected


def test_reference_check_digits_of_the_examples() -> None:
    assert _reference_check_digit("11010519880314123") == "7"
    assert _reference_check_digit("11010519900101007") == "X"
    assert id_check_digit("11010519900101007") == "X"


def test_parse_id_number_upgrades_15_digit_legacy_ids() -> None:
    assert parse_id_number("110105880314123", today=TODAY) == "110105198803141237"
    assert parse_id_number(110105880314123, today=TODAY) == "110105198803141237"
    assert parse_id_number("440304920807234", today=TODAY) == "440304199208072340"


def test_parse_id_number_wrong_check_digit_names_the_expected_one() -> None:
    error = _error(lambda: parse_id_number("110105198803141236", today=TODAY))
    assert error.code == "bad_id_check_digit"
    assert error.params == {"value": "110105198803141236", "expected": "7", "actual": "6"}
    error = _error(lambda: parse_id_number("11010519880314123x", today=TODAY))
    assert error.params == {"value": "11010519880314123X", "expected": "7", "actual": "X"}


@pytest.mark.parametrize(
    ("value", "code", "params"),
    [
        ("1101051988031412", "bad_id_length", {"value": "1101051988031412", "length": 16}),
        ("1101051988031412377", "bad_id_length", {"value": "1101051988031412377", "length": 19}),
        ("1101051988031412X", "bad_id_length", {"value": "1101051988031412X", "length": 17}),
        ("11010519880314123A", "bad_id_chars", {"value": "11010519880314123A"}),
        ("1101051988X3141237", "bad_id_chars", {"value": "1101051988X3141237"}),
        ("11010588031412X", "bad_id_chars", {"value": "11010588031412X"}),
        ("张三", "bad_id_chars", {"value": "张三"}),
        (
            "110105190002301234",
            "bad_id_birth_date",
            {"value": "110105190002301234", "birth_date": "19000230"},
        ),
        (
            "110105189912311234",
            "bad_id_birth_date",
            {"value": "110105189912311234", "birth_date": "18991231"},
        ),
        (
            "110105202612011234",
            "bad_id_birth_date",
            {"value": "110105202612011234", "birth_date": "20261201"},
        ),
        ("110105881314123", "bad_id_birth_date", {"value": "110105881314123", "birth_date": "19881314"}),
        (1.10105198803141e17, "id_lost_digits", {"value": "1.10105198803141e+17"}),
        ("1.10105198803141E+17", "id_lost_digits", {"value": "1.10105198803141E+17"}),
        ("1.10105198803141e17", "id_lost_digits", {"value": "1.10105198803141e17"}),
        (Decimal("1.10105198803141E+17"), "id_lost_digits", {"value": "1.10105198803141E+17"}),
        ("", "required", {}),
    ],
)
def test_parse_id_number_errors(value: Any, code: str, params: dict[str, object]) -> None:
    error = _error(lambda: parse_id_number(value, today=TODAY))
    assert (error.code, error.params) == (code, params)


def test_digits_of_other_scripts_are_not_digits() -> None:
    # NFKC keeps Arabic-Indic digits, and int() would read them; no creditor file means them.
    assert _error(lambda: parse_id_number("١١٠١٠٥١٩٨٨٠٣١٤١٢٣٧", today=TODAY)).code == "bad_id_chars"
    assert _error(lambda: parse_amount_fen("١٢٣")).code == "bad_amount"
    assert _error(lambda: parse_phones("١٣٨١٢٣٤٥٦٧٨")).code == "bad_phone"
    assert _error(lambda: parse_date("٢٠٢٦-١١-٢٣")).code == "bad_date"


def test_parse_id_number_birth_date_bounds() -> None:
    body_first_day = "110105190001011"
    first_day = body_first_day + "23"
    first_day += _reference_check_digit(first_day)
    assert parse_id_number(first_day, today=TODAY) == first_day
    born_today = "11010520261123123"
    born_today += _reference_check_digit(born_today)
    assert parse_id_number(born_today, today=TODAY) == born_today
    assert _error(lambda: parse_id_number(born_today, today=date(2026, 11, 22))).code == "bad_id_birth_date"


_ID_BODIES = st.builds(
    lambda region, born, sequence: f"{region}{born:%Y%m%d}{sequence}",
    st.from_regex(re.compile(r"[1-9][0-9]{5}"), fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.from_regex(re.compile(r"[0-9]{3}"), fullmatch=True),
)


@given(body=_ID_BODIES)
def test_property_only_the_computed_check_digit_is_accepted(body: str) -> None:
    expected = _reference_check_digit(body)
    assert parse_id_number(body + expected, today=TODAY) == body + expected
    for wrong in "0123456789X":
        if wrong == expected:
            continue
        error = _error(lambda wrong=wrong: parse_id_number(body + wrong, today=TODAY))  # type: ignore[misc]
        assert (error.code, error.params["expected"], error.params["actual"]) == (
            "bad_id_check_digit",
            expected,
            wrong,
        )


# --- e-mail --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhangsan@example.com", "zhangsan@example.com"),
        ("Zhang.San@Example.COM", "Zhang.San@example.com"),
        (" li_si+loan@mail.example.com.cn ", "li_si+loan@mail.example.com.cn"),
        ("wang＠ｅｘａｍｐｌｅ．ｃｏｍ", "wang@example.com"),
    ],
)
def test_parse_email_accepts(value: str, expected: str) -> None:
    assert parse_email(value) == expected


@pytest.mark.parametrize(
    "value",
    ["zhangsan", "a@b", "a@@example.com", "a b@example.com", "a@exa mple.com", "a@example.c",
     ".a@example.com", "a..b@example.com", "a@-example.com", "张三@example.com",
     "a@example.com;b@example.com"],
)  # fmt: skip
def test_parse_email_bad(value: str) -> None:
    error = _error(lambda: parse_email(value))
    assert (error.code, error.params) == ("bad_email", {"value": value})


# --- relations and flags -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "relation"),
    [
        (("配偶", "夫妻", "丈夫", "妻子", "老公", "老婆", "spouse", "Spouse"), "spouse"),
        (("父母", "父亲", "母亲", "父", "母", "PARENT"), "parent"),
        (("兄弟姐妹", "兄弟", "姐妹", "哥哥", "姐姐", "弟弟", "妹妹", "sibling"), "sibling"),
        (("亲属", "亲戚", "子女", "儿子", "女儿", "relative"), "relative"),
        (("同事", "colleague"), "colleague"),
        (("朋友", "friend", " 朋友 "), "friend"),
        (("担保人", "guarantor"), "guarantor"),
        (("其他", "other", "Other"), "other"),
    ],
)
def test_parse_relation(words: tuple[str, ...], relation: str) -> None:
    assert [parse_relation(word) for word in words] == [relation] * len(words)


def test_parse_relation_unknown() -> None:
    error = _error(lambda: parse_relation("邻居"))
    assert (error.code, error.params) == ("bad_relation", {"value": "邻居"})
    assert _error(lambda: parse_relation("")).code == "required"


@pytest.mark.parametrize(
    ("value", "flags"),
    [
        ("禁催", ["do_not_collect"]),
        ("do_not_collect", ["do_not_collect"]),
        ("困难，死亡", ["hardship", "deceased"]),
        ("HARDSHIP; 禁催 / deceased", ["hardship", "do_not_collect", "deceased"]),
        ("禁催、禁催 do_not_collect", ["do_not_collect"]),
        ("", []),
        (None, []),
    ],
)
def test_parse_flags(value: Any, flags: list[str]) -> None:
    assert parse_flags(value) == flags


def test_parse_flags_unknown() -> None:
    error = _error(lambda: parse_flags("禁催,投诉"))
    assert (error.code, error.params) == ("bad_flag", {"value": "投诉"})


# --- messages ------------------------------------------------------------------------------

_ONE_ERROR_PER_CODE: list[Callable[[], object]] = [
    lambda: parse_text(""),
    lambda: parse_text("#N/A"),
    lambda: parse_date("x"),
    lambda: parse_date("2026-02-30"),
    lambda: parse_datetime("x", SHANGHAI),
    lambda: parse_amount_fen("x"),
    lambda: parse_amount_fen("1.234"),
    lambda: parse_amount_fen("0"),
    lambda: parse_amount_fen("-1"),
    lambda: parse_amount_fen("1" * 30),
    lambda: parse_amount_fen("1,2,3"),
    lambda: parse_int("x"),
    lambda: parse_int("0"),
    lambda: parse_phones("123"),
    lambda: parse_phones("010-56000000", mobile_only=True),
    lambda: parse_id_number("123"),
    lambda: parse_id_number("12345678901234567A"),
    lambda: parse_id_number("110105190002301234"),
    lambda: parse_id_number("110105198803141236"),
    lambda: parse_id_number(1.10105198803141e17),
    lambda: parse_email("x"),
    lambda: parse_relation("x"),
    lambda: parse_flags("x"),
    lambda: check_length("abc", 2),
]


def test_every_message_code_is_raised_and_formats_with_its_params() -> None:
    raised = {}
    for parse in _ONE_ERROR_PER_CODE:
        error = _error(parse)
        raised[error.code] = error.params
        assert "%(" not in _msgid(error.code) % error.params
    assert set(raised) == set(FIELD_MESSAGES)


def test_messages_are_chinese_and_say_what_to_do() -> None:
    for code in FIELD_MESSAGES:
        text = _msgid(code)
        assert re.search(r"[\u4e00-\u9fff]", text), code
        assert re.search(r"请|应", text), code


def test_message_for_wrong_check_digit() -> None:
    error = _error(lambda: parse_id_number("110105198803141236", today=TODAY))
    assert (
        _msgid(error.code) % error.params
        == "身份证号校验位错误（最后一位是 6，应为 7），请核对身份证号是否抄错"
    )


def test_field_error_params_are_json_serialisable() -> None:
    import json

    error = _error(lambda: parse_int("0"))
    assert json.loads(json.dumps(error.params)) == {"value": "0", "minimum": 1, "maximum": 1000}
    assert isinstance(error, ValueError)
    assert str(error) == "integer_out_of_range {'value': '0', 'minimum': 1, 'maximum': 1000}"
