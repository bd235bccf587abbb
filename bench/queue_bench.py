"""Work-queue benchmark: "next case" over a book of N open cases and C collectors.

    .venv/bin/python bench/queue_bench.py [--cases N] [--collectors C] [--claims K] [--threads T] [--keep-db] [--reuse]

Builds the scratch database `arrears_bench_queue` (migrated; the book generated set-based in
SQL with generate_series: customers with a mobile each, accounts with their delinquency state,
open cases spread over the collectors of 50 teams with 1 in 20 left in the teams' shared
queues, open promises, tasks, holds and activities), then measures `queue_claim_next` as the
application calls it (Django in this process, one transaction per claim, committed): K claims
by collectors taken in turn, sequentially and from T threads at once (each its own
connection), and the queue page's selector. Prints p50/p95/p99 in milliseconds. See
bench/README.md ("Work-queue benchmark").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_DATABASE = "arrears_bench_queue"
TEAMS = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000, help="open cases (default 1,000,000)")
    parser.add_argument("--collectors", type=int, default=500, help="collectors (default 500)")
    parser.add_argument("--claims", type=int, default=2_000, help="claims per measurement (default 2,000)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent claimers (default 4)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database of the same size")
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


def database_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone()
    return row is not None


# The book, in the database. Times are relative to now(), so a kept database ages: --reuse
# moves them forward again (BOOK_REFRESH_SQL).
BOOK_SQL = """
INSERT INTO portfolio_creditor (code, name, created_at) VALUES ('BENCH', '基准测试银行', now());
INSERT INTO portfolio_product (creditor_id, code, name, kind, ladder_id, tolerance_fen, due_date_shift,
                               allocation_order, case_open_dpd)
SELECT c.id, 'CASHLOAN', '现金贷', 'loan', l.id, 1000, 'none', '["fee", "interest", "principal", "premium"]', 1
  FROM portfolio_creditor c, portfolio_bucketladder l WHERE c.code = 'BENCH' AND l.code = 'default';

INSERT INTO accounts_team (code, name) SELECT 'T' || t, '第' || t || '组' FROM generate_series(1, %(teams)s) t;
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                           date_joined, role, creditor_code, team_id)
SELECT '!', false, 'collector' || u, '', '', '', false, true, now(), 'collector', '',
       (SELECT id FROM accounts_team WHERE code = 'T' || (1 + mod(u - 1, %(teams)s)))
  FROM generate_series(1, %(collectors)s) u;

-- The queue never reads personal data: ID numbers and phones are placeholders here, neither
-- encrypted nor hashed like the application's own writes (docs/security.md).
INSERT INTO portfolio_customer (creditor_id, customer_no, name, id_number, id_number_hash, employer, time_zone,
                                protected_reason, created_at, updated_at)
SELECT c.id, 'C' || lpad(g::text, 9, '0'), '客户' || g, 'bench', 'bench' || g, '', 'Asia/Shanghai', '', now(), now()
  FROM portfolio_creditor c, generate_series(1, %(n)s) g WHERE c.code = 'BENCH';

INSERT INTO portfolio_contactpoint (customer_id, kind, owner_role, owner_name, label, value, value_hash, is_valid,
                                    do_not_contact, do_not_contact_reason, created_at)
SELECT cu.id, 'mobile', 'self', '', '', 'bench', 'bench' || cu.id, true, false, '', now()
  FROM portfolio_customer cu;

INSERT INTO portfolio_account (creditor_id, account_no, product_id, customer_id, principal_fen, open_date, term,
                               instalment_fen, first_due_date, flags, status, schedule_source, total_due_fen,
                               paid_fen, created_at, updated_at)
SELECT cu.creditor_id, 'A' || substr(cu.customer_no, 2), p.id, cu.id, 1200000, date '2025-06-01', 12, NULL,
       date '2025-07-01', '[]', 'active', 'generated', 0, 0, now(), now()
  FROM portfolio_customer cu CROSS JOIN (SELECT id FROM portfolio_product WHERE code = 'CASHLOAN') p;

