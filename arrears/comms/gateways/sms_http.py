"""The SMS provider adapter: an HTTP API in the style of the common Chinese SMS services.

Protocol (RPC style, the one Alibaba Cloud's SMS API uses):

* a form POST to ``ARREARS_SMS_URL`` with the common parameters ``AccessKeyId``, ``Action``
  (``SendSms`` or ``SendBatchSms``), ``Format=JSON``, ``RegionId``, ``SignatureMethod=HMAC-SHA1``,
  ``SignatureNonce`` (a fresh UUID), ``SignatureVersion=1.0``, ``Timestamp`` (UTC ISO 8601) and
  ``Version``, plus the action's own: ``PhoneNumbers``, ``SignName``, ``TemplateCode``,
  ``TemplateParam`` (JSON) and ``OutId`` (our outbox id) for one message;
  ``PhoneNumberJson``, ``SignNameJson``, ``TemplateCode``, ``TemplateParamJson`` for a batch;
* ``Signature`` = base64(HMAC-SHA1(secret + "&", "POST&%2F&" + percent-encoded canonical
  query string)), the canonical query string being every other parameter sorted by name,
  name and value percent-encoded (RFC 3986: space as %20, ``*`` as %2A, ``~`` kept);
* the answer is JSON ``{"Code", "Message", "BizId", "RequestId"}``; ``Code == "OK"`` means
  accepted, and ``BizId`` is the provider's id (the delivery receipts carry it back).

A batch carries one template code and at most 100 numbers, with one ``BizId`` for all of
them (receipts then name the number): `send_many` groups messages by template code, keeps
a number to one message per batch, and when a batch is refused for something that is one
message's fault (an illegal number, a parameter too long), sends that group one by one so
that each message gets its own answer.

Errors: throttling, flow control, the provider's system errors, 5xx answers, timeouts and
lost connections are retryable; an illegal number, a template or parameter problem and an
over-long text are permanent. Credentials and signing problems are retryable on purpose:
they are the operator's to fix, and the messages should go once the key is right, not be
failed one by one in the meantime. A text longer than ``ARREARS_SMS_MAX_CHARS`` is refused
before any request (code ``too_long``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from arrears.comms.gateways.base import GatewayError, Outgoing, Sent

API_VERSION = "2017-05-25"
REGION = "cn-hangzhou"
BATCH_MAX = 100

# Provider codes whose cause is one message (a batch refused for one of these is retried
# message by message).
PER_MESSAGE_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
    }
)
PERMANENT_CODES = PER_MESSAGE_CODES | frozenset(
    {
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.INVALID_PARAMETERS",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.SMS_CONTENT_ILLEGAL",
        "isv.EXTEND_CODE_ERROR",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
        "isv.DENY_IP_RANGE",
        "MissingParameter",
        "InvalidParameter",
    }
)
# Everything else (Throttling*, isv.BUSINESS_LIMIT_CONTROL, isv.DAY_LIMIT_CONTROL,
# isv.OUT_OF_SERVICE, isv.AMOUNT_NOT_ENOUGH, isp.SYSTEM_ERROR, SignatureDoesNotMatch,
# InvalidAccessKeyId.NotFound, isv.SMS_SIGNATURE_ILLEGAL, unknown codes) is retryable.

_CN_PREFIX = re.compile(r"^(?:\+|00)?86(?=1\d{10}$)")


_SHARED_CLIENTS: dict[tuple[str, float | None], httpx.Client] = {}
_SHARED_LOCK = threading.Lock()


def close_shared_clients() -> None:
    """Close the pooled clients (at shutdown, or between tests that stop their servers)."""
    with _SHARED_LOCK:
        for client in _SHARED_CLIENTS.values():
            client.close()
        _SHARED_CLIENTS.clear()


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding as the signature wants it (``~`` kept, space as %20)."""
    return quote(value, safe="~")


def signature(params: Mapping[str, str], secret: str, *, method: str = "POST") -> str:
    """The request's ``Signature`` over every parameter but itself."""
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params) if key != "Signature"
    )
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def provider_number(to: str) -> str:
    """The number as the provider wants it: a mainland mobile as 11 digits, else digits only."""
    digits = re.sub(r"[\s\-()]", "", to)
    digits = _CN_PREFIX.sub("", digits)
    return digits.lstrip("+")


def error_for(code: str, message: str) -> GatewayError:
    retryable = code not in PERMANENT_CODES
    return GatewayError(f"{code}: {message}"[:300], retryable=retryable, code=code)


