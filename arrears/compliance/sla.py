"""Minimum follow-up frequency (seed 000, IT-enforced; seed 001 for small balances), pure.

M1: a recorded collection activity at least every day; M2: every 5 days; M3: every 2
days; a small balance (under 500 yuan): every 10 natural days. The due time is the end of
the debtor's local day on which the next activity must be recorded at the latest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

FOLLOWUP_DAYS: Mapping[str, int] = {"M1": 1, "M2": 5, "M3": 2, "M4+": 5}
SMALL_BALANCE_FEN = 50_000
SMALL_BALANCE_DAYS = 10


def followup_interval_days(*, bucket_group: str, balance_fen: int | None) -> int | None:
    """Days allowed between two recorded activities; None when the bucket has no minimum."""
    days = FOLLOWUP_DAYS.get(bucket_group)
    if days is None:
        return None
    if balance_fen is not None and 0 < balance_fen < SMALL_BALANCE_FEN:
        return max(days, SMALL_BALANCE_DAYS)
    return days


def followup_due_at(
    *,
    bucket_group: str,
    balance_fen: int | None,
    last_activity_at: dt.datetime | None,
    opened_at: dt.datetime,
    zone: ZoneInfo,
) -> dt.datetime | None:
    """When the next activity is due: the end of the local day `interval` days after the last
    activity (or after the case opened, when there is none yet)."""
    days = followup_interval_days(bucket_group=bucket_group, balance_fen=balance_fen)
    if days is None:
        return None
    since = (last_activity_at or opened_at).astimezone(zone).date()
    last_day = since + dt.timedelta(days=days)
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), zone)
