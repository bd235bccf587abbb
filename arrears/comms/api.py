"""Callbacks from the message providers: delivery receipts and inbound replies.

``POST /api/v1/comms/receipts/{provider}`` and ``POST /api/v1/comms/inbound/{provider}`` are
called by the provider, not by a user: no session or token, but a signature over the body
(headers ``X-Callback-Timestamp`` and ``X-Callback-Signature``, see `arrears.comms.signing`).
The signature is checked on the raw body before anything is parsed. A missing, stale or
wrong signature is 401 with nothing written but a security event
(``comms.callback_rejected``); an unknown (or unconfigured) provider is 404; a body that is
not what the provider sends is 422 naming the field (``0.biz_id``: the first item's biz_id).

Providers and their bodies (JSON arrays, at most `MAX_ITEMS` items):

* ``smsapi`` (the SMS provider, secret ``ARREARS_SMS_CALLBACK_SECRET``) — receipts
  ``[{"phone_number", "send_time", "report_time", "success", "err_code", "err_msg",
  "sms_size", "biz_id", "out_id"}]``; uplink ``[{"phone_number", "send_time", "content",
  "sign_name", "dest_code", "sequence_id"}]``; times "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai.
  The answer is ``{"code": 0, "msg": "成功"}``, which the provider takes as received; a receipt
  that overtook the sender (message still ``sending``) is answered 503 ``{"code": 1}``, and
  the provider pushes the receipts again.
* ``smtp`` (email, secret ``ARREARS_EMAIL_CALLBACK_SECRET``; off while it is empty) —
  receipts ``[{"message_id", "out_id", "recipient", "status": "delivered"|"failed",
  "error_code", "error_message", "at"}]``; inbound ``[{"id", "from", "subject", "text",
  "received_at"}]``; times ISO 8601 with an offset.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from arrears.comms.inbound import Receipt, inbound_receive, receipts_apply
from arrears.comms.models import MessageChannel
from arrears.comms.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, callback_problem
from arrears.core.api_types import ApiText
from arrears.core.services import event_record

logger = logging.getLogger("arrears.security")
router = Router(tags=["comms"])

MAX_ITEMS = 1000
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclasses.dataclass(frozen=True)
class Provider:
    gateway: str
    channel: str
    secret_setting: str

    @property
    def secret(self) -> str:
        return str(getattr(settings, self.secret_setting, "") or "")


PROVIDERS = {
    "smsapi": Provider("smsapi", MessageChannel.SMS, "ARREARS_SMS_CALLBACK_SECRET"),
    "smtp": Provider("smtp", MessageChannel.EMAIL, "ARREARS_EMAIL_CALLBACK_SECRET"),
}


# --- bodies ---------------------------------------------------------------------------------


def _local_time(value: Any) -> Any:
    """The SMS provider's "YYYY-MM-DD HH:MM:SS" (Asia/Shanghai) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        except ValueError:
            raise ValueError("expected YYYY-MM-DD HH:MM:SS") from None
    raise ValueError("expected YYYY-MM-DD HH:MM:SS")


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset")
    return value


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class SmsReportIn(_Item):
    phone_number: ApiText = Field(max_length=32)
    send_time: dt.datetime | None = None
    report_time: dt.datetime
    success: bool
    err_code: ApiText = Field("", max_length=64)
    err_msg: ApiText = Field("", max_length=200)
    sms_size: ApiText | int = ""
    biz_id: ApiText = Field("", max_length=100)
    out_id: ApiText = Field("", max_length=64)

    _times = field_validator("send_time", "report_time", mode="before")(_local_time)


