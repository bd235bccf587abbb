"""Import benchmark: generate big creditor files, load them with `arrears import` into a scratch
database, and report rows/s and the importer's peak memory. See bench/README.md.

    .venv/bin/python bench/import_bench.py [--accounts N] [--schedule-accounts N] [--payments N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from arrears import simulator  # noqa: E402 - after the path fix above

BENCH_DATABASE = "arrears_bench"
CREDITOR = ("BENCH", "基准测试银行")
PRODUCTS = (("CASHLOAN", "现金贷", "loan"), ("CARD", "信用卡", "card"))


@dataclass
class Step:
    label: str
    kind: str
    path: Path
    rows: int


@dataclass
class Result:
    step: Step
    seconds: float
    peak_rss_mb: float
    tree_rss_mb: float | None
    batch: dict[str, object]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts", type=int, default=1_000_000, help="accounts file rows (default 1,000,000)"
    )
    parser.add_argument(
        "--schedule-accounts",
        type=int,
        default=100_000,
        help="accounts that get a schedule file (default 100,000; about 17 rows each)",
    )
    parser.add_argument(
        "--payments", type=int, default=1_000_000, help="payments file rows (default 1,000,000)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "bench-data", help="where files go (default bench-data/)"
    )
    parser.add_argument("--regenerate", action="store_true", help="write the files even if they exist")
    parser.add_argument("--keep-db", action="store_true", help="leave the arrears_bench database behind")
    parser.add_argument(
        "--slow-sql-ms",
        type=int,
        default=None,
        help="have PostgreSQL log the bench database's statements slower than this to its server log",
    )
    args = parser.parse_args()
    if args.schedule_accounts > args.accounts:
        parser.error("--schedule-accounts cannot exceed --accounts")
    return args


def arrears_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "arrears"
    return [str(script)] if script.exists() else [sys.executable, "-m", "arrears.cli"]


# --- files -----------------------------------------------------------------------------------


def _write(kind: str, path: Path, args: dict[str, int]) -> tuple[str, int, float]:
    started = time.monotonic()
    partial = path.with_name(path.name + ".part")
    rows: int
    if kind == "accounts":
        simulator.write_accounts_csv(
            partial,
            creditor=CREDITOR[0],
            products=[code for code, *_ in PRODUCTS],
            count=args["accounts"],
            seed=args["seed"],
        )
        rows = args["accounts"]
    elif kind == "schedule":
        rows = simulator.write_schedule_csv(
            partial, creditor=CREDITOR[0], count_accounts=args["schedule_accounts"], seed=args["seed"]
        )
    else:
        rows = simulator.write_payments_csv(
            partial,
            creditor=CREDITOR[0],
            count=args["payments"],
            accounts=args["accounts"],
            seed=args["seed"],
        )
    partial.replace(path)
    path.with_name(path.name + ".rows").write_text(str(rows))
    return kind, rows, time.monotonic() - started


def generate(args: argparse.Namespace) -> dict[str, Step]:
    folder: Path = args.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "accounts": folder / f"accounts-{args.accounts}-s{args.seed}.csv",
        "schedule": folder / f"schedule-{args.schedule_accounts}-s{args.seed}.csv",
        "payments": folder / f"payments-{args.payments}-over-{args.accounts}-s{args.seed}.csv",
    }
    counts = {
        "accounts": args.accounts,
        "schedule_accounts": args.schedule_accounts,
        "payments": args.payments,
        "seed": args.seed,
    }
    todo = [
        kind
        for kind, path in paths.items()
        if args.regenerate or not path.exists() or not path.with_name(path.name + ".rows").exists()
    ]
    if todo:
        print(f"generating {', '.join(todo)} into {folder} …", flush=True)
        with ProcessPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
            for kind, rows, seconds in pool.map(_write, todo, [paths[k] for k in todo], [counts] * len(todo)):
                size = paths[kind].stat().st_size / 1e6
                print(f"  {paths[kind].name}: {rows:,} rows, {size:,.0f} MB in {seconds:.1f} s", flush=True)
    else:
        print(f"reusing the files in {folder} (--regenerate to write them again)", flush=True)
    steps = {}
    for kind, path in paths.items():
        rows = int(path.with_name(path.name + ".rows").read_text())
        steps[kind] = Step(label=path.name, kind=kind, path=path, rows=rows)
    return steps


# --- database --------------------------------------------------------------------------------


def bench_database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
    from arrears.core.embedded_db import EmbeddedServer

    server = EmbeddedServer.default()
    server.ensure_running()
    return server.url(BENCH_DATABASE)


def recreate_database(url: str, slow_sql_ms: int | None) -> None:
    import psycopg

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        if slow_sql_ms is not None:
            conn.execute(
                f'ALTER DATABASE "{BENCH_DATABASE}" SET log_min_duration_statement = {int(slow_sql_ms)}'
            )


def drop_database(url: str) -> None:
    import psycopg

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def last_batch(url: str) -> dict[str, object]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute(
            """SELECT id, status, error_code, stored_path, rows_read, rows_loaded, rows_inserted, rows_updated,
                      rows_unchanged, rows_rejected, extract(epoch FROM finished_at - started_at) AS load_seconds
               FROM portfolio_importbatch ORDER BY id DESC LIMIT 1"""
        ).fetchone()
    return dict(row or {})


def database_size(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    return str(row[0]) if row else "?"


# --- running the importer --------------------------------------------------------------------


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc), in KiB."""
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    total = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * page_kib
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree (the importer parses in worker processes)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.available = Path(f"/proc/{pid}/task/{pid}/children").exists()
        self.stopped = threading.Event()

    def run(self) -> None:
        while self.available and not self.stopped.wait(0.2):
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(self.pid))


