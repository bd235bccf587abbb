"""Activities API benchmark: POST /api/v1/cases/{id}/activities against the running server
(gunicorn as `arrears serve` starts it), loaded by wrk with bench/activities.lua. See bench/README.md.

    .venv/bin/python bench/activities_bench.py [--cases N] [--duration S] [--connections 4,8,16]
                                               [--rate R] [--profile N] [--keep-db]

Target (issue #4): ≥ 200 requests/s with p99 ≤ 100 ms on the development machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_DATABASE = "arrears_bench_api"
DATA = ROOT / "bench-data" / "activities"
LUA = ROOT / "bench" / "activities.lua"
ZONE = "Asia/Shanghai"
# Slots per case and working day the load may use (bench/activities.lua): four unanswered
# attempts and two right-party contacts, on top of the one unanswered attempt in the history.
SLOTS_PER_DAY = 6
# The bench server's API budgets: far above anything one machine can send, so no request is
# throttled (the production defaults are 600/min per user and per token).
UNTHROTTLED = "1000000/min"
TARGET_RPS = 200
TARGET_P99_MS = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cases", type=int, default=5_000, help="open M2 cases of one collector (default 5,000)"
    )
    parser.add_argument(
        "--days", type=int, default=20, help="working days before today the calls are spread over"
    )
    parser.add_argument(
        "--old-history",
        type=int,
        default=10,
        help="activities per case older than the guard's window (default 10)",
    )
    parser.add_argument("--duration", type=int, default=30, help="seconds per measured run (default 30)")
    parser.add_argument(
        "--connections",
        default="4,8,16,32",
        help="closed-loop runs, one per connection count (default 4,8,16,32)",
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=TARGET_RPS,
        help="the paced run's aim in requests/s (default 200; 0 skips it)",
    )
    parser.add_argument(
        "--paced-connections", type=int, default=32, help="connections of the paced run (default 32)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (default 1: wrk shares the 2 cores)"
    )
    parser.add_argument(
        "--workers",
        default=os.environ.get("ARREARS_WEB_WORKERS", "2"),
        help="gunicorn workers (as arrears serve)",
    )
    parser.add_argument(
        "--profile", type=int, default=200, help="requests profiled in-process afterwards (cProfile; 0 skips)"
    )
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    return parser.parse_args()


# --- database ----------------------------------------------------------------------------


def bench_database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        return urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DATABASE}"))
    from arrears.core.embedded_db import EmbeddedServer

    server = EmbeddedServer.default()
    server.ensure_running()
    return server.url(BENCH_DATABASE)


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def server_env(url: str) -> dict[str, str]:
    """The environment of the bench server and of this process's Django: the scratch database,
    DEBUG off, API budgets out of the way."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "0",
        "ARREARS_API_RATE_PER_USER": UNTHROTTLED,
        "ARREARS_API_RATE_PER_TOKEN": UNTHROTTLED,
    }


def migrate(url: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
        env=server_env(url),
        cwd=ROOT,
        check=True,
    )
    return time.monotonic() - started


@dataclass
class Plan:
    token: str
    days: list[dt.date]
    cases: list[tuple[int, int]]  # (case id, the customer's own mobile's contact point id)
    collector_id: int
    history: int = 0

    @property
    def capacity(self) -> int:
        return len(self.cases) * len(self.days) * SLOTS_PER_DAY

    def write(self, path: Path) -> None:
        lines = [self.token, " ".join(day.isoformat() for day in self.days)]
        lines += [f"{case_id} {point_id}" for case_id, point_id in self.cases]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def body(self, n: int) -> tuple[str, dict[str, Any]]:
        """Request number n exactly as bench/activities.lua builds it (for the in-process profile)."""
        case_id, point_id = self.cases[n % len(self.cases)]
        rest = n // len(self.cases)
        day = self.days[rest % len(self.days)]
        slot = rest // len(self.days)
        started = f"{day.isoformat()}T{10 + slot % 6:02d}:{n % 60:02d}:{n // 60 % 60:02d}+08:00"
        payload: dict[str, Any] = {
            "channel": "call",
            "contact_point_id": point_id,
            "direction": "outbound",
            "started_at": started,
            "connected": False,
            "right_party": False,
            "action_code": "NA",
            "duration_s": 0,
        }
        if slot % 6 >= 4:
            payload.update(
                connected=True,
                right_party=True,
                action_code="RPC",
                duration_s=30 + n % 300,
                notes="客户本人接听，称月底前筹款还清第一期，已告知逾期费用。",
                recording_ref=f"REC-{n}",
            )
        return f"/api/v1/cases/{case_id}/activities", payload


