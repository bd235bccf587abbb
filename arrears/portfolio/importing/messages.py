"""Message texts for import errors, rendered in the reader's language.

Errors are stored as a code plus parameters, so the same rejected row reads in Chinese for
an operator and in English for a foreign creditor's analyst.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# Structural errors: the whole file is refused and nothing is loaded.
FILE_MESSAGES: dict[str, Any] = {
    "empty_file": _("文件为空（0 字节），请检查导出是否成功后重新上传"),
    "undecodable": _(
        "无法识别文件编码（疑似 %(guess)s）。请另存为 UTF-8 或 GBK/GB18030 编码的 CSV，或 XLSX 文件"
    ),
    "bad_encoding_at": _(
        "第 %(row)s 行附近含有不属于 %(encoding)s 编码的字节，整个文件未导入。请用统一编码重新导出"
    ),
    "nul_byte": _("文件第 %(row)s 行含有空字符（NUL），可能是二进制文件或已损坏，整个文件未导入"),
    "bad_csv": _("第 %(row)s 行无法按 CSV 解析（%(detail)s），整个文件未导入"),
    "bad_xlsx": _("无法读取 Excel 文件：%(detail)s。请用 Excel 另存为 .xlsx 后重新上传"),
    "unsupported_format": _("不支持的文件类型 %(suffix)s，请上传 .csv 或 .xlsx 文件"),
    "no_rows": _("文件只有表头，没有数据行"),
    "internal_error": _("导入时发生内部错误（%(detail)s），整个文件未导入，请联系管理员"),
    "missing_file": _("找不到已上传的文件，请重新上传"),
}

# Row errors found with the database (references, duplicates).
ROW_MESSAGES: dict[str, Any] = {
    "wrong_creditor": _("委托方 %(value)s 与本次导入的委托方 %(expected)s 不一致"),
    "unknown_product": _("产品 %(value)s 不存在，请先在系统中添加该产品"),
    "duplicate_in_file": _("与第 %(first_row)s 行重复（同一%(what)s在文件中出现多次），本行未导入"),
    "unknown_account": _("账号 %(value)s 不存在，请先导入账户文件"),
    "txn_conflict": _("流水号 %(value)s 已导入过且内容不同（金额、时间或账号），本行未导入"),
    "unknown_reversal": _("冲正原流水号 %(value)s 不存在"),
    "reversal_without_original": _("负数金额为冲正，必须填写冲正原流水号"),
    "reversal_positive": _("填写了冲正原流水号的交易金额必须为负数"),
    "reversal_too_large": _("冲正金额超过原交易金额 %(original)s 元"),
    "reversal_other_account": _("冲正交易的账号与原交易账号 %(original)s 不一致"),
    "too_few_contacts": _("至少需要两个联系人（姓名和电话），本行只有 %(count)s 个"),
    "instalment_too_small": _("每期应还 × 期数（%(term)s 期）小于本金，请核对每期应还金额"),
    "due_before_open": _("首期还款日早于放款日，请核对日期"),
    "instalment_zero": _("本期应还本金、利息、费用、保费合计为 0，请核对金额"),
    "account_customer_changed": _("账号 %(value)s 已属于客户号 %(existing)s，不能改为其他客户"),
}


def _all_messages() -> dict[str, Any]:
    from arrears.portfolio.importing.fields import FIELD_MESSAGES
    from arrears.portfolio.importing.headers import HEADER_MESSAGES

    return {**FIELD_MESSAGES, **HEADER_MESSAGES, **FILE_MESSAGES, **ROW_MESSAGES}


def render_message(code: str, params: dict[str, Any] | None = None) -> str:
    """The message for an error code in the active language; unknown codes show the code itself."""
    template = _all_messages().get(code)
    if template is None:
        return code
    shown = {key: "、".join(map(str, v)) if isinstance(v, list) else v for key, v in (params or {}).items()}
    try:
        return str(template) % shown
    except (KeyError, TypeError, ValueError):
        return str(template)
