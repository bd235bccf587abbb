"""The end-of-day batch: runs, steps, restart, back-dating rules; and the request to run one.

A run for business date D goes through these steps, each one transaction that also writes
its `EodStep` row, so a step is either wholly done or not at all:

- ``collect``  fix the work set: accounts whose data changed (the trigger-filled dirty queue,
               consumed by DELETE … RETURNING) and accounts whose `next_change_date` ≤ D.
               A full run consumes the queue and works on every account.
- ``compute``  the arithmetic of `engine.compute` for the work set; bucket transitions for
               accounts whose bucket changed; the new state upserted where it differs.
- ``cases``    open, escalate and close cases of the recomputed accounts (`cases.services`),
               refresh their SLA follow-up due times (`cases.queue`), and settle promises
               against the payments up to the end of D (kept / partial / broken).
- ``assign``   give unassigned open cases to collectors round-robin.
- ``messages`` expand the cadences: queue the reminder and collection messages and the
               reminder calls of D+1 (`comms.services.cadences_expand`). Skipped when D+1
               is past: a rebuilt history must not message anyone now.
- ``book``     accounts and balances per bucket on D.
- ``snapshot`` on a month end: the delinquent accounts and the roll rates from the previous one.

A killed or failed run is resumed by the next call (from its first step not done), under a
PostgreSQL advisory lock so two batches never interleave. Writes that arrive while a run is
going leave rows in the dirty queue that this run did not see, so the next run picks them up.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import signal
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from arrears.cases.queue import cases_refresh_followup_due
from arrears.cases.services import cases_assign_unassigned, cases_follow_delinquency, promises_settle
from arrears.comms.services import cadences_expand
from arrears.delinquency import engine
from arrears.delinquency.messages import refusal_text
from arrears.delinquency.models import EodRun, EodStep, RunMode, RunState, StepState

STEPS = ("collect", "compute", "cases", "assign", "messages", "book", "snapshot")
BASELINE_STEPS = ("collect", "compute", "book", "snapshot")
ADVISORY_LOCK_KEY = 0x6172_7265_6172_73  # "arrears"
BATCH_WORK_MEM = "256MB"

# Fault injection for restart tests: "<when>:<step>[:kill]" with when in before/mid/inside/after.
# Tests set `fault_at`; a child process reads ARREARS_EOD_FAULT.
fault_at: str | None = None
# Tests may also run code at every checkpoint (a concurrent write between or inside steps).
checkpoint_hook: Callable[[str], None] | None = None

Progress = Callable[[str, int, int], None]


class EodRefused(Exception):
    """The batch will not run as asked; `code` and `params` say why (rendered per language)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return refusal_text(self.code, self.params)


class InjectedFault(RuntimeError):
    pass


def _checkpoint(point: str) -> None:
    if checkpoint_hook is not None:
        checkpoint_hook(point)
    wanted = fault_at or os.environ.get("ARREARS_EOD_FAULT")
    if not wanted:
        return
    if wanted.removesuffix(":kill") != point:
        return
    if wanted.endswith(":kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(point)


@dataclass(frozen=True)
class StepResult:
    name: str
    rows: int
    ms: int


def last_completed_date() -> dt.date | None:
    last: dt.date | None = EodRun.objects.filter(state=RunState.DONE).aggregate(last=Max("business_date"))[
        "last"
    ]
    return last


@contextmanager
def _batch_lock() -> Iterator[None]:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        if not cur.fetchone()[0]:
            raise EodRefused("busy")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])


def eod_check_date(*, business_date: dt.date, rebuild_from: dt.date | None = None) -> None:
    """Refuse a business date before the last completed run unless rebuilding from a date ≤ it."""
    if rebuild_from is not None:
        if rebuild_from > business_date:
            raise EodRefused("rebuild_after_date", rebuild_from=rebuild_from, date=business_date)
        return
    last = last_completed_date()
    if last is not None and business_date < last:
        raise EodRefused("backdated", date=business_date, last=last)


