"""A case's messages over the API: list them, and queue one from an approved template.

Scope comes from the selectors (a case out of scope is 404); whether the user may queue from
`cases.services.user_can_work` (403 otherwise); the write is one service call
(`case_messages.case_message_queue`), refused with 422 naming the field and nothing written.
A queued message is a system message from an approved template, sent by the outbox after the
guard is asked again at send time — what H9 allows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from arrears.cases.selectors import case_for_work
from arrears.cases.services import user_can_work
from arrears.comms import case_messages
from arrears.comms.models import Language, Message, Template
from arrears.comms.services import MessageRefused
from arrears.comms.views_outbox import scrub
from arrears.core.api_types import ApiText
from arrears.core.masking import mask_value
from arrears.portfolio.models import ContactPoint

router = Router(tags=["messages"])

# The service's field names → the request's.
API_FIELDS = {
    "template": "template_code",
    "contact_point_id": "contact_point_id",
    "scheduled_at": "scheduled_at",
}


class MessageErrorOut(Schema):
    detail: str
    code: str
    field: str | None = None


class MessageIn(Schema):
    template_code: ApiText = Field(description="An approved template's code, e.g. COLLECT_D3")
    language: ApiText = Field("zh-hans", description="The template's language: zh-hans or en")
    contact_point_id: int = Field(
        description="The debtor's own point of the channel's kind (or a guarantor's address for a letter)"
    )
    scheduled_at: dt.datetime | None = Field(
        None, description="When to send, ISO 8601 with a UTC offset, within 30 days; now when absent"
    )


class ReasonOut(Schema):
    rule: str
    text: str


class MessageEventOut(Schema):
    kind: str
    at: dt.datetime
    reasons: list[ReasonOut]


class MessageOut(Schema):
    id: int
    case_id: int
    channel: str
    template_code: str | None
    template_version: int | None
    language: str
    template_class: str
    source: str
    contact_point_id: int
    to_masked: str
    scheduled_at: dt.datetime
    state: str
    attempts: int
    sent_at: dt.datetime | None
    error: str
    created_by: str | None
    created_at: dt.datetime
    last_event: MessageEventOut


def message_out(message: Message) -> MessageOut:
    version = message.template_version
    event = case_messages.last_event(message)
    return MessageOut(
        id=message.pk,
        case_id=message.case_id or 0,
        channel=message.channel,
        template_code=version.template.code if version is not None else None,
        template_version=version.number if version is not None else None,
        language=message.language,
        template_class=message.template_class,
        source=message.source,
        contact_point_id=message.contact_point_id,
        to_masked=mask_value(message.contact_point.kind, message.contact_point.value),
        scheduled_at=message.scheduled_at,
        state=message.state,
        attempts=message.attempts,
        sent_at=message.sent_at,
        error=scrub(message.last_error),
        created_by=message.created_by.username if message.created_by is not None else None,
        created_at=message.created_at,
        last_event=MessageEventOut(
            kind=event.kind,
            at=event.at,
            reasons=[ReasonOut(rule=r.rule, text=r.text) for r in case_messages.event_reasons(event)],
        ),
    )


def _invalid(field: str, detail: str) -> Status[Any]:
    return Status(422, MessageErrorOut(detail=detail, code="invalid", field=field))


def _not_found() -> Status[Any]:
    return Status(404, MessageErrorOut(detail="no such case", code="not_found"))


@router.get(
    "/cases/{case_id}/messages",
    response={200: list[MessageOut], 404: MessageErrorOut},
    summary="The case's messages (outbox rows), newest first, with each one's last event",
)
def message_list(
    request: HttpRequest, case_id: int, limit: int = case_messages.MESSAGES_SHOWN
) -> Status[Any]:
    case = case_for_work(user=request.user, case_id=case_id)
    if case is None:
        return _not_found()
    return Status(200, [message_out(row) for row in case_messages.case_messages(case=case, limit=limit)])


@router.post(
    "/cases/{case_id}/messages",
    response={201: MessageOut, 403: MessageErrorOut, 404: MessageErrorOut, 422: MessageErrorOut},
    summary="Queue a message to the debtor from an approved template (the guard is asked at send time)",
)
def message_create(request: HttpRequest, case_id: int, payload: MessageIn) -> Status[Any]:
    case = case_for_work(user=request.user, case_id=case_id)
    if case is None:
        return _not_found()
    if not user_can_work(request.user, case):
        return Status(403, MessageErrorOut(detail=_("你的角色不能在此案件上发送消息。"), code="forbidden"))
    if payload.language not in Language.values:
        return _invalid("language", _("语言只能是 {choices}。").format(choices="、".join(Language.values)))
    template = (
        Template.objects.select_related("current_version")
        .filter(code=payload.template_code, language=payload.language)
        .first()
    )
    if template is None:
        return _invalid("template_code", _("没有模板 {code}。").format(code=payload.template_code[:40]))
    point = ContactPoint.objects.filter(pk=payload.contact_point_id, customer_id=case.customer_id).first()
    if point is None:
        return _invalid("contact_point_id", _("该联系方式不属于本案客户。"))
    try:
        queued = case_messages.case_message_queue(
            case=case,
            contact_point=point,
            template=template,
            actor=request.user,
            scheduled_at=payload.scheduled_at,
        )
    except MessageRefused as refused:
        return _invalid(API_FIELDS.get(refused.field, refused.field), refused.message)
    return Status(201, message_out(case_messages.case_messages(case=case, message_id=queued.pk)[0]))