-- Buckets: M1 40 %, M2 25 %, M3 20 %, M4+ 15 %; overdue 100 to 60,000 yuan; 1 in 25 a small balance.
INSERT INTO delinquency_accountstate (account_id, as_of, paid_fen, due_to_date_fen, overdue_principal_fen,
       overdue_interest_fen, overdue_fee_fen, overdue_premium_fen, overdue_fen, outstanding_fen, credit_fen,
       missed_instalments, bucket_code, bucket_group, delinquent_since, next_change_date, updated_at)
SELECT a.id, current_date, 0, 0, 0, 0, 0, 0, b.overdue, b.overdue * 3, 0, 1, b.grp, b.grp,
       current_date - 10, current_date + 1, now()
  FROM portfolio_account a
  CROSS JOIN LATERAL (
      SELECT CASE WHEN mod(a.id, 20) < 8 THEN 'M1' WHEN mod(a.id, 20) < 13 THEN 'M2'
                  WHEN mod(a.id, 20) < 17 THEN 'M3' ELSE 'M4+' END AS grp,
             CASE WHEN mod(a.id, 25) = 0 THEN 10000 + mod(a.id * 7919, 5000)
                  ELSE 10000 + mod(a.id::bigint * 7919, 6000000) END AS overdue
  ) b;

-- Cases: 1 in 20 of each collector's in their team's shared queue, the rest theirs; 1 in 10
-- never worked (opened in the last 10 days), the others last worked in the last 5 days.
INSERT INTO cases_case (account_id, customer_id, status, bucket_code, bucket_group, opened_on, opened_at,
                        close_reason, assigned_at, assigned_collector_id, team_id, last_activity_at)
SELECT a.id, a.customer_id, CASE WHEN mod(a.id, 10) = 3 THEN 'new' ELSE 'in_progress' END, s.bucket_code,
       s.bucket_group, o.opened_on, o.opened_on + time '09:00', '',
       CASE WHEN mod(a.id / %(collectors)s, 20) = 7 THEN NULL ELSE now() - interval '3 days' END,
       CASE WHEN mod(a.id / %(collectors)s, 20) = 7 THEN NULL ELSE u.id END, u.team_id,
       CASE WHEN mod(a.id, 10) = 3 THEN NULL
            ELSE now() - make_interval(mins => mod(a.id * 37, 5 * 24 * 60)::int) END
  FROM portfolio_account a
  JOIN delinquency_accountstate s ON s.account_id = a.id
  JOIN accounts_user u ON u.username = 'collector' || (1 + mod(a.id * 7, %(collectors)s))
  CROSS JOIN LATERAL (SELECT CASE WHEN mod(a.id, 10) = 3 THEN current_date - mod(a.id, 10)::int
                                  ELSE current_date - 30 - mod(a.id, 300)::int END AS opened_on) o;

-- Activities on the worked cases opened in the window (the new-case deadlines read them).
INSERT INTO cases_activity (case_id, customer_id, channel, direction, started_at, connected, right_party, notes,
                            recording_ref, created_at, action_code_id, contact_point_id)
SELECT c.id, c.customer_id, 'call', 'outbound', c.last_activity_at, mod(c.id, 3) = 0, mod(c.id, 3) = 0, '', '',
       now(), CASE WHEN mod(c.id, 3) = 0 THEN 'RPC' ELSE 'NA' END,
       (SELECT cp.id FROM portfolio_contactpoint cp WHERE cp.customer_id = c.customer_id LIMIT 1)
  FROM cases_case c WHERE c.last_activity_at IS NOT NULL AND mod(c.account_id, 7) = 0;

-- 1 in 20 cases has an open promise (due from yesterday to in three days), 1 in 25 an open
-- callback in the next two days, 1 in 100 an active hold.
INSERT INTO cases_promise (case_id, kind, amount_fen, due_at, status, paid_fen, created_at)
SELECT c.id, 'PTP', 50000, now() - interval '1 day' + make_interval(mins => mod(c.id * 13, 4 * 24 * 60)::int),
       'open', 0, now()
  FROM cases_case c WHERE mod(c.id, 20) = 1;