def eod_run(
    *,
    business_date: dt.date,
    mode: str = RunMode.INCREMENTAL,
    rebuild_from: dt.date | None = None,
    run: EodRun | None = None,
    actor: Any = None,
    progress: Progress | None = None,
) -> EodRun:
    """Run (or resume) the batch for a business date and return the finished run.

    Unfinished runs are finished first. A date before the last completed run is refused
    unless `rebuild_from` is given: then the history from that date on is discarded, the
    state is rebuilt as of the day before (a silent full computation), and every day from
    `rebuild_from` to `business_date` is run again. Running a completed date again changes
    nothing unless data changed since. Safe to re-run after any crash.
    """
    with _batch_lock():
        if run is not None:
            run.refresh_from_db()
            if run.state != RunState.QUEUED:
                return run  # another worker got to it first
        resumed = _finish_unfinished(exclude=run, progress=progress)
        same_day = [r for r in resumed if r.business_date == business_date and r.mode != RunMode.BASELINE]
        if same_day and run is None and rebuild_from is None and mode == RunMode.INCREMENTAL:
            return same_day[-1]  # the interrupted run of this very date, now finished
        eod_check_date(business_date=business_date, rebuild_from=rebuild_from)
        if rebuild_from is not None:
            _discard_history(rebuild_from)
            _execute(_new_run(rebuild_from - dt.timedelta(days=1), RunMode.BASELINE, actor), progress)
            day = rebuild_from
            while day < business_date:
                _execute(_new_run(day, RunMode.INCREMENTAL, actor), progress)
                day += dt.timedelta(days=1)
            mode = RunMode.INCREMENTAL
        if last_completed_date() is None and mode == RunMode.INCREMENTAL:
            mode = RunMode.FULL  # the first run ever has no state to increment from
        if run is None:
            run = _new_run(business_date, mode, actor)
        else:
            run.mode = mode
            run.save(update_fields=["mode"])
        return _execute(run, progress)


def eod_run_range(
    *, first: dt.date, last: dt.date, actor: Any = None, progress: Progress | None = None
) -> list[EodRun]:
    """Run every business date from `first` to `last` in order (a backfill)."""
    if last < first:
        raise EodRefused("empty_range", first=first, last=last)
    eod_check_date(business_date=first)
    runs = []
    day = first
    while day <= last:
        runs.append(eod_run(business_date=day, actor=actor, progress=progress))
        day += dt.timedelta(days=1)
    return runs


def eod_request(*, business_date: dt.date, mode: str = RunMode.INCREMENTAL, actor: Any = None) -> EodRun:
    """Queue a run for the background worker (the API's POST). Refused like `eod_run` would."""
    from arrears.delinquency.tasks import eod_run_task

    eod_check_date(business_date=business_date)
    with transaction.atomic():
        run = EodRun.objects.create(
            business_date=business_date, mode=mode, state=RunState.QUEUED, requested_by=actor
        )
        transaction.on_commit(lambda: eod_run_task.defer(run_id=run.pk))
    return run


def eod_run_queued(*, run_id: int) -> EodRun | None:
    """Run a queued run (the worker's task). A run no longer queued is left alone (retries are safe)."""
    run = EodRun.objects.filter(pk=run_id, state=RunState.QUEUED).first()
    if run is None:
        return None
    try:
        return eod_run(business_date=run.business_date, mode=run.mode, run=run)
    except EodRefused as refusal:
        # Never started (no step rows), so no later run will try to resume it.
        EodRun.objects.filter(pk=run_id).update(
            state=RunState.FAILED, error=str(refusal), finished_at=timezone.now()
        )
        raise


# --- running ----------------------------------------------------------------------------------


def _new_run(business_date: dt.date, mode: str, actor: Any) -> EodRun:
    return EodRun.objects.create(
        business_date=business_date,
        mode=mode,
        state=RunState.RUNNING,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )


