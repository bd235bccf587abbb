"""Load one import batch: stream rows → COPY into staging → set-based checks → upserts.

Everything a batch writes (rows, changes, rejected-row reports, its final counts) commits in
one transaction, so a crash or a structural problem half-way leaves no half-loaded file. Only
the batch row itself (status, progress, the structural error) is written outside it.

Idempotency comes from the business keys: accounts by (creditor, account_no), customers by
(creditor, customer_no), contact points by (customer, kind, owner, value's blind index),
instalments by (account, seq), payments by (creditor, txn_id). Upserts only touch rows whose
values differ (``IS DISTINCT FROM``), so loading the same file again changes nothing.

Personal data (ID numbers, contact values) is encrypted while the rows are parsed, before it
reaches PostgreSQL, even the staging tables (docs/security.md). Ciphertexts differ at every
encryption, so changes are detected on the blind indexes (keyed hashes), never on ciphertexts.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from arrears.core import crypto
from arrears.core.services import event_record
from arrears.portfolio.importing import rows as row_parsers
from arrears.portfolio.importing.headers import HeaderError, resolve_headers
from arrears.portfolio.importing.reader import FileProblem, OpenedFile, open_file
from arrears.portfolio.models import ImportBatch, ImportKind, ImportStatus

log = logging.getLogger(__name__)
PROGRESS_EVERY = 20_000

ERROR_COLUMNS = ("row_number", "column_label", "value", "code", "params")


class _Progress:
    """Publishes rows_read on the batch through its own autocommit connection, so the upload
    page can show progress while the loading transaction is still open."""

    def __init__(self, batch_id: int, callback: Callable[[int], None] | None) -> None:
        self.batch_id = batch_id
        self.callback = callback
        self.last_write = 0.0
        self.conn: psycopg.Connection[Any] | None = None

    def __call__(self, rows_read: int) -> None:
        if self.callback is not None:
            self.callback(rows_read)
        now = time.monotonic()
        if now - self.last_write < 1.0:
            return
        self.last_write = now
        try:
            if self.conn is None:
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                params.pop("context", None)
                self.conn = psycopg.connect(**params, autocommit=True)
            self.conn.execute(
                "UPDATE portfolio_importbatch SET rows_read = %s WHERE id = %s", [rows_read, self.batch_id]
            )
        except psycopg.Error:
            log.warning("could not publish import progress", exc_info=True)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def run_import(*, batch: ImportBatch, progress: Callable[[int], None] | None = None) -> None:
    """Load ``batch`` (already claimed: status running). Sets it to done or failed."""
    reporter = _Progress(batch.pk, progress)
    # Load the creditor now: no query may run on the connection while a COPY streams on it.
    batch.creditor.code  # noqa: B018
    try:
        opened = open_file(Path(batch.stored_path), original_name=batch.filename)
    except FileProblem as problem:
        _fail(batch, problem.code, problem.params)
        return
    try:
        ImportBatch.objects.filter(pk=batch.pk).update(
            file_format=opened.file_format, encoding=opened.encoding
        )
        headers = resolve_headers(batch.kind, list(opened.header))
        with transaction.atomic():
            # A bulk load need not wait for its WAL flush: a crash can only lose the whole
            # transaction (batch status included), never leave part of it. Sorts of a few
            # million staged contact points fit in memory with more work_mem.
            _raw_cursor().execute("SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '256MB'")
            counts = _LOADERS[batch.kind](batch, opened, headers, reporter)
            if counts["rows_read"] == 0:
                raise FileProblem("no_rows")
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=ImportStatus.DONE,
                finished_at=timezone.now(),
                ignored_columns=headers.ignored,
                **counts,
            )
            event_record(kind="import.finished", subject=batch, actor=batch.created_by, data=counts)
    except HeaderError as problem:
        _fail(batch, problem.code, problem.params)
    except FileProblem as problem:
        _fail(batch, problem.code, problem.params)
    except UnicodeDecodeError:
        _fail(batch, "bad_encoding_at", {"row": "?", "encoding": opened.encoding})
    except Exception as exc:
        log.exception("import batch %s failed", batch.pk)
        _fail(batch, "internal_error", {"detail": type(exc).__name__})
        raise
    finally:
        opened.close()
        reporter.close()


def _fail(batch: ImportBatch, code: str, params: dict[str, Any]) -> None:
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportStatus.FAILED, error_code=code, error_params=params, finished_at=timezone.now()
        )
        event_record(kind="import.failed", subject=batch, actor=batch.created_by, data={"code": code})


# --- shared staging helpers -----------------------------------------------------------------


def _raw_cursor() -> psycopg.Cursor[Any]:
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    return raw.cursor()


def _copy_all(
    cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], items: Iterator[Any] | list[Any]
) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for item in items:
            copy.write_row(item)


def _reject(
    cur: psycopg.Cursor[Any], table: str, code: str, column: str, select_sql: str, params: dict[str, Any]
) -> None:
    """Move rows found by ``select_sql`` (row_number, value, params jsonb) from staging to stg_error."""
    cur.execute(
        f"""
        WITH bad AS ({select_sql}),
        reported AS (
            INSERT INTO stg_error (row_number, column_label, value, code, params)
            SELECT row_number, %(column)s, left(value, 500), %(code)s, extra FROM bad
        )
        DELETE FROM {table} s USING bad WHERE s.row_number = bad.row_number
        """,
        {**params, "code": code, "column": column},
    )


def _create_error_table(cur: psycopg.Cursor[Any]) -> None:
    cur.execute(
        """
        DROP TABLE IF EXISTS pg_temp.stg_error;
        CREATE TEMP TABLE stg_error (
            row_number integer NOT NULL, column_label text, value text, code text NOT NULL, params jsonb
        ) ON COMMIT DROP
        """
    )


def _save_errors(cur: psycopg.Cursor[Any], batch_id: int) -> int:
    cur.execute(
        """
        INSERT INTO portfolio_importrowerror (batch_id, row_number, "column", value, code, params)
        SELECT %(batch)s, row_number, coalesce(column_label, ''), coalesce(value, ''), code,
               coalesce(params, '{}'::jsonb)
        FROM stg_error ORDER BY row_number
        """,
        {"batch": batch_id},
    )
    cur.execute("SELECT count(DISTINCT row_number) FROM stg_error")
    row = cur.fetchone()
    return int(row[0]) if row else 0


# --- accounts -------------------------------------------------------------------------------


def _load_accounts(
    batch: ImportBatch, opened: OpenedFile, headers: Any, reporter: Callable[[int], None]
) -> dict[str, int]:
    cur = _raw_cursor()
    _create_error_table(cur)
    cur.execute(
        """
        DROP TABLE IF EXISTS pg_temp.stg_account;
        CREATE TEMP TABLE stg_account (
            row_number integer PRIMARY KEY, account_no text, product_code text, customer_no text,
            name text, id_number text, employer text, principal_fen bigint, open_date date,
            term integer, instalment_fen bigint, first_due_date date, flags jsonb, contacts jsonb,
            id_number_hash text, product_id bigint, customer_id bigint
        ) ON COMMIT DROP;
        DROP TABLE IF EXISTS pg_temp.stg_contact;
        CREATE TEMP TABLE stg_contact (
            row_number integer, customer_no text, kind text, owner_role text, owner_name text,
            label text, value text, value_hash text
        ) ON COMMIT DROP;
        """
    )
    rows_read = _stream_simple(
        batch, opened, headers, cur, "stg_account", row_parsers.ACCOUNT_STAGING_COLUMNS, reporter
    )
    if rows_read == 0:
        return {"rows_read": 0}
    cur.execute(
        """
        INSERT INTO stg_contact (row_number, customer_no, kind, owner_role, owner_name, label, value,
                                 value_hash)
        SELECT s.row_number, s.customer_no, c->>0, c->>1, c->>2, c->>3, c->>4, c->>5
        FROM stg_account s CROSS JOIN LATERAL jsonb_array_elements(s.contacts) AS c
        """
    )
    # Temporary tables are never auto-analysed; without statistics the joins below go nested-loop.
    cur.execute("ANALYZE stg_account; ANALYZE stg_contact")

    params = {"creditor": batch.creditor_id, "batch": batch.pk}
    _reject(
        cur,
        "stg_account",
        "duplicate_in_file",
        headers.labels.get("account_no", "account_no"),
        """SELECT row_number, account_no AS value,
                  jsonb_build_object('first_row', first_row, 'what', '账号') AS extra
           FROM (SELECT row_number, account_no,
                        min(row_number) OVER (PARTITION BY account_no) AS first_row
                 FROM stg_account) d
           WHERE row_number > first_row""",
        params,
    )
    cur.execute(
        """UPDATE stg_account s SET product_id = p.id FROM portfolio_product p
           WHERE p.creditor_id = %(creditor)s AND p.code = s.product_code""",
        params,
    )
    _reject(
        cur,
        "stg_account",
        "unknown_product",
        headers.labels.get("product", "product"),
        """SELECT row_number, product_code AS value, jsonb_build_object('value', product_code) AS extra
           FROM stg_account WHERE product_id IS NULL""",
        params,
    )
    _reject(
        cur,
        "stg_account",
        "account_customer_changed",
        headers.labels.get("customer_id", "customer_id"),
        """SELECT s.row_number, s.customer_no AS value,
                  jsonb_build_object('value', s.account_no, 'existing', c.customer_no) AS extra
           FROM stg_account s
           JOIN portfolio_account a ON a.creditor_id = %(creditor)s AND a.account_no = s.account_no
           JOIN portfolio_customer c ON c.id = a.customer_id
           WHERE c.customer_no <> s.customer_no""",
        params,
    )
    cur.execute(
        "DELETE FROM stg_contact c WHERE NOT EXISTS (SELECT 1 FROM stg_account s WHERE s.row_number = c.row_number)"
    )

    # Customers: one per customer_no; when a file repeats a customer, its last row wins. The ID
    # number is compared by its blind index: a new ciphertext of the same number is no change.
    cur.execute(
        """
        INSERT INTO portfolio_customer (creditor_id, customer_no, name, id_number, id_number_hash, employer,
                                        time_zone, created_at, updated_at)
        SELECT DISTINCT ON (customer_no) %(creditor)s, customer_no, name, id_number, id_number_hash,
               employer, 'Asia/Shanghai', now(), now()
        FROM stg_account ORDER BY customer_no, row_number DESC
        ON CONFLICT (creditor_id, customer_no) DO UPDATE
            SET name = EXCLUDED.name, id_number = EXCLUDED.id_number, id_number_hash = EXCLUDED.id_number_hash,
                employer = EXCLUDED.employer, updated_at = now()
            WHERE (portfolio_customer.name, portfolio_customer.id_number_hash, portfolio_customer.employer)
                  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.id_number_hash, EXCLUDED.employer)
        """,
        params,
    )
    cur.execute(
        """UPDATE stg_account s SET customer_id = c.id FROM portfolio_customer c
           WHERE c.creditor_id = %(creditor)s AND c.customer_no = s.customer_no""",
        params,
    )
    # Record what changes on existing accounts before overwriting them.
    cur.execute(
        """
        INSERT INTO portfolio_accountchange (account_id, batch_id, kind, changes, created_at)
        SELECT a.id, %(batch)s, 'updated', jsonb_strip_nulls(jsonb_build_object(
                   'product', CASE WHEN a.product_id <> s.product_id
                                   THEN jsonb_build_array(p_old.code, s.product_code) END,
                   'principal_fen', CASE WHEN a.principal_fen <> s.principal_fen
                                   THEN jsonb_build_array(a.principal_fen, s.principal_fen) END,
                   'open_date', CASE WHEN a.open_date <> s.open_date
                                   THEN jsonb_build_array(a.open_date, s.open_date) END,
                   'term', CASE WHEN a.term <> s.term THEN jsonb_build_array(a.term, s.term) END,
                   'instalment_fen', CASE WHEN a.instalment_fen IS DISTINCT FROM s.instalment_fen
                                   THEN jsonb_build_array(a.instalment_fen, s.instalment_fen) END,
                   'first_due_date', CASE WHEN a.first_due_date <> s.first_due_date
                                   THEN jsonb_build_array(a.first_due_date, s.first_due_date) END,
                   'flags', CASE WHEN a.flags <> s.flags THEN jsonb_build_array(a.flags, s.flags) END)),
               now()
        FROM stg_account s
        JOIN portfolio_account a ON a.creditor_id = %(creditor)s AND a.account_no = s.account_no
        JOIN portfolio_product p_old ON p_old.id = a.product_id
        WHERE (a.product_id, a.principal_fen, a.open_date, a.term, a.instalment_fen, a.first_due_date, a.flags)
              IS DISTINCT FROM
              (s.product_id, s.principal_fen, s.open_date, s.term, s.instalment_fen, s.first_due_date, s.flags)
        """,
        params,
    )
    # A generated schedule's total is the instalment × term when given, else the principal.
    cur.execute(
        """
        WITH upserted AS (
            INSERT INTO portfolio_account (
                creditor_id, account_no, product_id, customer_id, principal_fen, open_date, term,
                instalment_fen, first_due_date, flags, status, schedule_source, total_due_fen, paid_fen,
                created_at, updated_at)
            SELECT %(creditor)s, account_no, product_id, customer_id, principal_fen, open_date, term,
                   instalment_fen, first_due_date, flags, 'active', 'generated',
                   coalesce(instalment_fen * term, principal_fen), 0, now(), now()
            FROM stg_account
            ON CONFLICT (creditor_id, account_no) DO UPDATE SET
                product_id = EXCLUDED.product_id, principal_fen = EXCLUDED.principal_fen,
                open_date = EXCLUDED.open_date, term = EXCLUDED.term,
                instalment_fen = EXCLUDED.instalment_fen, first_due_date = EXCLUDED.first_due_date,
                flags = EXCLUDED.flags,
                total_due_fen = CASE WHEN portfolio_account.schedule_source = 'generated'
                                     THEN EXCLUDED.total_due_fen ELSE portfolio_account.total_due_fen END,
                updated_at = now()
            WHERE (portfolio_account.product_id, portfolio_account.principal_fen, portfolio_account.open_date,
                   portfolio_account.term, portfolio_account.instalment_fen,
                   portfolio_account.first_due_date, portfolio_account.flags)
                  IS DISTINCT FROM
                  (EXCLUDED.product_id, EXCLUDED.principal_fen, EXCLUDED.open_date, EXCLUDED.term,
                   EXCLUDED.instalment_fen, EXCLUDED.first_due_date, EXCLUDED.flags)
            RETURNING id, (xmax = 0) AS inserted
        ),
        created AS (
            INSERT INTO portfolio_accountchange (account_id, batch_id, kind, changes, created_at)
            SELECT id, %(batch)s, 'created', '{}'::jsonb, now() FROM upserted WHERE inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
        """,
        params,
    )
    inserted, updated = cur.fetchone() or (0, 0)
    # Contact points: new ones are added; known ones keep their validity and do-not-contact state
    # (and their ciphertext: the same value by its blind index is the same contact point).
    cur.execute(
        """
        INSERT INTO portfolio_contactpoint (customer_id, kind, owner_role, owner_name, label, value, value_hash,
                                            is_valid, do_not_contact, do_not_contact_reason, created_at)
        SELECT DISTINCT ON (c.id, sc.kind, sc.owner_role, sc.value_hash)
               c.id, sc.kind, sc.owner_role, sc.owner_name, sc.label, sc.value, sc.value_hash,
               true, false, '', now()
        FROM stg_contact sc
        JOIN portfolio_customer c ON c.creditor_id = %(creditor)s AND c.customer_no = sc.customer_no
        ORDER BY c.id, sc.kind, sc.owner_role, sc.value_hash, sc.row_number DESC
        ON CONFLICT (customer_id, kind, owner_role, value_hash) DO UPDATE
            SET owner_name = EXCLUDED.owner_name, label = EXCLUDED.label
            WHERE (portfolio_contactpoint.owner_name, portfolio_contactpoint.label)
                  IS DISTINCT FROM (EXCLUDED.owner_name, EXCLUDED.label)
        """,
        params,
    )
    rows_rejected = _save_errors(cur, batch.pk)
    cur.execute("SELECT count(*) FROM stg_account")
    loaded = int((cur.fetchone() or (0,))[0])
    return {
        "rows_read": rows_read,
        "rows_loaded": loaded,
        "rows_rejected": rows_rejected,
        "rows_inserted": int(inserted),
        "rows_updated": int(updated),
        "rows_unchanged": loaded - int(inserted) - int(updated),
    }


def _error_tuples(row_number: int, problems: list[row_parsers.RowProblem]) -> Iterator[tuple[Any, ...]]:
    for p in problems:
        yield (row_number, p.column, p.value, p.code, json.dumps(p.params, ensure_ascii=False, default=str))


# Files at least this big are parsed by a pool of worker processes; below it, starting the
# pool costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
CHUNK_ROWS = 2000


def _chunks(opened: OpenedFile) -> Iterator[list[tuple[int, list[Any]]]]:
    chunk: list[tuple[int, list[Any]]] = []
    for item in opened.rows:
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parsed_rows(batch: ImportBatch, opened: OpenedFile, headers: Any) -> Iterator[row_parsers.Parsed]:
    """Rows parsed in file order, by worker processes for big files (parsing is CPU-bound
    Python; reading, COPY and PostgreSQL keep the main process busy meanwhile)."""
    workers = int(os.environ.get("ARREARS_IMPORT_WORKERS", os.cpu_count() or 1))
    creditor_code = batch.creditor.code
    # The workers get the ring with their work (the same keys, however this process got them).
    ring = crypto.keyring() if batch.kind == ImportKind.ACCOUNTS else None
    if workers < 2 or batch.size_bytes < PARALLEL_MIN_BYTES:
        for chunk in _chunks(opened):
            yield from row_parsers.parse_chunk(batch.kind, headers, creditor_code, chunk, ring)
        return
    # "spawn", not fork: the web and job workers have threads, which fork would copy half-way.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: collections.deque[concurrent.futures.Future[list[row_parsers.Parsed]]] = collections.deque()
        for chunk in _chunks(opened):
            pending.append(
                pool.submit(row_parsers.parse_chunk, batch.kind, headers, creditor_code, chunk, ring)
            )
            # A bounded window keeps memory flat however long the file is.
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _stream_simple(
    batch: ImportBatch,
    opened: OpenedFile,
    headers: Any,
    cur: psycopg.Cursor[Any],
    table: str,
    columns: tuple[str, ...],
    reporter: Callable[[int], None],
) -> int:
    rows_read = 0
    errors: list[tuple[Any, ...]] = []
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row_number, line, problems in _parsed_rows(batch, opened, headers):
            rows_read += 1
            if problems is not None:
                errors.extend(_error_tuples(row_number, problems))
            else:
                assert line is not None
                copy.write(line)
            if rows_read % PROGRESS_EVERY == 0:
                reporter(rows_read)
    reporter(rows_read)
    _copy_all(cur, "stg_error", ERROR_COLUMNS, errors)
    return rows_read


# --- schedule --------------------------------------------------------------------------------


def _load_schedule(
    batch: ImportBatch, opened: OpenedFile, headers: Any, reporter: Callable[[int], None]
) -> dict[str, int]:
    cur = _raw_cursor()
    _create_error_table(cur)
    cur.execute(
        """
        DROP TABLE IF EXISTS pg_temp.stg_instalment;
        CREATE TEMP TABLE stg_instalment (
            row_number integer PRIMARY KEY, account_no text, seq integer, due_date date,
            principal_due_fen bigint, interest_due_fen bigint, fee_due_fen bigint, premium_due_fen bigint,
            account_id bigint
        ) ON COMMIT DROP
        """
    )
    rows_read = _stream_simple(
        batch, opened, headers, cur, "stg_instalment", row_parsers.SCHEDULE_COLUMNS, reporter
    )
    if rows_read == 0:
        return {"rows_read": 0}
    params = {"creditor": batch.creditor_id, "batch": batch.pk}
    _reject(
        cur,
        "stg_instalment",
        "duplicate_in_file",
        headers.labels.get("seq", "seq"),
        """SELECT row_number, account_no || ' #' || seq AS value,
                  jsonb_build_object('first_row', first_row, 'what', '期次') AS extra
           FROM (SELECT row_number, account_no, seq,
                        min(row_number) OVER (PARTITION BY account_no, seq) AS first_row
                 FROM stg_instalment) d
           WHERE row_number > first_row""",
        params,
    )
    cur.execute(
        """UPDATE stg_instalment s SET account_id = a.id FROM portfolio_account a
           WHERE a.creditor_id = %(creditor)s AND a.account_no = s.account_no""",
        params,
    )
    _reject(
        cur,
        "stg_instalment",
        "unknown_account",
        headers.labels.get("account_no", "account_no"),
        """SELECT row_number, account_no AS value, jsonb_build_object('value', account_no) AS extra
           FROM stg_instalment WHERE account_id IS NULL""",
        params,
    )
    cur.execute(
        "DROP TABLE IF EXISTS pg_temp.stg_touched;"
        " CREATE TEMP TABLE stg_touched (account_id bigint PRIMARY KEY) ON COMMIT DROP"
    )
    # The file's instalments replace the account's schedule: drop seqs the file no longer has.
    cur.execute(
        """
        WITH removed AS (
            DELETE FROM portfolio_instalment i
            WHERE i.account_id IN (SELECT DISTINCT account_id FROM stg_instalment)
              AND NOT EXISTS (SELECT 1 FROM stg_instalment s
                              WHERE s.account_id = i.account_id AND s.seq = i.seq)
            RETURNING i.account_id
        )
        INSERT INTO stg_touched SELECT DISTINCT account_id FROM removed ON CONFLICT DO NOTHING
        """
    )
    cur.execute(
        """
        WITH upserted AS (
            INSERT INTO portfolio_instalment (account_id, seq, due_date, principal_due_fen, interest_due_fen,
                                              fee_due_fen, premium_due_fen)
            SELECT account_id, seq, due_date, principal_due_fen, interest_due_fen, fee_due_fen, premium_due_fen
            FROM stg_instalment
            ON CONFLICT (account_id, seq) DO UPDATE SET
                due_date = EXCLUDED.due_date, principal_due_fen = EXCLUDED.principal_due_fen,
                interest_due_fen = EXCLUDED.interest_due_fen, fee_due_fen = EXCLUDED.fee_due_fen,
                premium_due_fen = EXCLUDED.premium_due_fen
            WHERE (portfolio_instalment.due_date, portfolio_instalment.principal_due_fen,
                   portfolio_instalment.interest_due_fen, portfolio_instalment.fee_due_fen,
                   portfolio_instalment.premium_due_fen)
                  IS DISTINCT FROM (EXCLUDED.due_date, EXCLUDED.principal_due_fen, EXCLUDED.interest_due_fen,
                                    EXCLUDED.fee_due_fen, EXCLUDED.premium_due_fen)
            RETURNING account_id, (xmax = 0) AS inserted
        ),
        touched AS (
            INSERT INTO stg_touched SELECT DISTINCT account_id FROM upserted ON CONFLICT DO NOTHING
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
        """
    )
    inserted, updated = cur.fetchone() or (0, 0)
    # Accounts whose schedule came from generation until now switch to the file's schedule.
    cur.execute(
        """
        INSERT INTO stg_touched
        SELECT DISTINCT s.account_id FROM stg_instalment s
        JOIN portfolio_account a ON a.id = s.account_id WHERE a.schedule_source <> 'file'
        ON CONFLICT DO NOTHING
        """
    )
    cur.execute(
        """
        UPDATE portfolio_account a SET schedule_source = 'file', updated_at = now(),
               total_due_fen = t.total
        FROM (SELECT i.account_id, sum(i.principal_due_fen + i.interest_due_fen + i.fee_due_fen
                                       + i.premium_due_fen) AS total
              FROM portfolio_instalment i JOIN stg_touched t ON t.account_id = i.account_id
              GROUP BY i.account_id) t
        WHERE a.id = t.account_id
        """
    )
    cur.execute(
        """
        INSERT INTO portfolio_accountchange (account_id, batch_id, kind, changes, created_at)
        SELECT t.account_id, %(batch)s, 'schedule',
               jsonb_build_object('instalments', (SELECT count(*) FROM portfolio_instalment i
                                                  WHERE i.account_id = t.account_id)),
               now()
        FROM stg_touched t
        """,
        params,
    )
    rows_rejected = _save_errors(cur, batch.pk)
    cur.execute("SELECT count(*) FROM stg_instalment")
    loaded = int((cur.fetchone() or (0,))[0])
    return {
        "rows_read": rows_read,
        "rows_loaded": loaded,
        "rows_rejected": rows_rejected,
        "rows_inserted": int(inserted),
        "rows_updated": int(updated),
        "rows_unchanged": loaded - int(inserted) - int(updated),
    }


# --- payments --------------------------------------------------------------------------------


def _load_payments(
    batch: ImportBatch, opened: OpenedFile, headers: Any, reporter: Callable[[int], None]
) -> dict[str, int]:
    cur = _raw_cursor()
    _create_error_table(cur)
    cur.execute(
        """
        DROP TABLE IF EXISTS pg_temp.stg_payment;
        CREATE TEMP TABLE stg_payment (
            row_number integer PRIMARY KEY, account_no text, txn_id text, paid_at timestamptz,
            amount_fen bigint, channel text, reversal_of text, account_id bigint, duplicate boolean DEFAULT false
        ) ON COMMIT DROP
        """
    )
    rows_read = _stream_simple(
        batch, opened, headers, cur, "stg_payment", row_parsers.PAYMENT_COLUMNS, reporter
    )
    if rows_read == 0:
        return {"rows_read": 0}
    cur.execute("ANALYZE stg_payment")
    params = {"creditor": batch.creditor_id, "batch": batch.pk}
    txn_label = headers.labels.get("txn_id", "txn_id")
    # The same transaction twice in one file is one payment; the same txn_id with other data is an error.
    _reject(
        cur,
        "stg_payment",
        "duplicate_in_file",
        txn_label,
        """SELECT d.row_number, d.txn_id AS value,
                  jsonb_build_object('first_row', d.first_row, 'what', '流水号') AS extra
           FROM (SELECT s.*, first_value(row_number) OVER w AS first_row,
                        first_value(ROW(account_no, paid_at, amount_fen, reversal_of)::text) OVER w AS first_data
                 FROM stg_payment s WINDOW w AS (PARTITION BY txn_id ORDER BY row_number)) d
           WHERE d.row_number > d.first_row
             AND ROW(d.account_no, d.paid_at, d.amount_fen, d.reversal_of)::text <> d.first_data""",
        params,
    )
    cur.execute(
        """UPDATE stg_payment s SET duplicate = true
           FROM stg_payment f WHERE f.txn_id = s.txn_id AND f.row_number < s.row_number"""
    )
    cur.execute(
        """UPDATE stg_payment s SET account_id = a.id FROM portfolio_account a
           WHERE a.creditor_id = %(creditor)s AND a.account_no = s.account_no""",
        params,
    )
    _reject(
        cur,
        "stg_payment",
        "unknown_account",
        headers.labels.get("account_no", "account_no"),
        """SELECT row_number, account_no AS value, jsonb_build_object('value', account_no) AS extra
           FROM stg_payment WHERE account_id IS NULL""",
        params,
    )
    _reject(
        cur,
        "stg_payment",
        "txn_conflict",
        txn_label,
        """SELECT s.row_number, s.txn_id AS value, jsonb_build_object('value', s.txn_id) AS extra
           FROM stg_payment s
           JOIN portfolio_payment p ON p.creditor_id = %(creditor)s AND p.txn_id = s.txn_id
           LEFT JOIN portfolio_payment r ON r.id = p.reversal_of_id
           WHERE (p.account_id, p.paid_at, p.amount_fen, r.txn_id)
                 IS DISTINCT FROM (s.account_id, s.paid_at, s.amount_fen, s.reversal_of)""",
        params,
    )
    # A reversal points at a payment already loaded or in this file, on the same account, and
    # does not reverse more than the original amount.
    reversal_label = headers.labels.get("reversal_of", "reversal_of")
    originals = """
        (SELECT txn_id, account_id, amount_fen FROM portfolio_payment WHERE creditor_id = %(creditor)s
         UNION ALL
         SELECT txn_id, account_id, amount_fen FROM stg_payment WHERE reversal_of IS NULL AND NOT duplicate)
    """
    _reject(
        cur,
        "stg_payment",
        "unknown_reversal",
        reversal_label,
        f"""SELECT s.row_number, s.reversal_of AS value, jsonb_build_object('value', s.reversal_of) AS extra
            FROM stg_payment s WHERE s.reversal_of IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {originals} o WHERE o.txn_id = s.reversal_of)""",
        params,
    )
    _reject(
        cur,
        "stg_payment",
        "reversal_other_account",
        reversal_label,
        f"""SELECT s.row_number, s.reversal_of AS value,
                   jsonb_build_object('original', a.account_no) AS extra
            FROM stg_payment s JOIN {originals} o ON o.txn_id = s.reversal_of
            JOIN portfolio_account a ON a.id = o.account_id
            WHERE o.account_id <> s.account_id""",
        params,
    )
    _reject(
        cur,
        "stg_payment",
        "reversal_too_large",
        headers.labels.get("amount", "amount"),
        f"""SELECT s.row_number, (s.amount_fen / 100.0)::text AS value,
                   jsonb_build_object('original', (o.amount_fen / 100.0)::text) AS extra
            FROM stg_payment s JOIN {originals} o ON o.txn_id = s.reversal_of
            WHERE -s.amount_fen > o.amount_fen""",
        params,
    )
    cur.execute(
        "DROP TABLE IF EXISTS pg_temp.stg_touched;"
        " CREATE TEMP TABLE stg_touched (account_id bigint PRIMARY KEY) ON COMMIT DROP"
    )
    inserted = 0
    # Originals first, so reversals in the same file can point at them.
    for reversals in (False, True):
        cur.execute(
            """
            WITH added AS (
                INSERT INTO portfolio_payment (creditor_id, account_id, txn_id, paid_at, amount_fen, channel,
                                               reversal_of_id, batch_id, created_at)
                SELECT %(creditor)s, s.account_id, s.txn_id, s.paid_at, s.amount_fen, s.channel,
                       o.id, %(batch)s, now()
                FROM stg_payment s
                LEFT JOIN portfolio_payment o ON o.creditor_id = %(creditor)s AND o.txn_id = s.reversal_of
                WHERE NOT s.duplicate AND (s.reversal_of IS NOT NULL) = %(reversals)s
                ON CONFLICT (creditor_id, txn_id) DO NOTHING
                RETURNING account_id
            ),
            touched AS (INSERT INTO stg_touched SELECT DISTINCT account_id FROM added ON CONFLICT DO NOTHING)
            SELECT count(*) FROM added
            """,
            {**params, "reversals": reversals},
        )
        inserted += int((cur.fetchone() or (0,))[0])
    cur.execute(
        """
        UPDATE portfolio_account a SET paid_fen = t.paid, updated_at = now()
        FROM (SELECT p.account_id, sum(p.amount_fen) AS paid FROM portfolio_payment p
              JOIN stg_touched t ON t.account_id = p.account_id GROUP BY p.account_id) t
        WHERE a.id = t.account_id AND a.paid_fen <> t.paid
        """
    )
    rows_rejected = _save_errors(cur, batch.pk)
    cur.execute("SELECT count(*) FROM stg_payment")
    loaded = int((cur.fetchone() or (0,))[0])
    return {
        "rows_read": rows_read,
        "rows_loaded": loaded,
        "rows_rejected": rows_rejected,
        "rows_inserted": inserted,
        "rows_updated": 0,
        "rows_unchanged": loaded - inserted,
    }


_LOADERS: dict[str, Callable[[ImportBatch, OpenedFile, Any, Callable[[int], None]], dict[str, int]]] = {
    ImportKind.ACCOUNTS: _load_accounts,
    ImportKind.SCHEDULE: _load_schedule,
    ImportKind.PAYMENTS: _load_payments,
}