class SmsUplinkIn(_Item):
    phone_number: ApiText = Field(min_length=1, max_length=32)
    send_time: dt.datetime
    content: ApiText = Field(max_length=2000)
    sign_name: ApiText = Field("", max_length=64)
    dest_code: ApiText = Field("", max_length=32)
    sequence_id: int | ApiText = Field(...)

    _times = field_validator("send_time", mode="before")(_local_time)

    @field_validator("sequence_id")
    @classmethod
    def _sequence(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not 0 < len(value) <= 100:
            raise ValueError("must be 1 to 100 characters")
        return value


class EmailReceiptIn(_Item):
    message_id: ApiText = Field(max_length=100)
    out_id: ApiText = Field("", max_length=64)
    recipient: ApiText = Field("", max_length=254)
    status: Literal["delivered", "failed"]
    error_code: ApiText = Field("", max_length=64)
    error_message: ApiText = Field("", max_length=200)
    at: dt.datetime

    _at = field_validator("at")(_aware)


class EmailInboundIn(_Item):
    id: ApiText = Field(min_length=1, max_length=100)
    sender: ApiText = Field(alias="from", min_length=3, max_length=254)
    subject: ApiText = Field("", max_length=200)
    text: ApiText = Field(max_length=20000)
    received_at: dt.datetime

    _at = field_validator("received_at")(_aware)


BODIES: dict[tuple[str, str], type[_Item]] = {
    ("receipts", "smsapi"): SmsReportIn,
    ("inbound", "smsapi"): SmsUplinkIn,
    ("receipts", "smtp"): EmailReceiptIn,
    ("inbound", "smtp"): EmailInboundIn,
}


class AckOut(Schema):
    code: int = 0
    msg: str
    accepted: int


class ErrorOut(Schema):
    detail: str
    code: str


class FieldErrorOut(Schema):
    detail: str
    code: str
    field: str


class CallbackRefused(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(payload["detail"])
        self.status, self.payload = status, payload


def _body_schema(kind: str) -> dict[str, Any]:
    variants = [
        {"type": "array", "maxItems": MAX_ITEMS, "items": model.model_json_schema(by_alias=True)}
        for (body_kind, _), model in BODIES.items()
        if body_kind == kind
    ]
    return {"required": True, "content": {"application/json": {"schema": {"oneOf": variants}}}}


def _openapi(kind: str) -> dict[str, Any]:
    return {
        "requestBody": _body_schema(kind),
        "parameters": [
            {
                "in": "header",
                "name": TIMESTAMP_HEADER,
                "required": False,
                "schema": {"type": "string"},
                "description": "Unix seconds when the provider sent the request",
            },
            {
                "in": "header",
                "name": SIGNATURE_HEADER,
                "required": False,
                "schema": {"type": "string"},
                "description": "hex HMAC-SHA256(provider's callback secret, timestamp + raw body)",
            },
        ],
    }


def _parse(kind: str, provider: str, body: bytes) -> list[Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CallbackRefused(
            422, {"detail": "body is not JSON", "code": "invalid_body", "field": "body"}
        ) from None
    if not isinstance(data, list):
        raise CallbackRefused(
            422, {"detail": "body must be a JSON array", "code": "invalid_body", "field": "body"}
        )
    if len(data) > MAX_ITEMS:
        raise CallbackRefused(
            422, {"detail": f"at most {MAX_ITEMS} items", "code": "invalid_body", "field": "body"}
        )
    try:
        adapter: TypeAdapter[list[Any]] = TypeAdapter(list[BODIES[(kind, provider)]])  # type: ignore[valid-type]
        return adapter.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise CallbackRefused(
            422, {"detail": f"{field}: {first['msg']}", "code": "invalid_field", "field": field}
        ) from None


def _checked(request: HttpRequest, kind: str, provider: str) -> tuple[Provider, list[Any]]:
    spec = PROVIDERS.get(provider)
    if spec is None or not spec.secret:
        raise CallbackRefused(404, {"detail": "unknown provider", "code": "unknown_provider"})
    body = request.body
    problem = callback_problem(
        spec.secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body
    )
    if problem:
        remote = request.META.get("REMOTE_ADDR", "")
        logger.warning("comms callback rejected: %s %s from %s: %s", kind, provider, remote, problem)
        event_record(
            kind="comms.callback_rejected",
            data={
                "provider": provider,
                "callback": kind,
                "reason": problem,
                "remote_addr": remote,
                "body_bytes": len(body),
            },
        )
        raise CallbackRefused(401, {"detail": f"callback signature refused: {problem}", "code": problem})
    return spec, _parse(kind, provider, body)


def _receipt(item: Any) -> Receipt:
    if isinstance(item, SmsReportIn):
        return Receipt(
            provider_message_id=item.biz_id,
            out_id=item.out_id,
            to=item.phone_number,
            delivered=item.success,
            error_code="" if item.success else item.err_code,
            error_message="" if item.success else item.err_msg,
            reported_at=item.report_time,
        )
    assert isinstance(item, EmailReceiptIn)
    return Receipt(
        provider_message_id=item.message_id,
        out_id=item.out_id,
        to=item.recipient,
        delivered=item.status == "delivered",
        error_code=item.error_code,
        error_message=item.error_message,
        reported_at=item.at,
    )


RESPONSES = {200: AckOut, 401: ErrorOut, 404: ErrorOut, 422: FieldErrorOut, 503: AckOut}


@router.post(
    "/comms/receipts/{provider}",
    auth=None,
    response=RESPONSES,
    openapi_extra=_openapi("receipts"),
    summary="Delivery receipts pushed by a message provider (signed)",
)
def receipts(request: HttpRequest, provider: str) -> Status:
    try:
        spec, items = _checked(request, "receipts", provider)
    except CallbackRefused as refused:
        return Status(refused.status, refused.payload)
    reports = [_receipt(item) for item in items]
    deferred: list[Receipt] = []
    changed = receipts_apply(gateway=spec.gateway, reports=reports, deferred=deferred)
    if deferred:
        # Receipts that overtook the sender: the provider pushes them again (all of them;
        # the ones applied now change nothing the second time).
        return Status(503, {"code": 1, "msg": "稍后重试", "accepted": changed})
    return Status(200, {"code": 0, "msg": "成功", "accepted": changed})


@router.post(
    "/comms/inbound/{provider}",
    auth=None,
    response=RESPONSES,
    openapi_extra=_openapi("inbound"),
    summary="Inbound messages (replies, opt-outs) pushed by a message provider (signed)",
)
def inbound(request: HttpRequest, provider: str) -> Status:
    try:
        spec, items = _checked(request, "inbound", provider)
    except CallbackRefused as refused:
        return Status(refused.status, refused.payload)
    for item in items:
        if isinstance(item, SmsUplinkIn):
            inbound_receive(
                gateway=spec.gateway,
                channel=spec.channel,
                sender=item.phone_number,
                text=item.content,
                received_at=item.send_time,
                provider_message_id=str(item.sequence_id),
            )
        else:
            assert isinstance(item, EmailInboundIn)
            inbound_receive(
                gateway=spec.gateway,
                channel=spec.channel,
                sender=item.sender,
                text=item.text,
                subject=item.subject,
                received_at=item.received_at,
                provider_message_id=item.id,
            )
    return Status(200, {"code": 0, "msg": "成功", "accepted": len(items)})
