"""What comes back from the providers: delivery receipts and inbound messages (replies).

Both are written by a provider's callback (`arrears.comms.api`), which has no user: there is
no scope to apply, the actor of every change is the system (None), and both services are
idempotent, because providers push again whenever they are unsure we got it.

Opt-out replies (U5). A reply is an opt-out when, as a whole, it is one of the opt-out
words: the union of ``opt_out_words`` of every policy pack (as currently configured) and
`DEFAULT_OPT_OUT_WORDS`. Before comparing, the reply is NFKC-normalised (full-width
letters become ASCII), case-folded, and stripped of surrounding whitespace, punctuation and
symbols, so "退订", " stop ", "STOP!", "退订。", "【退订】" and "ＴＤ" are all opt-outs, while
"我要退订", "stop it" or "不要停止" are not (they are stored and shown for a person to act on).
The defaults add the reply codes Chinese SMS senders print (回T退订 / 回TD退订 / 拒收请回复R)
and 拒收: honouring a reply that only perhaps meant to opt out is the safe side. For email,
the subject (without Re:/回复:/答复: prefixes) or the first line of the body that is not
quoted is compared the same way.

An opt-out marks exactly the contact points with the sender's number or address (of any
customer: one number may be on several files) as opted out of that channel
(`ContactPoint.opted_out_channels`; the guard then refuses messages on that channel, H5 and
U5), and cancels their messages still queued on that channel. Calls to the number, the
customers' other numbers and addresses are untouched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from arrears.cases.services import contact_point_opt_out, contact_point_update
from arrears.comms.models import (
    InboundMessage,
    Message,
    MessageChannel,
    MessageEvent,
    MessageEventKind,
    MessageState,
)
from arrears.core.masking import mask_email, mask_phone
from arrears.core.services import event_record
from arrears.portfolio.models import ContactKind, ContactPoint
from arrears.portfolio.selectors import contact_value_hashes

OPT_OUT_REASON = "opt_out"
DEFAULT_OPT_OUT_WORDS = (
    "退订",
    "停止",
    "拒收",
    "TD",
    "T",
    "R",
    "STOP",
    "UNSUBSCRIBE",
    "END",
    "QUIT",
    "CANCEL",
)
PHONE_KINDS = (ContactKind.MOBILE, ContactKind.HOME, ContactKind.WORK)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery report, in our terms (the API turns each provider's shape into these)."""

    provider_message_id: str = ""
    out_id: str = ""  # our outbox id, when the provider echoes it back
    to: str = ""  # the number or address the report is about (tells a batch's messages apart)
    delivered: bool = False
    error_code: str = ""
    error_message: str = ""
    reported_at: dt.datetime | None = None


# --- opt-out words --------------------------------------------------------------------------


def opt_out_words() -> frozenset[str]:
    """Every pack's opt-out words (as configured now) and the defaults, normalised."""
    from arrears.compliance.packs import PACKS
    from arrears.compliance.selectors import pack_latest

    words: set[str] = set(DEFAULT_OPT_OUT_WORDS)
    for pack_id in PACKS:
        configured: Any = pack_latest(pack_id).params.get("opt_out_words", ())
        words.update(str(word) for word in configured)
    return frozenset(filter(None, (normalize_reply(word) for word in words)))


def _is_edge_noise(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] in {"P", "S", "Z", "C"}


def normalize_reply(text: str) -> str:
    """NFKC, case-folded, without surrounding whitespace, punctuation or symbols."""
    text = unicodedata.normalize("NFKC", text or "")
    start, end = 0, len(text)
    while start < end and _is_edge_noise(text[start]):
        start += 1
    while end > start and _is_edge_noise(text[end - 1]):
        end -= 1
    return text[start:end].casefold()


def is_opt_out(
    text: str, *, channel: str = MessageChannel.SMS, subject: str = "", words: Iterable[str] | None = None
) -> bool:
    keywords = frozenset(words) if words is not None else opt_out_words()
    candidates = [text]
    if channel == MessageChannel.EMAIL:
        candidates = [_REPLY_PREFIX.sub("", subject), _first_own_line(text)]
    return any(normalize_reply(candidate) in keywords for candidate in candidates if candidate)


def _first_own_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip() and not line.lstrip().startswith(">"):
            return line
    return ""


# --- receipts -------------------------------------------------------------------------------


