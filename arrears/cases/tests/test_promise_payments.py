"""A payments file kept a promise: settled as soon as the file is loaded, by the worker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from arrears.accounts.models import Role
from arrears.cases.models import CaseEvent, PromiseStatus
from arrears.cases.services import promise_make
from arrears.portfolio.models import Creditor
from arrears.portfolio.services import import_batch_submit
from arrears.tests.factories import AccountFactory, CaseFactory, ProductFactory, UserFactory
from arrears.tests.worker import run_queued_jobs

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_payments_import_keeps_the_promise_it_covers(tmp_path: Path) -> None:
    collector = UserFactory(username="alice", role=Role.COLLECTOR)
    account = AccountFactory(account_no="DB2026000001", product=ProductFactory())
    case = CaseFactory(account=account, assigned_collector=collector, bucket_group="M2")
    now = dt.datetime.now(tz=SH)
    promise = promise_make(
        case=case, actor=collector, amount_fen=100_000, due_at=now + dt.timedelta(days=2), now=now
    )
    # Made ten minutes ago; paid five minutes ago (file times are Beijing time).
    type(promise).objects.filter(pk=promise.pk).update(created_at=now - dt.timedelta(minutes=10))
    paid_at = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "p.csv"
    path.write_text(
        f"账号,流水号,还款时间,还款金额,渠道,冲正原流水号\nDB2026000001,P1,{paid_at},1000.00,代扣,\n"
    )

    batch = import_batch_submit(
        creditor=Creditor.objects.get(code="DEMOBANK"), kind="payments", filename="p.csv", source=path
    )
    run_queued_jobs()

    batch.refresh_from_db()
    promise.refresh_from_db()
    assert batch.status == "done"
    assert (promise.status, promise.paid_fen) == (PromiseStatus.KEPT, 100_000)
    assert CaseEvent.objects.filter(case=case, kind="promise_kept", to_value="KP").count() == 1


def test_promises_are_settled_every_ten_minutes_by_the_worker() -> None:
    from procrastinate.contrib.django import app

    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["promises-settle"].cron == "*/10 * * * *"
    assert periodic["promises-settle"].task.name == "cases.promises_settle"


@pytest.mark.django_db
def test_the_periodic_task_breaks_a_promise_past_its_time() -> None:
    from arrears.cases.tasks import promises_settle_task

    collector = UserFactory(username="alice", role=Role.COLLECTOR)
    case = CaseFactory(account=AccountFactory(), assigned_collector=collector, bucket_group="M2")
    now = dt.datetime.now(tz=SH)
    promise = promise_make(
        case=case, actor=collector, amount_fen=100_000, due_at=now + dt.timedelta(hours=1), now=now
    )
    type(promise).objects.filter(pk=promise.pk).update(due_at=now - dt.timedelta(minutes=1))

    promises_settle_task(timestamp=int(now.timestamp()))

    promise.refresh_from_db()
    assert (promise.status, promise.paid_fen) == (PromiseStatus.BROKEN, 0)


@pytest.mark.django_db
def test_the_end_of_day_batch_breaks_promises_due_that_day_only() -> None:
    from arrears.delinquency.services import eod_run
    from arrears.delinquency.tests.books import ensure_calendar

    ensure_calendar()
    collector = UserFactory(username="alice", role=Role.COLLECTOR)
    case = CaseFactory(account=AccountFactory(), assigned_collector=collector, bucket_group="M2")
    made = dt.datetime(2026, 11, 19, 10, 0, tzinfo=SH)
    due_on_d = promise_make(
        case=case,
        actor=collector,
        amount_fen=100_000,
        due_at=dt.datetime(2026, 11, 20, 18, 0, tzinfo=SH),
        now=made,
    )
    due_after = promise_make(
        case=case,
        actor=collector,
        amount_fen=100_000,
        due_at=dt.datetime(2026, 11, 21, 18, 0, tzinfo=SH),
        now=made,
    )
    # The second promise superseded the first (PTP2); reopen the first to test both at once.
    type(due_on_d).objects.filter(pk=due_on_d.pk).update(status="open", resolved_at=None)

    eod_run(business_date=dt.date(2026, 11, 20))

    due_on_d.refresh_from_db()
    due_after.refresh_from_db()
    assert (due_on_d.status, due_after.status) == (PromiseStatus.BROKEN, PromiseStatus.OPEN)
    event = CaseEvent.objects.get(case=case, kind="promise_broken")
    assert (event.business_date, event.to_value) == (dt.date(2026, 11, 20), "BP")