INSERT INTO cases_task (case_id, kind, due_at, note, created_at, assigned_to_id)
SELECT c.id, 'callback', now() + make_interval(mins => mod(c.id * 17, 2 * 24 * 60)::int), '', now(),
       c.assigned_collector_id
  FROM cases_case c WHERE mod(c.id, 25) = 2;
INSERT INTO cases_casehold (case_id, kind, reason, placed_at, release_note)
SELECT c.id, 'dispute', '基准测试', now(), '' FROM cases_case c WHERE mod(c.id, 100) = 5
"""

# A kept book's times moved to now again, so a rerun measures the same day.
BOOK_REFRESH_SQL = """
UPDATE cases_case SET claimed_by_id = NULL, claimed_until = NULL WHERE claimed_until IS NOT NULL;
UPDATE cases_case SET assigned_collector_id = NULL, assigned_at = NULL
 WHERE mod(account_id / %(collectors)s, 20) = 7 AND assigned_collector_id IS NOT NULL;
DELETE FROM cases_caseevent
"""


def build(url: str, args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        # Generated rows are consistent by construction: skip the foreign-key checks Django
        # defers to COMMIT (minutes for millions of rows) and the dirty-account triggers.
        conn.execute("SET session_replication_role = replica")
        params = {"n": args.cases, "collectors": args.collectors, "teams": TEAMS}
        for statement in (part.strip() for part in BOOK_SQL.split(";\n")):
            if statement:
                conn.execute(statement, params if "%(" in statement else None)
        conn.commit()
    refresh_due(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def refresh_due(url: str) -> None:
    """The batch's own refresh (`cases_refresh_followup_due`) gives every case its due time."""
    setup_django(url)
    from django.db import transaction

    from arrears.cases.queue import cases_refresh_followup_due

    started = time.monotonic()
    with transaction.atomic():
        changed = cases_refresh_followup_due()
    print(
        f"  follow-up due times set by the batch's refresh: {changed:,} cases in {time.monotonic() - started:.1f} s"
    )


_django_ready = False