def _finish_unfinished(*, exclude: EodRun | None, progress: Progress | None) -> list[EodRun]:
    # Runs that began and did not finish; a refused request (failed without a step) never began.
    began = Q(state=RunState.RUNNING) | Q(state=RunState.FAILED, steps__isnull=False)
    unfinished = EodRun.objects.filter(began).distinct().order_by("business_date", "id")
    if exclude is not None:
        unfinished = unfinished.exclude(pk=exclude.pk)
    return [_execute(run, progress) for run in unfinished]


def _execute(run: EodRun, progress: Progress | None) -> EodRun:
    EodRun.objects.filter(pk=run.pk).update(state=RunState.RUNNING, error="")
    steps = BASELINE_STEPS if run.mode == RunMode.BASELINE else STEPS
    done = set(EodStep.objects.filter(run=run, state=StepState.DONE).values_list("name", flat=True))
    try:
        for name in steps:
            if name in done:
                continue
            result = _run_step(run, name)
            if progress is not None:
                progress(result.name, result.rows, result.ms)
        with transaction.atomic():
            accounts = (
                EodStep.objects.filter(run=run, name="compute", state=StepState.DONE)
                .values_list("rows", flat=True)
                .first()
                or 0
            )
            with connection.cursor() as cur:
                cur.execute("DELETE FROM delinquency_eodworkitem WHERE run_id = %s", [run.pk])
            EodRun.objects.filter(pk=run.pk).update(
                state=RunState.DONE, finished_at=timezone.now(), accounts=accounts
            )
    except InjectedFault:
        raise
    except Exception as failure:
        EodRun.objects.filter(pk=run.pk).update(
            state=RunState.FAILED, error=f"{type(failure).__name__}: {failure}"
        )
        raise
    run.refresh_from_db()
    return run


def _run_step(run: EodRun, name: str) -> StepResult:
    # Committed on its own, before the work: after a crash the run shows the step it stopped in.
    step, created = EodStep.objects.get_or_create(
        run=run, name=name, defaults={"state": StepState.STARTED, "started_at": timezone.now()}
    )
    if not created:
        EodStep.objects.filter(pk=step.pk).update(attempts=F("attempts") + 1, started_at=timezone.now())
    _checkpoint(f"before:{name}")
    started = time.monotonic()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(f"SET LOCAL work_mem = '{BATCH_WORK_MEM}'")
            rows = STEP_FUNCTIONS[name](cur, run)
        _checkpoint(f"inside:{name}")
        ms = int((time.monotonic() - started) * 1000)
        EodStep.objects.filter(pk=step.pk).update(
            state=StepState.DONE, rows=rows, ms=ms, finished_at=timezone.now()
        )
    _checkpoint(f"after:{name}")
    return StepResult(name, rows, ms)


def _is_full(run: EodRun) -> bool:
    return run.mode in (RunMode.FULL, RunMode.BASELINE)


def _step_collect(cur: Any, run: EodRun) -> int:
    if _is_full(run):
        cur.execute("DELETE FROM delinquency_dirtyaccount")
        cur.execute("SELECT count(*) FROM portfolio_account")
        return int(cur.fetchone()[0])
    cur.execute(
        """
        WITH consumed AS (DELETE FROM delinquency_dirtyaccount RETURNING account_id),
        due AS (SELECT account_id FROM delinquency_accountstate WHERE next_change_date <= %(d)s)
        INSERT INTO delinquency_eodworkitem (run_id, account_id)
        SELECT DISTINCT %(run)s, x.account_id
          FROM (SELECT account_id FROM consumed UNION SELECT account_id FROM due) x
          JOIN portfolio_account a ON a.id = x.account_id
        ON CONFLICT DO NOTHING
        """,
        {"d": run.business_date, "run": run.pk},
    )
    return int(cur.rowcount)


def _work_table(cur: Any, run: EodRun) -> None:
    cur.execute(
        """
        DROP TABLE IF EXISTS eod_accounts;
        CREATE TEMP TABLE eod_accounts ON COMMIT DROP AS
        SELECT account_id FROM delinquency_eodworkitem WHERE run_id = %s;
        CREATE UNIQUE INDEX ON eod_accounts (account_id);
        ANALYZE eod_accounts;
        """,
        [run.pk],
    )


