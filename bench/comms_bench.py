"""Communications benchmark: the end-of-day cadence expansion over a book of N accounts, then
the outbox sender through the real HTTP SMS adapter to the local fake provider. See
bench/README.md ("Communications benchmark").

    .venv/bin/python bench/comms_bench.py [--accounts N] [--messages M] [--workers 1,2] [--keep-db]
    .venv/bin/python bench/comms_bench.py --accounts 20000          # quick

1. Builds the scratch database `arrears_bench_comms` (migrated): N customers (ID numbers and
   phones encrypted and blind-indexed with the project's key ring, as the importer writes them;
   an own mobile each, a relative's mobile for every other one, 1 in 100 own mobiles opted
   out, 1 in 100 customers in Asia/Urumqi), N accounts with their delinquency state as of the
   business date D (75 % current with next due dates spread over the 30 days after D, 6 % M1
   with delinquency start spread over the 30 days before, 10 % M2, 9 % M3+), the instalment
   falling due on each next due date, open cases for the delinquent accounts, the default
   cadences and the catalogue's approved templates.
2. Runs `cadences_expand` for D-1 (the night before: it leaves the outbox and the reminder
   calls an ordinary night finds), then times `cadences_expand(business_date=D)` in one
   transaction as the end-of-day step runs it — each statement, the COMMIT (deferred
   foreign-key checks) and the CPU of PostgreSQL — then the same again (must queue nothing),
   and prints the plan of the slowest statement (`EXPLAIN ANALYZE`, run again, rolled back).
3. Starts the fake SMS provider as its own process and sends M of the queued messages with
   `outbox_send_due` in 1 and in 2 worker processes (separate Django processes, each with its
   own connection, claiming disjoint rows): messages/s, the time per phase (claim, load,
   render + guard, HTTP, record), and the CPU of the workers, the fake and PostgreSQL.
4. Profiles one batch in this process (cProfile, CPU time).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
BENCH_DATABASE = "arrears_bench_comms"
LOGS = ROOT / "bench-data" / "comms"
# The batch of D (a Monday) queues the messages of D+1 (a working Tuesday, no holiday near).
BUSINESS_DATE = dt.date(2026, 11, 23)
SEND_DAY = BUSINESS_DATE + dt.timedelta(days=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
SEND_AT = dt.datetime.combine(SEND_DAY, dt.time(10, 0), tzinfo=SHANGHAI)
EXPANSION_TARGET_S = 10.0
SEND_TARGET_PER_S = 500.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts", type=int, default=1_000_000, help="accounts in the book (default 1,000,000)"
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=20_000,
        help="messages sent per run of the sender (default 20,000; at most a third of those queued)",
    )
    parser.add_argument(
        "--workers", default="1,2", help="sender process counts to measure, comma-separated (default 1,2)"
    )
    parser.add_argument(
        "--batch", type=int, default=0, help="ARREARS_OUTBOX_BATCH for the senders (default: settings)"
    )
    parser.add_argument(
        "--profile", type=int, default=200, help="messages in the profiled batch (0: no profile)"
    )
    parser.add_argument("--no-send", action="store_true", help="only the expansion")
    parser.add_argument(
        "--index-next-due",
        action="store_true",
        help="first create an index on delinquency_accountstate (next_due_date) in the scratch database"
        " (the index this benchmark's report proposes; not a migration)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"scratch database name (default {BENCH_DATABASE})"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a kept book of the same size (its outbox emptied first)"
    )
    # Internal: one sender process (started by this script).
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


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


def kept_book(url: str, accounts: int) -> bool:
    """Whether a kept scratch database holds a book of this size; if so, empty what the
    expansion and the senders wrote, so the run starts from the same state as a fresh one."""
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone() is None:
            return False
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM portfolio_account").fetchone()
        if row is None or row[0] != accounts:
            return False
        conn.execute("DROP INDEX IF EXISTS bench_state_next_due_idx")
        conn.execute(
            "TRUNCATE comms_messageevent, comms_message, comms_remindercall, cases_activity, compliance_decision"
            " CASCADE"
        )
        conn.execute("VACUUM ANALYZE comms_message, comms_remindercall, cases_activity, compliance_decision")
    return True


_django_ready = False


def setup_django(url: str) -> None:
    global _django_ready
    if _django_ready:
        return
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arrears.config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    _django_ready = True


# --- the book ------------------------------------------------------------------------------

BOOK_HEAD_SQL = """
INSERT INTO portfolio_creditor (code, name, created_at) VALUES ('BENCH', '基准测试银行', now());
INSERT INTO portfolio_product (creditor_id, code, name, kind, ladder_id, tolerance_fen, due_date_shift,
                               allocation_order, case_open_dpd)
