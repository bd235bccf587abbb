"""Signatures on the provider's callbacks (delivery receipts, inbound replies).

A provider calling ``POST /api/v1/comms/receipts/{provider}`` or ``.../inbound/{provider}``
sends two headers:

* ``X-Callback-Timestamp``: the time of sending, Unix seconds (decimal digits);
* ``X-Callback-Signature``: lower-case hex of HMAC-SHA256(secret, timestamp + raw body),
  i.e. the timestamp's digits immediately followed by the request body's bytes.

The secret is the provider's callback secret (``ARREARS_SMS_CALLBACK_SECRET`` for the SMS
provider, ``ARREARS_EMAIL_CALLBACK_SECRET`` for email). A timestamp more than
`MAX_SKEW_SECONDS` away from our clock is refused, so a captured request cannot be
replayed later (and a replay within the window changes nothing: receipts and inbound
messages are idempotent).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Callback-Timestamp"
SIGNATURE_HEADER = "X-Callback-Signature"
MAX_SKEW_SECONDS = 300


def callback_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()


def callback_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The headers a provider (or the fake provider) sends with ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: callback_signature(secret, timestamp, body),
        "Content-Type": "application/json; charset=utf-8",
    }


def callback_problem(secret: str, timestamp: str | None, signature: str | None, body: bytes) -> str:
    """Why a callback's signature is not good ("" when it is): missing_signature,
    bad_timestamp, stale_timestamp or bad_signature."""
    if not timestamp or not signature:
        return "missing_signature"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "bad_timestamp"
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return "stale_timestamp"
    expected = callback_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return "bad_signature"
    return ""
