"""The working calendar: which days are working days, from `chinesecalendar` where it knows
the year and from the weekend rule where it does not (pure; the table is filled by
`core.services.calendar_fill`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar


@dataclass(frozen=True)
class Day:
    day: dt.date
    is_working: bool
    name: str
    source: str  # "library" or "weekend"


def library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def classify(day: dt.date) -> Day:
    if library_knows(day.year):
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        is_working = chinese_calendar.is_workday(day)
        label = "" if name is None else str(getattr(name, "value", name))
        return Day(day, is_working, label if on_holiday and label else "", "library")
    return Day(day, day.weekday() < 5, "", "weekend")


def days_between(first: dt.date, last: dt.date) -> list[Day]:
    return [classify(first + dt.timedelta(days=n)) for n in range((last - first).days + 1)]
