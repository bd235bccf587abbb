"""Queued runs through the real worker, and the nightly run's business date."""

from __future__ import annotations

import datetime as dt

import pytest
from procrastinate.contrib.django import app

from arrears.delinquency.models import AccountState, EodRun, RunState
from arrears.delinquency.services import EodRefused, eod_request, eod_run_queued
from arrears.delinquency.tasks import business_date_for_nightly_run
from arrears.tests.factories import AccountFactory
from arrears.tests.worker import run_queued_jobs


@pytest.mark.django_db(transaction=True)
def test_a_requested_run_is_done_by_the_worker() -> None:
    account = AccountFactory(first_due_date=dt.date(2026, 1, 15))

    run = eod_request(business_date=dt.date(2026, 1, 20))
    assert run.state == RunState.QUEUED
    run_queued_jobs()

    run.refresh_from_db()
    assert (run.state, run.mode, run.accounts) == (RunState.DONE, "full", 1)
    state = AccountState.objects.get(account=account)
    assert (state.delinquent_since, state.bucket_code) == (dt.date(2026, 1, 15), "M1-1")


@pytest.mark.django_db(transaction=True)
def test_a_backdated_request_is_refused_before_anything_is_queued() -> None:
    eod_request(business_date=dt.date(2026, 1, 20))
    run_queued_jobs()

    with pytest.raises(EodRefused):
        eod_request(business_date=dt.date(2026, 1, 19))

    assert EodRun.objects.count() == 1


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (
            dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.UTC),
            dt.date(2026, 11, 22),
        ),  # 00:30 on the 23rd in Shanghai
        (dt.datetime(2026, 11, 23, 15, 59, tzinfo=dt.UTC), dt.date(2026, 11, 22)),  # 23:59 on the 23rd
        (dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC), dt.date(2025, 12, 31)),
    ],
)
def test_the_nightly_run_closes_the_day_that_just_ended_in_shanghai(
    utc: dt.datetime, expected: dt.date
) -> None:
    assert business_date_for_nightly_run(utc) == expected


def test_the_nightly_run_is_scheduled_after_midnight_shanghai() -> None:
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["eod-nightly"].cron == "30 16 * * *"


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_that_became_backdated_fails_and_is_never_resumed() -> None:
    from arrears.delinquency.services import eod_run

    queued = eod_request(business_date=dt.date(2026, 1, 10))
    eod_run(business_date=dt.date(2026, 1, 20))  # run by hand before the worker got to it

    with pytest.raises(EodRefused):
        eod_run_queued(run_id=queued.pk)  # what the worker's task does
    queued.refresh_from_db()
    assert queued.state == RunState.FAILED and "2026-01-20" in queued.error

    later = eod_run(business_date=dt.date(2026, 1, 21))

    assert later.business_date == dt.date(2026, 1, 21)
    queued.refresh_from_db()
    assert queued.state == RunState.FAILED
    assert not queued.steps.exists()