def working_days(count: int, before: dt.date) -> list[dt.date]:
    """The last `count` working days before `before` by the seeded holiday calendar (weekdays
    where the calendar has no row)."""
    from arrears.core.models import CalendarDay

    known = dict(
        CalendarDay.objects.filter(
            day__gte=before - dt.timedelta(days=count * 3), day__lt=before
        ).values_list("day", "is_working")
    )
    days: list[dt.date] = []
    day = before - dt.timedelta(days=1)
    while len(days) < count:
        if known.get(day, day.weekday() < 5):
            days.append(day)
        day -= dt.timedelta(days=1)
    return sorted(days)


def build_book(*, cases: int, days: int, old_history: int) -> Plan:
    """A creditor, a product, one collector in a team, and `cases` open M2 cases assigned to them,
    each customer with their own mobile (every other one also a relative's); each case with one
    unanswered call on each of the working days the load uses plus `old_history` older activities,
    each with its case event; an API token for the collector."""
    from zoneinfo import ZoneInfo

    from django.db import transaction
    from django.utils import timezone

    from arrears.accounts.models import Role, Team
    from arrears.accounts.services import token_create, user_create
    from arrears.cases.models import ActionCode, Activity, Case, CaseEvent, CaseEventKind, CaseStatus
    from arrears.delinquency.models import AccountState
    from arrears.portfolio.models import Account, ContactPoint, Creditor, Customer, Product
    from arrears.portfolio.services import ladder_default_ensure

    zone = ZoneInfo(ZONE)
    today = timezone.localdate()
    load_days = working_days(days, today)
    codes = {code.code: code for code in ActionCode.objects.filter(code__in=["NA", "RPC", "PTP", "NC"])}
    with transaction.atomic():
        creditor = Creditor.objects.create(code="BENCH", name="基准测试银行")
        product = Product.objects.create(
            creditor=creditor, code="CASHLOAN", name="现金贷", ladder=ladder_default_ensure()
        )
        team = Team.objects.create(code="BENCH", name="基准组")
        collector = user_create(username="bench.collector", role=Role.COLLECTOR, team=team)
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    creditor=creditor,
                    customer_no=f"C{i:07d}",
                    name=f"客户{i}",
                    id_number=f"11010519880314{i % 10000:04d}",
                    time_zone=ZONE,
                )
                for i in range(cases)
            ],
            batch_size=2000,
        )
        own = ContactPoint.objects.bulk_create(
            [
                ContactPoint(customer=customer, kind="mobile", owner_role="self", value=f"138{i:08d}")
                for i, customer in enumerate(customers)
            ],
            batch_size=2000,
        )
        ContactPoint.objects.bulk_create(
            [
                ContactPoint(customer=customer, kind="mobile", owner_role="relative", value=f"139{i:08d}")
                for i, customer in enumerate(customers)
                if i % 2 == 0
            ],
            batch_size=2000,
        )
        first_due = today - dt.timedelta(days=45)
        accounts = Account.objects.bulk_create(
            [
                Account(
                    creditor=creditor,
                    account_no=f"A{i:07d}",
                    product=product,
                    customer=customer,
                    principal_fen=1_200_000 + i % 50 * 10_000,
                    open_date=first_due - dt.timedelta(days=30),
                    term=12,
                    first_due_date=first_due,
                    total_due_fen=2 * 106_000,
                )
                for i, customer in enumerate(customers)
            ],
            batch_size=2000,
        )
        AccountState.objects.bulk_create(
            [
                AccountState(
                    account=account,
                    as_of=today,
                    due_to_date_fen=212_000,
                    overdue_principal_fen=200_000,
                    overdue_interest_fen=12_000,
                    overdue_fen=212_000,
                    outstanding_fen=account.principal_fen + 12_000,
                    missed_instalments=2,
                    delinquent_since=first_due,
                    bucket_code="M2",
                    bucket_group="M2",
                    next_due_date=first_due + dt.timedelta(days=60),
                    next_change_date=first_due + dt.timedelta(days=60),
                )
                for account in accounts
            ],
            batch_size=2000,
        )
        now = timezone.now()
        case_rows = Case.objects.bulk_create(
            [
                Case(
                    account=account,
                    customer_id=account.customer_id,
                    status=CaseStatus.IN_PROGRESS,
                    bucket_code="M2",
                    bucket_group="M2",
                    opened_on=first_due + dt.timedelta(days=1),
                    assigned_at=now - dt.timedelta(days=14),
                    assigned_collector=collector,
                    team=team,
                    last_activity_at=dt.datetime.combine(load_days[-1], dt.time(9, 30), zone),
                    followup_due_at=dt.datetime.combine(load_days[-1], dt.time(9, 30), zone)
                    + dt.timedelta(days=5),
                )
                for account in accounts
            ],
            batch_size=2000,
        )
        history = []
        for i, (case, point) in enumerate(zip(case_rows, own, strict=True)):
            for day in load_days:
                history.append(
                    Activity(
                        case=case,
                        customer_id=case.customer_id,
                        contact_point=point,
                        channel="call",
                        direction="outbound",
                        started_at=dt.datetime.combine(day, dt.time(9, i % 60), zone),
                        connected=False,
                        right_party=False,
                        action_code=codes["NA"],
                        actor=collector,
                    )
                )
            for k in range(old_history):
                connected = k % 3 == 0
                history.append(
                    Activity(
                        case=case,
                        customer_id=case.customer_id,
                        contact_point=point,
                        channel="call",
                        direction="outbound",
                        started_at=dt.datetime.combine(
                            load_days[0] - dt.timedelta(days=35 + 3 * k), dt.time(10 + k % 8, i % 60), zone
                        ),
                        connected=connected,
                        right_party=connected,
                        action_code=codes["RPC" if connected else "NA"],
                        notes="客户称近期资金紧张。" if connected else "",
                        duration_s=95 if connected else 0,
                        actor=collector,
                    )
                )
        for start in range(0, len(history), 5000):
            chunk = Activity.objects.bulk_create(history[start : start + 5000])
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case_id=activity.case_id,
                        kind=CaseEventKind.ACTIVITY,
                        actor=collector,
                        to_value=activity.action_code_id,
                        data={
                            "activity_id": activity.pk,
                            "channel": "call",
                            "direction": "outbound",
                            "connected": activity.connected,
                            "right_party": activity.right_party,
                        },
                    )
                    for activity in chunk
                ]
            )
        _token, secret = token_create(name="bench-activities", user=collector)
    return Plan(
        token=secret,
        days=load_days,
        cases=[(case.pk, point.pk) for case, point in zip(case_rows, own, strict=True)],
        collector_id=collector.pk,
        history=len(history),
    )


