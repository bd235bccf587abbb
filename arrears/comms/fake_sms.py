"""A local fake SMS provider that speaks the provider's protocol (see gateways/sms_http.py).

For tests, the benchmark and local trials: ``arrears fake-sms --port 8025``, or in a test::

    with FakeSmsProvider(templates={"SMS_100": "您的账单${amount}元"}) as fake:
        gateway = HttpSmsGateway(url=fake.url)
        ...
        assert [a.phone for a in fake.accepted] == ["13800000001"]

What it checks, like the real service: the request signature (``SignatureDoesNotMatch``),
the access key (``InvalidAccessKeyId.NotFound``), a reused nonce (``SignatureNonceUsed``),
the template code when templates are registered (``isv.SMS_TEMPLATE_ILLEGAL``; with
``templates=None`` every code is taken), the template's variables
(``isv.TEMPLATE_MISSING_PARAMETERS``), mainland mobile numbers (``isv.MOBILE_NUMBER_ILLEGAL``)
and the rendered text's length (``isv.PARAM_LENGTH_LIMIT``). ``throttle_next(n)`` answers
the next n requests with ``isv.BUSINESS_LIMIT_CONTROL``. A batch with one bad entry is
refused whole, as the real service does.

What it sends back: delivery receipts and uplink (MO) messages, as JSON arrays in the
provider's shape, POSTed to our callback URLs with the signature headers of
`arrears.comms.signing` — `push_receipts()` / `push_uplink()` over HTTP, or
`receipts_request()` / `uplink_request()` to hand the (body, headers) to Django's test
client. With ``auto_receipts=True`` a background thread pushes receipts every
``receipt_interval`` seconds (local trials, the benchmark).

A threaded HTTP/1.1 server with keep-alive: several thousand requests a second on a small
machine, more than the sender needs for 500 SMS/s.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import itertools
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

from arrears.comms.signing import callback_headers

# The same defaults as the settings (read from the same environment variables; the fake
# does not load Django, so that it runs without a database).
DEFAULT_ACCESS_KEY_ID = "arrears-local"
DEFAULT_ACCESS_KEY_SECRET = "arrears-local-secret"  # noqa: S105 - the local default, like settings
DEFAULT_MAX_CHARS = 300
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMESTAMP_SKEW = dt.timedelta(minutes=15)
BATCH_MAX = 100

_MOBILE = re.compile(r"^(?:86)?(1[3-9]\d{9})$")
_VARIABLE = re.compile(r"\$\{(\w+)\}")


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """One message the fake took."""

    action: str  # SendSms | SendBatchSms
    biz_id: str
    out_id: str
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, Any]
    text: str
    at: dt.datetime


class ProviderError(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _percent(value: str) -> str:
    return quote(value, safe="~")


def _expected_signature(params: Mapping[str, str], secret: str, method: str) -> str:
    pairs = sorted((key, value) for key, value in params.items() if key != "Signature")
    canonical = "&".join(f"{_percent(key)}={_percent(value)}" for key, value in pairs)
    to_sign = "&".join((method, _percent("/"), _percent(canonical)))
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


class FakeSmsProvider:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        callback_secret: str | None = None,
        templates: Mapping[str, str] | None = None,
        max_chars: int | None = None,
        receipt_url: str = "",
        inbound_url: str = "",
        auto_receipts: bool = False,
        receipt_interval: float = 0.5,
        keep_accepted: bool = True,
        keep_receipts: bool = True,
    ) -> None:
        env = os.environ
        self.access_key_id = access_key_id or env.get("ARREARS_SMS_ACCESS_KEY_ID") or DEFAULT_ACCESS_KEY_ID
        self.access_key_secret = (
            access_key_secret or env.get("ARREARS_SMS_ACCESS_KEY_SECRET") or DEFAULT_ACCESS_KEY_SECRET
        )
        self.callback_secret = (
            callback_secret or env.get("ARREARS_SMS_CALLBACK_SECRET") or self.access_key_secret
        )
        # code -> text with ${name} variables ("" takes any parameters); None: any code.
        self.templates = dict(templates) if templates is not None else None
        self.max_chars = max_chars or int(env.get("ARREARS_SMS_MAX_CHARS") or DEFAULT_MAX_CHARS)
        self.receipt_url = receipt_url
        self.inbound_url = inbound_url
        self.keep_accepted = keep_accepted
        self.keep_receipts = keep_receipts
        self.accepted: list[Accepted] = []
        self.accepted_count = 0
        self.requests = 0
        self.refused: list[tuple[str, str]] = []  # (Action, Code) of refused requests
        self._lock = threading.Lock()
        self._throttle = 0
        self._nonces: set[str] = set()
        self._biz_ids = itertools.count(int(time.time()) * 1000)
        self._sequence = itertools.count(1)
        self._pending_receipts: list[dict[str, Any]] = []
        self._failures: dict[str, tuple[str, str]] = {}
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._pusher: threading.Thread | None = None
        self._stop = threading.Event()
        self.auto_receipts = auto_receipts
        self.receipt_interval = receipt_interval
        self._http: Any = None

    # --- running -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> FakeSmsProvider:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-sms", daemon=True)
        self._thread.start()
        if self.auto_receipts:
            self._pusher = threading.Thread(target=self._push_loop, name="fake-sms-receipts", daemon=True)
            self._pusher.start()
        return self

    def serve_forever(self) -> None:
        if self.auto_receipts:
            self._pusher = threading.Thread(target=self._push_loop, name="fake-sms-receipts", daemon=True)
            self._pusher.start()
        try:
            self._server.serve_forever()
        finally:
            self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:  # shutdown() waits for a serve_forever that never ran
            self._server.shutdown()
            self._thread = None
        self._server.server_close()
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> FakeSmsProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests set and read ----------------------------------------------------------

    def throttle_next(self, count: int) -> None:
        """Answer the next ``count`` requests with flow control (isv.BUSINESS_LIMIT_CONTROL)."""
        with self._lock:
            self._throttle = count

    def undeliverable(self, phone: str, err_code: str = "MK:0001", err_msg: str = "用户关机") -> None:
        """Receipts for this number report a failed delivery."""
        with self._lock:
            self._failures[phone] = (err_code, err_msg)

    def clear(self) -> None:
        with self._lock:
            self.accepted.clear()
            self.accepted_count = 0
            self.refused.clear()
            self._pending_receipts.clear()

    # --- the protocol ---------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                self._answer(provider.handle("POST", dict(parse_qsl(body, keep_blank_values=True))))

            def do_GET(self) -> None:
                query = self.path.partition("?")[2]
                self._answer(provider.handle("GET", dict(parse_qsl(query, keep_blank_values=True))))

            def _answer(self, result: tuple[int, dict[str, Any]]) -> None:
                status, payload = result
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def handle(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4()).upper()
        action = params.get("Action", "")
        try:
            with self._lock:
                self.requests += 1
            self._authenticate(method, params)
            with self._lock:
                if self._throttle > 0:
                    self._throttle -= 1
                    raise ProviderError("isv.BUSINESS_LIMIT_CONTROL", "触发流控Permits:1")
            if action == "SendSms":
                biz_id = self._send_one(params)
            elif action == "SendBatchSms":
                biz_id = self._send_batch(params)
            else:
                raise ProviderError("InvalidAction.NotFound", f"Specified api is not found: {action}", 404)
        except ProviderError as error:
            with self._lock:
                self.refused.append((action, error.code))
            return error.status, {"Code": error.code, "Message": error.message, "RequestId": request_id}
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def _authenticate(self, method: str, params: Mapping[str, str]) -> None:
        for name in ("AccessKeyId", "Action", "Signature", "SignatureNonce", "Timestamp"):
            if not params.get(name):
                raise ProviderError("MissingParameter", f"{name} is mandatory for this action.", 400)
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise ProviderError("InvalidParameter", "SignatureMethod/SignatureVersion is not supported.", 400)
        if params["AccessKeyId"] != self.access_key_id:
            raise ProviderError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        expected = _expected_signature(params, self.access_key_secret, method)
        if not hmac.compare_digest(expected, params["Signature"]):
            raise ProviderError(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400
            )
        try:
            stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            raise ProviderError(
                "InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400
            ) from None
        if abs(dt.datetime.now(dt.UTC) - stamp) > TIMESTAMP_SKEW:
            raise ProviderError("InvalidTimeStamp.Expired", "Specified time stamp is expired.", 400)
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                raise ProviderError("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
            self._nonces.add(params["SignatureNonce"])

    def _render(self, template_code: str, params: Mapping[str, Any]) -> str:
        if not template_code:
            raise ProviderError("MissingParameter", "TemplateCode is mandatory for this action.", 400)
        if self.templates is None:
            text = "".join(str(value) for value in params.values())
        elif template_code not in self.templates:
            raise ProviderError("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)")
        elif not self.templates[template_code]:
            text = "".join(str(value) for value in params.values())
        else:
            source = self.templates[template_code]
            missing = [name for name in _VARIABLE.findall(source) if name not in params]
            if missing:
                raise ProviderError("isv.TEMPLATE_MISSING_PARAMETERS", f"模板缺少变量: {', '.join(missing)}")
            text = _VARIABLE.sub(lambda match: str(params[match.group(1)]), source)
        if len(text) > self.max_chars:
            raise ProviderError("isv.PARAM_LENGTH_LIMIT", f"参数超出长度限制: {len(text)} > {self.max_chars}")
        return text

    @staticmethod
    def _mobile(value: str) -> str:
        match = _MOBILE.match(value.strip())
        if match is None:
            raise ProviderError("isv.MOBILE_NUMBER_ILLEGAL", f"非法手机号: {value}")
        return match.group(1)

    @staticmethod
    def _json(params: Mapping[str, str], name: str, default: str | None = None) -> Any:
        raw = params.get(name, default)
        if raw is None:
            raise ProviderError("MissingParameter", f"{name} is mandatory for this action.", 400)
        try:
            return json.loads(raw)
        except ValueError:
            raise ProviderError("isv.INVALID_JSON_PARAM", f"JSON参数不合法: {name}") from None

    def _send_one(self, params: Mapping[str, str]) -> str:
        numbers = [number for number in params.get("PhoneNumbers", "").split(",") if number]
        if not numbers:
            raise ProviderError("MissingParameter", "PhoneNumbers is mandatory for this action.", 400)
        sign_name = params.get("SignName", "")
        if not sign_name:
            raise ProviderError("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        template_params = self._json(params, "TemplateParam", "{}")
        if not isinstance(template_params, dict):
            raise ProviderError("isv.INVALID_JSON_PARAM", "JSON参数不合法: TemplateParam")
        phones = [self._mobile(number) for number in numbers]
        text = self._render(params.get("TemplateCode", ""), template_params)
        biz_id = f"{next(self._biz_ids)}^0"
        self._accept(
            Accepted(
                "SendSms",
                biz_id,
                params.get("OutId", ""),
                phone,
                sign_name,
                params["TemplateCode"],
                template_params,
                text,
                dt.datetime.now(dt.UTC),
            )
            for phone in phones
        )
        return biz_id

    def _send_batch(self, params: Mapping[str, str]) -> str:
        numbers = self._json(params, "PhoneNumberJson")
        signs = self._json(params, "SignNameJson")
        template_params = self._json(params, "TemplateParamJson", "null")
        if not isinstance(numbers, list) or not isinstance(signs, list) or not numbers:
            raise ProviderError("isv.INVALID_JSON_PARAM", "JSON参数不合法: PhoneNumberJson/SignNameJson")
        if len(numbers) > BATCH_MAX:
            raise ProviderError("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        if len(signs) != len(numbers) or (
            template_params is not None and len(template_params) != len(numbers)
        ):
            raise ProviderError("isv.INVALID_PARAMETERS", "号码、签名与模板变量的数量不一致")
        if not all(isinstance(sign, str) and sign for sign in signs):
            raise ProviderError("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        template_code = params.get("TemplateCode", "")
        rows = []
        for index, number in enumerate(numbers):
            values = template_params[index] if template_params is not None else {}
            if not isinstance(values, dict):
                raise ProviderError("isv.INVALID_JSON_PARAM", "JSON参数不合法: TemplateParamJson")
            rows.append(
                (self._mobile(str(number)), signs[index], values, self._render(template_code, values))
            )
        biz_id = f"{next(self._biz_ids)}^0"
        now = dt.datetime.now(dt.UTC)
        self._accept(
            Accepted(
                "SendBatchSms", biz_id, params.get("OutId", ""), phone, sign, template_code, values, text, now
            )
            for phone, sign, values, text in rows
        )
        return biz_id

    def _accept(self, items: Iterable[Accepted]) -> None:
        items = list(items)
        with self._lock:
            self.accepted_count += len(items)
            if self.keep_accepted:
                self.accepted.extend(items)
            for item in items if self.keep_receipts else ():
                failure = self._failures.get(item.phone)
                self._pending_receipts.append(
                    {
                        "phone_number": item.phone,
                        "send_time": _local(item.at),
                        "report_time": _local(dt.datetime.now(dt.UTC)),
                        "success": failure is None,
                        "err_code": failure[0] if failure else "DELIVERED",
                        "err_msg": failure[1] if failure else "用户接收成功",
                        "sms_size": str(max(1, -(-len(item.text) // 67))),
                        "biz_id": item.biz_id,
                        "out_id": item.out_id,
                    }
                )

    # --- callbacks to us -----------------------------------------------------------------

    def take_receipts(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The receipts not yet pushed (and forget them)."""
        with self._lock:
            count = len(self._pending_receipts) if limit is None else limit
            taken, self._pending_receipts = self._pending_receipts[:count], self._pending_receipts[count:]
        return taken

    def signed(self, payload: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
        """A callback body in the provider's shape and its signature headers."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, callback_headers(self.callback_secret, body)

    def receipts_request(self) -> tuple[bytes, dict[str, str]]:
        return self.signed(self.take_receipts())

    def uplink_message(
        self,
        phone: str,
        content: str,
        *,
        sequence_id: int | None = None,
        dest_code: str = "",
        sign_name: str = "",
    ) -> dict[str, Any]:
        return {
            "phone_number": phone,
            "send_time": _local(dt.datetime.now(dt.UTC)),
            "content": content,
            "sign_name": sign_name or "Arrears",
            "dest_code": dest_code,
            "sequence_id": sequence_id if sequence_id is not None else next(self._sequence),
        }

    def uplink_request(self, phone: str, content: str, **kwargs: Any) -> tuple[bytes, dict[str, str]]:
        return self.signed([self.uplink_message(phone, content, **kwargs)])

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        import httpx

        if self._http is None:
            self._http = httpx.Client(timeout=10.0)
        return int(self._http.post(url, content=body, headers=dict(headers)).status_code)

    def push_receipts(self, url: str = "", *, chunk: int = 500) -> int:
        """POST the pending receipts to ``url`` (default: receipt_url); returns how many were
        taken by us. Receipts whose push failed are kept for the next push."""
        target = url or self.receipt_url
        if not target:
            raise ValueError("no receipt URL")
        pushed = 0
        while True:
            receipts = self.take_receipts(chunk)
            if not receipts:
                return pushed
            body, headers = self.signed(receipts)
            try:
                status = self._post(target, body, headers)
            except Exception:
                status = 0
            if not 200 <= status < 300:
                with self._lock:
                    self._pending_receipts[:0] = receipts
                return pushed
            pushed += len(receipts)

    def push_uplink(self, phone: str, content: str, url: str = "", **kwargs: Any) -> int:
        """POST one uplink (a reply from ``phone``) to ``url`` (default: inbound_url); the HTTP status."""
        target = url or self.inbound_url
        if not target:
            raise ValueError("no inbound URL")
        body, headers = self.uplink_request(phone, content, **kwargs)
        return self._post(target, body, headers)

    def _push_loop(self) -> None:
        while not self._stop.wait(self.receipt_interval):
            if self.receipt_url:
                self.push_receipts()


def main(argv: list[str] | None = None) -> int:
    """``arrears fake-sms``: run the fake provider in the foreground."""
    import argparse

    parser = argparse.ArgumentParser(prog="arrears fake-sms", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="CODE[=TEXT]",
        help="a registered template (repeat); without any, every template code is taken",
    )
    parser.add_argument("--max-chars", type=int, default=None)
    parser.add_argument("--receipts-url", default="", help="where to push delivery receipts")
    parser.add_argument("--inbound-url", default="", help="where uplink replies would be pushed")
    parser.add_argument("--receipt-interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    templates = None
    if args.template:
        templates = dict(item.partition("=")[::2] for item in args.template)
    fake = FakeSmsProvider(
        host=args.host,
        port=args.port,
        templates=templates,
        max_chars=args.max_chars,
        receipt_url=args.receipts_url,
        inbound_url=args.inbound_url,
        auto_receipts=bool(args.receipts_url),
        receipt_interval=args.receipt_interval,
        keep_accepted=False,
        keep_receipts=bool(args.receipts_url),
    )
    print(f"fake SMS provider on {fake.url} (access key {fake.access_key_id})", flush=True)
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
    print(f"accepted {fake.accepted_count} messages in {fake.requests} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