class HttpSmsGateway:
    """Sends SMS through the provider's HTTP API over one pooled keep-alive client."""

    name = "smsapi"

    def __init__(
        self,
        *,
        url: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        sign_name: str | None = None,
        max_chars: int | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url or settings.ARREARS_SMS_URL
        self.access_key_id = access_key_id or settings.ARREARS_SMS_ACCESS_KEY_ID
        self.access_key_secret = access_key_secret or settings.ARREARS_SMS_ACCESS_KEY_SECRET
        self.sign_name = sign_name or settings.ARREARS_SMS_SIGN_NAME
        self.max_chars = max_chars if max_chars is not None else settings.ARREARS_SMS_MAX_CHARS
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self._transport = transport
        self._client: httpx.Client | None = None

    # --- the client ------------------------------------------------------------------
    # One pooled keep-alive client per provider URL and process, shared by every instance:
    # the sender makes a gateway per pass, and its connections should outlive the pass.

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            if self._transport is not None:
                self._client = self._new_client()
            else:
                key = (self.url, self._timeout.read)
                with _SHARED_LOCK:
                    shared = _SHARED_CLIENTS.get(key)
                    if shared is None or shared.is_closed:
                        shared = _SHARED_CLIENTS[key] = self._new_client()
                self._client = shared
        return self._client

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            transport=self._transport,
        )

    def close(self) -> None:
        """Close this gateway's own client; the shared one stays (see `close_shared_clients`)."""
        if self._client is not None and self._transport is not None:
            self._client.close()
        self._client = None

    def __enter__(self) -> HttpSmsGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------

    def send(self, message: Outgoing) -> Sent:
        self._check(message)
        answer = self._call(
            "SendSms",
            {
                "PhoneNumbers": provider_number(message.to),
                "SignName": self.sign_name,
                "TemplateCode": message.provider_template_code,
                "TemplateParam": _params_json(message.variables),
                "OutId": str(message.message_id),
            },
        )
        return Sent(provider_message_id=answer)

    def send_many(self, messages: Sequence[Outgoing]) -> list[Sent | GatewayError]:
        results: list[Sent | GatewayError | None] = [None] * len(messages)
        groups: dict[str, list[tuple[list[int], set[str]]]] = {}
        for index, message in enumerate(messages):
            try:
                self._check(message)
            except GatewayError as error:
                results[index] = error
                continue
            batches = groups.setdefault(message.provider_template_code, [])
            number = provider_number(message.to)
            # A batch names each number once (receipts are told apart by number) and holds at most 100.
            for members, numbers in batches:
                if len(members) < BATCH_MAX and number not in numbers:
                    members.append(index)
                    numbers.add(number)
                    break
            else:
                batches.append(([index], {number}))
        for batches in groups.values():
            for batch, _ in batches:
                for index, result in zip(batch, self._send_batch([messages[i] for i in batch]), strict=True):
                    results[index] = result
        return [result for result in results if result is not None]

    def _send_batch(self, batch: Sequence[Outgoing]) -> list[Sent | GatewayError]:
        if len(batch) == 1:
            try:
                return [self.send(batch[0])]
            except GatewayError as error:
                return [error]
        try:
            biz_id = self._call(
                "SendBatchSms",
                {
                    "PhoneNumberJson": json.dumps([provider_number(m.to) for m in batch]),
                    "SignNameJson": json.dumps([self.sign_name] * len(batch), ensure_ascii=False),
                    "TemplateCode": batch[0].provider_template_code,
                    "TemplateParamJson": json.dumps(
                        [dict(m.variables) for m in batch], ensure_ascii=False, separators=(",", ":")
                    ),
                },
            )
        except GatewayError as error:
            if error.code in PER_MESSAGE_CODES:
                # One message's fault: each message gets its own answer.
                results: list[Sent | GatewayError] = []
                for message in batch:
                    try:
                        results.append(self.send(message))
                    except GatewayError as single:
                        results.append(single)
                return results
            return [error for _ in batch]
        return [Sent(provider_message_id=biz_id) for _ in batch]

    def _check(self, message: Outgoing) -> None:
        if len(message.body) > self.max_chars:
            raise GatewayError(
                f"SMS text has {len(message.body)} characters, the provider takes at most {self.max_chars}",
                retryable=False,
                code="too_long",
            )
        if not message.provider_template_code:
            raise GatewayError(
                "SMS template has no provider template code", retryable=False, code="no_template_code"
            )

    def _call(self, action: str, params: Mapping[str, str]) -> str:
        form = {
            "AccessKeyId": self.access_key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": REGION,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            **params,
        }
        form["Signature"] = signature(form, self.access_key_secret)
        try:
            response = self.client.post(self.url, data=form)
        except httpx.TimeoutException as error:
            raise GatewayError(f"SMS provider timed out: {error}", retryable=True, code="timeout") from error
        except httpx.HTTPError as error:
            raise GatewayError(
                f"SMS provider unreachable: {error}", retryable=True, code="connection"
            ) from error
        body = _json_or_none(response)
        code = str(body.get("Code", "")) if body else ""
        if response.status_code >= 500 and not code:
            raise GatewayError(
                f"SMS provider answered HTTP {response.status_code}",
                retryable=True,
                code=f"http_{response.status_code}",
            )
        if body is None or not code:
            raise GatewayError(
                f"SMS provider answered HTTP {response.status_code} without a result code",
                retryable=True,
                code="bad_response",
            )
        if code != "OK":
            raise error_for(code, str(body.get("Message", "")))
        biz_id = str(body.get("BizId") or "")
        if not biz_id:
            raise GatewayError("SMS provider accepted without a BizId", retryable=True, code="bad_response")
        return biz_id


def _params_json(variables: Mapping[str, Any]) -> str:
    return json.dumps(dict(variables), ensure_ascii=False, separators=(",", ":"))


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
