"""Key management for the encrypted columns: which key encrypts how many values, re-encrypting
everything with the current key (rotation), adding a fresh key to the key file.

Rotation works column by column in batches, each batch one transaction: read the values not yet
under the current key, decrypt and encrypt them again in Python, write them back with one
``UPDATE … FROM unnest(…)`` that only replaces a value still equal to what was read (a row
changed meanwhile by the application was written with the current key already). Interrupted, it
simply starts again: what is done is no longer selected. Blind indexes do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import connection, transaction

from arrears.core import crypto
from arrears.core.fields import EncryptedTextField, column_context

ROTATE_BATCH = 2000


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every ``EncryptedTextField`` of every installed model, in a stable order."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                assert column_context(model, field) == f"{model._meta.db_table}.{field.column}"
                found.append(EncryptedColumn(model._meta.db_table, field.column))
    return sorted(found, key=lambda c: (c.table, c.column))


def keys_status() -> dict[str, dict[str, int]]:
    """``{"table.column": {key id: values}}``; values not encrypted at all count under ``""``."""
    status: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        for column in encrypted_columns():
            cursor.execute(
                f"""SELECT CASE WHEN {column.column} LIKE 'v1:%%' THEN split_part({column.column}, ':', 2)
                                ELSE '' END, count(*)
                    FROM {column.table} WHERE {column.column} IS NOT NULL GROUP BY 1 ORDER BY 1"""
            )
            status[column.context] = {key_id: int(count) for key_id, count in cursor.fetchall()}
    return status


@dataclass
class RotationResult:
    current_key: str
    rotated: dict[str, int]
    # Values changed by the application between the read and the write (already current).
    skipped: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def keys_rotate(
    *, batch_size: int = ROTATE_BATCH, progress: Callable[[str, int], None] | None = None
) -> RotationResult:
    """Re-encrypt every value not under the current data key. Restartable; returns the counts."""
    ring = crypto.keyring()
    current_prefix = f"{crypto.VERSION}:{ring.current_id}:"
    result = RotationResult(current_key=ring.current_id, rotated={}, skipped={})
    for column in encrypted_columns():
        rotated = skipped = 0
        last_id = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"""SELECT id, {column.column} FROM {column.table}
                        WHERE id > %s AND {column.column} IS NOT NULL
                          AND left({column.column}, %s) <> %s
                        ORDER BY id LIMIT %s""",
                    [last_id, len(current_prefix), current_prefix, batch_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                last_id = rows[-1][0]
                ids = [row_id for row_id, _old in rows]
                old = [stored for _row_id, stored in rows]
                new = [
                    ring.encrypt(
                        ring.decrypt(stored, context=column.context)
                        if crypto.is_encrypted(stored)
                        else stored,
                        context=column.context,
                    )
                    for stored in old
                ]
                cursor.execute(
                    f"""UPDATE {column.table} t SET {column.column} = v.new
                        FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, old, new)
                        WHERE t.id = v.id AND t.{column.column} = v.old""",
                    [ids, old, new],
                )
                rotated += cursor.rowcount
                skipped += len(rows) - cursor.rowcount
            if progress is not None:
                progress(column.context, rotated)
        result.rotated[column.context] = rotated
        result.skipped[column.context] = skipped
    return result


def key_file_add_key(*, path: Path | None = None, key_id: str | None = None) -> str:
    """Put a fresh data key in front of the key file's ring (it becomes the current key) and
    return its id. The old keys stay until ``keys rotate`` has run and they are removed by hand."""
    path = path or crypto.configured_key_file()
    ring = crypto.load_keyring({crypto.FILE_VARIABLE: str(path)})
    if key_id is None:
        numbers = [int(k[1:]) for k in ring.key_ids if k[:1] == "k" and k[1:].isdigit()]
        key_id = f"k{max(numbers, default=0) + 1}"
    if key_id in ring.key_ids:
        raise crypto.KeyRingError(f"key id {key_id!r} is already in {path}")
    fresh = crypto.parse_data_keys(f"{key_id}:{crypto.generate_key()}")
    crypto.write_key_file(path, crypto.key_file_text(fresh + ring.data_keys, ring.index_key), replace=True)
    return key_id
