"""Parsers for single cells of a creditor file.

Each parser takes a cell as it comes out of the CSV reader (text) or openpyxl (text, number,
date), returns a clean Python value, or raises ``FieldError`` with a stable code and
JSON-serialisable parameters. The row loader stores code + parameters and renders the message
in the reader's language later, so nothing here formats user-facing text.

Scalar parsers raise ``required`` for an empty cell; callers check ``is_blank`` first for
optional columns. List parsers (phones, flags) return an empty list instead.

Pure: no ORM, no settings. ``gettext_lazy`` is lazy, so importing this module needs no Django
configuration.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import phonenumbers
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

CellValue = str | int | float | Decimal | datetime | date | None


class FieldError(ValueError):
    """A cell value we cannot accept; ``code`` keys ``FIELD_MESSAGES``, ``params`` fill it in."""

    def __init__(self, code: str, **params: str | int) -> None:
        shown = {key: _shorten(param) if isinstance(param, str) else param for key, param in params.items()}
        super().__init__(code, shown)
        self.code = code
        self.params: dict[str, str | int] = shown

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


# Error reports quote the offending value; a runaway cell (a pasted paragraph, 5,000 digits)
# should not turn into a runaway report.
_MAX_SHOWN_CHARS = 80


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN_CHARS else text[: _MAX_SHOWN_CHARS - 1] + "…"


# Every template says what is wrong and what the user should do about it.
FIELD_MESSAGES: dict[str, StrPromise] = {
    "required": _("此项为必填，请补充后重新导入"),
    "formula_error": _("单元格是 Excel 公式错误值 %(value)s，请修正公式或改为填写数值后重新导入"),
    "bad_date": _("日期“%(value)s”无法识别，请写成 2026-11-23、2026/11/23 或 20261123"),
    "impossible_date": _("日期“%(value)s”不存在（如 2 月 30 日、13 月），请核对年月日"),
    "bad_datetime": _(
        "时间“%(value)s”无法识别，请写成 2026-02-15 09:12:00 或 20260215091200（时分秒须有效）"
    ),
    "bad_amount": _("金额“%(value)s”无法识别，请只填写数字（单位元），如 1234.50 或 1,234.50"),
    "too_many_decimals": _(
        "金额“%(value)s”超过两位小数，请保留到分（两位小数）；Excel 公式结果请用 ROUND(…, 2)"
    ),
    "amount_not_positive": _("金额不能为 0（填写的是“%(value)s”），请填写大于 0 的金额"),
    "negative_amount": _("金额“%(value)s”为负数，此列不接受负数，请填写大于 0 的金额"),
    "amount_too_large": _("金额“%(value)s”超出上限 %(maximum)s 元，请核对是否多写了位数或单位有误"),
    "bad_thousands": _(
        "金额“%(value)s”的千分位逗号位置不对，应每三位一个逗号（如 1,234,567.50），或去掉逗号"
    ),
    "bad_integer": _("“%(value)s”不是整数，请填写整数"),
    "integer_out_of_range": _("数值 %(value)s 超出范围，请填写 %(minimum)s 到 %(maximum)s 之间的整数"),
    "bad_phone": _("电话号码“%(value)s”无效：手机号应为 11 位，固定电话须带区号（如 010-56000000），请核对"),
    "bad_mobile": _("“%(value)s”不是有效的手机号码（11 位，如 13812345678），此列只接受手机号，请核对"),
    "bad_id_length": _("身份证号“%(value)s”长度为 %(length)s 位，应为 18 位（或旧版 15 位），请核对"),
    "bad_id_chars": _("身份证号“%(value)s”含有无效字符：只能是数字，最后一位可以是 X，请核对"),
    "bad_id_birth_date": _("身份证号中的出生日期 %(birth_date)s 无效或不在合理范围内，请核对身份证号"),
    "bad_id_check_digit": _(
        "身份证号校验位错误（最后一位是 %(actual)s，应为 %(expected)s），请核对身份证号是否抄错"
    ),
    "id_lost_digits": _(
        "身份证号“%(value)s”已被 Excel 当成数字、丢失了后几位，"
        "请把该列设置为“文本”格式后重新填写身份证号并导出"
    ),
    "bad_email": _("邮箱“%(value)s”格式不正确，应类似 name@example.com，请核对"),
    "bad_relation": _(
        "联系人关系“%(value)s”无法识别，请填写：配偶、父母、兄弟姐妹、亲属、同事、朋友、担保人或其他"
    ),
    "bad_flag": _("特殊标记“%(value)s”无法识别，请填写：禁催、困难、死亡（多个用逗号分隔）"),
    "value_too_long": _("内容过长（%(length)s 个字符），最多 %(max_len)s 个字符，请精简后重新导入"),
}

# Excel writes these in place of a value when a formula fails; openpyxl hands them over as text.
EXCEL_ERROR_VALUES = frozenset(
    {
        "#DIV/0!",
        "#REF!",
        "#VALUE!",
        "#N/A",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)

# Characters NFKC leaves alone but which break parsing: BOM and zero-width spaces come from
# copy-paste and from editors that write a BOM into every cell.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_SPACES = {0x3000: " ", 0x00A0: " "}
_CLEANUP = {**_INVISIBLE, **_SPACES}
_ODD_CHARACTERS = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u3000\u00a0]")


# --- text ----------------------------------------------------------------------------------


def normalize_text(value: CellValue) -> str:
    """Cell as clean text: full-width forms folded to ASCII, odd spaces made plain, trimmed."""
    if type(value) is str:
        # Text is the common case by far; it skips the type checks below.
        return _normalize_str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a float; 12.0 in a cell was typed as 12.
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return _normalize_str(str(value))


def _normalize_str(text: str) -> str:
    if text.isascii():
        # ASCII needs no folding: this fast path keeps a 1M-row import from spending its time here.
        return text.strip()
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if _ODD_CHARACTERS.search(text):
        text = text.translate(_CLEANUP)
    return text.strip()


def is_blank(value: CellValue) -> bool:
    """True for a cell with nothing in it (None, empty text, only spaces)."""
    return normalize_text(value) == ""


def check_formula_error(value: CellValue) -> None:
    """Refuse Excel error values before any parser tries to read them as data."""
    # Every Excel error value starts with "#" (or its full-width form before normalising).
    if isinstance(value, str) and ("#" in value or "＃" in value):
        text = normalize_text(value)
        if text.upper() in EXCEL_ERROR_VALUES:
            raise FieldError("formula_error", value=text)


def check_length(text: str, max_len: int) -> str:
    """``text`` unchanged if it fits a column of ``max_len`` characters."""
    if len(text) > max_len:
        raise FieldError("value_too_long", length=len(text), max_len=max_len)
    return text


def parse_text(value: CellValue, *, max_len: int | None = None, required: bool = True) -> str:
    """Free text (names, addresses): normalised, length-checked; empty is ``""`` if not required."""
    check_formula_error(value)
    text = normalize_text(value)
    if not text:
        if required:
            raise FieldError("required")
        return ""
    return check_length(text, max_len) if max_len is not None else text


def _required_text(value: CellValue) -> str:
    check_formula_error(value)
    text = normalize_text(value)
    if not text:
        raise FieldError("required")
    return text


# --- dates ---------------------------------------------------------------------------------

# Patterns spell digits [0-9]: a bare \d also matches other scripts' digits, which NFKC keeps
# and int() would happily read.
_DATE_SEPARATED = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})")
_DATE_CHINESE = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?")
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
# Exports of date columns from databases often carry a midnight time; any other time means the
# column holds timestamps and the user should decide which day is meant.
_MIDNIGHT_SUFFIX = re.compile(r"(?:[ T]00:00(?::00(?:\.0+)?)?)$")


def _make_date(year: str, month: str, day: str, original: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise FieldError("impossible_date", value=original) from None


def _date_from_text(text: str, original: str) -> date | None:
    for pattern in (_DATE_SEPARATED, _DATE_CHINESE, _DATE_COMPACT):
        match = pattern.fullmatch(text)
        if match:
            groups = match.groups()
            year, month, day = (groups[0], groups[2], groups[3]) if len(groups) == 4 else groups
            return _make_date(year, month, day, original)
    return None


def parse_date(value: CellValue) -> date:
    """A calendar date from ``2026-11-23``, ``2026/11/23``, ``20261123`` or an Excel date cell."""
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise FieldError("bad_date", value=normalize_text(value))
        return value.date()
    if isinstance(value, date):
        return value
    text = _required_text(value)
    parsed = _date_from_text(_MIDNIGHT_SUFFIX.sub("", text), text)
    if parsed is None:
        raise FieldError("bad_date", value=text)
    return parsed


_DATETIME_SEPARATED = re.compile(
    r"(?P<year>[0-9]{4})(?P<sep>[-/])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
    r"(?:[ T](?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DATETIME_COMPACT = re.compile(
    r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})"
    r"(?:(?P<hour>[0-9]{2})(?P<minute>[0-9]{2})(?P<second>[0-9]{2}))?"
)


def _datetime_from_match(match: re.Match[str], tz: ZoneInfo, original: str) -> datetime:
    parts = match.groupdict()
    day = _make_date(parts["year"], parts["month"], parts["day"], original)
    fraction = (parts.get("fraction") or "").ljust(6, "0")
    try:
        clock = time(
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
        )
    except ValueError:
        raise FieldError("bad_datetime", value=original) from None
    offset = parts.get("offset")
    if offset:
        # An explicit offset wins over the file's zone: the exporter told us what it meant.
        zone = datetime.fromisoformat("2000-01-01T00:00:00" + offset.replace("Z", "+00:00")).tzinfo
        return datetime.combine(day, clock, tzinfo=zone)
    return datetime.combine(day, clock, tzinfo=tz)


def parse_datetime(value: CellValue, tz: ZoneInfo) -> datetime:
    """An aware timestamp; naive text and naive Excel cells are read in ``tz``."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=tz)
    text = _required_text(value)
    for pattern in (_DATETIME_SEPARATED, _DATETIME_COMPACT):
        match = pattern.fullmatch(text)
        if match:
            return _datetime_from_match(match, tz, text)
    raise FieldError("bad_datetime", value=text)