def setup_django(url: str) -> None:
    global _django_ready
    if _django_ready:
        return
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arrears.config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    _django_ready = True


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"p50 {cuts[49]:7.2f} ms   p95 {cuts[94]:7.2f} ms   p99 {cuts[98]:7.2f} ms   max {ordered[-1]:7.2f} ms"


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    from django.db import connection

    from arrears.accounts.models import User
    from arrears.cases.queue import queue_claim_next, queue_for_collector

    collectors = list(User.objects.filter(role="collector").select_related("team").order_by("id"))
    results: dict[str, list[float]] = {}

    def claim(user: User, into: list[float], got: list[int | None]) -> None:
        started = time.perf_counter()
        row = queue_claim_next(user=user)
        into.append((time.perf_counter() - started) * 1000)
        got.append(row.case_id if row else None)

    # Warm the caches the way a working day would (the first claims read the indexes from disk).
    warm: list[float] = []
    for user in collectors:
        claim(user, warm, [])
    print(f"  warm-up: {len(warm)} claims, {percentiles(warm)}", flush=True)

    sequential: list[float] = []
    handed: list[int | None] = []
    for n in range(args.claims):
        claim(collectors[n % len(collectors)], sequential, handed)
    results["next case, sequential"] = sequential
    print(
        f"  {'next case, sequential':<32} {len(sequential):>6} claims   {percentiles(sequential)}", flush=True
    )
    assert all(case_id is not None for case_id in handed), "a collector's queue ran dry"

    concurrent: list[float] = []
    got: list[int | None] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        mine: list[float] = []
        ids: list[int | None] = []
        try:
            for n in range(offset, args.claims, args.threads):
                claim(collectors[n % len(collectors)], mine, ids)
        finally:
            connection.close()
        with lock:
            concurrent.extend(mine)
            got.extend(ids)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(args.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    label = f"next case, {args.threads} threads"
    results[label] = concurrent
    print(
        f"  {label:<32} {len(concurrent):>6} claims   {percentiles(concurrent)}   ({len(concurrent) / wall:.0f} claims/s)",
        flush=True,
    )
    handed_ids = [case_id for case_id in got if case_id is not None]
    assert len(handed_ids) == len(set(handed_ids)), "two claims got the same case"

    page: list[float] = []
    for n in range(min(args.claims, 500)):
        started_page = time.perf_counter()
        queue_for_collector(user=collectors[n % len(collectors)])
        page.append((time.perf_counter() - started_page) * 1000)
    results["queue page (top 50)"] = page
    print(f"  {'queue page (top 50)':<32} {len(page):>6} reads    {percentiles(page)}", flush=True)
    return results


def explain(url: str) -> None:
    """The plan of one claim's ranking, to see the indexes it uses (printed, rolled back)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from arrears.accounts.models import User
    from arrears.cases import queue

    user = User.objects.filter(role="collector").order_by("id").first()
    assert user is not None
    ranking, _lock, params = queue._claim_statement(user=user, now=timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + ranking, {**params, "batch": queue.CLAIM_BATCH, "skip": 0}
        )
        plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    print("  plan of one claim's ranking (EXPLAIN ANALYZE):")
    for line in plan:
        if "Index" in line or "Execution Time" in line or "Planning Time" in line or "Bitmap" in line:
            print(f"    {line.strip()}")


def main() -> int:
    args = parse_args()
    url = bench_database_url()
    print(
        f"Work-queue benchmark — {os.cpu_count()} CPUs, {args.cases:,} open cases, {args.collectors} collectors "
        f"in {TEAMS} teams, {args.claims:,} claims"
    )
    reuse = args.reuse and database_exists(url)
    if not reuse:
        admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin(url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        import subprocess

        started = time.monotonic()
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"], env=env, check=True
        )
        print(f"  migrate {time.monotonic() - started:.1f} s", flush=True)
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM cases_case WHERE status <> 'closed'").fetchone()
        have = row[0] if row else 0
        if reuse and have == args.cases:
            with psycopg.connect(url) as conn:
                for statement in BOOK_REFRESH_SQL.split(";\n"):
                    conn.execute(statement, {"collectors": args.collectors} if "%(" in statement else None)
                conn.commit()
            print(f"  reusing the kept book ({have:,} open cases); leases and shared-queue claims undone")
        else:
            if reuse:
                admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
                admin(url, f'CREATE DATABASE "{BENCH_DATABASE}"')
                subprocess.run(
                    [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
                    env=env,
                    check=True,
                )
            started = time.monotonic()
            build(url, args)
            print(f"  generate the book in SQL {time.monotonic() - started:.1f} s", flush=True)
        setup_django(url)
        with psycopg.connect(url) as conn:
            counts = conn.execute(
                "SELECT count(*) FILTER (WHERE status <> 'closed'),"
                " count(*) FILTER (WHERE assigned_collector_id IS NULL),"
                " (SELECT count(*) FROM cases_promise), (SELECT count(*) FROM cases_task),"
                " (SELECT count(*) FROM cases_activity), pg_size_pretty(pg_database_size(current_database()))"
                " FROM cases_case"
            ).fetchone()
        assert counts is not None
        print(
            f"  book: {counts[0]:,} open cases ({counts[1]:,} in shared team queues), {counts[2]:,} promises, "
            f"{counts[3]:,} tasks, {counts[4]:,} activities; database {counts[5]}"
        )
        explain(url)
        results = measure(args)
        worst = max(
            statistics.quantiles(samples, n=100, method="inclusive")[94]
            for label, samples in results.items()
            if label.startswith("next case")
        )
        print(f"  target: next-case p95 ≤ 50 ms — worst next-case p95 {worst:.2f} ms", flush=True)
    finally:
        if not args.keep_db:
            if _django_ready:
                from django.db import connections

                connections.close_all()
            admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