def _receipt_message(gateway: str, report: Receipt) -> Message | None:
    rows = Message.objects.select_related("contact_point").select_for_update(of=("self",))
    out_id = report.out_id
    if out_id.isascii() and out_id.isdigit() and len(out_id) <= 18:
        # The sender records the gateway with the send: a message still sending has none yet.
        message = (
            rows.filter(pk=int(out_id))
            .filter(Q(gateway=gateway) | Q(gateway="", state=MessageState.SENDING))
            .first()
        )
        if message is not None:
            return message
    if not report.provider_message_id:
        return None
    candidates = list(rows.filter(gateway=gateway, provider_message_id=report.provider_message_id)[:101])
    if len(candidates) > 1 and report.to:
        # A batch: one provider id for many messages, told apart by number.
        hashes = contact_value_hashes(report.to)
        candidates = [m for m in candidates if m.contact_point.value_hash in hashes]
    return candidates[0] if len(candidates) == 1 else None


def _sending_to(to: str) -> bool:
    """Whether a message to this number or address is being sent (its provider id unknown yet)."""
    if not to:
        return False
    return Message.objects.filter(
        state=MessageState.SENDING, contact_point__value_hash__in=contact_value_hashes(to)
    ).exists()


@transaction.atomic
def receipts_apply(*, gateway: str, reports: Sequence[Receipt], deferred: list[Receipt] | None = None) -> int:
    """Apply delivery receipts; returns how many messages changed.

    Delivered: a sent message becomes delivered (``delivered_at`` the report's time) with a
    ``delivered`` event. Not delivered: the message stays sent, with an ``undelivered``
    event carrying the provider's error (and ``last_error``); an e-mail bounced later by the
    receiving server (a permanent SMTP code, `hard_bounce`) gets a ``bounced`` event instead
    and its address is marked invalid. A receipt for no message we know, for a message not
    sent yet, or that was already applied changes nothing.

    A receipt can overtake the sender: the provider took the message, but the sender has not
    yet recorded it as sent (state ``sending``). Such receipts are added to ``deferred``, so
    the caller can ask the provider to push them again later.
    """
    changed = 0
    now = timezone.now()
    for report in reports:
        message = _receipt_message(gateway, report)
        if deferred is not None and (
            (message is not None and message.state == MessageState.SENDING)
            or (message is None and _sending_to(report.to))
        ):
            deferred.append(report)
            continue
        if message is None or message.state not in (MessageState.SENT, MessageState.DELIVERED):
            continue
        at = report.reported_at or now
        data: dict[str, Any] = {
            "gateway": gateway,
            "provider_message_id": report.provider_message_id or message.provider_message_id,
        }
        if report.delivered:
            if message.state == MessageState.DELIVERED:
                continue
            message.state = MessageState.DELIVERED
            message.delivered_at = at
            message.save(update_fields=["state", "delivered_at"])
            MessageEvent.objects.create(message=message, kind=MessageEventKind.DELIVERED, at=at, data=data)
            changed += 1
            continue
        if message.state == MessageState.DELIVERED:
            continue  # a late failure report does not undo a delivery
        data.update(error_code=report.error_code, error_message=report.error_message)
        bounced = message.channel == MessageChannel.EMAIL and hard_bounce(report.error_code)
        kind = MessageEventKind.BOUNCED if bounced else MessageEventKind.UNDELIVERED
        if MessageEvent.objects.filter(
            message=message, kind=kind, data__error_code=report.error_code
        ).exists():
            continue  # the same report pushed again
        message.last_error = f"{report.error_code}: {report.error_message}".strip(": ")[:300]
        message.save(update_fields=["last_error"])
        MessageEvent.objects.create(message=message, kind=kind, at=at, data=data)
        if bounced and message.contact_point.is_valid:
            # As a 550 at sending does (`services._record`): the cadence skips the address
            # from now on and the case page shows it invalid, with the event saying why.
            contact_point_update(point=message.contact_point, actor=None, valid=False, reason="bounced")
        changed += 1
    return changed


# RFC 3463 enhanced status codes of class 5 ("5.1.1" no such user, "5.1.10" null MX) and
# basic SMTP 5xx replies are permanent: the address will not work next time either. Class 4
# ("4.2.2" mailbox full) is transient and leaves the address alone.
_PERMANENT_SMTP = re.compile(r"^\s*(?:5\.\d{1,3}\.\d{1,3}|5\d\d)(?![\d.])")


