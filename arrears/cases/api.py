"""Cases API: the case list and one case. Scoping comes from the selectors; out of scope is 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from arrears.accounts.selectors import user_by_username
from arrears.cases import selectors
from arrears.cases.models import Case, CaseEvent, CaseStatus
from arrears.cases.services import AssignmentRefused, case_assign, user_can_assign
from arrears.core.api_types import ApiText
from arrears.core.masking import mask_id_number
from arrears.delinquency import selectors as delinquency_selectors
from arrears.delinquency.api import DelinquencyOut, delinquency_out
from arrears.portfolio.schemas import ContactPointOut, contact_point_out
from arrears.portfolio.selectors import creditor_list

router = Router(tags=["cases"])


class CaseErrorOut(Schema):
    detail: str


class CaseRowOut(Schema):
    id: int
    account_id: int
    account_no: str
    creditor: str
    product: str
    customer_id: int
    customer_name: str
    status: str
    bucket: str
    bucket_group: str
    days_past_due: int | None
    overdue_fen: int | None
    assigned_collector: str | None
    team: str | None
    agency: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None
    close_reason: str


class CaseListOut(Schema):
    business_date: dt.date | None
    items: list[CaseRowOut]
    next_before_id: int | None


class CaseFilters(Schema):
    bucket: ApiText | None = None
    dpd_min: int | None = None
    dpd_max: int | None = None
    creditor: ApiText | None = None
    product: ApiText | None = None
    assignee: ApiText | None = None
    status: CaseStatus | None = None
    before_id: int | None = None
    limit: int = 50


class CaseCustomerOut(Schema):
    id: int
    customer_no: str
    name: str
    id_number_masked: str


class CaseEventOut(Schema):
    id: int
    kind: str
    business_date: dt.date | None
    from_value: str
    to_value: str
    data: dict[str, Any]
    actor: str | None
    created_at: dt.datetime


class CaseDetailOut(CaseRowOut):
    delinquency: DelinquencyOut | None
    customer: CaseCustomerOut
    contact_points: list[ContactPointOut]
    events: list[CaseEventOut]


def _row(case: Case, *, days_past_due: int | None, overdue_fen: int | None) -> CaseRowOut:
    account = case.account
    return CaseRowOut(
        id=case.pk,
        account_id=account.pk,
        account_no=account.account_no,
        creditor=account.creditor.code,
        product=account.product.code,
        customer_id=case.customer_id,
        customer_name=case.customer.name,
        status=case.status,
        bucket=case.bucket_code,
        bucket_group=case.bucket_group,
        days_past_due=days_past_due,
        overdue_fen=overdue_fen,
        assigned_collector=case.assigned_collector.username if case.assigned_collector else None,
        team=case.team.code if case.team else None,
        agency=case.agency.code if case.agency else None,
        opened_on=case.opened_on,
        closed_on=case.closed_on,
        close_reason=case.close_reason,
    )


def _event(event: CaseEvent) -> CaseEventOut:
    return CaseEventOut(
        id=event.pk,
        kind=event.kind,
        business_date=event.business_date,
        from_value=event.from_value,
        to_value=event.to_value,
        data=event.data,
        actor=event.actor.username if event.actor else None,
        created_at=event.created_at,
    )


def _assignee(value: str | None) -> int | str | None:
    if not value:
        return None
    if value == selectors.UNASSIGNED:
        return value
    if value.isdigit():
        return int(value)
    raise HttpError(422, "assignee must be a user id or 'unassigned'")


@router.get("/cases", response={200: CaseListOut}, summary="Cases in your scope, newest first")
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> CaseListOut:
    if not 1 <= filters.limit <= 200:
        raise HttpError(422, "limit must be between 1 and 200")
    if any(bound is not None and bound < 0 for bound in (filters.dpd_min, filters.dpd_max)):
        raise HttpError(422, "dpd_min and dpd_max must be ≥ 0")
    on = delinquency_selectors.business_date()
    empty = CaseListOut(business_date=on, items=[], next_before_id=None)
    creditor_id = product_id = None
    if filters.creditor:
        creditor = creditor_list().filter(code=filters.creditor.strip().upper()).first()
        if creditor is None:
            return empty
        creditor_id = creditor.pk
        if filters.product:
            product = creditor.products.filter(code=filters.product.strip().upper()).first()
            if product is None:
                return empty
            product_id = product.pk
    elif filters.product:
        raise HttpError(422, "filter by product needs the creditor too (product codes are per creditor)")
    page = selectors.case_list(
        user=request.user,
        business_date=on,
        bucket=filters.bucket.strip() if filters.bucket else None,
        dpd_min=filters.dpd_min,
        dpd_max=filters.dpd_max,
        creditor_id=creditor_id,
        product_id=product_id,
        assignee=_assignee(filters.assignee),
        status=filters.status,
        before_id=filters.before_id,
        limit=filters.limit,
    )
    return CaseListOut(
        business_date=on,
        items=[
            _row(line.case, days_past_due=line.days_past_due, overdue_fen=line.overdue_fen)
            for line in page.lines
        ],
        next_before_id=page.next_before_id,
    )


@router.get("/cases/{case_id}", response={200: CaseDetailOut, 404: CaseErrorOut}, summary="One case")
def case_get(request: HttpRequest, case_id: int) -> Status[Any]:
    case = selectors.case_get(user=request.user, case_id=case_id)
    if case is None:
        return Status(404, CaseErrorOut(detail="no such case"))
    state = delinquency_selectors.account_delinquency(user=request.user, account_id=case.account_id)
    customer = case.customer
    detail = CaseDetailOut(
        **_row(
            case,
            days_past_due=state.days_past_due if state else None,
            overdue_fen=state.overdue_fen if state else None,
        ).dict(),
        delinquency=delinquency_out(state) if state else None,
        customer=CaseCustomerOut(
            id=customer.pk,
            customer_no=customer.customer_no,
            name=customer.name,
            id_number_masked=mask_id_number(customer.id_number),
        ),
        contact_points=[contact_point_out(point) for point in customer.contact_points.all()],
        events=[_event(event) for event in case.events.all()],
    )
    return Status(200, detail)


class AssignmentIn(Schema):
    collector: ApiText


class AssignmentErrorOut(Schema):
    detail: str
    code: str


@router.post(
    "/cases/{case_id}/assignment",
    response={200: CaseRowOut, 403: AssignmentErrorOut, 404: CaseErrorOut, 422: AssignmentErrorOut},
    summary="Give a case to a collector (supervisors, admins; team leaders within their team)",
)
def case_assignment(request: HttpRequest, case_id: int, payload: AssignmentIn) -> Status[Any]:
    if not user_can_assign(request.user):
        return Status(403, AssignmentErrorOut(detail=_("只有主管、管理员或组长可以分案。"), code="forbidden"))
    case = selectors.case_get(user=request.user, case_id=case_id)
    if case is None:
        return Status(404, CaseErrorOut(detail="no such case"))
    collector = user_by_username(payload.collector)
    if collector is None:
        return Status(
            422,
            AssignmentErrorOut(
                detail=_("没有用户名为 {name} 的用户。").format(name=payload.collector), code="unknown_user"
            ),
        )
    try:
        case_assign(case=case, collector=collector, actor=request.user)
    except AssignmentRefused as refusal:
        status = 403 if refusal.code in ("forbidden", "other_team") else 422
        return Status(status, AssignmentErrorOut(detail=str(refusal), code=refusal.code))
    case = selectors.case_get(user=request.user, case_id=case_id)
    if case is None:  # cannot happen for the roles allowed here, who see the case before and after
        return Status(404, CaseErrorOut(detail="no such case"))
    state = delinquency_selectors.account_delinquency(user=request.user, account_id=case.account_id)
    return Status(
        200,
        _row(
            case,
            days_past_due=state.days_past_due if state else None,
            overdue_fen=state.overdue_fen if state else None,
        ),
    )


# --- the work queue (arrears/cases/queue.py) ---------------------------------------------------------

from arrears.cases import queue  # noqa: E402  (this section was added on its own, at the end)


class QueueReasonOut(Schema):
    code: str
    text: str


class QueueItemOut(Schema):
    case_id: int
    account_no: str
    customer_name: str
    bucket_group: str
    points: int
    held: bool
    from_team_queue: bool
    overdue_fen: int | None
    followup_due_at: dt.datetime | None
    claimed_until: dt.datetime | None
    reasons: list[QueueReasonOut]


class QueueOut(Schema):
    items: list[QueueItemOut]


class QueueNextOut(Schema):
    case_id: int
    reasons: list[QueueReasonOut]
    claimed_until: dt.datetime | None


def _reasons_out(reasons: list[Any]) -> list[QueueReasonOut]:
    return [QueueReasonOut(code=reason.code, text=reason.text) for reason in reasons]


@router.get(
    "/queue",
    response={200: QueueOut, 403: CaseErrorOut},
    summary="Your work queue, highest priority first, each case with the reasons for its place",
)
def queue_get(request: HttpRequest) -> Status[Any]:
    if not queue.user_has_queue(request.user):
        return Status(403, CaseErrorOut(detail=_("只有催收员和外访员有工作队列。")))
    rows = queue.queue_for_collector(user=request.user)
    return Status(
        200,
        QueueOut(
            items=[
                QueueItemOut(
                    case_id=row.case_id,
                    account_no=row.account_no,
                    customer_name=row.customer_name,
                    bucket_group=row.bucket_group,
                    points=row.points,
                    held=row.held,
                    from_team_queue=row.from_pool,
                    overdue_fen=row.overdue_fen,
                    followup_due_at=row.followup_due_at,
                    claimed_until=row.claimed_until,
                    reasons=_reasons_out(row.reasons),
                )
                for row in rows
            ]
        ),
    )


@router.post(
    "/queue/next",
    response={200: QueueNextOut, 204: None, 403: CaseErrorOut},
    summary="Take the next case from your queue (204 when nothing is left to hand out)",
)
def queue_next(request: HttpRequest) -> Status[Any]:
    if not queue.user_has_queue(request.user):
        return Status(403, CaseErrorOut(detail=_("只有催收员和外访员有工作队列。")))
    row = queue.queue_claim_next(user=request.user)  # type: ignore[arg-type]
    if row is None:
        return Status(204, None)
    return Status(
        200,
        QueueNextOut(case_id=row.case_id, reasons=_reasons_out(row.reasons), claimed_until=row.claimed_until),
    )