def _step_compute(cur: Any, run: EodRun) -> int:
    full = _is_full(run)
    if not full:
        _work_table(cur, run)
    computed = engine.compute(cur, business_date=run.business_date, all_accounts=full)
    _checkpoint("mid:compute")
    if run.mode != RunMode.BASELINE:
        # A new account starts in its ladder's first bucket, so only a move out of it is a transition.
        cur.execute(
            """
            INSERT INTO delinquency_buckettransition
                   (account_id, business_date, from_code, from_group, to_code, to_group, dpd, overdue_fen, run_id)
            SELECT n.account_id, %(d)s, coalesce(s.bucket_code, first.code), coalesce(s.bucket_group, first."group"),
                   n.bucket_code, n.bucket_group, n.dpd, n.overdue_fen, %(run)s
              FROM eod_new n
              JOIN portfolio_product p ON p.id = n.product_id
              JOIN portfolio_bucket first ON first.ladder_id = p.ladder_id AND first.min_dpd = 0
              LEFT JOIN delinquency_accountstate s ON s.account_id = n.account_id
             WHERE n.bucket_code <> coalesce(s.bucket_code, first.code)
            """,
            {"d": run.business_date, "run": run.pk},
        )
    columns = ", ".join(engine.STATE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in engine.STATE_COLUMNS)
    cur.execute(
        f"""
        INSERT INTO delinquency_accountstate (account_id, as_of, updated_at, {columns})
        SELECT account_id, %(d)s, now(), {columns} FROM eod_new
        ON CONFLICT (account_id) DO UPDATE
           SET as_of = excluded.as_of, updated_at = excluded.updated_at, {updates}
         WHERE ({", ".join(f"delinquency_accountstate.{c}" for c in engine.STATE_COLUMNS)})
               IS DISTINCT FROM ({", ".join(f"excluded.{c}" for c in engine.STATE_COLUMNS)})
        """,
        {"d": run.business_date},
    )
    return computed


def _step_cases(cur: Any, run: EodRun) -> int:
    scope = (
        ""
        if _is_full(run)
        else "JOIN delinquency_eodworkitem w ON w.account_id = s.account_id AND w.run_id = %(run)s"
    )
    cur.execute(
        f"""
        DROP TABLE IF EXISTS case_signals;
        CREATE TEMP TABLE case_signals ON COMMIT DROP AS
        SELECT s.account_id, a.customer_id, a.product_id, p.ladder_id,
               s.delinquent_since IS NOT NULL AS delinquent,
               coalesce(%(d)s::date - s.delinquent_since, 0) AS dpd,
               s.bucket_code, s.bucket_group, b.min_dpd AS bucket_rank, p.case_open_dpd, s.overdue_fen
          FROM delinquency_accountstate s {scope}
          JOIN portfolio_account a ON a.id = s.account_id
          JOIN portfolio_product p ON p.id = a.product_id
          JOIN portfolio_bucket b ON b.ladder_id = p.ladder_id AND b.code = s.bucket_code;
        CREATE UNIQUE INDEX ON case_signals (account_id);
        ANALYZE case_signals;
        """,
        {"d": run.business_date, "run": run.pk},
    )
    counts = cases_follow_delinquency(business_date=run.business_date, signals_table="case_signals")
    # The SLA monitor's follow-up due times of the cases just moved, opened or re-balanced
    # (idempotent: a restarted step writes nothing twice). Not counted in the step's rows.
    cases_refresh_followup_due(signals_table="case_signals")
    # Promises judged as of the end of D (payments after it wait for the next run), or now
    # when the run is late in the same day. Not counted in the step's rows either.
    end_of_day = dt.datetime.combine(
        run.business_date + dt.timedelta(days=1), dt.time(0), zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )
    promises_settle(now=min(end_of_day, timezone.now()), business_date=run.business_date)
    return counts.total


def _step_assign(cur: Any, run: EodRun) -> int:
    return cases_assign_unassigned(business_date=run.business_date)