def vacuum_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(url: str, port: int, workers: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`arrears serve --no-worker` on the scratch database: gunicorn with its workers and threads,
    access log included (to `log`), in its own process group. Stopped as Ctrl-C stops it: SIGINT
    to the whole group (SIGINT restored to its default in the child: a shell may have started
    this bench with SIGINT ignored, and Python keeps an ignored SIGINT ignored)."""
    env = {**server_env(url), "ARREARS_WEB_WORKERS": workers}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arrears.cli", "serve", "--port", str(port), "--no-worker"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            wait_for(port, process, log)
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # gunicorn's workers may outlive the parent by a moment; the group must be empty.
            for _ in range(40):
                try:
                    os.killpg(process.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.25)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


def wait_for(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}); see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s; see {log}")


# --- CPU accounting -----------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(server_pid: int) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds used so far, per process, by the server's process tree (arrears serve,
    gunicorn and its workers) and by the PostgreSQL backends connected to the bench database."""
    stats: dict[int, tuple[int, float]] = {}
    database: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(entry.name)
        if stat is None:
            continue
        stats[int(entry.name)] = stat
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(b"postgres: ") and f" {BENCH_DATABASE} ".encode() in command:
            database[int(entry.name)] = stat[1]
    tree = {server_pid}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _cpu) in stats.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: stats[pid][1] for pid in tree if pid in stats}, database


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots, by the processes alive at the second (a backend that
    ended in between, e.g. a connection past its CONN_MAX_AGE, is missed: an undercount)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# --- load ---------------------------------------------------------------------------------


def ensure_wrk() -> str:
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing the Debian package", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True)
        if found := shutil.which("wrk"):
            return found
    raise SystemExit("wrk is needed (Debian/Ubuntu: apt-get install wrk)")


