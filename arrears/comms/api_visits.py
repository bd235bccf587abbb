"""The visits API: plan, read, record and cancel field visits, attach photos and recordings,
and a visitor's day — the same services and selectors as the pages.

Scope comes from the selectors (a case or a visit out of scope is 404); whether the user may
act from the services' `user_can_*`; every write is one service call. A visit the guard
refuses is a 409 carrying the stored decision, in the check's answer shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from arrears.accounts.models import User
from arrears.cases.selectors import case_for_work
from arrears.cases.services import ContactRefused, WorkRefused
from arrears.comms.models import Visit, VisitAttachment
from arrears.comms.visit_selectors import LOCAL_ZONE, visit_get, visits_for_visitor_on
from arrears.comms.visits import (
    VisitDenied,
    VisitRefused,
    user_can_attach,
    user_can_cancel_visit,
    user_can_plan_visit,
    user_can_record_visit,
    visit_attachment_add,
    visit_cancel,
    visit_plan,
    visit_record,
)
from arrears.compliance.api import CheckOut, check_out
from arrears.core import masking
from arrears.core.api_types import ApiText
from arrears.portfolio.models import ContactPoint

router = Router(tags=["visits"])


class VisitErrorOut(Schema):
    detail: str
    code: str
    field: str | None = None


class VisitDeniedOut(Schema):
    detail: str
    code: str
    decision: CheckOut


class VisitIn(Schema):
    case_id: int
    address_id: int = Field(description="An address contact point of the case's customer")
    planned_at: dt.datetime = Field(description="ISO 8601 with a UTC offset, in the future")
    purpose: ApiText = Field(max_length=300)
    visitor_ids: list[int] = Field(
        description="User ids of the staff going (field collectors, collectors, team leaders)"
    )
    recording_device: ApiText = Field(max_length=100, description="The recorder's id or serial number")


class VisitRecordIn(Schema):
    started_at: dt.datetime = Field(description="When the visit happened, ISO 8601 with a UTC offset")
    action_code: ApiText
    outcome: ApiText = Field(max_length=500)
    notes: ApiText | None = None
    recording_ref: ApiText = Field(max_length=200)
    connected: bool
    right_party: bool


class DayFilter(Schema):
    day: dt.date | None = Field(None, description="A local date (YYYY-MM-DD); today when absent")


class VisitCancelIn(Schema):
    reason: ApiText = Field(max_length=300)


class AttachmentOut(Schema):
    id: int
    visit_id: int
    kind: str
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: dt.datetime


class VisitOut(Schema):
    id: int
    case_id: int
    customer_name: str
    address_id: int
    address_masked: str
    planned_at: dt.datetime
    purpose: str
    visitors: list[str]
    recording_device: str
    state: str
    decision_id: int | None
    activity_id: int | None
    outcome: str
    recorded_at: dt.datetime | None
    attachments: list[AttachmentOut]


def _who(user: User | None) -> str | None:
    return user.username if user is not None else None


def _attachment_out(item: VisitAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=item.pk,
        visit_id=item.visit_id,
        kind=item.kind,
        original_name=item.original_name,
        content_type=item.content_type,
        size_bytes=item.size_bytes,
        sha256=item.sha256,
        uploaded_by=_who(item.uploaded_by),
        uploaded_at=item.uploaded_at,
    )


def _visit_out(visit: Visit) -> VisitOut:
    return VisitOut(
        id=visit.pk,
        case_id=visit.case_id,
        customer_name=visit.case.customer.name,
        address_id=visit.address_id,
        address_masked=masking.mask_address(visit.address.value),
        planned_at=visit.planned_at,
        purpose=visit.purpose,
        visitors=sorted(person.username for person in visit.visitors.all()),
        recording_device=visit.recording_device,
        state=visit.state,
        decision_id=visit.decision_id,
        activity_id=visit.activity_id,
        outcome=visit.outcome,
        recorded_at=visit.recorded_at,
        attachments=[_attachment_out(item) for item in visit.attachments.all()],
    )


def _not_found(what: str = "visit") -> Status[Any]:
    return Status(404, VisitErrorOut(detail=f"no such {what}", code="not_found"))


def _forbidden(detail: str) -> Status[Any]:
    return Status(403, VisitErrorOut(detail=detail, code="forbidden"))


def _refused(refusal: VisitRefused | WorkRefused) -> Status[Any]:
    return Status(422, VisitErrorOut(detail=refusal.message, code="invalid", field=refusal.field))


def _denied(decision: Any, detail: str) -> Status[Any]:
    return Status(409, VisitDeniedOut(detail=detail, code="denied", decision=CheckOut(**check_out(decision))))


ERRORS = {403: VisitErrorOut, 404: VisitErrorOut, 422: VisitErrorOut}


@router.get(
    "/visits/today",
    response={200: list[VisitOut]},
    summary="The visits the user goes on, on one local day (Asia/Shanghai; today by default), by time",
)
def visits_today(request: HttpRequest, filters: Query[DayFilter]) -> Status[Any]:
    on = filters.day or timezone.now().astimezone(LOCAL_ZONE).date()
    lines = visits_for_visitor_on(user=request.user, day=on)
    visits = [visit_get(user=request.user, visit_id=line.visit.pk) for line in lines]
    return Status(200, [_visit_out(visit) for visit in visits if visit is not None])


@router.post(
    "/visits",
    response={201: VisitOut, 409: VisitDeniedOut, **ERRORS},
    summary="Plan a visit; the guard is asked at its time (409 with the stored decision when refused)",
)
def visit_create(request: HttpRequest, payload: VisitIn) -> Status[Any]:
    case = case_for_work(user=request.user, case_id=payload.case_id)
    if case is None:
        return _not_found("case")
    if not user_can_plan_visit(request.user, case):
        return _forbidden(_("只读：您的角色不能在此案件上安排外访。"))
    address = ContactPoint.objects.filter(pk=payload.address_id, customer_id=case.customer_id).first()
    if address is None:
        return Status(
            422, VisitErrorOut(detail=_("请选择本案客户的一个地址。"), code="invalid", field="address_id")
        )
    found = {person.pk: person for person in User.objects.filter(pk__in=payload.visitor_ids)}
    unknown = [str(pk) for pk in dict.fromkeys(payload.visitor_ids) if pk not in found]
    if unknown:
        return Status(
            422,
            VisitErrorOut(
                detail=_("外访人员必须是系统中登记的用户。") + " " + ", ".join(unknown),
                code="invalid",
                field="visitor_ids",
            ),
        )
    try:
        visit = visit_plan(
            case=case,
            address=address,
            planned_at=payload.planned_at,
            purpose=payload.purpose,
            visitors=[found[pk] for pk in payload.visitor_ids],
            recording_device=payload.recording_device,
            actor=request.user,
        )
    except VisitRefused as refusal:
        return _refused(refusal)
    except VisitDenied as denied:
        return _denied(denied.decision, _("合规拦截：外访未安排"))
    fresh = visit_get(user=request.user, visit_id=visit.pk)
    assert fresh is not None  # the planner may work the case, so sees its visits
    return Status(201, _visit_out(fresh))


@router.get("/visits/{visit_id}", response={200: VisitOut, 404: VisitErrorOut})
def visit_read(request: HttpRequest, visit_id: int) -> Status[Any]:
    visit = visit_get(user=request.user, visit_id=visit_id)
    return Status(200, _visit_out(visit)) if visit is not None else _not_found()


@router.post(
    "/visits/{visit_id}/record",
    response={200: VisitOut, 409: VisitDeniedOut, **ERRORS},
    summary="Record a planned visit as one visit activity (checked by the guard at started_at; 409 when refused)",
)
def visit_record_endpoint(request: HttpRequest, visit_id: int, payload: VisitRecordIn) -> Status[Any]:
    visit = visit_get(user=request.user, visit_id=visit_id)
    if visit is None:
        return _not_found()
    if not user_can_record_visit(request.user, visit):
        return _forbidden(_("只有本次外访人员或主管可以登记外访结果。"))
    try:
        visit_record(
            visit=visit,
            actor=request.user,
            started_at=payload.started_at,
            action_code=payload.action_code,
            outcome=payload.outcome,
            notes=payload.notes or "",
            recording_ref=payload.recording_ref,
            connected=payload.connected,
            right_party=payload.right_party,
        )
    except (VisitRefused, WorkRefused) as refusal:
        return _refused(refusal)
    except ContactRefused as denied:
        return _denied(denied.decision, _("合规拦截：未登记"))
    fresh = visit_get(user=request.user, visit_id=visit_id)
    assert fresh is not None
    return Status(200, _visit_out(fresh))


@router.post(
    "/visits/{visit_id}/cancel", response={200: VisitOut, **ERRORS}, summary="Cancel a planned visit"
)
def visit_cancel_endpoint(request: HttpRequest, visit_id: int, payload: VisitCancelIn) -> Status[Any]:
    visit = visit_get(user=request.user, visit_id=visit_id)
    if visit is None:
        return _not_found()
    if not user_can_cancel_visit(request.user, visit):
        return _forbidden(_("您不能取消这次外访。"))
    try:
        visit_cancel(visit=visit, actor=request.user, reason=payload.reason)
    except VisitRefused as refusal:
        return _refused(refusal)
    fresh = visit_get(user=request.user, visit_id=visit_id)
    assert fresh is not None
    return Status(200, _visit_out(fresh))


@router.post(
    "/visits/{visit_id}/attachments",
    response={201: AttachmentOut, **ERRORS},
    summary="Attach a photo (JPEG, PNG, HEIC, WebP) or a recording (MP3, M4A, AAC, WAV, AMR); typed by its bytes",
)
def visit_attachment_create(request: HttpRequest, visit_id: int, file: File[UploadedFile]) -> Status[Any]:
    visit = visit_get(user=request.user, visit_id=visit_id)
    if visit is None:
        return _not_found()
    if not user_can_attach(request.user, visit):
        return _forbidden(_("您不能为这次外访上传附件。"))
    try:
        attachment = visit_attachment_add(visit=visit, uploaded_file=file, actor=request.user)
    except VisitRefused as refusal:
        return _refused(refusal)
    return Status(201, _attachment_out(attachment))