def _step_messages(cur: Any, run: EodRun) -> int:
    # Messages go out the day after the business date; for a day in the past nobody is
    # messaged now.
    if run.business_date + dt.timedelta(days=1) < timezone.localdate():
        return 0
    return cadences_expand(business_date=run.business_date)


def _step_book(cur: Any, run: EodRun) -> int:
    cur.execute("DELETE FROM delinquency_bookbybucket WHERE business_date = %s", [run.business_date])
    cur.execute(
        """
        INSERT INTO delinquency_bookbybucket
               (business_date, bucket_code, bucket_group, accounts, outstanding_fen, overdue_fen)
        SELECT %s, bucket_code, min(bucket_group), count(*), sum(outstanding_fen), sum(overdue_fen)
          FROM delinquency_accountstate
         GROUP BY bucket_code
        """,
        [run.business_date],
    )
    return int(cur.rowcount)


def is_month_end(day: dt.date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def _previous_month_end(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def _step_snapshot(cur: Any, run: EodRun) -> int:
    day = run.business_date
    if not is_month_end(day):
        return 0
    cur.execute("DELETE FROM delinquency_bucketsnapshot WHERE month_end = %s", [day])
    cur.execute("DELETE FROM delinquency_rollrate WHERE month_end = %s", [day])
    cur.execute(
        """
        INSERT INTO delinquency_bucketsnapshot (month_end, account_id, bucket_group, dpd, overdue_fen, outstanding_fen)
        SELECT %(d)s, s.account_id, s.bucket_group, %(d)s::date - s.delinquent_since, s.overdue_fen, s.outstanding_fen
          FROM delinquency_accountstate s
         WHERE s.delinquent_since IS NOT NULL
        """,
        {"d": day},
    )
    snapshotted = int(cur.rowcount)
    previous = _previous_month_end(day)
    # Roll rates need the previous month end's snapshot, so only when that day was run.
    # Accounts missing from a snapshot were current (M0) if they existed then; balances are
    # the later month's. Accounts opened after the earlier month end are not counted.
    cur.execute(
        """
        INSERT INTO delinquency_rollrate (month_end, from_group, to_group, accounts, balance_fen)
        SELECT %(d)s, coalesce(prev.bucket_group, first."group"), s.bucket_group, count(*), sum(s.outstanding_fen)
          FROM delinquency_accountstate s
          JOIN portfolio_account a ON a.id = s.account_id AND a.open_date <= %(prev)s
          JOIN portfolio_product p ON p.id = a.product_id
          JOIN portfolio_bucket first ON first.ladder_id = p.ladder_id AND first.min_dpd = 0
          LEFT JOIN delinquency_bucketsnapshot prev ON prev.month_end = %(prev)s AND prev.account_id = s.account_id
         WHERE EXISTS (SELECT 1 FROM delinquency_eodrun r WHERE r.business_date = %(prev)s AND r.state = 'done')
         GROUP BY 2, 3
        """,
        {"d": day, "prev": previous},
    )
    return snapshotted


STEP_FUNCTIONS: dict[str, Callable[[Any, EodRun], int]] = {
    "collect": _step_collect,
    "compute": _step_compute,
    "cases": _step_cases,
    "assign": _step_assign,
    "messages": _step_messages,
    "book": _step_book,
    "snapshot": _step_snapshot,
}


def _discard_history(rebuild_from: dt.date) -> None:
    """Forget what runs from the day before `rebuild_from` on produced; case events stay (they happened)."""
    baseline_day = rebuild_from - dt.timedelta(days=1)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM delinquency_buckettransition WHERE business_date >= %s", [rebuild_from])
        cur.execute("DELETE FROM delinquency_bookbybucket WHERE business_date >= %s", [baseline_day])
        cur.execute("DELETE FROM delinquency_bucketsnapshot WHERE month_end >= %s", [baseline_day])
        cur.execute("DELETE FROM delinquency_rollrate WHERE month_end >= %s", [baseline_day])
        EodRun.objects.filter(business_date__gte=baseline_day, state=RunState.DONE).update(
            state=RunState.SUPERSEDED
        )
