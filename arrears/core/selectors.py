"""Reads of the shared kernel."""

from __future__ import annotations

import datetime as dt

from arrears.core.calendar import library_knows
from arrears.core.models import CalendarDay, DaySource


def calendar_years_needing_holidays(*, today: dt.date) -> list[int]:
    """This year and next, where the holiday library has no data and no admin has entered
    any day: the calendar there is weekends only, so holidays and 调休 days are missing."""
    years = []
    for year in (today.year, today.year + 1):
        if library_knows(year):
            continue
        edited = CalendarDay.objects.filter(day__year=year, source=DaySource.ADMIN).exists()
        if not edited:
            years.append(year)
    return years
