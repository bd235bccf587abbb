"""Compliance API: ask the guard, read its stored decisions, read and choose policy packs.

Thin on purpose: each endpoint checks its input and the role, finds the case through the
scoping selectors (out of scope is 404, like a missing case), and calls one service or
selector. Reasons are rendered in the request's language from the stored message keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from arrears.accounts.models import Role, User
from arrears.cases import selectors as case_selectors
from arrears.compliance import selectors
from arrears.compliance.forms import PROBLEM_TEXTS
from arrears.compliance.inputs import Channel, Message, Visit
from arrears.compliance.messages import reason_text
from arrears.compliance.models import Decision, DecisionPurpose
from arrears.compliance.packs import PACKS, params_as_json
from arrears.compliance.services import (
    GuardError,
    PackParamsRefused,
    creditor_packs_set,
    guard_check,
    pack_params_update,
)
from arrears.core.api_types import ApiText
from arrears.portfolio.selectors import creditor_list

router = Router(tags=["compliance"])

# Who chooses a creditor's packs; who edits a pack's parameters (docs/security.md).
PACK_CHOOSERS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})
PACK_EDITORS = frozenset({Role.ADMIN})
# Who may be named as a visitor: staff who work cases in person.
FIELD_STAFF_ROLES = frozenset({Role.FIELD_COLLECTOR, Role.COLLECTOR, Role.TEAM_LEADER})
DECISIONS_PAGE_MAX = 200


def _has_role(user: Any, roles: Iterable[str]) -> bool:
    return isinstance(user, User) and user.is_active and user.role in roles


# --- schemas -----------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    code: str


class ProblemOut(Schema):
    field: str
    code: str
    message: str


class ProblemsOut(Schema):
    detail: str
    code: str
    problems: list[ProblemOut]


class FindingOut(Schema):
    field: str
    word: str
    start: int
    end: int


class ReasonOut(Schema):
    rule: str
    pack: str
    pack_version: int
    reason: str
    message: str = Field(description="The reason in the request's language")
    message_key: str
    parameters: dict[str, str]
    allowed_from: dt.datetime | None
    findings: list[FindingOut]


class CheckIn(Schema):
    case_id: int
    channel: Channel
    contact_point_id: int
    at: dt.datetime | None = Field(
        None, description="ISO 8601 with a UTC offset, e.g. 2026-03-10T10:00:00+08:00; default now"
    )
    template_code: ApiText | None = None
    text: ApiText | None = Field(
        None, description="The message or note text; screened by the text rules (H10–H12, H15, H16, C5, U8)"
    )
    visitor_ids: list[int | ApiText] | None = Field(
        None,
        description="Usernames or user ids of the staff going on a visit (field collectors, collectors, team leaders)",
    )
    recording_device: bool | None = Field(
        None, description="For visits: a recording device goes along (default true)"
    )


class CheckOut(Schema):
    allowed: bool
    violations: list[ReasonOut]
    warnings: list[ReasonOut]
    next_allowed_at: dt.datetime | None
    decision_id: int | None


class PackRefOut(Schema):
    pack: str
    version: int


class DecisionOut(CheckOut):
    purpose: str
    channel: str
    at: dt.datetime
    case_id: int | None
    contact_point_id: int | None
    asked_by: str | None
    packs: list[PackRefOut]
    created_at: dt.datetime


class DecisionListOut(Schema):
    items: list[DecisionOut]
    next_before_id: int | None


class DecisionFilters(Schema):
    before_id: int | None = None
    limit: int = 50


class PackOut(Schema):
    id: str
    version: int
    rules: list[str]
    params: dict[str, Any]
    note: str
    created_by: str | None
    created_at: dt.datetime | None


class PackUpdateIn(Schema):
    params: dict[str, Any]
    note: ApiText = ""


class CreditorPacksIn(Schema):
    packs: list[ApiText]


class CreditorPacksOut(Schema):
    creditor: str
    packs: list[str]


# --- helpers -----------------------------------------------------------------------------


def _reason(record: Mapping[str, Any]) -> ReasonOut:
    parameters = {str(key): str(value) for key, value in (record.get("parameters") or {}).items()}
    return ReasonOut(
        rule=record["rule"],
        pack=record["pack"],
        pack_version=record.get("pack_version", 0),
        reason=record.get("reason", ""),
        message=reason_text(record["message"], parameters),
        message_key=record["message"],
        parameters=parameters,
        allowed_from=record.get("allowed_from"),
        findings=[FindingOut(**item) for item in record.get("findings") or ()],
    )


def check_out(decision: Decision) -> dict[str, Any]:
    """A stored decision in the check's answer shape (the work API's 409 carries it too)."""
    result = decision.result
    return {
        "allowed": decision.allowed,
        "violations": [_reason(record) for record in result.get("violations", ())],
        "warnings": [_reason(record) for record in result.get("warnings", ())],
        # The stored record keeps the offset the rules computed in (the debtor's zone).
        "next_allowed_at": result.get("next_allowed_at"),
        "decision_id": decision.pk,
    }


def _decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        **check_out(decision),
        purpose=decision.purpose,
        channel=decision.channel,
        at=decision.inputs.get("when") or decision.at,
        case_id=decision.case_id,
        contact_point_id=decision.contact_point_id,
        asked_by=decision.asked_by.username if decision.asked_by else None,
        packs=[PackRefOut(**item) for item in decision.packs],
        created_at=decision.created_at,
    )


def _problem_text(code: str) -> str:
    return str(PROBLEM_TEXTS.get(code, code))


def _problems(refusal: PackParamsRefused, detail: str) -> ProblemsOut:
    return ProblemsOut(
        detail=detail,
        code="invalid",
        problems=[
            ProblemOut(field=key, code=code, message=_problem_text(code)) for key, code in refusal.problems
        ],
    )


def _visitors(values: list[int | str]) -> tuple[set[int], list[str]]:
    """The ids of the named field staff, and the names that match nobody eligible."""
    found: set[int] = set()
    unknown: list[str] = []
    people = User.objects.filter(is_active=True, role__in=FIELD_STAFF_ROLES)
    for value in values:
        text = str(value).strip()
        match = people.filter(pk=int(text)) if text.isdigit() else people.filter(username=text)
        user_id = match.values_list("pk", flat=True).first()
        if user_id is None:
            unknown.append(text)
        else:
            found.add(user_id)
    return found, unknown


# --- the guard ---------------------------------------------------------------------------


@router.post(
    "/compliance/check",
    response={200: CheckOut, 404: ErrorOut, 422: ErrorOut},
    summary="Ask the guard whether a contact may happen (the answer is stored)",
)
def compliance_check(request: HttpRequest, payload: CheckIn) -> Status[Any]:
    """Templates are not managed yet: a `text` is checked as free text from an unapproved
    template, so an SMS is refused by H9 and legal wording is never "approved wording"."""
    at = payload.at if payload.at is not None else timezone.now()
    if at.tzinfo is None or at.utcoffset() is None:
        return Status(
            422,
            ErrorOut(
                detail=_("时间必须带时区偏移，例如 2026-03-10T10:00:00+08:00"),
                code="naive_datetime",
            ),
        )
    case = case_selectors.case_get(user=request.user, case_id=payload.case_id)
    if case is None:
        return Status(404, ErrorOut(detail="no such case", code="not_found"))
    point = next(
        (item for item in case.customer.contact_points.all() if item.pk == payload.contact_point_id), None
    )
    if point is None:
        return Status(404, ErrorOut(detail="no such contact point for this case", code="not_found"))
    visit = None
    if payload.channel is Channel.VISIT and payload.visitor_ids is not None:
        visitor_ids, unknown = _visitors(payload.visitor_ids)
        if unknown:
            return Status(
                422,
                ErrorOut(
                    detail=_("不是在职外访人员：{names}").format(names="、".join(unknown)),
                    code="unknown_visitor",
                ),
            )
        recording = True if payload.recording_device is None else payload.recording_device
        visit = Visit(visitors=len(visitor_ids), recording_device=recording)
    message = None
    if payload.text is not None or payload.template_code:
        message = Message(text=payload.text or "", template_code=payload.template_code or "")
    try:
        decision = guard_check(
            case=case,
            channel=payload.channel,
            contact_point=point,
            at=at,
            purpose=DecisionPurpose.CHECK,
            asked_by=request.user,
            message=message,
            visit=visit,
        )
    except GuardError as error:  # the checks above make this unreachable; kept as a guard rail
        return Status(422, ErrorOut(detail=str(error), code="refused"))
    return Status(200, CheckOut(**check_out(decision)))


@router.get(
    "/cases/{case_id}/decisions",
    response={200: DecisionListOut, 404: ErrorOut, 422: ErrorOut},
    summary="The guard's stored decisions for a case, newest first",
)
def case_decisions(request: HttpRequest, case_id: int, filters: Query[DecisionFilters]) -> Status[Any]:
    if not 1 <= filters.limit <= DECISIONS_PAGE_MAX:
        return Status(
            422, ErrorOut(detail=f"limit must be between 1 and {DECISIONS_PAGE_MAX}", code="invalid")
        )
    case = case_selectors.case_get(user=request.user, case_id=case_id)
    if case is None:
        return Status(404, ErrorOut(detail="no such case", code="not_found"))
    # uses index decision_case_idx (case, -id)
    rows = Decision.objects.filter(case_id=case.pk).select_related("asked_by").order_by("-id")
    if filters.before_id is not None:
        rows = rows.filter(id__lt=filters.before_id)
    page = list(rows[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return Status(
        200,
        DecisionListOut(
            items=[_decision_out(row) for row in page], next_before_id=page[-1].pk if more else None
        ),
    )


# --- packs -------------------------------------------------------------------------------


def _pack_out(pack_id: str) -> PackOut:
    versions = selectors.pack_versions(pack_id)
    catalogue = PACKS[pack_id]
    rules = [rule.id for rule in catalogue.rules]
    if not versions:
        return PackOut(
            id=pack_id,
            version=catalogue.version,
            rules=rules,
            params=params_as_json(catalogue.params),
            note="",
            created_by=None,
            created_at=None,
        )
    latest = versions[0]
    return PackOut(
        id=pack_id,
        version=latest.version,
        rules=rules,
        params=latest.params,
        note=latest.note,
        created_by=latest.created_by.username if latest.created_by else None,
        created_at=latest.created_at,
    )


@router.get(
    "/compliance/packs", response={200: list[PackOut]}, summary="Policy packs with their current parameters"
)
def pack_list(request: HttpRequest) -> list[PackOut]:
    return [_pack_out(pack_id) for pack_id in PACKS]


@router.put(
    "/compliance/packs/{pack_id}",
    response={200: PackOut, 403: ErrorOut, 404: ErrorOut, 422: ProblemsOut},
    summary="Write a new version of a pack's parameters (admins; every key, old versions stay)",
)
def pack_update(request: HttpRequest, pack_id: str, payload: PackUpdateIn) -> Status[Any]:
    if not _has_role(request.user, PACK_EDITORS):
        return Status(403, ErrorOut(detail=_("只有管理员可以修改策略参数。"), code="forbidden"))
    if pack_id not in PACKS:
        return Status(404, ErrorOut(detail="no such pack", code="not_found"))
    try:
        pack_params_update(pack_id=pack_id, params=payload.params, actor=request.user, note=payload.note)
    except PackParamsRefused as refusal:
        return Status(422, _problems(refusal, _("参数有误，未保存。")))
    return Status(200, _pack_out(pack_id))


def _creditor(code: str) -> Any:
    return creditor_list().filter(code=code.strip().upper()).first()


@router.get(
    "/creditors/{code}/policy-packs",
    response={200: CreditorPacksOut, 404: ErrorOut},
    summary="The packs a creditor's cases are checked against (the defaults when none chosen)",
)
def creditor_packs_get(request: HttpRequest, code: str) -> Status[Any]:
    creditor = _creditor(code)
    if creditor is None:
        return Status(404, ErrorOut(detail="no such creditor", code="not_found"))
    return Status(
        200, CreditorPacksOut(creditor=creditor.code, packs=list(selectors.creditor_pack_ids(creditor.pk)))
    )


@router.put(
    "/creditors/{code}/policy-packs",
    response={200: CreditorPacksOut, 403: ErrorOut, 404: ErrorOut, 422: ProblemsOut},
    summary="Choose the packs of a creditor (admins, compliance officers)",
)
def creditor_packs_put(request: HttpRequest, code: str, payload: CreditorPacksIn) -> Status[Any]:
    if not _has_role(request.user, PACK_CHOOSERS):
        return Status(403, ErrorOut(detail=_("只有管理员或合规专员可以选择策略包。"), code="forbidden"))
    creditor = _creditor(code)
    if creditor is None:
        return Status(404, ErrorOut(detail="no such creditor", code="not_found"))
    try:
        chosen = creditor_packs_set(creditor=creditor, pack_ids=payload.packs, actor=request.user)
    except PackParamsRefused as refusal:
        return Status(422, _problems(refusal, _("策略包选择有误，未保存。")))
    return Status(200, CreditorPacksOut(creditor=creditor.code, packs=chosen))
