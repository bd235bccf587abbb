from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, models, transaction

from arrears.core.models import CalendarDay, DaySource, Event


def event_record(
    *, kind: str, subject: models.Model | None = None, actor: Any = None, data: dict[str, Any] | None = None
) -> Event:
    """Write one event row; call it inside the transaction that made the change."""
    return Event.objects.create(
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=subject.pk if subject is not None else None,
        data=data or {},
    )


CALENDAR_FIRST_YEAR = 2000
CALENDAR_LAST_YEAR = 2060


def calendar_fill(*, first_year: int = CALENDAR_FIRST_YEAR, last_year: int = CALENDAR_LAST_YEAR) -> int:
    """(Re)write the working calendar for whole years; days an admin edited are kept.

    Safe to re-run: rows are upserted, and `next_working_day` is recomputed for every day
    in the range from the final working flags.
    """
    from arrears.core.calendar import days_between  # imports chinesecalendar lazily

    first, last = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    edited = set(
        CalendarDay.objects.filter(source=DaySource.ADMIN, day__range=(first, last)).values_list(
            "day", flat=True
        )
    )
    rows = []
    for entry in days_between(first, last):
        if entry.day in edited:
            continue
        rows.append(
            CalendarDay(
                day=entry.day,
                is_working=entry.is_working,
                name=entry.name,
                source=entry.source,
                next_working_day=entry.day,
            )
        )
    CalendarDay.objects.bulk_create(
        rows,
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=["is_working", "name", "source"],
    )
    calendar_link_next_working_days(first=first, last=last)
    return len(rows)


def calendar_link_next_working_days(*, first: dt.date, last: dt.date) -> None:
    """Set `next_working_day` from the working flags, set-based (one UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE core_calendarday d
               SET next_working_day = coalesce(
                       (SELECT min(w.day) FROM core_calendarday w
                         WHERE w.is_working AND w.day >= d.day AND w.day <= d.day + 60),
                       d.day)
             WHERE d.day BETWEEN %s AND %s
            """,
            [first, last],
        )


@transaction.atomic
def calendar_day_set(*, day: dt.date, is_working: bool, name: str = "", actor: Any = None) -> CalendarDay:
    """Correct one day of the working calendar (a 调休 working Saturday, a new holiday).

    The day becomes `source=admin`, so refilling from the library keeps it; the next working
    day of the day and of the 60 days before it are relinked in the same transaction (the
    delinquency trigger then queues the accounts whose due dates shift), and an event records
    the change. Safe to repeat.
    """
    row = CalendarDay.objects.select_for_update().get(day=day)
    before = {"is_working": row.is_working, "name": row.name, "source": row.source}
    row.is_working, row.name, row.source = is_working, name, DaySource.ADMIN
    row.save(update_fields=["is_working", "name", "source"])
    calendar_link_next_working_days(first=day - dt.timedelta(days=60), last=day)
    row.refresh_from_db()
    # The day is the calendar row's key (a date, not an id): it goes in the event's data.
    event_record(
        kind="calendar.day_changed",
        actor=actor,
        data={"day": str(day), "before": before, "after": {"is_working": is_working, "name": name}},
    )
    return row
