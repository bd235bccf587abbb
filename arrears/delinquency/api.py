"""Delinquency API: queue an end-of-day run and follow it. Money is integer fen, like the rest of the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from arrears.delinquency import selectors
from arrears.delinquency.models import EodRun, RunMode
from arrears.delinquency.selectors import AccountDelinquency
from arrears.delinquency.services import EodRefused, eod_request

router = Router(tags=["delinquency"])


class EodErrorOut(Schema):
    detail: str


class EodRefusalOut(Schema):
    """Why the batch will not run: `code` for programs, `detail` in the caller's language."""

    detail: str
    code: str


class DelinquencyOut(Schema):
    """An account's delinquency on the business date (the latest completed run)."""

    business_date: dt.date | None
    as_of: dt.date
    days_past_due: int | None
    bucket: str
    bucket_group: str
    delinquent_since: dt.date | None
    overdue_fen: int
    overdue_principal_fen: int
    overdue_interest_fen: int
    overdue_fee_fen: int
    overdue_premium_fen: int
    outstanding_fen: int
    credit_fen: int
    missed_instalments: int
    next_due_date: dt.date | None


def delinquency_out(state: AccountDelinquency) -> DelinquencyOut:
    return DelinquencyOut(
        business_date=state.business_date,
        as_of=state.as_of,
        days_past_due=state.days_past_due,
        bucket=state.bucket_code,
        bucket_group=state.bucket_group,
        delinquent_since=state.delinquent_since,
        overdue_fen=state.overdue_fen,
        overdue_principal_fen=state.overdue_principal_fen,
        overdue_interest_fen=state.overdue_interest_fen,
        overdue_fee_fen=state.overdue_fee_fen,
        overdue_premium_fen=state.overdue_premium_fen,
        outstanding_fen=state.outstanding_fen,
        credit_fen=state.credit_fen,
        missed_instalments=state.missed_instalments,
        next_due_date=state.next_due_date,
    )


class EodStepOut(Schema):
    name: str
    state: str
    rows: int
    ms: int
    attempts: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class EodRunOut(Schema):
    id: int
    business_date: dt.date
    mode: str
    state: str
    error: str
    accounts: int
    requested_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    steps: list[EodStepOut]


def _run_out(run: EodRun) -> EodRunOut:
    return EodRunOut(
        id=run.pk,
        business_date=run.business_date,
        mode=run.mode,
        state=run.state,
        error=run.error,
        accounts=run.accounts,
        requested_by=run.requested_by.username if run.requested_by else None,
        started_at=run.started_at,
        finished_at=run.finished_at,
        steps=[
            EodStepOut(
                name=s.name,
                state=s.state,
                rows=s.rows,
                ms=s.ms,
                attempts=s.attempts,
                started_at=s.started_at,
                finished_at=s.finished_at,
            )
            for s in run.steps.all()
        ],
    )


class EodRunIn(Schema):
    date: dt.date
    full: bool = False


_FORBIDDEN = "only supervisors and admins may run the end-of-day batch"


@router.post(
    "/eod/runs",
    response={202: EodRunOut, 403: EodErrorOut, 409: EodRefusalOut},
    summary="Queue an end-of-day run for a business date; the worker runs it",
)
def eod_run_create(request: HttpRequest, payload: EodRunIn) -> Status[Any]:
    user: Any = request.user
    if not selectors.user_can_run_eod(user):
        return Status(403, EodErrorOut(detail=_FORBIDDEN))
    mode = RunMode.FULL if payload.full else RunMode.INCREMENTAL
    try:
        run = eod_request(business_date=payload.date, mode=mode, actor=user)
    except EodRefused as refusal:
        # A back-dated run conflicts with the completed history; the message is in the caller's language.
        return Status(409, EodRefusalOut(detail=str(refusal), code=refusal.code))
    return Status(202, _run_out(run))


@router.get(
    "/eod/runs/{run_id}",
    response={200: EodRunOut, 403: EodErrorOut, 404: EodErrorOut},
    summary="An end-of-day run: its state and steps (rows, milliseconds)",
)
def eod_run_get(request: HttpRequest, run_id: int) -> Status[Any]:
    if not selectors.user_can_run_eod(request.user):
        return Status(403, EodErrorOut(detail=_FORBIDDEN))
    run = selectors.eod_run_get(user=request.user, run_id=run_id)
    if run is None:
        return Status(404, EodErrorOut(detail="no such run"))
    return Status(200, _run_out(run))
