"""Reads of the shared kernel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

from django.db import connection, models

from arrears.core.calendar import library_knows
from arrears.core.models import CalendarDay, DaySource

M = TypeVar("M", bound=models.Model)


class ModelColumns(Generic[M]):
    """A model's columns for a hand-written SELECT, and the instance the ORM would build from
    them (each field's own conversions applied: encrypted fields decrypted, arrays parsed).

    For reads on a request's hot path, where compiling the ORM's query cost more Python than
    the database took to answer it. The instance is a complete one (nothing deferred)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields = tuple(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.converters = [
            (index, converter, field.cached_col)
            for index, field in enumerate(self.fields)
            # (missing from the type stubs)
            for converter in cast(Any, field).get_db_converters(connection)
        ]

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, alias: str) -> str:
        """The select list, each column qualified by the table's alias in the query."""
        return ", ".join(f"{alias}.{connection.ops.quote_name(field.column)}" for field in self.fields)

    def instance(self, values: Sequence[Any]) -> M:
        row = list(values)
        for index, converter, column in self.converters:
            row[index] = converter(row[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, row)


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
