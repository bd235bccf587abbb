"""Hand-written SQL for the hot paths (an API write that must stay cheap): a cursor whose
statements PostgreSQL prepares once per connection, model instances from a hand-written
SELECT, and a model row inserted without the ORM's save().

The ORM compiles every query anew in Python (about a millisecond for a three-table select),
and PostgreSQL parses and plans every statement it receives as text; on a request that runs a
dozen statements, those two costs were most of its CPU. Ordinary pages keep the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

_NEVER_BY_COUNT = 2**31 - 1


class _PreparingCursor(psycopg.Cursor[Any]):
    """Prepares every statement it runs (Django turns psycopg's automatic preparing off):
    the connection keeps the prepared statement, so the next execution skips parsing and
    planning."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


class _LoggedPreparedCursor(CursorDebugWrapper):
    """Logs each statement as Django's debug cursor does (tests' query counts and captures,
    DEBUG), with its parameters interpolated by psycopg: a prepared statement's own text has
    only placeholders, which Django cannot read back."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(psycopg.ClientCursor(self.cursor.connection).mogrify(sql, params)):
            return CursorWrapper.execute(self, sql, params)


def _default_db() -> BaseDatabaseWrapper:
    # The connection itself, looked up once: every attribute read through the `connection`
    # proxy looks the thread's connection up again (a context-local lookup each).
    return connections[DEFAULT_DB_ALIAS]


def prepared_cursor() -> CursorWrapper:
    """A cursor on the request's connection (in its transaction) with server-side parameter
    binding that prepares its statements: PostgreSQL parses and plans each hot statement once
    per connection (psycopg keeps up to `prepared_max`, 100, per connection).

    Only for single statements: several statements in one execute need the client-side
    binding of `connection.cursor()`. Parameters are sent typed; a NULL one whose type the
    statement does not say needs a cast (``%(x)s::bigint``)."""
    db = _default_db()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = db.connection
    assert raw is not None
    if raw.prepare_threshold is None:
        # Django connects with preparing off, which psycopg then refuses even when asked; a
        # threshold no statement reaches turns it on for the statements asked (client-side
        # cursors, Django's own, never prepare).
        raw.prepare_threshold = _NEVER_BY_COUNT
    with db.wrap_database_errors:
        cursor: Any = _PreparingCursor(raw)  # (the stubs type the wrappers' argument as a wrapper)
    # As Django's own cursors, logged when queries are (tests' query counts, DEBUG).
    return _LoggedPreparedCursor(cursor, db) if db.queries_logged else db.make_cursor(cursor)


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
        db = _default_db()
        row = list(values)
        for index, converter, column in self.converters:
            row[index] = converter(row[index], column, db)
        return self.model.from_db(db.alias, self.attnames, row)


# Per model: the fields an INSERT writes and its statement (see `row_insert`).
_INSERTS: dict[type[models.Model], tuple[tuple[models.Field[Any, Any], ...], str]] = {}


def row_insert(row: models.Model) -> None:
    """Insert a new row as ``row.save(force_insert=True)`` would, in one hand-written statement:
    each field's own conversions (``pre_save`` fills ``auto_now_add`` times and defaults, JSON
    fields dump), then ``row.pk`` is set. No signals are sent (the app uses none for models).
    For rows on a request's hot path, where the ORM's save() cost more Python than the request's
    own work; the statement is built once per model."""
    model = type(row)
    if model not in _INSERTS:
        fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        _INSERTS[model] = (
            fields,
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns})"
            f" VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {model._meta.pk.column}",
        )
    fields, sql = _INSERTS[model]
    db = _default_db()
    values = [field.get_db_prep_save(field.pre_save(row, True), db) for field in fields]
    with prepared_cursor() as cursor:
        cursor.execute(sql, values)
        row.pk = cursor.fetchone()[0]
    row._state.adding = False
    row._state.db = db.alias
