"""Display filters shared by every page: money in yuan, and masked personal identifiers.

Phone numbers and ID numbers are masked by default wherever they are shown; a page that
needs the full value must say so explicitly (and, later, log who looked). The masking rules
live in ``arrears.core.masking`` so that pages and the API hide the same characters.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from arrears.core import masking

register = template.Library()


def _as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@register.filter
def yuan(fen: Any) -> str:
    """Integer fen as yuan with thousands separators: 123450 → "1,234.50"; exact, no floats."""
    amount = _as_int(fen)
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d}"


@register.filter
def mask_id(value: Any) -> str:
    """An ID number as its first 6 and last 4 characters: "110105********1237"."""
    text = str(value or "").strip()
    return masking.mask_id_number(text) if text else ""


@register.filter
def mask_phone(value: Any) -> str:
    """A phone number with its middle hidden: "13812345678" → "138****5678"."""
    text = str(value or "").strip()
    return masking.mask_phone(text) if text else ""


@register.filter
def mask_contact(value: Any, kind: str = "") -> str:
    """A contact point's value masked by its kind (phone, e-mail or address), exactly as the API
    masks it: both use ``arrears.core.masking``."""
    text = str(value or "").strip()
    return masking.mask_value(str(kind or ""), text) if text else ""


# Labels of the fields an import records in AccountChange.changes.
_CHANGE_LABELS = {
    "product": _("产品"),
    "principal_fen": _("本金（元）"),
    "open_date": _("放款日期"),
    "term": _("期数"),
    "instalment_fen": _("每期应还（元）"),
    "first_due_date": _("首期还款日"),
    "flags": _("标记"),
    "instalments": _("还款计划期数"),
}


def _change_value(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field.endswith("_fen"):
        return yuan(value)
    if isinstance(value, list):
        return "、".join(map(str, value)) if value else "—"
    mask = _field_mask(field)
    return mask(value) if mask is not None else value


def _field_mask(field: str) -> Any:
    """The mask for a changed field that holds an identifier (masked here as everywhere else)."""
    name = field.lower()
    if "id_number" in name or "id_no" in name:
        return mask_id
    if "phone" in name or "mobile" in name:
        return mask_phone
    return None


@register.filter
def change_pairs(changes: Any) -> list[tuple[str, Any, Any]]:
    """An import's change record as (label, old, new) rows for display.

    The loader stores ``{"field": [old, new]}``; ``{"field": {"old": .., "new": ..}}`` and a
    bare ``{"field": new}`` are shown too. Money fields (``*_fen``) are shown in yuan.
    """
    if not isinstance(changes, dict):
        return []
    rows: list[tuple[str, Any, Any]] = []
    for field, change in changes.items():
        name = str(field)
        if isinstance(change, list | tuple) and len(change) == 2:
            old, new = change[0], change[1]
        elif isinstance(change, dict) and ({"old", "new"} & change.keys()):
            old, new = change.get("old"), change.get("new")
        else:
            old, new = None, change
        label = _CHANGE_LABELS.get(name, name)
        rows.append((str(label), _change_value(name, old), _change_value(name, new)))
    return rows


_STATUS_BADGES = {
    # Accounts
    "active": "text-bg-primary",
    "closed": "text-bg-success",
    "written_off": "text-bg-secondary",
    # Import batches
    "pending": "text-bg-secondary",
    "running": "text-bg-info",
    "done": "text-bg-success",
    "failed": "text-bg-danger",
}


@register.filter
def status_badge(status: Any) -> str:
    """The Bootstrap badge class for a status value (accounts and import batches)."""
    return _STATUS_BADGES.get(str(status), "text-bg-light")


@register.filter
def thousands(value: Any) -> str:
    """An integer count with 3-digit grouping, "1,234,567", in every language (finance style:
    Django's zh-Hans format would group by four digits)."""
    number = _as_int(value)
    return "" if number is None else f"{number:,}"