@dataclass
class Run:
    label: str
    connections: int
    think_ms: int
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p75_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    timeouts: int = 0
    highest_n: int = -1
    samples: list[str] = field(default_factory=list)
    load: float = 0.0
    app_cpu_s: float = 0.0
    db_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def not_created(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != "201")

    def line(self) -> str:
        others = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()) if k != "201") or "none"
        return (
            f"  {self.label:<26} {self.connections:>4} {self.rps:9.1f} {self.p50_ms:7.1f} {self.p90_ms:7.1f}"
            f" {self.p99_ms:7.1f} {self.max_ms:8.1f} {self.cpu_ms('app'):6.1f} {self.cpu_ms('db'):6.1f}"
            f"  non-201 {self.not_created} ({others}); socket errors {self.socket_errors},"
            f" timeouts {self.timeouts}; load {self.load:.1f}"
        )

    def cpu_ms(self, which: str) -> float:
        seconds = self.app_cpu_s if which == "app" else self.db_cpu_s
        return seconds * 1000 / self.requests if self.requests else 0.0


HEADER = "  run                        conn    req/s  p50 ms  p90 ms  p99 ms   max ms  CPU ms per request: app     db"


def run_wrk(
    wrk: str,
    *,
    server_pid: int,
    port: int,
    plan_file: Path,
    offset: int,
    threads: int,
    connections: int,
    seconds: int,
    label: str,
    think_ms: int = 0,
) -> Run:
    env = {**os.environ, "ARREARS_WRK_THINK_MS": str(think_ms)}
    load = os.getloadavg()[0]
    command = [
        wrk, "-t", str(threads), "-c", str(max(connections, threads)), "-d", f"{seconds}s", "--timeout", "10s",
        "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(plan_file), str(offset), str(threads),
    ]  # fmt: skip
    app_before, db_before = cpu_seconds(server_pid)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    app_after, db_after = cpu_seconds(server_pid)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    run = Run(
        label=label,
        connections=connections,
        think_ms=think_ms,
        load=load,
        app_cpu_s=cpu_used(app_before, app_after),
        db_cpu_s=cpu_used(db_before, db_after),
    )
    for text in done.stdout.splitlines():
        if text.startswith("BENCH_RESULT "):
            result = json.loads(text.removeprefix("BENCH_RESULT "))
            run.requests = result["requests"]
            run.seconds = result["duration_us"] / 1e6
            for name in ("p50", "p75", "p90", "p99", "max"):
                setattr(run, f"{name}_ms", result[f"{name}_us"] / 1000)
            run.statuses = {str(k): int(v) for k, v in result["statuses"].items()}
            run.socket_errors = result["connect_errors"] + result["read_errors"] + result["write_errors"]
            run.timeouts = result["timeouts"]
            run.highest_n = result["highest_n"]
        elif text.startswith("BENCH_SAMPLE "):
            run.samples.append(text.removeprefix("BENCH_SAMPLE "))
    if run.highest_n < 0:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    return run


# --- after the load ----------------------------------------------------------------------


def verify(plan: Plan, since: dt.datetime) -> dict[str, Any]:
    """What the runs wrote: activities and the guard's decisions since the load started."""
    from django.db.models import Count

    from arrears.cases.models import Activity
    from arrears.compliance.models import Decision

    created = Activity.objects.filter(created_at__gte=since, actor_id=plan.collector_id).count()
    decisions = dict(
        Decision.objects.filter(created_at__gte=since, purpose="activity")
        .values_list("allowed")
        .annotate(n=Count("id"))
        .values_list("allowed", "n")
    )
    denied_rules: dict[str, int] = {}
    for result in Decision.objects.filter(created_at__gte=since, allowed=False).values_list(
        "result", flat=True
    )[:1000]:
        for violation in result.get("violations", []):
            denied_rules[violation["rule"]] = denied_rules.get(violation["rule"], 0) + 1
    return {
        "activities": created,
        "allowed": decisions.get(True, 0),
        "denied": decisions.get(False, 0),
        "denied_rules": denied_rules,
    }


