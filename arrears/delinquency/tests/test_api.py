"""Delinquency over the API: an account's delinquency fields, and queuing and reading end-of-day runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate
from procrastinate.contrib.django.models import ProcrastinateJob

from arrears.accounts.services import token_create
from arrears.conftest import Book
from arrears.delinquency.models import AccountState, EodRun, EodStep, RunMode, RunState

BUSINESS_DATE = dt.date(2026, 4, 10)


def bearer(user: Any, name: str) -> dict[str, str]:
    _, secret = token_create(name=name, user=user)
    return {"Authorization": f"Bearer {secret}"}


def _done_run(day: dt.date = BUSINESS_DATE) -> EodRun:
    return EodRun.objects.create(business_date=day, mode=RunMode.INCREMENTAL, state=RunState.DONE)


def test_openapi_lists_the_new_endpoints(client: Client, db: None) -> None:
    spec = client.get("/api/v1/openapi.json").json()

    validate(spec)
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/eod/runs",
        "/api/v1/eod/runs/{run_id}",
    } <= set(spec["paths"])


# --- account delinquency ----------------------------------------------------------------------


def test_account_detail_has_dpd_bucket_and_overdue_by_component(client: Client, book: Book) -> None:
    _done_run()
    account = book.case_alice.account
    AccountState.objects.create(
        account=account,
        as_of=dt.date(2026, 4, 5),
        overdue_principal_fen=100_000,
        overdue_interest_fen=5_050,
        overdue_fee_fen=1_000,
        overdue_premium_fen=300,
        overdue_fen=106_350,
        outstanding_fen=1_150_000,
        credit_fen=0,
        missed_instalments=2,
        delinquent_since=dt.date(2026, 3, 15),
        bucket_code="M1-3",
        bucket_group="M1",
        next_due_date=dt.date(2026, 4, 15),
    )

    body = client.get(f"/api/v1/accounts/{account.pk}", headers=bearer(book.alice, "t-alice")).json()

    assert {key: body[key] for key in body if key not in _ACCOUNT_FIELDS} == {
        "business_date": "2026-04-10",
        "days_past_due": 26,
        "bucket": "M1-3",
        "bucket_group": "M1",
        "delinquent_since": "2026-03-15",
        "overdue_fen": 106_350,
        "overdue_amount": "1063.50",
        "overdue_principal_fen": 100_000,
        "overdue_interest_fen": 5_050,
        "overdue_fee_fen": 1_000,
        "overdue_premium_fen": 300,
        "credit_fen": 0,
        "missed_instalments": 2,
        "next_due_date": "2026-04-15",
    }


_ACCOUNT_FIELDS = {
    "id",
    "creditor",
    "account_no",
    "product",
    "customer_id",
    "customer_name",
    "principal_fen",
    "total_due_fen",
    "paid_fen",
    "outstanding_fen",
    "status",
    "open_date",
    "term",
    "instalment_fen",
    "first_due_date",
    "flags",
    "schedule_source",
    "customer",
    "contact_points",
    "schedule",
    "payments",
}


def test_account_not_yet_computed_has_null_delinquency(client: Client, book: Book) -> None:
    _done_run()

    body = client.get(
        f"/api/v1/accounts/{book.case_alice.account_id}", headers=bearer(book.alice, "t-alice")
    ).json()

    assert body["business_date"] == "2026-04-10"
    assert (body["days_past_due"], body["bucket"], body["overdue_fen"], body["overdue_amount"]) == (
        None,
        None,
        None,
        None,
    )


def test_a_current_account_is_zero_days_past_due(client: Client, book: Book) -> None:
    _done_run()
    AccountState.objects.create(
        account=book.case_alice.account, as_of=BUSINESS_DATE, bucket_code="M0", bucket_group="M0"
    )

    body = client.get(
        f"/api/v1/accounts/{book.case_alice.account_id}", headers=bearer(book.alice, "t-alice")
    ).json()

    assert (body["days_past_due"], body["bucket"], body["overdue_fen"], body["delinquent_since"]) == (
        0,
        "M0",
        0,
        None,
    )


# --- end-of-day runs ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["sam", "root"])
def test_supervisor_queues_a_run_and_the_worker_job_is_deferred(
    client: Client, book: Book, persona: str, django_capture_on_commit_callbacks
) -> None:
    _done_run()
    user = getattr(book, persona)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/eod/runs",
            {"date": "2026-04-11", "full": True},
            content_type="application/json",
            headers=bearer(user, "t-eod"),
        )

    assert response.status_code == 202
    run = EodRun.objects.get(state=RunState.QUEUED)
    body = response.json()
    assert {key: body[key] for key in ("id", "business_date", "mode", "state", "requested_by", "steps")} == {
        "id": run.pk,
        "business_date": "2026-04-11",
        "mode": "full",
        "state": "queued",
        "requested_by": persona,
        "steps": [],
    }
    assert (run.business_date, run.mode, run.requested_by) == (dt.date(2026, 4, 11), "full", user)
    job = ProcrastinateJob.objects.get(task_name="delinquency.eod_run", args={"run_id": run.pk})
    assert (job.queue_name, job.status) == ("eod", "todo")


def test_an_incremental_run_is_the_default(client: Client, book: Book) -> None:
    response = client.post(
        "/api/v1/eod/runs",
        {"date": "2026-04-11"},
        content_type="application/json",
        headers=bearer(book.sam, "t-sam"),
    )

    assert (response.status_code, response.json()["mode"]) == (202, "incremental")


@pytest.mark.parametrize("persona", ["alice", "tina", "agnes"])
def test_others_may_not_queue_runs_and_nothing_is_created(client: Client, book: Book, persona: str) -> None:
    response = client.post(
        "/api/v1/eod/runs",
        {"date": "2026-04-11"},
        content_type="application/json",
        headers=bearer(getattr(book, persona), "t-other"),
    )

    assert (response.status_code, response.json()) == (
        403,
        {"detail": "only supervisors and admins may run the end-of-day batch"},
    )
    assert EodRun.objects.count() == 0


def test_a_back_dated_run_is_409_with_the_reason_and_nothing_is_created(client: Client, book: Book) -> None:
    _done_run()
    headers = bearer(book.sam, "t-sam")

    chinese = client.post(
        "/api/v1/eod/runs", {"date": "2026-04-09"}, content_type="application/json", headers=headers
    )
    english = client.post(
        "/api/v1/eod/runs",
        {"date": "2026-04-09"},
        content_type="application/json",
        headers={**headers, "Accept-Language": "en"},
    )

    assert (chinese.status_code, english.status_code) == (409, 409)
    assert chinese.json() == {
        "detail": "业务日期 2026-04-09 早于最近一次完成的日终批处理日期 2026-04-10，已拒绝。"
        "如确需重算历史，请使用 --rebuild-from 指定重建起始日期。",
        "code": "backdated",
    }
    assert english.json()["detail"].startswith("Business date 2026-04-09 is before the last completed")
    assert list(EodRun.objects.values_list("business_date", "state")) == [(BUSINESS_DATE, "done")]


def test_the_same_date_as_the_last_run_is_accepted(client: Client, book: Book) -> None:
    # Re-running a completed date is allowed (it changes nothing unless data changed).
    _done_run()

    response = client.post(
        "/api/v1/eod/runs",
        {"date": "2026-04-10"},
        content_type="application/json",
        headers=bearer(book.sam, "t"),
    )

    assert response.status_code == 202


def test_a_bad_date_is_422(client: Client, book: Book) -> None:
    response = client.post(
        "/api/v1/eod/runs",
        {"date": "2026-02-30"},
        content_type="application/json",
        headers=bearer(book.sam, "t"),
    )

    assert response.status_code == 422
    assert EodRun.objects.count() == 0


def test_a_run_reads_with_its_steps(client: Client, book: Book) -> None:
    run = _done_run()
    run.accounts = 1234
    run.save()
    EodStep.objects.create(run=run, name="collect", rows=1234, ms=15)
    EodStep.objects.create(run=run, name="compute", rows=1200, ms=2500)

    body = client.get(f"/api/v1/eod/runs/{run.pk}", headers=bearer(book.sam, "t-sam")).json()

    assert (body["state"], body["mode"], body["accounts"], body["business_date"]) == (
        "done",
        "incremental",
        1234,
        "2026-04-10",
    )
    assert [(s["name"], s["rows"], s["ms"]) for s in body["steps"]] == [
        ("collect", 1234, 15),
        ("compute", 1200, 2500),
    ]


def test_reading_runs_is_for_supervisors_and_missing_runs_are_404(client: Client, book: Book) -> None:
    run = _done_run()

    collector = client.get(f"/api/v1/eod/runs/{run.pk}", headers=bearer(book.alice, "t-alice"))
    missing = client.get("/api/v1/eod/runs/987654321", headers=bearer(book.sam, "t-sam"))

    assert collector.status_code == 403
    assert (missing.status_code, missing.json()) == (404, {"detail": "no such run"})


def test_reading_a_run_costs_a_fixed_number_of_queries(
    client: Client, book: Book, django_assert_num_queries
) -> None:
    run = _done_run()
    for name in ("collect", "compute", "cases", "assign", "messages", "book", "snapshot"):
        EodStep.objects.create(run=run, name=name, rows=1, ms=1)
    headers = bearer(book.sam, "t-sam")

    # token lookup, token last-used update, run with its requester, steps.
    with django_assert_num_queries(4):
        client.get(f"/api/v1/eod/runs/{run.pk}", headers=headers)