def hard_bounce(error_code: str) -> bool:
    """Whether an e-mail provider's failure code says the address itself is bad."""
    return bool(_PERMANENT_SMTP.match(error_code or ""))


# --- inbound messages -----------------------------------------------------------------------


def normalize_sender(channel: str, sender: str) -> str:
    sender = (sender or "").strip()
    if channel == MessageChannel.EMAIL:
        return sender
    digits = re.sub(r"[\s\-()]", "", sender)
    return re.sub(r"^(?:\+|00)?86(?=1\d{10}$)", "", digits)


def _sender_points(channel: str, sender: str) -> list[ContactPoint]:
    hashes = contact_value_hashes(sender)
    if channel == MessageChannel.EMAIL:
        # Mail clients do not keep an address's case; the file usually has it in lower case.
        hashes |= contact_value_hashes(sender.lower())
    if not hashes:
        return []
    kinds = (ContactKind.EMAIL,) if channel == MessageChannel.EMAIL else PHONE_KINDS
    return list(ContactPoint.objects.filter(value_hash__in=hashes, kind__in=kinds).order_by("pk"))


@transaction.atomic
def inbound_receive(
    *,
    gateway: str,
    channel: str,
    sender: str,
    text: str,
    received_at: dt.datetime,
    provider_message_id: str = "",
    subject: str = "",
) -> InboundMessage:
    """Store a message someone sent us, link it to the sender's contact points and, when
    it is an opt-out, act on it at once (see the module's docstring).

    A message the provider pushes again (same gateway and provider id) is stored once, and
    the second push changes nothing.
    """
    if channel not in (MessageChannel.SMS, MessageChannel.EMAIL):
        raise ValueError(f"inbound messages come by SMS or email, not {channel!r}")
    provider_message_id = (provider_message_id or "")[:100]
    if provider_message_id:
        existing = InboundMessage.objects.filter(
            gateway=gateway, provider_message_id=provider_message_id
        ).first()
        if existing is not None:
            return existing
    sender = normalize_sender(channel, sender)
    masked = mask_email(sender) if channel == MessageChannel.EMAIL else mask_phone(sender)
    body = f"{subject}\n\n{text}" if subject and channel == MessageChannel.EMAIL else text
    opt_out = is_opt_out(text, channel=channel, subject=subject)
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                channel=channel,
                gateway=gateway,
                sender_masked=masked[:40],
                text=body,
                received_at=received_at,
                provider_message_id=provider_message_id,
                opt_out=opt_out,
            )
    except IntegrityError:
        # The same push arriving twice at once: the other one stored it.
        return InboundMessage.objects.get(gateway=gateway, provider_message_id=provider_message_id)
    points = _sender_points(channel, sender)
    inbound.contact_points.set(points)
    cancelled: list[int] = []
    marked: list[int] = []
    if opt_out:
        for point in points:
            # That channel only (U5): a debtor who stops the SMS may still be called.
            if contact_point_opt_out(point=point, channel=channel, actor=None):
                marked.append(point.pk)
        cancelled = _cancel_queued(points, channel=channel, inbound=inbound)
    event_record(
        kind="comms.inbound_received",
        subject=inbound,
        data={
            "gateway": gateway,
            "channel": channel,
            "opt_out": opt_out,
            "contact_point_ids": [point.pk for point in points],
            "opted_out": marked,
            "cancelled_message_ids": cancelled,
        },
    )
    return inbound


def _cancel_queued(points: Sequence[ContactPoint], *, channel: str, inbound: InboundMessage) -> list[int]:
    if not points:
        return []
    now = timezone.now()
    queued = list(
        Message.objects.select_for_update()
        .filter(contact_point__in=points, channel=channel, state=MessageState.QUEUED)
        .order_by("pk")
    )
    for message in queued:
        message.state = MessageState.CANCELLED
        message.last_error = OPT_OUT_REASON
    Message.objects.bulk_update(queued, ["state", "last_error"])
    MessageEvent.objects.bulk_create(
        MessageEvent(
            message=message,
            kind=MessageEventKind.CANCELLED,
            at=now,
            data={"reason": OPT_OUT_REASON, "inbound_message_id": inbound.pk},
        )
        for message in queued
    )
    return [message.pk for message in queued]