# The parts of one request timed in the profile: (module, function, label). Wrapped in this
# process only; the server runs the code as it is.
SECTIONS = (
    ("arrears.accounts.auth", "token_bearer", "bearer token → user and token name"),
    ("arrears.cases.api_work", "_workable_case", "case lookup in scope, and role"),
    ("arrears.cases.services", "activity_log", "activity_log, all of it"),
    ("arrears.compliance.services", "guard_check", "  guard_check (reads, rules, decision row)"),
    ("arrears.cases.services", "_activity_write", "  activity, case event, follow-up (case row)"),
    ("arrears.cases.api_work", "_activity_out", "response body (_activity_out)"),
    ("arrears.audit.middleware", "request_origin", "audit: who (request_origin)"),
    ("arrears.audit.middleware", "audit_record", "audit: the entry"),
)


@contextlib.contextmanager
def timed_sections() -> Iterator[dict[str, list[float]]]:
    """Wrap SECTIONS to add up CPU seconds, wall seconds and SQL statements per part."""
    import importlib

    from django.db import connection

    totals: dict[str, list[float]] = {label: [0.0, 0.0, 0.0] for _m, _f, label in SECTIONS}
    statements = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    originals = []
    for module_name, name, label in SECTIONS:
        module = importlib.import_module(module_name)
        original = getattr(module, name)

        def wrapper(*args: Any, _original: Any = original, _label: str = label, **kwargs: Any) -> Any:
            cpu, wall, before = time.process_time(), time.perf_counter(), statements[0]
            try:
                return _original(*args, **kwargs)
            finally:
                entry = totals[_label]
                entry[0] += time.process_time() - cpu
                entry[1] += time.perf_counter() - wall
                entry[2] += statements[0] - before

        originals.append((module, name, original))
        setattr(module, name, wrapper)
    try:
        with connection.execute_wrapper(count):
            yield totals
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def profile(plan: Plan, start_n: int, count: int) -> None:
    """`count` requests through Django in this process (no network, one thread, the test client):
    CPU and wall time per request and per part, SQL statements, then cProfile's view."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {plan.token}", HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="en"
    )

    def post(n: int) -> int:
        path, payload = plan.body(n)
        return client.post(path, data=json.dumps(payload), content_type="application/json").status_code

    for n in range(start_n, start_n + 20):  # warm up (imports, caches, connection)
        post(n)
    start_n += 20
    statuses: dict[int, int] = {}
    with CaptureQueriesContext(connection) as queries, timed_sections() as sections:
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(start_n, start_n + count):
            status = post(n)
            statuses[status] = statuses.get(status, 0) + 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    start_n += count
    sql_s = sum(float(q["time"]) for q in queries.captured_queries)
    print(
        f"\nIn-process profile, {count} requests one after another (load average {os.getloadavg()[0]:.1f}):"
        f" {cpu / count * 1000:.2f} ms CPU and {wall / count * 1000:.2f} ms wall per request,"
        f" {len(queries.captured_queries) / count:.1f} SQL statements per request ({sql_s / count * 1000:.2f} ms"
        f" waiting for them); statuses {statuses}"
    )
    print(f"  {'part (per request)':<44} {'CPU ms':>7} {'wall ms':>8} {'SQL':>5}")
    for label, (part_cpu, part_wall, part_sql) in sections.items():
        print(
            f"  {label:<44} {part_cpu / count * 1000:7.2f} {part_wall / count * 1000:8.2f} {part_sql / count:5.1f}"
        )
    print("  statements by kind (per request: how many, ms waiting):")
    per: dict[str, tuple[int, float]] = {}
    for query in queries.captured_queries:
        key = " ".join(query["sql"].split()[:5])[:80]
        seen, spent = per.get(key, (0, 0.0))
        per[key] = (seen + 1, spent + float(query["time"]))
    for key, (seen, spent) in sorted(per.items(), key=lambda item: -item[1][1])[:16]:
        print(f"    {seen / count:4.1f} × {spent / count * 1000:6.2f} ms  {key}")
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for n in range(start_n, start_n + count):
        post(n)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"/arrears/", 25)
    print("  cProfile (CPU time, cumulative, arrears functions; profiling roughly doubles the times):")
    print("\n".join("    " + text for text in out.getvalue().splitlines() if text.strip()))


def main() -> int:
    args = parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    connections = [int(part) for part in args.connections.split(",") if part.strip()]
    wrk = ensure_wrk()
    url = bench_database_url()
    DATA.mkdir(parents=True, exist_ok=True)
    print(
        f"Activities API benchmark — {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f},"
        f" {args.cases:,} cases, gunicorn {args.workers} workers × 4 threads, wrk {args.threads} thread(s)"
    )
    admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    admin(url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        print(f"  migrate                         {migrate(url):7.1f} s", flush=True)
        os.environ.update(server_env(url))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arrears.config.settings")
        import django

        django.setup()
        from django.db import connection
        from django.utils import timezone

        started = time.monotonic()
        plan = build_book(cases=args.cases, days=args.days, old_history=args.old_history)
        connection.close()
        vacuum_analyze(url)
        print(
            f"  book: {len(plan.cases):,} cases, {plan.history:,} prior activities, load days"
            f" {plan.days[0]} … {plan.days[-1]} ({len(plan.days)})   {time.monotonic() - started:7.1f} s",
            flush=True,
        )
        plan_file = DATA / "plan.txt"
        plan.write(plan_file)
        port = args.port or free_port()
        runs: list[Run] = []
        offset = 0
        server_pid = 0
        since = timezone.now()

        def load(label: str, conns: int, seconds: int, think_ms: int = 0) -> Run:
            nonlocal offset
            if offset + seconds * 2000 + conns > plan.capacity:
                print(f"  {label}: skipped, the plan's {plan.capacity:,} allowed calls would run out")
                return Run(label=label, connections=conns, think_ms=think_ms)
            run = run_wrk(
                wrk, server_pid=server_pid, port=port, plan_file=plan_file, offset=offset, threads=args.threads, connections=conns,
                seconds=seconds, label=label, think_ms=think_ms,
            )  # fmt: skip
            offset = run.highest_n + args.threads + 1
            print(run.line(), flush=True)
            for sample in run.samples:
                print(f"    first non-201: {sample}")
            return run

        with running_server(url, port, args.workers, DATA / "server.log") as server:
            server_pid = server.pid
            print(f"  server on 127.0.0.1:{port} (log {DATA / 'server.log'})\n{HEADER}", flush=True)
            warm_up = load("warm-up (not counted)", 4, 5)
            for conns in connections:
                runs.append(load(f"closed loop, {args.duration} s", conns, args.duration))
            if args.rate > 0 and runs:
                best = max(runs, key=lambda r: r.rps)
                think = max(0, round(1000 * args.paced_connections / args.rate - best.p50_ms))
                runs.append(
                    load(
                        f"paced ≈{args.rate}/s, {think} ms think",
                        args.paced_connections,
                        args.duration,
                        think,
                    )
                )
        wrote = verify(plan, since)
        every = [warm_up, *runs]
        answered = sum(sum(r.statuses.values()) for r in every)
        created = sum(r.statuses.get("201", 0) for r in every)
        print(
            f"\nDatabase after the runs (warm-up included): {wrote['activities']:,} activities created,"
            f" guard decisions {wrote['allowed']:,} allowed / {wrote['denied']:,} denied"
            f" {wrote['denied_rules'] or ''}. wrk counted {answered:,} answers ({created:,} of them 201,"
            f" {answered - created:,} not); up to {sum(r.connections for r in every):,} more were in flight"
            f" when the runs stopped (answered after wrk stopped listening)"
        )
        measured = [r for r in runs if r.requests]
        if measured:
            best = max(measured, key=lambda r: r.rps)
            within = [r for r in measured if r.p99_ms <= TARGET_P99_MS and r.not_created == 0]
            top = max(within, key=lambda r: r.rps) if within else None
            print(
                f"\nHighest rate: {best.rps:.0f} req/s at {best.connections} connections (p99 {best.p99_ms:.0f} ms)."
                + (
                    f" Highest rate with p99 ≤ {TARGET_P99_MS} ms: {top.rps:.0f} req/s at {top.connections}"
                    f" connections (p50 {top.p50_ms:.0f}, p90 {top.p90_ms:.0f}, p99 {top.p99_ms:.0f} ms)."
                    if top
                    else f" No run kept p99 ≤ {TARGET_P99_MS} ms."
                )
            )
            met = top is not None and top.rps >= TARGET_RPS
            print(f"Target ≥ {TARGET_RPS} req/s with p99 ≤ {TARGET_P99_MS} ms: {'met' if met else 'NOT met'}")
        if args.profile > 0:
            profile(plan, offset + 1000, args.profile)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections as django_connections

            django_connections.close_all()
        if not args.keep_db:
            admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
