"""Cadence dates around the 2026 National Day holiday (1–7 October; Saturday 10 October worked)."""

from __future__ import annotations

import datetime as dt

import pytest

from arrears.comms import cadence
from arrears.comms.cadence import Days

D = dt.date

# The calendar table's shape: (day, is_working, holiday name).
ROWS = [
    *[(D(2026, 9, day), D(2026, 9, day).weekday() < 5, "") for day in range(20, 31)],
    *[(D(2026, 10, day), False, "National Day") for day in range(1, 8)],
    (D(2026, 10, 8), True, ""),
    (D(2026, 10, 9), True, ""),
    (D(2026, 10, 10), True, ""),  # make-up Saturday
    (D(2026, 10, 11), False, ""),  # an ordinary Sunday
    *[(D(2026, 10, day), D(2026, 10, day).weekday() < 5, "") for day in range(12, 31)],
]
DAYS = Days.from_rows(ROWS)


def test_an_ordinary_sunday_is_not_a_holiday_but_not_a_working_day() -> None:
    assert (DAYS.is_holiday(D(2026, 10, 11)), DAYS.is_working(D(2026, 10, 11))) == (False, False)
    assert (DAYS.is_holiday(D(2026, 10, 3)), DAYS.is_working(D(2026, 10, 10))) == (True, True)


@pytest.mark.parametrize(
    ("nominal", "expected"),
    [
        (D(2026, 9, 29), D(2026, 9, 29)),  # an ordinary day
        (D(2026, 10, 1), D(2026, 9, 30)),  # first holiday: the day before
        (D(2026, 10, 6), D(2026, 9, 30)),  # deep in the holiday: still before it
        (D(2026, 10, 11), D(2026, 10, 11)),  # a Sunday is not a holiday
    ],
)
def test_a_before_due_message_comes_forward_over_a_holiday(nominal: dt.date, expected: dt.date) -> None:
    assert cadence.before_due_send_day(nominal, DAYS) == expected


def test_an_overdue_message_waits_for_the_end_of_the_holiday() -> None:
    assert cadence.overdue_send_day(D(2026, 10, 3), DAYS) == D(2026, 10, 8)
    assert cadence.overdue_send_day(D(2026, 10, 11), DAYS) == D(2026, 10, 11)


def test_on_the_last_day_before_the_holiday_t3_fires_for_every_due_date_the_holiday_hides() -> None:
    # Nominal T-3 days 30 Sep … 7 Oct all go on 30 Sep: due dates 3 … 10 Oct.
    assert cadence.due_dates_for_message(D(2026, 9, 30), 3, DAYS) == [
        D(2026, 10, day) for day in range(3, 11)
    ]
    # During the holiday nothing fires; the day after, only its own due date.
    assert cadence.due_dates_for_message(D(2026, 10, 4), 3, DAYS) == []
    assert cadence.due_dates_for_message(D(2026, 10, 8), 3, DAYS) == [D(2026, 10, 11)]


def test_overdue_day_n_fires_after_the_holiday_for_the_days_it_hid() -> None:
    # Overdue day 5 fell on 1 … 7 Oct for accounts delinquent since 26 Sep … 2 Oct.
    assert cadence.delinquent_since_for_message(D(2026, 10, 8), 5, DAYS) == [
        D(2026, 10, 3),
        *[D(2026, 10, 2) - dt.timedelta(days=k) for k in range(7)],
    ]
    assert cadence.delinquent_since_for_message(D(2026, 10, 4), 5, DAYS) == []


def test_a_reminder_call_starts_three_working_days_before_the_due_date() -> None:
    assert cadence.reminder_call_start(D(2026, 10, 16), 3, DAYS) == D(2026, 10, 13)  # Fri → Tue
    # Tue 13 Oct: Mon 12, the make-up Saturday 10, Fri 9 (Sunday 11 does not count).
    assert cadence.reminder_call_start(D(2026, 10, 13), 3, DAYS) == D(2026, 10, 9)
    assert cadence.reminder_call_start(D(2026, 10, 8), 3, DAYS) == D(2026, 9, 28)  # before the holiday


def test_reminder_calls_show_from_their_start_until_the_due_date() -> None:
    due = cadence.due_dates_for_reminder_calls(D(2026, 9, 30), 3, DAYS)
    assert due[:3] == [D(2026, 9, 30), D(2026, 10, 1), D(2026, 10, 2)]
    # The make-up Saturday 10 Oct counts back 9 Oct, 8 Oct, 30 Sep; Sunday 11 Oct starts on 8 Oct.
    assert due[-1] == D(2026, 10, 10)
    assert D(2026, 10, 11) not in due


def test_without_a_calendar_the_weekend_rule_applies() -> None:
    empty = Days.from_rows([])
    # Tue 13 Oct 2026: Mon 12, Fri 9, Thu 8 (weekends skipped, nothing else known).
    assert cadence.reminder_call_start(D(2026, 10, 13), 3, empty) == D(2026, 10, 8)
    assert cadence.due_dates_for_message(D(2026, 10, 1), 3, empty) == [D(2026, 10, 4)]
