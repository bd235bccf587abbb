"""The end-of-day batch: incremental equals full, idempotence, restart after faults and kills,
refusal of back-dated runs, concurrent writes."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from arrears.cases.models import Case, CaseEvent
from arrears.delinquency import engine, services
from arrears.delinquency.models import (
    AccountState,
    BookByBucket,
    BucketTransition,
    DirtyAccount,
    EodRun,
    EodStep,
    RunState,
)
from arrears.delinquency.services import EodRefused, InjectedFault, eod_run, eod_run_range
from arrears.delinquency.tests.books import (
    add_random_accounts,
    ensure_calendar,
    expected_state,
    make_products,
    next_working_day_from_table,
)
from arrears.portfolio.models import Account, Payment
from arrears.tests.factories import PaymentFactory

ROOT = Path(__file__).resolve().parents[3]
FIRST_DAY = dt.date(2026, 1, 25)
LAST_DAY = dt.date(2026, 3, 3)  # two month ends inside, so snapshots are exercised too


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def fingerprint() -> dict[str, Any]:
    """Everything the batch produces, without ids and timestamps that legitimately differ."""
    states = {
        row["account__account_no"]: tuple(row[c] for c in engine.STATE_COLUMNS)
        for row in AccountState.objects.values("account__account_no", *engine.STATE_COLUMNS)
    }
    transitions = sorted(
        BucketTransition.objects.values_list(
            "account__account_no", "business_date", "from_code", "to_code", "dpd", "overdue_fen"
        )
    )
    cases = sorted(
        Case.objects.values_list(
            "account__account_no",
            "status",
            "bucket_code",
            "opened_on",
            "closed_on",
            "close_reason",
            "assigned_collector__username",
        ),
        key=str,
    )
    events = sorted(
        CaseEvent.objects.values_list(
            "case__account__account_no", "kind", "business_date", "from_value", "to_value"
        ),
        key=str,
    )
    book = sorted(
        BookByBucket.objects.values_list("business_date", "bucket_code", "accounts", "outstanding_fen")
    )
    return {"states": states, "transitions": transitions, "cases": cases, "events": events, "book": book}


@pytest.fixture
def random_book(db: None) -> list[Account]:
    return add_random_accounts(random.Random(11), make_products(), 60, last_payment_day=dt.date(2026, 6, 30))


def run_days(first: dt.date, last: dt.date) -> None:
    for day in days(first, last):
        eod_run(business_date=day)


def test_incremental_days_then_a_full_rebuild_change_nothing(random_book: list[Account]) -> None:
    eod_run(business_date=FIRST_DAY - dt.timedelta(days=1), mode="full")
    run_days(FIRST_DAY, dt.date(2026, 2, 10))
    # New data mid-way, some of it back-dated: the dirty queue must bring those accounts in.
    late = random_book[:5]
    for account in late:
        PaymentFactory(account=account, amount_fen=12_345, paid_at=dt.datetime(2026, 2, 3, 10, tzinfo=dt.UTC))
    assert set(DirtyAccount.objects.values_list("account_id", flat=True)) == {a.pk for a in late}
    run_days(dt.date(2026, 2, 11), LAST_DAY)
    incremental = fingerprint()
    transitions_before = BucketTransition.objects.count()

    eod_run(business_date=LAST_DAY, mode="full")

    assert fingerprint() == incremental
    assert BucketTransition.objects.count() == transitions_before
    calendar = next_working_day_from_table()
    for account in Account.objects.select_related("product__ladder"):
        stored = AccountState.objects.values(*engine.STATE_COLUMNS).get(account=account)
        assert stored == expected_state(account, LAST_DAY, calendar), account.account_no


def test_an_ordinary_day_recomputes_only_changed_accounts(random_book: list[Account]) -> None:
    eod_run(business_date=dt.date(2026, 2, 9), mode="full")
    day = dt.date(2026, 2, 10)
    due = set(AccountState.objects.filter(next_change_date__lte=day).values_list("account_id", flat=True))
    PaymentFactory(account=random_book[0], amount_fen=100, paid_at=dt.datetime(2026, 2, 10, 2, tzinfo=dt.UTC))

    run = eod_run(business_date=day)

    assert run.accounts == len(due | {random_book[0].pk})
    assert run.accounts < len(random_book)


def test_the_same_date_twice_changes_nothing(random_book: list[Account]) -> None:
    run_days(FIRST_DAY, dt.date(2026, 1, 31))
    before = fingerprint()

    again = eod_run(business_date=dt.date(2026, 1, 31))

    assert fingerprint() == before
    assert again.state == RunState.DONE
    assert again.accounts == 0


def test_a_backdated_date_is_refused_and_nothing_happens(random_book: list[Account]) -> None:
    run_days(FIRST_DAY, dt.date(2026, 1, 28))
    before, runs = fingerprint(), EodRun.objects.count()

    with pytest.raises(EodRefused) as refused:
        eod_run(business_date=dt.date(2026, 1, 27))

    assert refused.value.code == "backdated"
    assert "2026-01-28" in str(refused.value) and "--rebuild-from" in str(refused.value)
    assert fingerprint() == before
    assert EodRun.objects.count() == runs


def test_rebuild_from_a_date_runs_the_days_again_and_gives_the_same_history(
    random_book: list[Account],
) -> None:
    run_days(FIRST_DAY, dt.date(2026, 2, 5))
    before = fingerprint()

    eod_run(business_date=dt.date(2026, 2, 5), rebuild_from=dt.date(2026, 2, 1))

    after = fingerprint()
    assert after["states"] == before["states"]
    assert after["transitions"] == before["transitions"]
    assert after["cases"] == before["cases"]
    assert EodRun.objects.filter(state=RunState.SUPERSEDED).count() == 6  # 31 Jan (baseline) … 5 Feb
    assert (
        EodRun.objects.filter(business_date=dt.date(2026, 1, 31), mode="baseline", state="done").count() == 1
    )


def test_a_range_runs_every_day_in_order(random_book: list[Account]) -> None:
    runs = eod_run_range(first=dt.date(2026, 1, 30), last=dt.date(2026, 2, 2))

    assert [run.business_date for run in runs] == list(days(dt.date(2026, 1, 30), dt.date(2026, 2, 2)))
    assert [run.mode for run in runs] == ["full", "incremental", "incremental", "incremental"]
    assert {run.state for run in runs} == {"done"}
    steps = list(EodStep.objects.filter(run=runs[1]).values_list("name", flat=True))
    assert steps == ["collect", "compute", "cases", "assign", "messages", "book", "snapshot"]


FAULT_POINTS = [
    "before:collect",
    "inside:collect",
    "after:collect",
    "mid:compute",
    "inside:compute",
    "after:compute",
    "inside:cases",
    "inside:assign",
    "inside:book",
    "inside:snapshot",
]


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_run_interrupted_anywhere_and_rerun_ends_as_an_uninterrupted_one(
    random_book: list[Account], point: str
) -> None:
    last = dt.date(2026, 2, 2)  # the fault strikes on 31 Jan, a month end with a snapshot
    rollback_to = transaction.savepoint()
    run_days(FIRST_DAY, last)
    uninterrupted = fingerprint()
    transaction.savepoint_rollback(rollback_to)
    assert AccountState.objects.count() == 0

    run_days(FIRST_DAY, dt.date(2026, 1, 30))
    services.fault_at = point
    try:
        with pytest.raises(InjectedFault):
            eod_run(business_date=dt.date(2026, 1, 31))
    finally:
        services.fault_at = None
    assert EodRun.objects.get(business_date=dt.date(2026, 1, 31)).state == RunState.RUNNING
    run_days(dt.date(2026, 1, 31), last)

    assert fingerprint() == uninterrupted
    assert EodRun.objects.filter(business_date=dt.date(2026, 1, 31)).count() == 1


def test_a_write_during_the_run_is_not_lost(random_book: list[Account]) -> None:
    eod_run(business_date=dt.date(2026, 2, 1), mode="full")
    account = random_book[3]
    written = []

    def pay_while_computing(point: str) -> None:
        # Another session cannot see this test's uncommitted data, so the "concurrent" write
        # is made in the batch's own session between its statements, like a write that
        # commits while the compute step is going.
        if point == "after:collect" and not written:
            written.append(
                PaymentFactory(
                    account=account, amount_fen=99_999, paid_at=dt.datetime(2026, 2, 1, 3, tzinfo=dt.UTC)
                )
            )

    services.checkpoint_hook = pay_while_computing
    try:
        eod_run(business_date=dt.date(2026, 2, 2))
    finally:
        services.checkpoint_hook = None

    assert list(DirtyAccount.objects.values_list("account_id", flat=True)) == [account.pk]
    eod_run(business_date=dt.date(2026, 2, 3))
    calendar = next_working_day_from_table()
    stored = AccountState.objects.values(*engine.STATE_COLUMNS).get(account=account)
    assert stored == expected_state(Account.objects.get(pk=account.pk), dt.date(2026, 2, 3), calendar)
    assert DirtyAccount.objects.count() == 0


def test_the_eod_command_prints_steps_and_refuses_a_backdated_date(
    random_book: list[Account], capsys: Any
) -> None:
    call_command("eod", "--date", "2026-02-01")
    out = capsys.readouterr().out
    assert "compute" in out and "2026-02-01" in out and "done" in out

    with pytest.raises(CommandError, match="2026-01-31"):
        call_command("eod", "--date", "2026-01-31", "--lang", "en")


@pytest.mark.django_db(transaction=True)
def test_a_killed_batch_process_is_resumed_by_the_next_run() -> None:
    add_random_accounts(random.Random(5), make_products(), 30, last_payment_day=dt.date(2026, 6, 30))
    settings = connection.settings_dict
    url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "ARREARS_EOD_FAULT": "inside:compute:kill"}

    killed = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "eod", "--date", "2026-02-01", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert killed.returncode == -9, killed.stderr
    run = EodRun.objects.get()
    assert run.state == RunState.RUNNING
    # The step it died in says so; its work was rolled back with the process.
    assert list(EodStep.objects.filter(run=run).order_by("id").values_list("name", "state")) == [
        ("collect", "done"),
        ("compute", "started"),
    ]
    assert AccountState.objects.count() == 0

    resumed = eod_run(business_date=dt.date(2026, 2, 1))

    assert resumed.pk == run.pk and resumed.state == RunState.DONE
    compute = EodStep.objects.get(run=run, name="compute")
    assert (compute.state, compute.attempts, compute.rows) == ("done", 2, 30)
    assert AccountState.objects.count() == 30
    calendar = next_working_day_from_table()
    for account in Account.objects.select_related("product__ladder"):
        stored = AccountState.objects.values(*engine.STATE_COLUMNS).get(account=account)
        assert stored == expected_state(account, dt.date(2026, 2, 1), calendar)


@pytest.mark.django_db(transaction=True)
def test_a_second_batch_is_refused_while_one_holds_the_lock() -> None:
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [services.ADVISORY_LOCK_KEY])
        with pytest.raises(EodRefused) as refused:
            eod_run(business_date=dt.date(2026, 2, 1))
        assert refused.value.code == "busy"
        assert EodRun.objects.count() == 0
    finally:
        other.close()
    assert Payment.objects.count() == 0


def test_moving_a_working_day_queues_the_accounts_that_shift_due_dates(db: None) -> None:
    from arrears.core.models import CalendarDay
    from arrears.core.services import calendar_link_next_working_days
    from arrears.tests.factories import AccountFactory, ProductFactory

    ensure_calendar()
    shifting = AccountFactory(product=ProductFactory(code="SHIFT", due_date_shift="next_working_day"))
    AccountFactory(product=ProductFactory(code="PLAIN"))
    DirtyAccount.objects.all().delete()

    # 1 Oct 2026 becomes a working day (an admin's correction): due dates of that day stop shifting to 8 Oct.
    CalendarDay.objects.filter(day=dt.date(2026, 10, 1)).update(is_working=True, source="admin")
    calendar_link_next_working_days(first=dt.date(2026, 9, 1), last=dt.date(2026, 10, 31))

    assert list(DirtyAccount.objects.values_list("account_id", flat=True)) == [shifting.pk]
    assert CalendarDay.objects.get(day=dt.date(2026, 10, 1)).next_working_day == dt.date(2026, 10, 1)
