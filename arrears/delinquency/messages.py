"""Why the batch refuses to run, in the reader's language (msgids are Chinese)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def refusal_text(code: str, params: dict[str, Any]) -> str:
    texts = {
        "backdated": _(
            "业务日期 {date} 早于最近一次完成的日终批处理日期 {last}，已拒绝。"
            "如确需重算历史，请使用 --rebuild-from 指定重建起始日期。"
        ),
        "busy": _("另一个日终批处理正在运行，请等待其完成后再试。"),
        "rebuild_after_date": _("重建起始日期 {rebuild_from} 不能晚于业务日期 {date}。"),
        "empty_range": _("起始日期 {first} 晚于结束日期 {last}，请检查 --from 与 --to。"),
    }
    template = texts.get(code, code)
    return template.format(**{key: str(value) for key, value in params.items()})
