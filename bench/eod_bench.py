"""End-of-day benchmark: a generated book of N accounts (≈12 instalments and ≈10 payments each),
a full rebuild, an ordinary incremental day, and the same days-past-due computation in DuckDB
for reference. See bench/README.md.

    .venv/bin/python bench/eod_bench.py [--accounts N] [--keep-db]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_DATABASE = "arrears_bench_eod"
DATA = ROOT / "bench-data" / "eod"
BUSINESS_DATE = dt.date(2026, 11, 22)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts", type=int, default=1_000_000, help="accounts in the book (default 1,000,000)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB reference")
    return parser.parse_args()


def bench_database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        return urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DATABASE}"))
    sys.path.insert(0, str(ROOT))
    from arrears.core.embedded_db import EmbeddedServer

    server = EmbeddedServer.default()
    server.ensure_running()
    return server.url(BENCH_DATABASE)


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def timed(label: str, results: list[tuple[str, float, str]], func, *args, note: str = "") -> object:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    value = func(*args)
    seconds = time.monotonic() - started
    results.append((label, seconds, note))
    print(f"  {label:<44} {seconds:9.2f} s {note}", flush=True)
    return value


# The book, generated in the database (set-based; a CSV import of 10M payments would be its own benchmark).
BOOK_SQL = """
INSERT INTO portfolio_creditor (code, name, created_at) VALUES ('BENCH', '基准测试银行', now());
INSERT INTO portfolio_product (creditor_id, code, name, kind, ladder_id, tolerance_fen, due_date_shift,
                               allocation_order, case_open_dpd)
SELECT c.id, p.code, p.name, 'loan', l.id, 1000, p.shift, '["fee", "interest", "principal", "premium"]', 1
  FROM portfolio_creditor c, portfolio_bucketladder l,
       (VALUES ('CASHLOAN', '现金贷', 'none'), ('SHIFTED', '节假日顺延贷', 'next_working_day')) p(code, name, shift)
 WHERE c.code = 'BENCH' AND l.code = 'default';

INSERT INTO portfolio_customer (creditor_id, customer_no, name, id_number, employer, time_zone, created_at, updated_at)
SELECT c.id, 'C' || lpad(g::text, 9, '0'), '客户' || g, '11010519880314' || lpad(mod(g, 10000)::text, 4, '0'),
       '', 'Asia/Shanghai', now(), now()
  FROM portfolio_creditor c, generate_series(1, %(n)s) g WHERE c.code = 'BENCH';

-- Half the accounts have a schedule file (stored instalments), half the derived schedule.
INSERT INTO portfolio_account (creditor_id, account_no, product_id, customer_id, principal_fen, open_date, term,
                               instalment_fen, first_due_date, flags, status, schedule_source, total_due_fen,
                               paid_fen, created_at, updated_at)
SELECT cu.creditor_id, 'A' || lpad(g::text, 9, '0'),
       CASE WHEN mod(g, 4) = 0 THEN ps.id ELSE pc.id END, cu.id,
       (100000 + mod(g::bigint * 7919, 5000000)), d.first_due - 30, 12, NULL, d.first_due, '[]', 'active',
       CASE WHEN mod(g, 2) = 0 THEN 'file' ELSE 'generated' END, 0, 0, now(), now()
  FROM generate_series(1, %(n)s) g
  JOIN portfolio_customer cu ON cu.customer_no = 'C' || lpad(g::text, 9, '0')
  CROSS JOIN LATERAL (SELECT date '2025-06-01' + mod(g * 37, 520) AS first_due) d
  CROSS JOIN (SELECT id FROM portfolio_product WHERE code = 'SHIFTED') ps
  CROSS JOIN (SELECT id FROM portfolio_product WHERE code = 'CASHLOAN') pc;

INSERT INTO portfolio_instalment (account_id, seq, due_date, principal_due_fen, interest_due_fen, fee_due_fen,
                                  premium_due_fen)
SELECT a.id, s, (a.first_due_date + make_interval(months => s - 1))::date,
       a.principal_fen / 12 + CASE WHEN s = 12 THEN mod(a.principal_fen, 12) ELSE 0 END,
       a.principal_fen / 200, CASE WHEN s = 1 THEN 500 ELSE 0 END, 0
  FROM portfolio_account a CROSS JOIN generate_series(1, 12) s
 WHERE a.schedule_source = 'file';

