"""Cadence dates (pure Python): which anchor dates a cadence step fires for on a business day.

A step is "N days before the due date" or "on overdue day N". Its nominal day may fall on
a statutory holiday, when no collection contact is allowed (H2):

- a **before-due** message comes forward to the last working day before the holiday
  (remind before the holiday, seed 003);
- an **overdue** message waits for the first working day after it;
- a **reminder call** starts N *working* days before the due date (seed 003: the name
  appears three working days ahead), so holidays and weekends push it earlier.

The batch asks the reverse question — on business day D, which due dates (or delinquency
start dates) does each step fire for — and joins the answer to the accounts in one
statement. Weekends are not holidays for messages: the debtor's window rules still apply
at send time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

# How far ahead the reverse search looks; longer than any run of holidays (Spring Festival
# with its weekends is 9 days).
_HORIZON_DAYS = 40


@dataclasses.dataclass(frozen=True, slots=True)
class Days:
    """The calendar as the cadence sees it."""

    statutory_days_off: frozenset[dt.date]
    working_days: frozenset[dt.date]
    # The days the calendar table has; any other day follows the weekend rule (as the
    # guard does for years the holiday library does not know).
    known_days: frozenset[dt.date] = frozenset()

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[dt.date, bool, str]]) -> Days:
        """Rows of (day, is_working, holiday name) from the calendar table."""
        off: set[dt.date] = set()
        working: set[dt.date] = set()
        known: set[dt.date] = set()
        for day, is_working, name in rows:
            known.add(day)
            if is_working:
                working.add(day)
            elif name:
                off.add(day)
        return cls(frozenset(off), frozenset(working), frozenset(known))

    def is_holiday(self, day: dt.date) -> bool:
        return day in self.statutory_days_off

    def is_working(self, day: dt.date) -> bool:
        if day in self.known_days:
            return day in self.working_days
        return day.weekday() < 5


def before_due_send_day(nominal: dt.date, days: Days) -> dt.date:
    """The day a before-due message goes: the nominal day, or the last day before the
    holiday it falls in."""
    day = nominal
    while days.is_holiday(day):
        day -= dt.timedelta(days=1)
    return day


def overdue_send_day(nominal: dt.date, days: Days) -> dt.date:
    day = nominal
    while days.is_holiday(day):
        day += dt.timedelta(days=1)
    return day


def reminder_call_start(due_date: dt.date, working_days_before: int, days: Days) -> dt.date:
    """The day a reminder call first shows: `working_days_before` working days before the due date."""
    day = due_date
    counted = 0
    while counted < working_days_before:
        day -= dt.timedelta(days=1)
        if days.is_working(day):
            counted += 1
    return day


def due_dates_for_message(business_day: dt.date, days_before: int, days: Days) -> list[dt.date]:
    """Due dates whose "`days_before` before due" message goes on `business_day`."""
    return [
        nominal + dt.timedelta(days=days_before)
        for nominal in (business_day + dt.timedelta(days=k) for k in range(_HORIZON_DAYS))
        if before_due_send_day(nominal, days) == business_day
    ]


def delinquent_since_for_message(business_day: dt.date, overdue_day: int, days: Days) -> list[dt.date]:
    """Delinquency start dates whose "overdue day N" message goes on `business_day`."""
    return [
        nominal - dt.timedelta(days=overdue_day)
        for nominal in (business_day - dt.timedelta(days=k) for k in range(_HORIZON_DAYS))
        if overdue_send_day(nominal, days) == business_day
    ]


def due_dates_for_reminder_calls(
    business_day: dt.date, working_days_before: int, days: Days
) -> list[dt.date]:
    """Due dates whose reminder call shows on `business_day` (from its start day until the due date)."""
    return [
        due
        for due in (business_day + dt.timedelta(days=k) for k in range(_HORIZON_DAYS))
        if reminder_call_start(due, working_days_before, days) <= business_day
    ]