SELECT c.id, 'CASHLOAN', '现金贷', 'loan', l.id, 1000, 'none', '["fee", "interest", "principal", "premium"]', 1
  FROM portfolio_creditor c, portfolio_bucketladder l WHERE c.code = 'BENCH' AND l.code = 'default'
"""

# Customer g has account g, own mobile g; ids are set explicitly (sequences moved on after).
# Buckets by mod(g, 100): < 75 current (M0), < 81 M1, < 91 M2, else M3 / M4+; dates spread
# with a hash of g, so that they do not line up with the buckets.
BOOK_SQL = """
INSERT INTO portfolio_account (id, creditor_id, account_no, product_id, customer_id, principal_fen, open_date, term,
                               instalment_fen, first_due_date, flags, status, schedule_source, total_due_fen,
                               paid_fen, created_at, updated_at)
SELECT g, p.creditor_id, 'A' || lpad(g::text, 9, '0'), p.id, g, 1200000, date '2025-06-01', 12, 100000,
       date '2025-07-01', '[]', 'active', 'generated', 1200000, 0, now(), now()
  FROM generate_series(1, %(n)s) g CROSS JOIN (SELECT id, creditor_id FROM portfolio_product WHERE code = 'CASHLOAN') p;

INSERT INTO delinquency_accountstate (account_id, as_of, paid_fen, due_to_date_fen, overdue_principal_fen,
       overdue_interest_fen, overdue_fee_fen, overdue_premium_fen, overdue_fen, outstanding_fen, credit_fen,
       missed_instalments, bucket_code, bucket_group, delinquent_since, next_due_date, next_change_date, updated_at)
SELECT g, %(d)s, 0, 0, 0, 0, 0, 0, b.overdue, 600000 + b.overdue, 0, b.missed, b.grp, b.grp, b.since,
       %(d)s::date + 1 + mod(abs(hashint4(g)::bigint), 30)::int, %(d)s::date + 1, now()
  FROM generate_series(1, %(n)s) g
  CROSS JOIN LATERAL (SELECT mod(g, 100) AS r, mod(abs(hashint4(-g)::bigint), 30)::int AS spread) h
  CROSS JOIN LATERAL (
      SELECT CASE WHEN h.r < 75 THEN 'M0' WHEN h.r < 81 THEN 'M1' WHEN h.r < 91 THEN 'M2'
                  WHEN h.r < 96 THEN 'M3' ELSE 'M4+' END AS grp,
             CASE WHEN h.r < 75 THEN 0 ELSE 10000 + mod(g::bigint * 7919, 600000) END AS overdue,
             CASE WHEN h.r < 75 THEN 0 WHEN h.r < 81 THEN 1 WHEN h.r < 91 THEN 2 ELSE 4 END AS missed,
             CASE WHEN h.r < 75 THEN NULL
                  WHEN h.r < 81 THEN %(d)s::date - 1 - h.spread
                  WHEN h.r < 91 THEN %(d)s::date - 31 - h.spread
                  ELSE %(d)s::date - 61 - mod(g, 200)::int END AS since
  ) b;

-- The instalment falling due on each account's next due date (what a reminder says it is).
INSERT INTO portfolio_instalment (account_id, seq, due_date, principal_due_fen, interest_due_fen, fee_due_fen,
                                  premium_due_fen)
SELECT s.account_id, 6, s.next_due_date, 100000, 6000, 0, 0 FROM delinquency_accountstate s;

INSERT INTO cases_case (account_id, customer_id, status, bucket_code, bucket_group, opened_on, opened_at,
                        close_reason, last_activity_at)
SELECT s.account_id, s.account_id, 'in_progress', s.bucket_code, s.bucket_group, s.delinquent_since + 1,
       (s.delinquent_since + 1) + time '09:00', '', NULL
  FROM delinquency_accountstate s WHERE s.delinquent_since IS NOT NULL;