# --- money ---------------------------------------------------------------------------------

# 10 trillion yuan: far beyond any real account, and sums of millions of rows still fit BIGINT.
MAX_AMOUNT_FEN = 10**15
# Longer digit runs are rejected before int() sees them (Python refuses > 4300 digits anyway).
_MAX_AMOUNT_DIGITS = 24

_AMOUNT_SHAPE = re.compile(
    r"(?P<sign1>[-+])?¥?(?P<sign2>[-+])?(?P<integer>[0-9,]+)(?:\.(?P<fraction>[0-9]*))?元?"
)
_GROUPED_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


def _amount_from_text(text: str) -> int:
    compact = re.sub(r"\s+", "", text)
    match = _AMOUNT_SHAPE.fullmatch(compact)
    if match is None or (match["sign1"] and match["sign2"]):
        raise FieldError("bad_amount", value=text)
    integer = match["integer"]
    if len(integer) > _MAX_AMOUNT_DIGITS:
        raise FieldError("amount_too_large", value=text, maximum=MAX_AMOUNT_FEN // 100)
    if "," in integer:
        if not _GROUPED_THOUSANDS.fullmatch(integer):
            raise FieldError("bad_thousands", value=text)
        integer = integer.replace(",", "")
    fraction = match["fraction"] or ""
    # Trailing zeros (1234.500) carry no value, so they are not "too many decimals".
    if len(fraction.rstrip("0")) > 2:
        raise FieldError("too_many_decimals", value=text)
    fen = int(integer) * 100 + int(fraction[:2].ljust(2, "0"))
    return -fen if "-" in (match["sign1"], match["sign2"]) else fen


def _amount_from_number(value: int | float | Decimal, shown: str) -> int:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError("bad_amount", value=shown)
        # repr gives the shortest text that round-trips, i.e. what Excel displayed, not the
        # binary expansion Decimal(float) would give.
        number = Decimal(repr(value))
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise FieldError("bad_amount", value=shown)
    if abs(number) > Decimal(MAX_AMOUNT_FEN) / 100:
        raise FieldError("amount_too_large", value=shown, maximum=MAX_AMOUNT_FEN // 100)
    fen = number * 100
    if fen != fen.to_integral_value():
        raise FieldError("too_many_decimals", value=shown)
    return int(fen)


def parse_amount_fen(value: CellValue, *, allow_negative: bool = False) -> int:
    """A yuan amount as exact integer fen. Zero is never a valid amount."""
    if isinstance(value, bool | datetime | date):
        raise FieldError("bad_amount", value=normalize_text(value))
    if isinstance(value, int | float | Decimal):
        shown = normalize_text(value)
        fen = _amount_from_number(value, shown)
    else:
        shown = _required_text(value)
        fen = _amount_from_text(shown)
    if abs(fen) > MAX_AMOUNT_FEN:
        raise FieldError("amount_too_large", value=shown, maximum=MAX_AMOUNT_FEN // 100)
    if fen == 0:
        raise FieldError("amount_not_positive", value=shown)
    if fen < 0 and not allow_negative:
        raise FieldError("negative_amount", value=shown)
    return fen


# --- integers ------------------------------------------------------------------------------

_INTEGER_TEXT = re.compile(r"[-+]?[0-9]+(?:\.0+)?")
_MAX_INTEGER_CHARS = 40


def parse_int(value: CellValue, *, minimum: int = 1, maximum: int = 1000) -> int:
    """A whole number within [minimum, maximum] (terms, instalment numbers)."""
    if isinstance(value, bool | datetime | date):
        raise FieldError("bad_integer", value=normalize_text(value))
    text = _required_text(value)
    # A non-integral float or Decimal normalises to text with a fraction and fails the pattern.
    compact = text.replace(" ", "")
    if not _INTEGER_TEXT.fullmatch(compact):
        raise FieldError("bad_integer", value=text)
    if len(compact) > _MAX_INTEGER_CHARS:
        raise FieldError("integer_out_of_range", value=text, minimum=minimum, maximum=maximum)
    number = int(compact.split(".")[0])
    if not minimum <= number <= maximum:
        raise FieldError("integer_out_of_range", value=text, minimum=minimum, maximum=maximum)
    return number


# --- phones --------------------------------------------------------------------------------

# Several numbers share one cell separated by punctuation or line breaks (Alt+Enter in Excel).
# Spaces are not separators here because people group digits with them ("0755 8600 1234");
# space-separated lists are handled as a fallback in ``_parse_phone_part``.
_PHONE_SEPARATORS = re.compile(r"[,;/、\r\n]+")
_PHONE_EXTENSION = re.compile(r"(?:转|分机|ext\.?)(?P<extension>[0-9]{1,6})", re.IGNORECASE)
_PHONE_NOISE = re.compile(r"[-.()]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_KIND = "mobile"
_LANDLINE_KIND = "landline"


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit and a bare \d also accept other scripts' digits (٣, ३); only 0-9 are phone digits.
    return text.isascii() and text.isdigit()


def _valid_cn_number(digits: str) -> bool:
    # phonenumbers' CN patterns decide validity from the length and the leading digits only
    # (at most 5 for mobiles, e.g. 1740[0-5]; the area code plus 4 local digits for landlines),
    # so results are memoised on that shape: parsing every number of a 1M-row file costs minutes.
    shape = (digits[: 5 if digits.startswith("1") else 8], len(digits))
    valid = _VALID_SHAPES.get(shape)
    if valid is None:
        try:
            valid = bool(phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN")))
        except phonenumbers.NumberParseException:
            valid = False
        if len(_VALID_SHAPES) < 200_000:
            _VALID_SHAPES[shape] = valid
    return valid


_VALID_SHAPES: dict[tuple[str, int], bool] = {}


def _as_mobile(digits: str) -> str | None:
    if _MOBILE.fullmatch(digits) and _valid_cn_number(digits):
        return digits
    return None


def _as_landline(digits: str) -> str | None:
    # Beijing (010) and the 02x cities have 3-digit area codes; every other area code is
    # 0 + 3 digits starting 3-9. 01x other than 010 and 00 (international) are not areas.
    if digits.startswith(("010", "02")):
        area = digits[:3]
    elif re.match(r"0[3-9][0-9][0-9]", digits):
        area = digits[:4]
    else:
        return None
    local = digits[len(area) :]
    if not (7 <= len(local) <= 8 and _is_ascii_digits(local)) or not _valid_cn_number(digits):
        return None
    return f"{area}-{local}"


def _classify_phone(digits: str) -> tuple[str, str] | None:
    """(kind, normalised number) for a run of digits with an optional country prefix."""
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            mobile = _as_mobile(rest)
            if mobile:
                return _MOBILE_KIND, mobile
            # International form drops the trunk 0 of the area code (+86 10 5600 0000).
            landline = _as_landline(rest if rest.startswith("0") else "0" + rest)
            return (_LANDLINE_KIND, landline) if landline else None
    if not _is_ascii_digits(digits):
        return None
    mobile = _as_mobile(digits) or (_as_mobile(digits[2:]) if digits.startswith("86") else None)
    if mobile:
        return _MOBILE_KIND, mobile
    landline = _as_landline(digits) if digits.startswith("0") else None
    return (_LANDLINE_KIND, landline) if landline else None


def _parse_single_phone(text: str, original: str, *, mobile_only: bool) -> str:
    error_code = "bad_mobile" if mobile_only else "bad_phone"
    main = text
    extension = _PHONE_EXTENSION.search(text)
    if extension and extension.end() == len(text):
        main = text[: extension.start()]
    result = _classify_phone(_PHONE_NOISE.sub("", main))
    if result is None and extension is None and "-" in main:
        # 010-56000000-8001: the last dash-separated group is an extension.
        head, _dash, tail = main.rpartition("-")
        if _is_ascii_digits(tail) and len(tail) <= 6:
            landline = _classify_phone(_PHONE_NOISE.sub("", head))
            if landline and landline[0] == _LANDLINE_KIND:
                result = landline
    if result is None or (extension is not None and result[0] == _MOBILE_KIND):
        raise FieldError(error_code, value=original)
    kind, number = result
    if mobile_only and kind != _MOBILE_KIND:
        raise FieldError("bad_mobile", value=original)
    # The extension is dropped: numbers are stored as AREA-LOCAL, which is what a dialler dials.
    return number


def _parse_phone_part(part: str, *, mobile_only: bool) -> list[str]:
    try:
        return [_parse_single_phone(re.sub(r"\s+", "", part), part, mobile_only=mobile_only)]
    except FieldError as grouped_error:
        tokens = part.split()
        if len(tokens) < 2:
            raise
        # "13812345678 13912345678": spaces used as a list separator rather than for grouping.
        numbers: list[str] = []
        token_error: FieldError | None = None
        for token in tokens:
            try:
                numbers.append(_parse_single_phone(token, token, mobile_only=mobile_only))
            except FieldError as error:
                token_error = token_error or error
        if token_error is None:
            return numbers
        # Name the bad token only when the others show the cell really is a list; otherwise the
        # spaces were grouping digits and the whole part is the bad number.
        raise (token_error if numbers else grouped_error) from None


def parse_phones(value: CellValue, *, mobile_only: bool = False) -> list[str]:
    """Every phone number in a cell, normalised (``13812345678``, ``010-56000000``), no duplicates."""
    check_formula_error(value)
    text = normalize_text(value)
    numbers: list[str] = []
    for part in _PHONE_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        for number in _parse_phone_part(part, mobile_only=mobile_only):
            if number not in numbers:
                numbers.append(number)
    return numbers


# --- PRC resident identity number (GB 11643-1999) -------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_EARLIEST_BIRTH = date(1900, 1, 1)
# An 18-digit ID typed into a General-format Excel cell becomes 1.10105198803141E+17; the last
# digits are gone for good and only the creditor can supply them again.
_SCIENTIFIC_NOTATION = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")


def id_check_digit(body: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID."""
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _id_text(value: CellValue) -> str:
    # Quote the number as Excel shows it (1.10105198803141e+17), not a full expansion whose
    # trailing digits would look like a real but wrong ID.
    if isinstance(value, float):
        raise FieldError("id_lost_digits", value=repr(value))
    if isinstance(value, Decimal) and value.as_tuple().exponent != 0:
        raise FieldError("id_lost_digits", value=str(value))
    text = _required_text(value)
    if _SCIENTIFIC_NOTATION.fullmatch(text):
        raise FieldError("id_lost_digits", value=text)
    # A leading apostrophe is how users force text in Excel; some exports keep it.
    return re.sub(r"\s+", "", text).lstrip("'").upper()


def _check_birth_date(birth: str, original: str, today: date) -> None:
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        raise FieldError("bad_id_birth_date", value=original, birth_date=birth) from None
    if not _ID_EARLIEST_BIRTH <= born <= today:
        raise FieldError("bad_id_birth_date", value=original, birth_date=birth)


def parse_id_number(value: CellValue, *, today: date | None = None) -> str:
    """An 18-character PRC ID with a valid check digit; 15-digit legacy IDs come back upgraded."""
    text = _id_text(value)
    if not re.fullmatch(r"[0-9]*X?", text):
        raise FieldError("bad_id_chars", value=text)
    if len(text) not in (15, 18):
        raise FieldError("bad_id_length", value=text, length=len(text))
    if len(text) == 15 and text.endswith("X"):
        raise FieldError("bad_id_chars", value=text)
    reference_day = today or date.today()
    if len(text) == 15:
        # Legacy IDs were issued to people born in the 1900s and carry no check digit.
        body = text[:6] + "19" + text[6:]
        _check_birth_date(body[6:14], text, reference_day)
        return body + id_check_digit(body)
    _check_birth_date(text[6:14], text, reference_day)
    expected = id_check_digit(text[:17])
    if text[17] != expected:
        raise FieldError("bad_id_check_digit", value=text, expected=expected, actual=text[17])
    return text


# --- e-mail, relation, flags ----------------------------------------------------------------

_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})"
)
_EMAIL_MAX_LEN = 254


def parse_email(value: CellValue) -> str:
    """One e-mail address; the domain is lower-cased (the local part is case-sensitive in theory)."""
    text = _required_text(value)
    match = _EMAIL.fullmatch(text)
    if match is None or len(text) > _EMAIL_MAX_LEN:
        raise FieldError("bad_email", value=text)
    return f"{match['local']}@{match['domain'].lower()}"


RELATIONS = ("spouse", "parent", "sibling", "relative", "colleague", "friend", "guarantor", "other")
_RELATION_ALIASES: dict[str, str] = {
    **{word: "spouse" for word in ("配偶", "夫妻", "丈夫", "妻子", "老公", "老婆")},
    **{word: "parent" for word in ("父母", "父亲", "母亲", "父", "母")},
    **{word: "sibling" for word in ("兄弟姐妹", "兄弟", "姐妹", "哥哥", "姐姐", "弟弟", "妹妹")},
    **{word: "relative" for word in ("亲属", "亲戚", "子女", "儿子", "女儿")},
    "同事": "colleague",
    "朋友": "friend",
    "担保人": "guarantor",
    "其他": "other",
    **{code: code for code in RELATIONS},
}


def parse_relation(value: CellValue) -> str:
    """A contact's relation to the debtor as one of ``RELATIONS``."""
    text = _required_text(value)
    relation = _RELATION_ALIASES.get(text.replace(" ", "").lower())
    if relation is None:
        raise FieldError("bad_relation", value=text)
    return relation


FLAGS = ("do_not_collect", "hardship", "deceased")
_FLAG_ALIASES: dict[str, str] = {
    "禁催": "do_not_collect",
    "困难": "hardship",
    "死亡": "deceased",
    **{code: code for code in FLAGS},
}
_FLAG_SEPARATORS = re.compile(r"[,;/、\s]+")


def parse_flags(value: CellValue) -> list[str]:
    """Special-handling flags as codes from ``FLAGS``, duplicates dropped, order kept."""
    check_formula_error(value)
    flags: list[str] = []
    for word in _FLAG_SEPARATORS.split(normalize_text(value)):
        if not word:
            continue
        flag = _FLAG_ALIASES.get(word.lower())
        if flag is None:
            raise FieldError("bad_flag", value=word)
        if flag not in flags:
            flags.append(flag)
    return flags
