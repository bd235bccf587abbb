"""The work API: log activities, make promises, place and release holds, change contact
facts. The contract that dialers and our acceptance tests use (issue #4 §8).

Scope comes from the selectors (out of scope is 404); whether the role may write at all
from `services.user_can_work`; every write is one service call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from arrears.cases import selectors, services
from arrears.cases.models import ActionCodeCategory, Activity, CaseHold, Channel, Direction, HoldKind, Promise
from arrears.compliance.api import CheckOut, check_out
from arrears.core.api_types import ApiText
from arrears.portfolio.models import ContactPoint, Customer

router = Router(tags=["work"])


class WorkErrorOut(Schema):
    detail: str
    code: str
    field: str | None = None


class DeniedOut(Schema):
    detail: str
    code: str
    decision: CheckOut


class ActivityIn(Schema):
    channel: Channel
    contact_point_id: int
    direction: Direction
    started_at: dt.datetime = Field(description="ISO 8601 with a UTC offset")
    connected: bool
    right_party: bool
    action_code: ApiText
    notes: ApiText | None = None
    recording_ref: ApiText | None = None
    duration_s: int | None = None
    promise_amount_fen: int | None = Field(None, description="For PTP/PTP2: the promised amount in fen")
    promise_due_at: dt.datetime | None = Field(None, description="For PTP/PTP2: when, with offset")
    callback_at: dt.datetime | None = Field(None, description="Make a callback task at this time")
    visitors: int | None = Field(None, description="For visits: how many staff went")


class ActivityOut(Schema):
    id: int
    case_id: int
    channel: str
    contact_point_id: int | None
    direction: str
    started_at: dt.datetime
    connected: bool
    right_party: bool
    action_code: str
    notes: str
    recording_ref: str
    duration_s: int | None
    actor: str | None
    decision_id: int | None
    promise_id: int | None


class PromiseIn(Schema):
    amount_fen: int
    due_at: dt.datetime = Field(description="ISO 8601 with a UTC offset")


class PromiseOut(Schema):
    id: int
    case_id: int
    kind: str
    amount_fen: int
    due_at: dt.datetime
    status: str
    paid_fen: int
    created_at: dt.datetime


class HoldIn(Schema):
    kind: HoldKind
    reason: ApiText


class HoldReleaseIn(Schema):
    note: ApiText | None = None


class HoldOut(Schema):
    id: int
    case_id: int
    kind: str
    reason: str
    placed_by: str | None
    placed_at: dt.datetime
    released_at: dt.datetime | None
    released_by: str | None
    release_note: str


class ContactPointPatchIn(Schema):
    do_not_contact: bool | None = None
    reason: ApiText | None = None
    valid: bool | None = None


class ContactPointStateOut(Schema):
    id: int
    do_not_contact: bool
    do_not_contact_reason: str
    valid: bool


class CustomerPatchIn(Schema):
    protected_reason: ApiText | None = Field(
        None, description="illness, pregnancy, hardship, disability, elderly; '' clears"
    )
    timezone: ApiText | None = Field(None, description="IANA zone, e.g. Asia/Shanghai")
    cease_requested: bool | None = Field(None, description="Reg F stop (U4): the consumer asked us to cease")
    attorney_represented: bool | None = Field(None, description="Reg F stop (U4): represented by an attorney")
    employer_prohibits_contact: bool | None = Field(
        None, description="Reg F stop (U4): the employer prohibits contact at the workplace"
    )


class CustomerStateOut(Schema):
    id: int
    protected_reason: str
    timezone: str
    cease_requested: bool
    attorney_represented: bool
    employer_prohibits_contact: bool


def _who(user: Any) -> str | None:
    return user.username if user is not None else None


def _activity_out(activity: Activity) -> ActivityOut:
    # Only promise codes make a promise; other activities need no query for it.
    makes_promise = activity.action_code.category == ActionCodeCategory.PROMISE
    promise = activity.promises.order_by("-id").first() if makes_promise else None
    return ActivityOut(
        id=activity.pk,
        case_id=activity.case_id,
        channel=activity.channel,
        contact_point_id=activity.contact_point_id,
        direction=activity.direction,
        started_at=activity.started_at,
        connected=activity.connected,
        right_party=activity.right_party,
        action_code=activity.action_code_id,
        notes=activity.notes,
        recording_ref=activity.recording_ref,
        duration_s=activity.duration_s,
        actor=_who(activity.actor),
        decision_id=activity.decision_id,
        promise_id=promise.pk if promise else None,
    )


def _promise_out(promise: Promise) -> PromiseOut:
    return PromiseOut(
        id=promise.pk,
        case_id=promise.case_id,
        kind=promise.kind,
        amount_fen=promise.amount_fen,
        due_at=promise.due_at,
        status=promise.status,
        paid_fen=promise.paid_fen,
        created_at=promise.created_at,
    )


def _hold_out(hold: CaseHold) -> HoldOut:
    return HoldOut(
        id=hold.pk,
        case_id=hold.case_id,
        kind=hold.kind,
        reason=hold.reason,
        placed_by=_who(hold.placed_by),
        placed_at=hold.placed_at,
        released_at=hold.released_at,
        released_by=_who(hold.released_by),
        release_note=hold.release_note,
    )


def _not_found() -> Status[Any]:
    return Status(404, WorkErrorOut(detail="no such case", code="not_found"))


def _forbidden() -> Status[Any]:
    return Status(403, WorkErrorOut(detail=_("你的角色不能在此案件上记录催收。"), code="forbidden"))


def _refused(refusal: services.WorkRefused) -> Status[Any]:
    return Status(422, WorkErrorOut(detail=refusal.message, code="invalid", field=refusal.field))


def _workable_case(request: HttpRequest, case_id: int) -> tuple[Any, Status[Any] | None]:
    case = selectors.case_for_work(user=request.user, case_id=case_id)
    if case is None:
        return None, _not_found()
    if not services.user_can_work(request.user, case):
        return None, _forbidden()
    return case, None


ERRORS = {403: WorkErrorOut, 404: WorkErrorOut, 422: WorkErrorOut}


@router.post(
    "/cases/{case_id}/activities",
    response={201: ActivityOut, 409: DeniedOut, **ERRORS},
    summary="Log a call, visit, letter, SMS or email; outbound ones are checked by the guard (409 when denied)",
)
def activity_create(request: HttpRequest, case_id: int, payload: ActivityIn) -> Status[Any]:
    case, error = _workable_case(request, case_id)
    if error is not None:
        return error
    point = selectors.case_contact_point(case=case, point_id=payload.contact_point_id)
    if point is None:
        return Status(
            422,
            WorkErrorOut(detail=_("该联系方式不属于本案客户。"), code="invalid", field="contact_point_id"),
        )
    try:
        activity = services.activity_log(
            case=case,
            actor=request.user,
            channel=payload.channel,
            contact_point=point,
            direction=payload.direction,
            started_at=payload.started_at,
            connected=payload.connected,
            right_party=payload.right_party,
            action_code=payload.action_code,
            notes=payload.notes or "",
            recording_ref=payload.recording_ref or "",
            duration_s=payload.duration_s,
            promise_amount_fen=payload.promise_amount_fen,
            promise_due_at=payload.promise_due_at,
            callback_at=payload.callback_at,
            visitors=payload.visitors,
        )
    except services.WorkRefused as refusal:
        return _refused(refusal)
    except services.ContactRefused as denied:
        return Status(
            409,
            DeniedOut(
                detail=_("合规检查未通过，未记录。"),
                code="denied",
                decision=CheckOut(**check_out(denied.decision)),
            ),
        )
    return Status(201, _activity_out(activity))


@router.get("/cases/{case_id}/activities", response={200: list[ActivityOut], 404: WorkErrorOut})
def activity_list(request: HttpRequest, case_id: int, q: ApiText = "", limit: int = 50) -> Status[Any]:
    case = selectors.case_for_work(user=request.user, case_id=case_id)
    if case is None:
        return _not_found()
    rows = selectors.case_activities(case=case, search=q, limit=limit)
    return Status(200, [_activity_out(row) for row in rows])


@router.post(
    "/cases/{case_id}/promises", response={201: PromiseOut, **ERRORS}, summary="Record a promise to pay"
)
def promise_create(request: HttpRequest, case_id: int, payload: PromiseIn) -> Status[Any]:
    case, error = _workable_case(request, case_id)
    if error is not None:
        return error
    try:
        promise = services.promise_make(
            case=case, actor=request.user, amount_fen=payload.amount_fen, due_at=payload.due_at
        )
    except services.WorkRefused as refusal:
        return _refused(refusal)
    return Status(201, _promise_out(promise))


@router.get("/cases/{case_id}/promises", response={200: list[PromiseOut], 404: WorkErrorOut})
def promise_list(request: HttpRequest, case_id: int) -> Status[Any]:
    case = selectors.case_for_work(user=request.user, case_id=case_id)
    if case is None:
        return _not_found()
    return Status(200, [_promise_out(row) for row in selectors.case_promises(case=case)])


@router.post("/cases/{case_id}/holds", response={201: HoldOut, **ERRORS}, summary="Stop collection (停催)")
def hold_create(request: HttpRequest, case_id: int, payload: HoldIn) -> Status[Any]:
    case, error = _workable_case(request, case_id)
    if error is not None:
        return error
    try:
        hold = services.hold_place(case=case, actor=request.user, kind=payload.kind, reason=payload.reason)
    except services.WorkRefused as refusal:
        return _refused(refusal)
    return Status(201, _hold_out(hold))


@router.get("/cases/{case_id}/holds", response={200: list[HoldOut], 404: WorkErrorOut})
def hold_list(request: HttpRequest, case_id: int) -> Status[Any]:
    case = selectors.case_for_work(user=request.user, case_id=case_id)
    if case is None:
        return _not_found()
    return Status(200, [_hold_out(row) for row in selectors.case_active_holds(case=case)])


@router.delete(
    "/cases/{case_id}/holds/{hold_id}", response={200: HoldOut, **ERRORS}, summary="Release a hold"
)
def hold_delete(
    request: HttpRequest, case_id: int, hold_id: int, payload: HoldReleaseIn | None = None
) -> Status[Any]:
    case, error = _workable_case(request, case_id)
    if error is not None:
        return error
    hold = CaseHold.objects.filter(pk=hold_id, case=case).first()
    if hold is None:
        return Status(404, WorkErrorOut(detail="no such hold", code="not_found"))
    try:
        released = services.hold_release(
            hold=hold, actor=request.user, note=(payload.note if payload else None) or ""
        )
    except services.WorkRefused as refusal:
        return _refused(refusal)
    return Status(200, _hold_out(released))


def _customer_in_scope(request: HttpRequest, customer_id: int) -> tuple[Any, Any]:
    """The customer and one of their open cases the user may work, for the permission check."""
    customer = selectors.customers_visible_to(request.user).filter(pk=customer_id).first()
    if customer is None:
        return None, None
    cases = selectors.cases_visible_to(request.user).filter(customer_id=customer_id).exclude(status="closed")
    workable = next((case for case in cases if services.user_can_work(request.user, case)), None)
    return customer, workable


@router.patch(
    "/contact-points/{point_id}",
    response={200: ContactPointStateOut, **ERRORS},
    summary="Mark a contact point do-not-contact (with a reason) or invalid, or undo either",
)
def contact_point_patch(request: HttpRequest, point_id: int, payload: ContactPointPatchIn) -> Status[Any]:
    point = ContactPoint.objects.filter(pk=point_id).first()
    customer, workable = _customer_in_scope(request, point.customer_id) if point else (None, None)
    if point is None or customer is None:
        return Status(404, WorkErrorOut(detail="no such contact point", code="not_found"))
    if workable is None:
        return _forbidden()
    try:
        updated = services.contact_point_update(
            point=point,
            actor=request.user,
            do_not_contact=payload.do_not_contact,
            reason=payload.reason or "",
            valid=payload.valid,
        )
    except services.WorkRefused as refusal:
        return _refused(refusal)
    return Status(
        200,
        ContactPointStateOut(
            id=updated.pk,
            do_not_contact=updated.do_not_contact,
            do_not_contact_reason=updated.do_not_contact_reason,
            valid=updated.is_valid,
        ),
    )


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerStateOut, **ERRORS},
    summary="Set or clear a customer's protection, or their time zone",
)
def customer_patch(request: HttpRequest, customer_id: int, payload: CustomerPatchIn) -> Status[Any]:
    customer, workable = _customer_in_scope(request, customer_id)
    if customer is None:
        return Status(404, WorkErrorOut(detail="no such customer", code="not_found"))
    if workable is None:
        return _forbidden()
    try:
        updated: Customer = services.customer_update(
            customer=customer,
            actor=request.user,
            protected_reason=payload.protected_reason,
            time_zone=payload.timezone,
            stops={
                flag: value for flag in services.STOP_FLAGS if (value := getattr(payload, flag)) is not None
            },
        )
    except services.WorkRefused as refusal:
        return _refused(refusal)
    return Status(
        200,
        CustomerStateOut(
            id=updated.pk,
            protected_reason=updated.protected_reason,
            timezone=updated.time_zone,
            cease_requested=updated.cease_requested,
            attorney_represented=updated.attorney_represented,
            employer_prohibits_contact=updated.employer_prohibits_contact,
        ),
    )