def run(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float, float | None]:
    """Run a child to completion; (wall seconds, peak RSS MB, peak summed RSS MB of its process tree).

    Fails loudly. The peak RSS comes from ``os.wait4`` on that child: its own ``ru_maxrss``, which
    Linux raises to its largest waited-for descendant's (not the sum); ``RUSAGE_CHILDREN`` would
    instead be the maximum over every child so far, hiding a smaller later one. The tree figure
    is sampled every 0.2 s from /proc (None where /proc cannot tell).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        started = time.monotonic()
        child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
        sampler = TreeSampler(child.pid)
        sampler.start()
        _pid, status, usage = os.wait4(child.pid, 0)  # ru_maxrss is in KiB on Linux
        seconds = time.monotonic() - started
        sampler.stopped.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} failed (exit {child.returncode}); log {log}:\n{tail}")
    tree = sampler.peak_kib / 1024 if sampler.available and sampler.peak_kib else None
    return seconds, usage.ru_maxrss / 1024, tree


def main() -> int:
    args = parse_args()
    steps = generate(args)
    url = bench_database_url()
    print(f"database: {url} (dropped and created afresh)", flush=True)
    recreate_database(url, args.slow_sql_ms)
    media = args.data_dir / "media"
    env = {**os.environ, "DATABASE_URL": url, "ARREARS_MEDIA_ROOT": str(media)}
    arrears = arrears_command()
    logs = args.data_dir / "logs"
    seconds, _rss, _tree = run([*arrears, "migrate", "-v", "0"], env, logs / "migrate.log")
    print(f"migrated in {seconds:.1f} s", flush=True)
    run([*arrears, "creditor", "add", *CREDITOR], env, logs / "creditor.log")
    for code, name, kind in PRODUCTS:
        run(
            [*arrears, "product", "add", code, "--creditor", CREDITOR[0], "--name", name, "--kind", kind],
            env,
            logs / f"product-{code}.log",
        )

    plan = [
        ("accounts", steps["accounts"]),
        ("schedule", steps["schedule"]),
        ("payments", steps["payments"]),
        ("accounts again", steps["accounts"]),
    ]
    results: list[tuple[str, Result]] = []
    for index, (label, step) in enumerate(plan, start=1):
        print(f"importing {step.path.name} ({label}) …", flush=True)
        command = [
            *arrears,
            "import",
            str(step.path),
            "--creditor",
            CREDITOR[0],
            "--kind",
            step.kind,
            "--quiet",
        ]
        seconds, rss, tree = run(command, env, logs / f"{index}-{label.replace(' ', '-')}.log")
        batch = last_batch(url)
        if batch.get("status") != "done":
            raise SystemExit(f"the import of {step.path} did not finish: {batch}")
        stored = batch.get("stored_path")
        if isinstance(stored, str) and stored:
            Path(stored).unlink(missing_ok=True)  # the importer's copy of the upload
        results.append(
            (label, Result(step=step, seconds=seconds, peak_rss_mb=rss, tree_rss_mb=tree, batch=batch))
        )
        tree_text = f", process tree {tree:.0f} MB" if tree is not None else ""
        print(
            f"  {seconds:.1f} s, peak RSS {rss:.0f} MB{tree_text}, {batch['rows_inserted']:,} inserted, "
            f"{batch['rows_updated']:,} updated, {batch['rows_rejected']:,} rejected",
            flush=True,
        )

    size = database_size(url)
    if not args.keep_db:
        drop_database(url)
    print()
    print(f"Import benchmark — {os.cpu_count()} CPUs, database {BENCH_DATABASE} ({size} after the run)")
    header = (
        f"{'file':<44} {'kind':<15} {'rows':>11} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>11} {'tree MB':>8}"
        f" {'load s':>7} {'inserted':>10} {'updated':>8} {'rejected':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, result in results:
        batch = result.batch
        load = batch.get("load_seconds")
        print(
            f"{result.step.path.name:<44} {label:<15} {result.step.rows:>11,} {result.seconds:>8.1f}"
            f" {result.step.rows / result.seconds:>9,.0f} {result.peak_rss_mb:>11.0f}"
            f" {result.tree_rss_mb if result.tree_rss_mb is not None else float('nan'):>8.0f}"
            f" {float(load) if load is not None else float('nan'):>7.1f}"  # type: ignore[arg-type]
            f" {batch['rows_inserted']:>10,} {batch['rows_updated']:>8,} {batch['rows_rejected']:>8,}"
        )
    print(
        "\nseconds: wall time of `arrears import … --quiet` (process start to exit);"
        " load s: the batch's own started→finished time;\npeak RSS: the importer process (wait4 ru_maxrss);"
        " tree MB: peak of the summed RSS of the importer and its parse workers (sampled)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