SELECT setval(pg_get_serial_sequence('portfolio_customer', 'id'), %(n)s);
SELECT setval(pg_get_serial_sequence('portfolio_account', 'id'), %(n)s);
SELECT setval(pg_get_serial_sequence('portfolio_contactpoint', 'id'), (SELECT max(id) FROM portfolio_contactpoint))
"""


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_people(conn: Any, n: int) -> tuple[int, int]:
    """Customers and their phones, encrypted and blind-indexed like the importer writes them.
    Returns (customers, contact points)."""
    from arrears.core import crypto

    ring = crypto.keyring()
    id_context, point_context = "portfolio_customer.id_number", "portfolio_contactpoint.value"
    (creditor_id,) = conn.execute("SELECT id FROM portfolio_creditor WHERE code = 'BENCH'").fetchone()
    stamp = dt.datetime.now(dt.UTC).isoformat()
    chunk = 20_000
    with conn.cursor() as cur:
        with cur.copy(
            "COPY portfolio_customer (id, creditor_id, customer_no, name, id_number, id_number_hash, employer,"
            " time_zone, created_at, updated_at) FROM STDIN"
        ) as copy:
            for start in range(1, n + 1, chunk):
                lines = []
                for g in range(start, min(start + chunk, n + 1)):
                    id_number = f"11010519880314{g % 10000:04d}"
                    zone = "Asia/Urumqi" if g % 100 == 37 else "Asia/Shanghai"
                    lines.append(
                        f"{g}\t{creditor_id}\tC{g:09d}\t客户{g}\t{ring.encrypt(id_number, context=id_context)}\t"
                        f"{ring.blind_index(id_number, context=id_context)}\t\t{zone}\t{stamp}\t{stamp}\n"
                    )
                copy.write("".join(lines).encode())
        points = 0
        with cur.copy(
            "COPY portfolio_contactpoint (id, customer_id, kind, owner_role, owner_name, label, value, value_hash,"
            " is_valid, do_not_contact, do_not_contact_reason, do_not_contact_since, created_at) FROM STDIN"
        ) as copy:
            for start in range(1, n + 1, chunk):
                lines = []
                for g in range(start, min(start + chunk, n + 1)):
                    phone = f"138{g:08d}"
                    opted_out = g % 100 == 42
                    lines.append(
                        f"{g}\t{g}\tmobile\tself\t\t\t{ring.encrypt(phone, context=point_context)}\t"
                        f"{ring.blind_index(phone, context=point_context)}\tt\t"
                        + ("t\topt_out\t2026-10-01" if opted_out else "f\t\t\\N")
                        + f"\t{stamp}\n"
                    )
                    points += 1
                    if g % 2 == 0:
                        relative = f"139{g:08d}"
                        lines.append(
                            f"{n + g}\t{g}\tmobile\tspouse\t{_copy_escape('家属' + str(g))}\t\t"
                            f"{ring.encrypt(relative, context=point_context)}\t"
                            f"{ring.blind_index(relative, context=point_context)}\tt\tf\t\t\\N\t{stamp}\n"
                        )
                        points += 1
                copy.write("".join(lines).encode())
    return n, points


def build(url: str, n: int) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        # Generated rows are consistent by construction: skip the foreign-key checks Django
        # defers to COMMIT and the dirty-account triggers.
        conn.execute("SET session_replication_role = replica")
        for statement in (part.strip() for part in BOOK_HEAD_SQL.split(";\n")):
            if statement:
                conn.execute(statement)
        started = time.monotonic()
        customers, points = copy_people(conn, n)
        print(
            f"  customers and phones encrypted and copied: {customers:,} customers, {points:,} contact points"
            f" in {time.monotonic() - started:.1f} s",
            flush=True,
        )
        params = {"n": n, "d": BUSINESS_DATE}
        for statement in (part.strip() for part in BOOK_SQL.split(";\n")):
            if statement:
                conn.execute(statement, params if "%(" in statement else None)
        conn.execute("DELETE FROM delinquency_dirtyaccount")
        conn.commit()
    # The cadences and the catalogue's templates, through the application's own services.
    setup_django(url)
    from arrears.comms.services import cadences_seed_defaults
    from arrears.comms.templates_service import templates_seed_defaults

    steps = cadences_seed_defaults()
    templates = templates_seed_defaults()
    print(f"  default cadences ({steps} steps) and {len(templates)} approved catalogue templates", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- expansion -------------------------------------------------------------------------------


@contextlib.contextmanager
def statement_times() -> Iterator[list[tuple[float, str, Any]]]:
    """(seconds, sql, params) of each statement run through Django's connection."""
    from django.db import connection

    seen: list[tuple[float, str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((time.perf_counter() - started, sql, params))

    with connection.execute_wrapper(wrapper):
        yield seen


def _label(sql: str, params: Any) -> str:
    if "INSERT INTO comms_message" in sql:
        anchor = params.get("anchor") if isinstance(params, dict) else ""
        pairs = len(params.get("step_ids", [])) if isinstance(params, dict) else 0
        return f"messages, anchor {anchor} ({pairs} step × date pairs)"
    if "INSERT INTO comms_remindercall" in sql:
        dates = len(params.get("due", [])) if isinstance(params, dict) else 0
        return f"reminder calls ({dates} due dates)"
    return " ".join(sql.split()[:6])[:60]


def _max_ids() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM comms_message")
        (messages,) = cur.fetchone()
        cur.execute("SELECT coalesce(max(id), 0) FROM comms_remindercall")
        (calls,) = cur.fetchone()
    return messages, calls


def expand_once(label: str, business_date: dt.date) -> tuple[int, float, list[tuple[float, str, Any]]]:
    """`cadences_expand` in one transaction as the end-of-day step runs it; prints the time of
    each statement, the commit, and the CPU of PostgreSQL and of this process."""
    from django.db import connection, transaction

    from arrears.comms.services import cadences_expand

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (backend,) = cur.fetchone()
    db_cpu, cpu = _cpu_of(backend), time.process_time()
    with statement_times() as seen:
        started = time.perf_counter()
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL work_mem = '256MB'")  # as the end-of-day step sets it
            queued = cadences_expand(business_date=business_date)
            expanded = time.perf_counter()
        seconds = time.perf_counter() - started
    db_cpu, cpu = _cpu_of(backend) - db_cpu, time.process_time() - cpu
    print(
        f"  {label:<44} {seconds:9.2f} s   {queued:,} messages queued; CPU: PostgreSQL {db_cpu:.2f} s,"
        f" Python {cpu:.2f} s (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    for spent, sql, params in seen:
        if spent >= 0.005:
            print(f"      {spent:8.3f} s  {_label(sql, params)}")
    print(
        f"      {started + seconds - expanded:8.3f} s  COMMIT (the deferred foreign-key checks of the new rows)"
    )
    return queued, seconds, seen


def explain(sql: str, params: Any, after: tuple[int, int]) -> None:
    """The plan of one expansion statement, run again for real with tonight's rows (ids past
    `after`) deleted first, all rolled back."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SET LOCAL jit = off")
        cur.execute("DELETE FROM comms_messageevent WHERE message_id > %s", [after[0]])
        cur.execute("DELETE FROM comms_message WHERE id > %s", [after[0]])
        cur.execute("DELETE FROM comms_remindercall WHERE id > %s", [after[1]])
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cur.fetchall()]
        transaction.set_rollback(True)
    print("  plan of tonight's slowest statement (EXPLAIN ANALYZE, run again and rolled back):")
    for line in plan:
        print(f"    {line}")


def expansion() -> dict[str, Any]:
    """The night before (untimed for the target: it fills the outbox and the reminder calls
    whose window overlaps tonight's, as every ordinary night finds them), tonight, and tonight
    again (must queue nothing)."""
    from django.db import connection

    expand_once("previous night (D-1), empty outbox", BUSINESS_DATE - dt.timedelta(days=1))
    before = _max_ids()
    first, first_s, seen = expand_once("tonight (D), first run", BUSINESS_DATE)
    again, again_s, _ = expand_once("tonight (D), run again", BUSINESS_DATE)
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT t.code, count(*) FROM comms_message m
              JOIN comms_templateversion v ON v.id = m.template_version_id
              JOIN comms_template t ON t.id = v.template_id
             WHERE m.id > %s GROUP BY t.code ORDER BY t.code
            """,
            [before[0]],
        )
        by_code = cur.fetchall()
        cur.execute("SELECT count(*) FROM comms_remindercall WHERE id > %s", [before[1]])
        (calls,) = cur.fetchone()
    print(
        "  tonight's messages by template: "
        + ", ".join(f"{code} {count:,}" for code, count in by_code)
        + f"; {calls:,} new reminder calls"
    )
    slowest = max(seen, key=lambda item: item[0])
    print(
        f"  target: expansion ≤ {EXPANSION_TARGET_S:.0f} s for ≈60k messages — tonight {first_s:.2f} s"
        f" ({'met' if first_s <= EXPANSION_TARGET_S else 'MISSED'}); run again queued {again} in {again_s:.2f} s"
    )
    explain(slowest[1], slowest[2], before)
    return {"first": first, "first_s": first_s, "again": again, "again_s": again_s, "after": before[0]}


# --- sending ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def fake_provider(port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The fake SMS provider in its own process (its CPU is its own, it holds no GIL of ours)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arrears.comms.fake_sms", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the fake SMS provider exited ({log}):\n{log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the fake SMS provider did not listen on {port} ({log})")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def release(count: int, after: int) -> int:
    """Make `count` more of tonight's queued messages (ids past `after`) due at SEND_AT (the others wait a week): a mix of
    reminders and collection messages in pseudo-random order. Returns how many."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE comms_message SET next_attempt_at = scheduled_at
             WHERE id IN (SELECT id FROM comms_message
                           WHERE state = 'queued' AND next_attempt_at > %(at)s AND scheduled_at <= %(at)s
                             AND id > %(after)s
                           ORDER BY mod(id * 7919, 1000003), id LIMIT %(count)s)
            """,
            {"at": SEND_AT, "count": count, "after": after},
        )
        return cur.rowcount


def park_all() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE comms_message SET next_attempt_at = scheduled_at + interval '7 days' WHERE state = 'queued'"
        )
        return cur.rowcount


PHASES = (
    # (module, function, label) wrapped in the sender processes. "render + guard" is the
    # whole of `_prepare`; the indented lines are parts of it. A name the sender no longer
    # has is left out (the sender's code moves faster than this list).
    ("arrears.comms.services", "_claim", "claim"),
    ("arrears.comms.selectors", "messages_for_sending", "load (messages_for_sending)"),
    ("arrears.comms.services", "_prepare", "render + guard (_prepare)"),
    ("arrears.comms.selectors", "next_instalments_fen", "  instalment amounts"),
    ("arrears.comms.services", "_render", "  render"),
    ("arrears.comms.services", "guard_reads_many", "  guard reads (one round trip)"),
    ("arrears.comms.services", "guard_check", "  guard_check (rules, decision built)"),
    ("arrears.comms.services", "decisions_store", "  decisions stored"),
    ("arrears.comms.services", "_send", "HTTP (_send)"),
    ("arrears.comms.services", "_record", "record (_record)"),
)


@contextlib.contextmanager
def timed_phases() -> Iterator[dict[str, list[float]]]:
    """Wrap PHASES: wall seconds, CPU seconds and SQL statements per phase."""
    import importlib

    from django.db import connection

    totals: dict[str, list[float]] = {}
    statements = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    originals = []
    for module_name, name, label in PHASES:
        module = importlib.import_module(module_name)
        original = getattr(module, name, None)
        if original is None:
            continue
        totals[label] = [0.0, 0.0, 0.0]

        def wrapper(*args: Any, _original: Any = original, _label: str = label, **kwargs: Any) -> Any:
            wall, cpu, before = time.perf_counter(), time.process_time(), statements[0]
            try:
                return _original(*args, **kwargs)
            finally:
                entry = totals[_label]
                entry[0] += time.perf_counter() - wall
                entry[1] += time.process_time() - cpu
                entry[2] += statements[0] - before

        originals.append((module, name, original))
        setattr(module, name, wrapper)
    try:
        with connection.execute_wrapper(count):
            yield totals
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def worker_main(args: argparse.Namespace) -> int:
    """One sender: set up, say ready, wait for "go" on stdin, send until nothing is due, report JSON."""
    setup_django(os.environ["DATABASE_URL"])
    from django.db import connection

    from arrears.comms.services import outbox_send_due

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (backend,) = cur.fetchone()
    print("ready", flush=True)
    sys.stdin.readline()
    with timed_phases() as phases:
        wall, cpu, db_cpu = time.perf_counter(), time.process_time(), _cpu_of(backend)
        started_at = time.time()
        stats = outbox_send_due(now=SEND_AT, limit=args.batch or None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        db_cpu = _cpu_of(backend) - db_cpu
    print(
        json.dumps(
            {
                "started": started_at,
                "ended": started_at + wall,
                "wall": wall,
                "cpu": cpu,
                "db_cpu": db_cpu,
                "stats": stats.__dict__,
                "phases": phases,
            }
        ),
        flush=True,
    )
    return 0


def send_run(url: str, workers: int, count: int, batch: int, after: int) -> dict[str, Any]:
    """`count` messages due, `workers` sender processes against a fresh fake provider."""
    from django.db import connection

    released = release(count, after)
    connection.close()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "arrears.config.settings",
        "ARREARS_SMS_GATEWAY": "http",
        "ARREARS_SMS_URL": f"http://127.0.0.1:{port}/",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    if batch:
        command += ["--batch", str(batch)]
    with fake_provider(port, LOGS / f"fake-sms-{workers}.log") as fake:
        children = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for _ in range(workers)
        ]
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().decode().strip()
            if line != "ready":
                raise SystemExit(f"a sender did not start: {line!r}")
        fake_before = _cpu_of(fake.pid)
        started = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, _ = child.communicate()
            if child.returncode != 0:
                raise SystemExit(f"a sender failed (exit {child.returncode})")
            reports.append(json.loads(out.decode().strip().splitlines()[-1]))
        wall = time.perf_counter() - started
        fake_after = _cpu_of(fake.pid)
    span = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    totals: dict[str, int] = {}
    for report in reports:
        for key, value in report["stats"].items():
            totals[key] = totals.get(key, 0) + value
    phases: dict[str, list[float]] = {}
    for report in reports:
        for label, values in report["phases"].items():
            entry = phases.setdefault(label, [0.0, 0.0, 0.0])
            for i, value in enumerate(values):
                entry[i] += value
    return {
        "workers": workers,
        "released": released,
        "span": span,
        "wall": wall,
        "stats": totals,
        "phases": phases,
        "worker_cpu": sum(r["cpu"] for r in reports),
        "fake_cpu": fake_after - fake_before,
        "db_cpu": sum(r["db_cpu"] for r in reports),
    }


def print_run(run: dict[str, Any]) -> float:
    stats = run["stats"]
    sent = stats["sent"]
    rate = sent / run["span"] if run["span"] else 0.0
    print(
        f"  {run['workers']} sender process{'es' if run['workers'] > 1 else ''}: {run['released']:,} due,"
        f" {sent:,} sent in {run['span']:.2f} s = {rate:,.0f} SMS/s"
        f"   (claimed {stats['claimed']:,}, deferred {stats['deferred']}, blocked {stats['blocked']},"
        f" retried {stats['retried']}, failed {stats['failed']}; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    per = max(stats["claimed"], 1)
    print(
        f"    CPU ms per message: senders {run['worker_cpu'] / per * 1000:.2f}, PostgreSQL {run['db_cpu'] / per * 1000:.2f},"
        f" fake provider {run['fake_cpu'] / per * 1000:.2f}"
    )
    print(f"    {'phase (summed over senders)':<36} {'wall s':>8} {'CPU s':>7} {'ms/msg':>7} {'SQL/msg':>8}")
    for label, (wall, cpu, sql) in run["phases"].items():
        print(f"    {label:<36} {wall:8.2f} {cpu:7.2f} {wall / per * 1000:7.2f} {sql / per:8.2f}")
    return rate


def profile_batch(count: int, after: int) -> None:
    """One batch of `count` messages sent in this process under cProfile (CPU time)."""
    import cProfile
    import pstats

    from django.conf import settings
    from django.db import connection

    from arrears.comms.services import outbox_send_due

    released = release(count, after)
    port = free_port()
    settings.ARREARS_SMS_GATEWAY = "http"
    settings.ARREARS_SMS_URL = f"http://127.0.0.1:{port}/"
    import arrears.comms.gateways.sms_http  # noqa: F401  (imported before, not profiled)

    with fake_provider(port, LOGS / "fake-sms-profile.log"):
        connection.ensure_connection()
        profiler = cProfile.Profile(time.process_time)
        wall = time.perf_counter()
        profiler.enable()
        stats = outbox_send_due(now=SEND_AT, limit=count, max_batches=1)
        profiler.disable()
        wall = time.perf_counter() - wall
    print(
        f"\n  cProfile of one batch of {released} messages in this process ({stats.sent} sent, {wall:.2f} s wall"
        " with profiling; CPU time, profiling roughly doubles it):"
    )
    for title, order, restrictions in (
        ("the application's functions by cumulative time", "cumulative", (r"/arrears/", 25)),
        ("everything by cumulative time", "cumulative", (30,)),
        ("everything by own time", "tottime", (20,)),
    ):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*restrictions)
        lines = out.getvalue().splitlines()
        start = next((i for i, text in enumerate(lines) if text.strip().startswith("ncalls")), 0)
        print(f"  {title}:")
        print("\n".join("    " + text.replace(str(ROOT) + "/", "") for text in lines[start:] if text.strip()))


def sending(url: str, args: argparse.Namespace, queued: int, after: int) -> list[tuple[int, float]]:
    import importlib.util

    for module in ("arrears.comms.fake_sms", "arrears.comms.gateways.sms_http"):
        if importlib.util.find_spec(module) is None:
            print(f"  sending skipped: no {module}")
            return []
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    per_run = min(args.messages, queued // (len(counts) + 1))
    parked = park_all()
    print(
        f"\nSending — {per_run:,} messages per run (of {parked:,} queued) through the HTTP SMS gateway to the fake"
        f" provider (own process), now = {SEND_AT.isoformat()}",
        flush=True,
    )
    results = []
    for workers in counts:
        run = send_run(url, workers, per_run, args.batch, after)
        results.append((workers, print_run(run)))
    best = max(rate for _w, rate in results)
    print(
        f"  target: ≥ {SEND_TARGET_PER_S:.0f} SMS/s — "
        + ", ".join(f"{w} sender{'s' if w > 1 else ''} {rate:,.0f}/s" for w, rate in results)
        + f" ({'met' if best >= SEND_TARGET_PER_S else 'MISSED'})",
        flush=True,
    )
    if args.profile:
        profile_batch(min(args.profile, max(queued - per_run * len(counts), 1)), after)
    return results


def main() -> int:
    global BENCH_DATABASE
    args = parse_args()
    if args.worker:
        return worker_main(args)
    BENCH_DATABASE = args.database
    url = bench_database_url()
    print(
        f"Communications benchmark — {os.cpu_count()} CPUs, {args.accounts:,} accounts, business date"
        f" {BUSINESS_DATE} (messages for {SEND_DAY})"
    )
    reuse = args.reuse and kept_book(url, args.accounts)
    if not reuse:
        admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin(url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        started = time.monotonic()
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"], env=env, check=True
        )
        print(f"  migrate {time.monotonic() - started:.1f} s", flush=True)
        if reuse:
            print("  reusing the kept book (outbox, reminder calls, activities and decisions emptied)")
        else:
            started = time.monotonic()
            build(url, args.accounts)
            print(f"  generate the book {time.monotonic() - started:.1f} s", flush=True)
        setup_django(url)
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT bucket_group, count(*) FROM delinquency_accountstate GROUP BY 1 ORDER BY 1")
            groups = cur.fetchall()
            cur.execute(
                "SELECT (SELECT count(*) FROM cases_case), pg_size_pretty(pg_database_size(current_database()))"
            )
            cases, size = cur.fetchone()
        print(
            "  book: "
            + ", ".join(f"{group} {count:,}" for group, count in groups)
            + f"; {cases:,} open cases; database {size}"
        )
        if args.index_next_due:
            with connection.cursor() as cur:
                started = time.monotonic()
                cur.execute(
                    "CREATE INDEX IF NOT EXISTS bench_state_next_due_idx ON delinquency_accountstate (next_due_date)"
                    " WHERE next_due_date IS NOT NULL"
                )
                cur.execute("ANALYZE delinquency_accountstate")
            print(f"  index on delinquency_accountstate (next_due_date) {time.monotonic() - started:.1f} s")
        print("\nExpansion (the end-of-day step `messages`):")
        result = expansion()
        if not args.no_send:
            sending(url, args, result["first"], result["after"])
    finally:
        if _django_ready:
            from django.db import connections

            connections.close_all()
        if not args.keep_db:
            admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