-- Payment behaviour: 92 in 100 pay every instalment around its due date, 8 in 100 stop paying at some point.
INSERT INTO portfolio_payment (creditor_id, account_id, txn_id, paid_at, amount_fen, channel, created_at)
SELECT a.creditor_id, a.id, 'T' || a.id || '-' || s,
       ((a.first_due_date + make_interval(months => s - 1))::date - mod(a.id, 4)::int + time '10:00')
           AT TIME ZONE 'Asia/Shanghai',
       CASE WHEN a.schedule_source = 'file'
            THEN a.principal_fen / 12 + CASE WHEN s = 12 THEN mod(a.principal_fen, 12) ELSE 0 END
                 + a.principal_fen / 200 + CASE WHEN s = 1 THEN 500 ELSE 0 END
            ELSE a.principal_fen / 12 + CASE WHEN s = 12 THEN mod(a.principal_fen, 12) ELSE 0 END END,
       '代扣', now()
  FROM portfolio_account a CROSS JOIN generate_series(1, 12) s
 WHERE (a.first_due_date + make_interval(months => s - 1))::date <= %(d)s
   AND NOT (mod(a.id, 25) IN (1, 2) AND s > 2 + mod(a.id, 7));
"""

ORDINARY_DAY_SQL = """
INSERT INTO portfolio_payment (creditor_id, account_id, txn_id, paid_at, amount_fen, channel, created_at)
SELECT a.creditor_id, a.id, 'D' || a.id, (%(d)s::date + time '11:00') AT TIME ZONE 'Asia/Shanghai',
       5000, '网银', now()
  FROM portfolio_account a WHERE mod(a.id, 33) = 0;
