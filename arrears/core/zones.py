"""A debtor's own time zone, for contact rules and the times shown about them."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Customers without a zone on file, or with one this machine does not know, are in China.
DEFAULT_ZONE = "Asia/Shanghai"


def zone_or_default(name: str | None) -> ZoneInfo:
    """The zone of that name; Asia/Shanghai when it is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)
