"""Personal data at rest, step 2: encrypt the existing ID numbers and contact values and fill
their blind indexes, in batches of ``BATCH`` rows (one set-based UPDATE per batch). Safe to
re-run: a value already encrypted is only decrypted to (re)compute its hash. Reversible: the
reverse decrypts back to plaintext (it needs the same keys)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 5000
ANONYMISED_CONTACT_PREFIX = "已匿名#"
# (table, encrypted column, hash column)
COLUMNS = (
    ("portfolio_customer", "id_number", "id_number_hash"),
    ("portfolio_contactpoint", "value", "value_hash"),
)


def _batches(cursor: Any, table: str, column: str, where: str) -> Any:
    last_id = 0
    while True:
        cursor.execute(
            f"SELECT id, {column} FROM {table} WHERE id > %s AND ({where}) ORDER BY id LIMIT %s",
            [last_id, BATCH],
        )
        rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last_id = rows[-1][0]


def encrypt(apps: Any, schema_editor: Any) -> None:
    from arrears.core import crypto

    ring = crypto.keyring()
    with schema_editor.connection.cursor() as cursor:
        for table, column, hash_column in COLUMNS:
            context = f"{table}.{column}"
            where = f"{column} NOT LIKE 'v1:%%' OR {hash_column} = ''"
            for rows in _batches(cursor, table, column, where):
                ids, sealed, hashes = [], [], []
                for row_id, stored in rows:
                    plain = ring.decrypt(stored, context=context) if crypto.is_encrypted(stored) else stored
                    ids.append(row_id)
                    sealed.append(
                        stored if crypto.is_encrypted(stored) else ring.encrypt(plain, context=context)
                    )
                    if table == "portfolio_contactpoint" and plain.startswith(ANONYMISED_CONTACT_PREFIX):
                        # Anonymised by retention: the hash is the row's own marker (unique).
                        hashes.append(f"anonymised:{row_id}")
                    else:
                        hashes.append(ring.blind_index(plain, context=context))
                cursor.execute(
                    f"""UPDATE {table} t SET {column} = v.sealed, {hash_column} = v.hash
                        FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, sealed, hash)
                        WHERE t.id = v.id""",
                    [ids, sealed, hashes],
                )


def decrypt(apps: Any, schema_editor: Any) -> None:
    from arrears.core import crypto

    ring = crypto.keyring()
    with schema_editor.connection.cursor() as cursor:
        for table, column, _hash_column in COLUMNS:
            context = f"{table}.{column}"
            for rows in _batches(cursor, table, column, f"{column} LIKE 'v1:%%'"):
                ids = [row_id for row_id, _stored in rows]
                plain = [ring.decrypt(stored, context=context) for _row_id, stored in rows]
                cursor.execute(
                    f"""UPDATE {table} t SET {column} = v.plain
                        FROM unnest(%s::bigint[], %s::text[]) AS v(id, plain) WHERE t.id = v.id""",
                    [ids, plain],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0006_personal_data_encrypted_columns"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt, elidable=False)]
