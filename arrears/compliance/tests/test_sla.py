"""The SLA rules as pure functions: follow-up frequency, working-day deadlines. No database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.compliance import sla
from arrears.compliance.sla import DeadlineState

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")

# A National-Day-like week: Thursday 1 to Wednesday 7 October 2026 off, Saturday 10 worked (调休).
HOLIDAY = {dt.date(2026, 10, day) for day in range(1, 8)}
MAKEUP = {dt.date(2026, 10, 10)}


def china(day: dt.date) -> bool:
    if day in MAKEUP:
        return True
    return day.weekday() < 5 and day not in HOLIDAY


@pytest.mark.parametrize(
    ("group", "balance", "days"),
    [
        ("M1", 100_000, 1),
        ("M2", 100_000, 5),
        ("M3", 100_000, 2),
        ("M1", 49_999, 10),  # small balance: every 10 days at least
        ("M2", 50_000, 5),  # 500 yuan is not small
        ("M1", 0, 1),  # nothing outstanding is not a small balance
        ("M1", None, 1),
        ("M0", 100_000, None),
        ("", 100_000, None),
    ],
)
def test_followup_interval(group, balance, days) -> None:
    assert sla.followup_interval_days(bucket_group=group, balance_fen=balance) == days


def test_followup_due_is_the_end_of_the_debtors_local_day() -> None:
    last = dt.datetime(2026, 11, 24, 23, 30, tzinfo=SH)  # 15:30 UTC
    due = sla.followup_due_at(
        bucket_group="M3", balance_fen=100_000, last_activity_at=last, opened_at=last, zone=SH
    )
    assert due == dt.datetime(2026, 11, 27, 0, 0, tzinfo=SH)


def test_followup_due_counts_from_the_opening_when_never_worked_and_uses_the_debtors_zone() -> None:
    opened = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)  # still the 23rd in New York
    due = sla.followup_due_at(
        bucket_group="M1", balance_fen=None, last_activity_at=None, opened_at=opened, zone=NY
    )
    assert due == dt.datetime(2026, 11, 25, 0, 0, tzinfo=NY)


def test_working_day_after_skips_holidays_and_counts_makeup_days() -> None:
    # Wednesday 30 September: the next working day is Thursday 8 October, the 3rd is Saturday 10.
    assert sla.working_day_after(day=dt.date(2026, 9, 30), working_days=1, is_working=china) == dt.date(
        2026, 10, 8
    )
    assert sla.working_day_after(day=dt.date(2026, 9, 30), working_days=3, is_working=china) == dt.date(
        2026, 10, 10
    )
    # The opening day does not count, even when it is a working day.
    assert sla.working_day_after(day=dt.date(2026, 11, 24), working_days=2, is_working=china) == dt.date(
        2026, 11, 26
    )
    # A Friday opening: Monday and Tuesday.
    assert sla.working_day_after(day=dt.date(2026, 11, 27), working_days=2, is_working=china) == dt.date(
        2026, 12, 1
    )


def test_working_day_after_refuses_zero() -> None:
    with pytest.raises(ValueError):
        sla.working_day_after(day=dt.date(2026, 11, 24), working_days=0, is_working=china)


@given(
    day=st.dates(min_value=dt.date(2026, 9, 1), max_value=dt.date(2026, 11, 30)),
    working_days=st.integers(min_value=1, max_value=5),
)
def test_latest_start_due_by_is_the_inverse_of_working_day_after(day: dt.date, working_days: int) -> None:
    cutoff = sla.latest_start_due_by(day=day, working_days=working_days, is_working=china)
    assert sla.working_day_after(day=cutoff, working_days=working_days, is_working=china) <= day
    assert sla.working_day_after(day=cutoff + sla.ONE_DAY, working_days=working_days, is_working=china) > day


@pytest.mark.parametrize(
    ("met_at", "today", "state"),
    [
        (dt.datetime(2026, 11, 26, 23, 59, tzinfo=SH), dt.date(2026, 12, 1), DeadlineState.MET),
        (dt.datetime(2026, 11, 27, 0, 0, tzinfo=SH), dt.date(2026, 12, 1), DeadlineState.MET_LATE),
        # 16:30 UTC on the 26th is already the 27th in Shanghai.
        (dt.datetime(2026, 11, 26, 16, 30, tzinfo=dt.UTC), dt.date(2026, 12, 1), DeadlineState.MET_LATE),
        (None, dt.date(2026, 11, 25), DeadlineState.PENDING),
        (None, dt.date(2026, 11, 26), DeadlineState.DUE_TODAY),
        (None, dt.date(2026, 11, 27), DeadlineState.MISSED),
    ],
)
def test_deadline_state(met_at, today, state) -> None:
    assert sla.deadline_state(last_day=dt.date(2026, 11, 26), met_at=met_at, today=today, zone=SH) == state


def test_new_case_deadlines_first_and_later_hands() -> None:
    kwargs = dict(
        opened_on=dt.date(2026, 11, 23),  # a Monday
        first_contact_at=None,
        contact_check_at=dt.datetime(2026, 11, 25, 10, 0, tzinfo=SH),
        effective_followups_at=None,
        today=dt.date(2026, 11, 26),
        zone=SH,
        is_working=china,
    )
    first, check, followups = sla.new_case_deadlines(first_hand=True, **kwargs)
    assert (first.code, first.last_day, first.state) == (
        "first_contact",
        dt.date(2026, 11, 25),
        DeadlineState.MISSED,
    )
    assert (check.code, check.last_day, check.state) == (
        "contact_check",
        dt.date(2026, 11, 26),
        DeadlineState.MET,
    )
    assert (followups.code, followups.last_day, followups.state) == (
        "effective_followups",
        dt.date(2026, 11, 30),
        DeadlineState.PENDING,
    )
    later, _check, _followups = sla.new_case_deadlines(first_hand=False, **kwargs)
    assert (later.last_day, later.state) == (dt.date(2026, 11, 27), DeadlineState.PENDING)
