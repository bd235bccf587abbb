"""The SLAs the system measures (seed 000, seed 001), as pure functions.

Minimum follow-up frequency: M1 a recorded collection activity at least every day; M2 every
5 days; M3 every 2 days; a small balance (under 500 yuan outstanding, "剩余金额") every 10
natural days. The due time is the end of the debtor's local day on which the next activity
must be recorded at the latest. The end-of-day batch computes the same time in SQL
(`arrears.cases.queue.cases_refresh_followup_due`); a test keeps the two in step.

New cases: first contact, a full contact-data check and two effective follow-ups, each
within a number of working days of the day the case opened (below).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
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


# --- New-case and first-contact deadlines (seed 001), in working days ---------------------------
#
# "Within N working days" of the business date a case opened: the deadline is the end of the
# N-th working day *after* that date (the opening day itself does not count, as seed 001's
# "分配当日的次工作日" counts from the next working day). A day the calendar table does not hold
# falls back to the weekend rule, like the guard does for years the holiday library lacks.

CONTACT_CHECK_WORKING_DAYS = 3  # a full check of the contact data (全面的联系方式核查)
EFFECTIVE_FOLLOWUPS = 2  # two effective (connected) follow-ups …
EFFECTIVE_FOLLOWUPS_WORKING_DAYS = 5  # … within five working days
FIRST_CONTACT_WORKING_DAYS_FIRST_HAND = 2  # first-hand accounts (一手)
FIRST_CONTACT_WORKING_DAYS_LATER_HAND = 4  # second or third hand (二、三手)

IsWorkingDay = Callable[[dt.date], bool]

ONE_DAY = dt.timedelta(days=1)
# No stretch of rest days is longer than this (the longest holiday plus its weekends is 9 days).
_MAX_REST_RUN = 31


def weekend_rule(day: dt.date) -> bool:
    """Monday to Friday: the calendar of a day nobody entered."""
    return day.weekday() < 5


def working_day_after(*, day: dt.date, working_days: int, is_working: IsWorkingDay) -> dt.date:
    """The `working_days`-th working day strictly after `day` (1 → the next working day)."""
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    found, current = 0, day
    for _ in range(working_days * _MAX_REST_RUN):
        current += ONE_DAY
        if is_working(current):
            found += 1
            if found == working_days:
                return current
    raise ValueError(f"no {working_days} working days after {day}")


def latest_start_due_by(*, day: dt.date, working_days: int, is_working: IsWorkingDay) -> dt.date:
    """The latest start date whose `working_days` deadline falls on or before `day`.

    The deadline never moves back when the start moves forward, so "the deadline of a case
    opened on d has come by `day`" is simply ``d <= latest_start_due_by(day)``: one date
    comparison per case in SQL instead of calendar arithmetic per row. There are at least
    `working_days` working days in (d, day] exactly when d is before the `working_days`-th
    working day counted back from `day` (inclusive).
    """
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    found, current = 0, day
    for _ in range(working_days * _MAX_REST_RUN):
        if is_working(current):
            found += 1
            if found == working_days:
                return current - ONE_DAY
        current -= ONE_DAY
    raise ValueError(f"no {working_days} working days up to {day}")


def first_contact_working_days(*, first_hand: bool) -> int:
    return FIRST_CONTACT_WORKING_DAYS_FIRST_HAND if first_hand else FIRST_CONTACT_WORKING_DAYS_LATER_HAND


class DeadlineState(StrEnum):
    MET = "met"
    MET_LATE = "met_late"
    PENDING = "pending"  # not met; the deadline is after today
    DUE_TODAY = "due_today"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Deadline:
    """One new-case SLA of one case: its last day, and whether (and when) it was met."""

    code: str  # first_contact | contact_check | effective_followups
    last_day: dt.date
    met_at: dt.datetime | None
    state: DeadlineState


def deadline_state(
    *, last_day: dt.date, met_at: dt.datetime | None, today: dt.date, zone: ZoneInfo
) -> DeadlineState:
    """Met (on time or late) when `met_at` is known, else pending, due today or missed."""
    if met_at is not None:
        return DeadlineState.MET if met_at.astimezone(zone).date() <= last_day else DeadlineState.MET_LATE
    if last_day > today:
        return DeadlineState.PENDING
    return DeadlineState.DUE_TODAY if last_day == today else DeadlineState.MISSED


def new_case_deadlines(
    *,
    opened_on: dt.date,
    first_hand: bool,
    first_contact_at: dt.datetime | None,
    contact_check_at: dt.datetime | None,
    effective_followups_at: dt.datetime | None,
    today: dt.date,
    zone: ZoneInfo,
    is_working: IsWorkingDay,
) -> tuple[Deadline, Deadline, Deadline]:
    """The three deadlines of a new case (seed 001): first contact (2 working days first hand,
    4 later hands), a full contact-data check (3), two effective follow-ups (5).

    Each `*_at` is when the case met that requirement (the first activity; the activity that
    completed the contact check; the second connected activity), or None.
    """
    specs = (
        ("first_contact", first_contact_working_days(first_hand=first_hand), first_contact_at),
        ("contact_check", CONTACT_CHECK_WORKING_DAYS, contact_check_at),
        ("effective_followups", EFFECTIVE_FOLLOWUPS_WORKING_DAYS, effective_followups_at),
    )
    deadlines = []
    for code, days, met_at in specs:
        last_day = working_day_after(day=opened_on, working_days=days, is_working=is_working)
        deadlines.append(
            Deadline(
                code=code,
                last_day=last_day,
                met_at=met_at,
                state=deadline_state(last_day=last_day, met_at=met_at, today=today, zone=zone),
            )
        )
    return deadlines[0], deadlines[1], deadlines[2]