"""


def run_manage(url: str, *args: str) -> tuple[float, float]:
    """Run a management command as a child; (seconds, its peak RSS MB)."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)
    _pid, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def run_seconds(url: str) -> float:
    """The last run's own time (without the command's Python and Django start-up)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM finished_at - started_at) FROM delinquency_eodrun ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def duckdb_reference(url: str, results: list[tuple[str, float, str]]) -> float:
    """Export the book to Parquet and compute DPD per account in DuckDB with the same definition."""
    import duckdb
    import psycopg

    DATA.mkdir(parents=True, exist_ok=True)
    exports = {
        "accounts": "SELECT id, schedule_source, principal_fen, term, first_due_date, product_id FROM portfolio_account",
        "instalments": "SELECT account_id, seq, due_date, principal_due_fen + interest_due_fen + fee_due_fen"
        " + premium_due_fen AS total FROM portfolio_instalment",
        "payments": "SELECT account_id, (paid_at AT TIME ZONE 'Asia/Shanghai')::date AS paid_on, amount_fen"
        " FROM portfolio_payment",
    }

    def export() -> None:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            for name, query in exports.items():
                csv_path = DATA / f"{name}.csv"
                with (
                    csv_path.open("wb") as out,
                    cur.copy(f"COPY ({query}) TO STDOUT WITH CSV HEADER") as copy,
                ):
                    for chunk in copy:
                        out.write(chunk)
                duckdb.execute(
                    f"COPY (SELECT * FROM read_csv_auto('{csv_path}')) TO '{DATA / name}.parquet' (FORMAT parquet)"
                )
                csv_path.unlink()

    timed("export to Parquet (COPY + DuckDB)", results, export)
    query = f"""
        WITH inst AS (
            SELECT account_id, seq, due_date, total FROM read_parquet('{DATA}/instalments.parquet')
            UNION ALL
            SELECT a.id, s.seq, (a.first_due_date + to_months(s.seq - 1))::DATE,
                   a.principal_fen // a.term + CASE WHEN s.seq = a.term THEN a.principal_fen % a.term ELSE 0 END
              FROM read_parquet('{DATA}/accounts.parquet') a, range(1, 13) s(seq)
             WHERE a.schedule_source = 'generated' AND s.seq <= a.term
        ), paid AS (
            SELECT account_id, greatest(sum(amount_fen), 0) AS paid FROM read_parquet('{DATA}/payments.parquet')
             WHERE paid_on <= DATE '{BUSINESS_DATE}' GROUP BY account_id
        ), cum AS (
            SELECT i.*, sum(total) OVER (PARTITION BY account_id ORDER BY due_date, seq) AS cum FROM inst i
             WHERE due_date < DATE '{BUSINESS_DATE}'
        )
        SELECT count(*) FILTER (WHERE since IS NOT NULL), avg(DATE '{BUSINESS_DATE}' - since) FROM (
            SELECT c.account_id, min(c.due_date) FILTER (WHERE c.cum - coalesce(p.paid, 0) >= 1000) AS since
              FROM cum c LEFT JOIN paid p USING (account_id) GROUP BY c.account_id)
    """
    started = time.monotonic()
    delinquent, _average = duckdb.execute(query).fetchone()  # type: ignore[misc]
    seconds = time.monotonic() - started
    results.append(("DuckDB: DPD of every account from Parquet", seconds, f"{delinquent:,} delinquent"))
    print(
        f"  {'DuckDB: DPD of every account from Parquet':<44} {seconds:9.2f} s {delinquent:,} delinquent",
        flush=True,
    )
    return seconds


def main() -> int:
    args = parse_args()
    url = bench_database_url()
    results: list[tuple[str, float, str]] = []
    print(f"EOD benchmark — {os.cpu_count()} CPUs, {args.accounts:,} accounts, business date {BUSINESS_DATE}")
    admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    admin(url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    # Statements over a second go to the server log (var/pg/server.log), to see where time goes.
    admin(url, f'ALTER DATABASE "{BENCH_DATABASE}" SET log_min_duration_statement = 1000')
    try:
        timed("migrate", results, run_manage, url, "migrate", "--verbosity", "0")
        import psycopg

        def build() -> None:
            with psycopg.connect(url) as conn:
                conn.execute("SET synchronous_commit = off")
                params = {"n": args.accounts, "d": BUSINESS_DATE}
                for statement in (part.strip() for part in BOOK_SQL.split(";\n")):
                    if statement:
                        conn.execute(statement, params if "%(" in statement else None)  # type: ignore[arg-type]
                conn.execute("DELETE FROM delinquency_dirtyaccount")
                conn.commit()
                conn.autocommit = True
                conn.execute("VACUUM ANALYZE")

        timed("generate the book in SQL", results, build)
        with psycopg.connect(url) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM portfolio_account), (SELECT count(*) FROM portfolio_instalment),"
                " (SELECT count(*) FROM portfolio_payment)"
            ).fetchone()
        assert counts is not None
        stored = counts[1]
        derived = args.accounts // 2 * 12
        print(
            f"  book: {counts[0]:,} accounts, {stored:,} stored + {derived:,} derived instalments, {counts[2]:,} payments"
        )
        full_s, full_rss = run_manage(url, "eod", "--date", str(BUSINESS_DATE), "--full")
        full_note = f"run {run_seconds(url):.2f} s, peak RSS {full_rss:.0f} MB"
        results.append(("first full run (no state yet)", full_s, full_note))
        print(f"  {'first full run (no state yet)':<44} {full_s:9.2f} s {full_note}")
        # The rebuild an operator runs to reconcile: every account recomputed over existing state.
        again_s, again_rss = run_manage(url, "eod", "--date", str(BUSINESS_DATE), "--full", "--quiet")
        again_note = f"run {run_seconds(url):.2f} s, peak RSS {again_rss:.0f} MB"
        results.append(("full rebuild over existing state", again_s, again_note))
        print(f"  {'full rebuild over existing state':<44} {again_s:9.2f} s {again_note}")
        with psycopg.connect(url) as conn:
            conn.execute(ORDINARY_DAY_SQL, {"d": BUSINESS_DATE + dt.timedelta(days=1)})  # type: ignore[arg-type]
            conn.commit()
            changed = conn.execute(
                "SELECT count(DISTINCT account_id) FROM delinquency_dirtyaccount"
            ).fetchone()
        day_s, day_rss = run_manage(url, "eod", "--date", str(BUSINESS_DATE + dt.timedelta(days=1)))
        with psycopg.connect(url) as conn:
            accounts = conn.execute(
                "SELECT accounts FROM delinquency_eodrun ORDER BY id DESC LIMIT 1"
            ).fetchone()
        note = (
            f"run {run_seconds(url):.2f} s, {changed[0] if changed else 0:,} paid,"
            f" {accounts[0] if accounts else 0:,} recomputed, RSS {day_rss:.0f} MB"
        )
        results.append(("ordinary day (eod, incremental)", day_s, note))
        print(f"  {'ordinary day (eod, incremental)':<44} {day_s:9.2f} s {note}")
        if not args.no_duckdb:
            duck = duckdb_reference(url, results)
            print(
                f"  ratios to DuckDB: first full {full_s / duck:.1f}×, rebuild {again_s / duck:.1f}×, incremental {day_s / duck:.1f}×"
            )
        print(f"  this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        if not args.keep_db:
            admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
