"""Writes of the outbox: queue a message, send what is due.

Sending is three short steps, none holding a lock while a provider answers:

1. **claim** — one `UPDATE … RETURNING` moves due `queued` rows to `sending` with a lease
   (`claimed_until`), skipping rows another sender holds: no message is taken twice;
2. **check** — each message is rendered and the guard is asked again *at send time*. A
   denial that will pass later (outside the window, a holiday) defers the message to the
   guard's next allowed time, unless that is past the message's validity, when it is
   blocked; any other denial blocks it with the guard's reasons. Decisions are stored;
3. **send and record** — allowed messages go to their channel's gateway; each result is
   recorded in one transaction: `sent` (with the provider's id and, on a case, a system
   activity), a retry later with exponential backoff, or `failed` with the reason.

A sender that dies between claiming and recording leaves `sending` rows whose lease runs
out. They are never sent again blindly: the provider may already have them. A gateway
that is idempotent on our message id (the file gateway overwrites, the print queue keeps
one entry) gets them again; for the others they end `failed` with that explanation, for a
person to look at. Every change of state writes a `MessageEvent` in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role, User
from arrears.cases.models import Case, CaseStatus
from arrears.cases.services import SentMessage, contact_point_update, sent_messages_record
from arrears.comms import rendering, selectors
from arrears.comms.gateways.base import Gateway, GatewayError, Outgoing, Sent
from arrears.comms.models import (
    Message,
    MessageChannel,
    MessageEvent,
    MessageEventKind,
    MessageSource,
    MessageState,
    Template,
    TemplateVersion,
    VersionStatus,
)
from arrears.comms.selectors_pages import messages_visible_to
from arrears.compliance.inputs import Message as GuardMessage
from arrears.compliance.models import Decision, DecisionPurpose
from arrears.compliance.screening import has_opt_out
from arrears.compliance.selectors import GuardReads, guard_reads_many
from arrears.compliance.services import decisions_store, guard_check
from arrears.core.services import event_record
from arrears.portfolio.models import ContactKind, ContactPoint

# How long a claimed batch may take before another sender may look at it.
CLAIM_LEASE = dt.timedelta(minutes=5)
# A message the guard defers is sent later only within this time after it was due;
# a reminder two days late is worse than none.
MAX_DEFERRAL = dt.timedelta(hours=48)

CHANNEL_KINDS: dict[str, frozenset[str]] = {
    MessageChannel.SMS: frozenset({ContactKind.MOBILE}),
    MessageChannel.EMAIL: frozenset({ContactKind.EMAIL}),
    MessageChannel.LETTER: frozenset({ContactKind.ADDRESS}),
}


class MessageRefused(ValueError):
    """Bad input for queueing a message; `message` is translated and says what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- gateways ------------------------------------------------------------------------------


def gateway_for(channel: str) -> Gateway:
    """The configured gateway of a channel (settings ARREARS_SMS_GATEWAY / _EMAIL_GATEWAY)."""
    if channel == MessageChannel.LETTER:
        from arrears.comms.gateways.letter import PrintQueueGateway

        return PrintQueueGateway()
    choice = settings.ARREARS_SMS_GATEWAY if channel == MessageChannel.SMS else settings.ARREARS_EMAIL_GATEWAY
    if choice == "file":
        from arrears.comms.gateways.file import FileGateway

        return FileGateway()
    if channel == MessageChannel.SMS and choice in ("http", "smsapi"):
        from arrears.comms.gateways.sms_http import HttpSmsGateway

        return HttpSmsGateway()
    if channel == MessageChannel.EMAIL and choice == "smtp":
        from arrears.comms.gateways.smtp import SmtpGateway

        return SmtpGateway()
    raise ValueError(f"unknown gateway {choice!r} for channel {channel!r}")


# --- queueing --------------------------------------------------------------------------------


def _event(message_id: int, kind: str, at: dt.datetime, **data: Any) -> MessageEvent:
    return MessageEvent(message_id=message_id, kind=kind, at=at, data=data)


@transaction.atomic
def message_queue(
    *,
    case: Case,
    contact_point: ContactPoint,
    template: Template,
    actor: Any,
    scheduled_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Queue a message from an approved template to one contact point of the case's customer.

    The guard is asked when it is sent, not here (the time is the send time). Refused:
    a closed case, a point of another customer or of the wrong kind for the channel, a
    template without an approved version, a time without a zone.
    """
    now = now or timezone.now()
    if scheduled_at is None:
        scheduled_at = now
    if scheduled_at.tzinfo is None or scheduled_at.utcoffset() is None:
        raise MessageRefused("scheduled_at", _("时间必须带时区（例如 +08:00）。"))
    if case.status == CaseStatus.CLOSED:
        raise MessageRefused("case", _("案件已结案，不能再发送催收消息。"))
    if contact_point.customer_id != case.customer_id:
        raise MessageRefused("contact_point_id", _("该联系方式不属于本案客户。"))
    if contact_point.kind not in CHANNEL_KINDS[template.channel]:
        raise MessageRefused(
            "contact_point_id",
            _("{channel}只能发往{kinds}。").format(
                channel=MessageChannel(template.channel).label,
                kinds="、".join(
                    str(ContactKind(kind).label) for kind in sorted(CHANNEL_KINDS[template.channel])
                ),
            ),
        )
    version = template.current_version
    if version is None or version.status != VersionStatus.APPROVED or not template.active:
        raise MessageRefused(
            "template", _("模板 {code} 没有已批准的版本，不能使用。").format(code=template.code)
        )
    message = Message.objects.create(
        account_id=case.account_id,
        customer_id=case.customer_id,
        case=case,
        contact_point=contact_point,
        channel=template.channel,
        template_version=version,
        template_class=template.template_class,
        language=template.language,
        source=MessageSource.MANUAL,
        scheduled_at=scheduled_at,
        next_attempt_at=scheduled_at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _event(message.pk, MessageEventKind.QUEUED, now, template=template.code, version=version.number).save()
    event_record(
        kind="comms.message_queued",
        subject=message,
        actor=actor,
        data={"case": case.pk, "channel": template.channel, "template": template.code},
    )
    return message


class MessageNotAllowed(PermissionError):
    """The actor may not change this message (the caller answers 403)."""


# Who may stop a message before it is sent: those who read the outbox (team leaders only
# their team's messages, as they see them).
MESSAGE_CANCELLERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.TEAM_LEADER})
CANCEL_REASON_MAX = 200


@transaction.atomic
def message_cancel(*, message: Message, actor: Any, reason: str, now: dt.datetime | None = None) -> Message:
    """Stop a queued message (a deferred one is queued too) before a sender takes it.

    The row is locked and its state read again: a sender that claimed it first wins (it is
    `sending` by then and cannot be called back), and the refusal says so. The message ends
    `cancelled` with a `cancelled` event (who, why) and an audit event. Raises
    `MessageNotAllowed` for a role that may not, or a message outside the actor's scope;
    `MessageRefused` for a missing or long reason or a message no longer queued.
    """
    if not (
        isinstance(actor, User)
        and actor.is_active
        and actor.role in MESSAGE_CANCELLERS
        and messages_visible_to(actor).filter(pk=message.pk).exists()
    ):
        raise MessageNotAllowed
    reason = " ".join((reason or "").split())
    if not reason:
        raise MessageRefused("reason", _("请写明取消原因。"))
    if len(reason) > CANCEL_REASON_MAX:
        raise MessageRefused("reason", _("取消原因最多 %(max)d 个字。") % {"max": CANCEL_REASON_MAX})
    now = now or timezone.now()
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.state != MessageState.QUEUED:
        if locked.state == MessageState.SENDING:
            raise MessageRefused("state", _("消息正在发送，已无法取消。"))
        raise MessageRefused(
            "state",
            _("只有排队中的消息可以取消；这条消息的状态是“{state}”。").format(
                state=locked.get_state_display()
            ),
        )
    locked.state = MessageState.CANCELLED
    locked.last_error = f"cancelled: {reason}"[:300]
    locked.save(update_fields=["state", "last_error"])
    _event(locked.pk, MessageEventKind.CANCELLED, now, by=actor.username, reason=reason).save()
    event_record(
        kind="comms.message_cancelled",
        subject=locked,
        actor=actor,
        data={"case": locked.case_id, "channel": locked.channel, "reason": reason},
    )
    return locked


# --- sending ---------------------------------------------------------------------------------


@dataclasses.dataclass
class SendStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    blocked: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: SendStats) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


_CLAIM_SQL = """
UPDATE comms_message m
   SET state = 'sending', claimed_until = %(lease)s
 WHERE m.id IN (
        SELECT id FROM comms_message
         WHERE state IN ('queued', 'sending')
           AND next_attempt_at <= %(now)s
           AND (state = 'queued' OR claimed_until < %(now)s)
         ORDER BY next_attempt_at, id
         LIMIT %(limit)s
           FOR UPDATE SKIP LOCKED)
RETURNING m.id
"""


def _claim(*, now: dt.datetime, limit: int) -> tuple[list[int], list[int]]:
    """Claim up to `limit` due messages; returns (fresh ids, ids whose earlier claim expired)."""
    # uses comms_message_due_idx (queued/sending rows by due time)
    with transaction.atomic(), connection.cursor() as cursor:
        # RETURNING sees the new row, so an expired claim is told apart by a pre-read.
        cursor.execute(
            """
            SELECT id FROM comms_message
             WHERE state = 'sending' AND claimed_until < %(now)s AND next_attempt_at <= %(now)s
             ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
            """,
            {"now": now, "limit": limit},
        )
        stale = [row[0] for row in cursor.fetchall()]
        cursor.execute(_CLAIM_SQL, {"now": now, "lease": now + CLAIM_LEASE, "limit": limit})
        claimed = [row[0] for row in cursor.fetchall()]
    stale_set = set(stale)
    return [pk for pk in claimed if pk not in stale_set], [pk for pk in claimed if pk in stale_set]


@dataclasses.dataclass
class _Prepared:
    message: Message
    outgoing: Outgoing | None = None
    decision: Decision | None = None
    outcome: str = ""  # "" (to send) | deferred | blocked | failed
    reason: str = ""
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


def _version_to_use(
    message: Message, current: Mapping[tuple[str, str], TemplateVersion]
) -> TemplateVersion | None:
    """A cadence message uses its template's approved version at send time (approval may
    have moved on since the batch queued it); a manual one keeps the version it was queued with."""
    version = message.template_version
    if version is None:
        return None
    if version.status == VersionStatus.APPROVED:
        return version
    if message.source == MessageSource.CADENCE:
        return current.get((version.template.code, version.template.language), version)
    return version


def _prepare(messages: Sequence[Message], *, now: dt.datetime) -> list[_Prepared]:
    """Render each message and ask the guard at `now` (the guard's reads for the whole
    batch in one round trip); decisions are stored in one statement."""
    instalments = selectors.next_instalments_fen(messages=messages)
    codes = [m.template_version.template.code for m in messages if m.template_version is not None]
    current = selectors.current_versions(codes=codes)
    prepared: list[_Prepared] = []
    to_check: list[tuple[_Prepared, Case, TemplateVersion]] = []
    for message in messages:
        item = _Prepared(message)
        prepared.append(item)
        checked = _render(item, current=current, instalment_fen=instalments.get(message.account_id), now=now)
        if checked is not None:
            to_check.append((item, *checked))
    reads = guard_reads_many(cases=[case for _, case, _ in to_check], at=now)
    for (item, case, version), case_reads in zip(to_check, reads, strict=True):
        _judge(item, case=case, version=version, reads=case_reads, now=now)
    # One statement for the batch's decisions (stored before anything is sent).
    decisions_store(rows=[item.decision for item in prepared if item.decision is not None])
    return prepared


def _render(
    item: _Prepared,
    *,
    current: Mapping[tuple[str, str], TemplateVersion],
    instalment_fen: int | None,
    now: dt.datetime,
) -> tuple[Case, TemplateVersion] | None:
    """Render the message's text; None when it ends here (failed or blocked before the guard)."""
    message = item.message
    version = _version_to_use(message, current)
    if version is None:
        item.outcome, item.reason = "failed", "no_template"
        return None
    if version.pk != message.template_version_id:
        item.data["version"] = version.number
        message.template_version = version
    values = selectors.message_values(message=message, instalment_fen=instalment_fen, now=now)
    try:
        body = rendering.render(version.body, values)
        subject = rendering.render(version.subject, values)
    except KeyError as missing:
        item.outcome, item.reason = "failed", f"unknown_variable:{missing.args[0]}"
        return None
    if message.channel == MessageChannel.SMS and len(body) > settings.ARREARS_SMS_MAX_CHARS:
        item.outcome, item.reason = "failed", "too_long"
        item.data.update(chars=len(body), limit=settings.ARREARS_SMS_MAX_CHARS)
        return None
    # Only what the text uses goes to the provider and into the row (data minimisation).
    used = {name: values[name] for name in rendering.variables_in(f"{version.subject}\n{version.body}")}
    message.body, message.subject, message.variables = body, subject, used
    case = message.case
    if case is None:
        # A pre-due reminder to an account without a case: the guard judges the account
        # as a case would be (no case holds; customer-wide holds still apply).
        case = Case(account=message.account, customer=message.customer, bucket_group="M0")
    elif case.status == CaseStatus.CLOSED:
        item.outcome, item.reason = "blocked", "case_closed"
        return None
    state = getattr(message.account, "delinquency", None)
    if message.template_class != "reminder" and (state is None or state.overdue_fen <= 0):
        # Paid since it was queued: a collection message would be wrong, and a complaint.
        item.outcome, item.reason = "blocked", "nothing_overdue"
        return None
    case.account = message.account
    case.customer = message.customer
    return case, version


def _judge(
    item: _Prepared, *, case: Case, version: TemplateVersion, reads: GuardReads, now: dt.datetime
) -> None:
    """Ask the guard about the rendered message; allowed → ready to send, else deferred or blocked."""
    message = item.message
    decision = guard_check(
        case=case,
        channel=message.channel,
        contact_point=message.contact_point,
        at=now,
        purpose=DecisionPurpose.SEND,
        store=False,
        message=GuardMessage(
            text="\n".join(filter(None, [message.subject, message.body])),
            template_code=version.template.code,
            template_class=message.template_class,
            template_approved=version.status == VersionStatus.APPROVED,
            sent_by_system=True,
            has_opt_out=has_opt_out(message.body),
        ),
        reads=reads,
    )
    if message.case is None:
        decision.case = None  # the stand-in case is not a row
    item.decision = decision
    if not decision.allowed:
        violations = decision.result.get("violations", [])
        item.data["rules"] = [v.get("rule") for v in violations]
        item.data["reasons"] = [
            {"rule": v.get("rule"), "message": v.get("message"), "parameters": v.get("parameters") or {}}
            for v in violations
        ]
        later = decision.next_allowed_at
        if later is not None and later <= message.scheduled_at + MAX_DEFERRAL:
            item.outcome, item.reason = "deferred", "guard"
            item.data["until"] = later.isoformat()
        else:
            item.outcome, item.reason = "blocked", "guard" if later is None else "expired"
        return
    item.outgoing = Outgoing(
        message_id=message.pk,
        channel=message.channel,
        to=message.contact_point.value,
        body=message.body,
        subject=message.subject,
        provider_template_code=version.provider_template_code,
        variables=message.variables,
        recipient_name=message.contact_point.owner_name or message.customer.name,
    )


def _send(
    prepared: Sequence[_Prepared], gateways: Callable[[str], Gateway]
) -> dict[int, Sent | GatewayError]:
    by_channel: dict[str, list[Outgoing]] = defaultdict(list)
    for item in prepared:
        if item.outgoing is not None:
            by_channel[item.outgoing.channel].append(item.outgoing)
    results: dict[int, Sent | GatewayError] = {}
    for channel, outgoing in by_channel.items():
        gateway = gateways(channel)
        send_many = getattr(gateway, "send_many", None)
        try:
            if send_many is not None:
                answers = send_many(outgoing)
            else:
                answers = []
                for one in outgoing:
                    try:
                        answers.append(gateway.send(one))
                    except GatewayError as error:
                        answers.append(error)
        finally:
            # A connection-holding gateway (SMTP) is closed after its batch.
            close = getattr(gateway, "close", None)
            if close is not None:
                close()
        for one, answer in zip(outgoing, answers, strict=True):
            results[one.message_id] = answer
        for item in prepared:
            if item.outgoing is not None and item.outgoing.channel == channel:
                item.data["gateway"] = gateway.name
    return results


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.ARREARS_OUTBOX_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))


def _record(
    prepared: Sequence[_Prepared], results: Mapping[int, Sent | GatewayError], *, now: dt.datetime
) -> SendStats:
    stats = SendStats(claimed=len(prepared))
    events: list[MessageEvent] = []
    sent_rows: list[tuple[Message, Sent]] = []
    bounced_points: list[ContactPoint] = []
    with transaction.atomic():
        for item in prepared:
            message = item.message
            message.decision = item.decision
            message.claimed_until = None
            answer = results.get(message.pk)
            if isinstance(answer, Sent):
                message.state = MessageState.SENT
                message.sent_at = now
                message.attempts += 1
                message.gateway = item.data.get("gateway", "")
                message.provider_message_id = answer.provider_message_id
                message.last_error = ""
                sent_rows.append((message, answer))
                events.append(
                    _event(
                        message.pk,
                        MessageEventKind.SENT,
                        now,
                        gateway=message.gateway,
                        provider_message_id=answer.provider_message_id,
                        **_extra(item),
                    )
                )
                stats.sent += 1
            elif isinstance(answer, GatewayError):
                message.attempts += 1
                message.gateway = item.data.get("gateway", "")
                message.last_error = (
                    f"{answer.code}: {answer.reason}"[:300] if answer.code else answer.reason[:300]
                )
                if answer.retryable and message.attempts < settings.ARREARS_OUTBOX_MAX_ATTEMPTS:
                    message.state = MessageState.QUEUED
                    message.next_attempt_at = now + _backoff(message.attempts)
                    events.append(
                        _event(
                            message.pk,
                            MessageEventKind.ATTEMPT_FAILED,
                            now,
                            error=message.last_error,
                            attempt=message.attempts,
                            retry_at=message.next_attempt_at.isoformat(),
                        )
                    )
                    stats.retried += 1
                else:
                    message.state = MessageState.FAILED
                    kind = MessageEventKind.BOUNCED if answer.code == "bounced" else MessageEventKind.FAILED
                    events.append(
                        _event(message.pk, kind, now, error=message.last_error, attempt=message.attempts)
                    )
                    if answer.code == "bounced":
                        bounced_points.append(message.contact_point)
                    stats.failed += 1
            elif item.outcome == "deferred":
                message.state = MessageState.QUEUED
                message.next_attempt_at = dt.datetime.fromisoformat(item.data["until"])
                events.append(_event(message.pk, MessageEventKind.DEFERRED, now, **_extra(item)))
                stats.deferred += 1
            elif item.outcome == "blocked":
                message.state = MessageState.BLOCKED
                message.last_error = item.reason
                events.append(
                    _event(message.pk, MessageEventKind.BLOCKED, now, reason=item.reason, **_extra(item))
                )
                stats.blocked += 1
            else:
                message.state = MessageState.FAILED
                message.last_error = item.reason[:300]
                events.append(
                    _event(message.pk, MessageEventKind.FAILED, now, reason=item.reason, **_extra(item))
                )
                stats.failed += 1
        on_case = [(m, s) for m, s in sent_rows if m.case_id is not None]
        activity_ids = sent_messages_record(
            messages=[
                SentMessage(
                    case_id=m.case_id or 0,
                    customer_id=m.customer_id,
                    contact_point_id=m.contact_point_id,
                    channel=m.channel,
                    sent_at=now,
                    notes=_activity_note(m),
                    decision_id=m.decision.pk if m.decision is not None else None,
                )
                for m, _ in on_case
            ]
        )
        for (message, _), activity_id in zip(on_case, activity_ids, strict=True):
            message.activity_id = activity_id
        _messages_update([item.message for item in prepared])
        MessageEvent.objects.bulk_create(events)
        for point in bounced_points:
            if point.is_valid:
                contact_point_update(point=point, actor=None, valid=False, reason="bounced")
    return stats


_UPDATE_SQL = """
UPDATE comms_message m
   SET state = u.state, attempts = u.attempts, next_attempt_at = u.next_attempt_at, claimed_until = NULL,
       gateway = u.gateway, provider_message_id = u.provider_message_id, last_error = u.last_error,
       decision_id = u.decision_id, sent_at = u.sent_at, subject = u.subject, body = u.body,
       variables = u.variables, template_version_id = u.template_version_id, activity_id = u.activity_id
  FROM jsonb_to_recordset(%s::jsonb) AS u(
         id bigint, state text, attempts int, next_attempt_at timestamptz, gateway text,
         provider_message_id text, last_error text, decision_id bigint, sent_at timestamptz,
         subject text, body text, variables jsonb, template_version_id bigint, activity_id bigint)
 WHERE m.id = u.id
"""


def _messages_update(messages: Sequence[Message]) -> None:
    """Write the batch's outcomes in one statement, the rows as one JSON document (bulk_update's
    CASE per column and row, or adapting arrays value by value, cost more than the sending)."""
    if not messages:
        return
    rows = [
        {
            "id": m.pk,
            "state": m.state,
            "attempts": m.attempts,
            "next_attempt_at": m.next_attempt_at.isoformat(),
            "gateway": m.gateway,
            "provider_message_id": m.provider_message_id,
            "last_error": m.last_error,
            "decision_id": m.decision.pk if m.decision is not None else None,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "subject": m.subject,
            "body": m.body,
            "variables": m.variables,
            "template_version_id": m.template_version_id,
            "activity_id": m.activity_id,
        }
        for m in messages
    ]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, [json.dumps(rows, ensure_ascii=False)])


def _extra(item: _Prepared) -> dict[str, Any]:
    return {key: value for key, value in item.data.items() if key not in ("gateway", "until")} | (
        {"until": item.data["until"]} if "until" in item.data else {}
    )


def _activity_note(message: Message) -> str:
    version = message.template_version
    label = f"{version.template.code} v{version.number}" if version is not None else ""
    return (
        f"[{label}] {message.subject}\n{message.body}".strip()
        if message.subject
        else f"[{label}] {message.body}"
    )


def _stale(
    ids: Sequence[int], *, now: dt.datetime, gateways: Callable[[str], Gateway]
) -> tuple[list[int], SendStats]:
    """Messages whose sender died mid-send: resent only through an idempotent gateway."""
    stats = SendStats()
    if not ids:
        return [], stats
    again: list[int] = []
    give_up: list[int] = []
    for pk, channel in Message.objects.filter(pk__in=list(ids)).values_list("pk", "channel"):
        (again if getattr(gateways(channel), "idempotent", False) else give_up).append(pk)
    if give_up:
        with transaction.atomic():
            Message.objects.filter(pk__in=give_up).update(
                state=MessageState.FAILED, claimed_until=None, last_error="outcome_unknown"
            )
            MessageEvent.objects.bulk_create(
                [_event(pk, MessageEventKind.FAILED, now, reason="outcome_unknown") for pk in give_up]
            )
        stats.failed += len(give_up)
    return again, stats


def outbox_send_due(
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
    gateways: Callable[[str], Gateway] = gateway_for,
    max_batches: int | None = None,
) -> SendStats:
    """Send every message due at `now` (batches of `limit`), until none is left. Safe to run
    in several workers at once; safe to re-run."""
    limit = limit or settings.ARREARS_OUTBOX_BATCH
    total = SendStats()
    batches = 0
    while max_batches is None or batches < max_batches:
        moment = now or timezone.now()
        fresh, stale = _claim(now=moment, limit=limit)
        if not fresh and not stale:
            break
        batches += 1
        again, stale_stats = _stale(stale, now=moment, gateways=gateways)
        total.add(stale_stats)
        total.claimed += len(stale) - len(again)
        ids = fresh + again
        if not ids:
            continue
        messages = selectors.messages_for_sending(ids=ids)
        with transaction.atomic():
            prepared = _prepare(messages, now=moment)
        results = _send(prepared, gateways)
        total.add(_record(prepared, results, now=moment))
    return total


# --- cadences (the end-of-day batch) ------------------------------------------------------

# The contact point a cadence writes to: the debtor's own, usable, first of the right kind.
_POINT_KIND = {MessageChannel.SMS: "mobile", MessageChannel.EMAIL: "email", MessageChannel.LETTER: "address"}

_EXPAND_SQL = """
WITH targets AS (
    SELECT * FROM unnest(%(step_ids)s::bigint[], %(anchor_dates)s::date[]) AS t(step_id, anchor_date)
),
chosen AS (
    SELECT st.id AS step_id, st.channel, st.send_time, st.template_code, t.anchor_date,
           cd.bucket_group, cd.product_id
      FROM targets t
      JOIN comms_cadencestep st ON st.id = t.step_id AND st.kind = 'message' AND st.anchor = %(anchor)s
      JOIN comms_cadence cd ON cd.id = st.cadence_id AND cd.active
)
INSERT INTO comms_message (
    account_id, customer_id, case_id, contact_point_id, channel, template_version_id,
    template_class, language, source, cadence_step_id, dedupe_key, subject, body, variables,
    scheduled_at, state, attempts, next_attempt_at, gateway, provider_message_id,
    last_error, created_at)
SELECT a.id, a.customer_id, c.id, cp.id, ch.channel, tp.current_version_id,
       tp.template_class, tp.language, 'cadence', ch.step_id,
       'cadence:' || ch.step_id || ':' || a.id || ':' || ch.anchor_date,
       '', '', '{{}}'::jsonb,
       (%(d)s::date + ch.send_time) AT TIME ZONE cu.time_zone, 'queued', 0,
       (%(d)s::date + ch.send_time) AT TIME ZONE cu.time_zone, '', '', '', now()
  FROM chosen ch
  JOIN delinquency_accountstate s ON s.{anchor_column} = ch.anchor_date AND s.bucket_group = ch.bucket_group
  JOIN portfolio_account a ON a.id = s.account_id AND a.status = 'active'
   AND (ch.product_id = a.product_id
        OR (ch.product_id IS NULL AND NOT EXISTS (
            SELECT 1 FROM comms_cadence own
             WHERE own.product_id = a.product_id AND own.bucket_group = ch.bucket_group AND own.active)))
  JOIN portfolio_customer cu ON cu.id = a.customer_id
  JOIN comms_template tp ON tp.code = ch.template_code AND tp.language = 'zh-hans'
                        AND tp.active AND tp.current_version_id IS NOT NULL
  JOIN LATERAL (
        SELECT p.id FROM portfolio_contactpoint p
         WHERE p.customer_id = a.customer_id AND p.owner_role = 'self'
           AND p.kind = CASE ch.channel WHEN 'sms' THEN 'mobile' WHEN 'email' THEN 'email' ELSE 'address' END
           AND p.is_valid AND NOT p.do_not_contact AND NOT (ch.channel = ANY(p.opted_out_channels))
         ORDER BY p.id LIMIT 1) cp ON true
  LEFT JOIN cases_case c ON c.account_id = a.id AND c.status <> 'closed'
 WHERE {anchor_filter}
ON CONFLICT (dedupe_key) DO NOTHING
"""


def _calendar_days(first: dt.date, last: dt.date) -> Any:
    from arrears.comms.cadence import Days
    from arrears.core.models import CalendarDay

    rows = CalendarDay.objects.filter(day__range=(first, last)).values_list("day", "is_working", "name")
    return Days.from_rows(rows)


def cadences_expand(*, business_date: dt.date) -> int:
    """Queue the cadence messages and reminder calls of the day after `business_date`.

    The batch for D runs after D has ended: the accounts' state as of D is what the next
    morning's messages must say (overdue day N on D+1 is N days after the delinquency
    began), and a cadence is chosen by the bucket the account is in as of D. Set-based,
    inside the caller's transaction. Re-running queues nothing twice (`dedupe_key`, one
    reminder call per account and due date). Returns the messages queued.
    """
    from arrears.comms import cadence
    from arrears.comms.models import CadenceAnchor, CadenceStep, StepKind

    send_day = business_date + dt.timedelta(days=1)
    days = _calendar_days(send_day - dt.timedelta(days=80), send_day + dt.timedelta(days=80))
    steps = list(CadenceStep.objects.filter(cadence__active=True, retired_at__isnull=True))
    queued = 0
    with connection.cursor() as cursor:
        for anchor, column, finder in (
            (CadenceAnchor.DUE_DATE, "next_due_date", cadence.due_dates_for_message),
            (CadenceAnchor.OVERDUE, "delinquent_since", cadence.delinquent_since_for_message),
        ):
            step_ids: list[int] = []
            anchor_dates: list[dt.date] = []
            for step in steps:
                if step.kind != StepKind.MESSAGE or step.anchor != anchor:
                    continue
                for day in finder(send_day, step.days, days):
                    step_ids.append(step.pk)
                    anchor_dates.append(day)
            if not step_ids:
                continue
            # A due-date reminder is for an instalment still to pay; an overdue message for
            # an account still overdue.
            anchor_filter = (
                "s.overdue_fen > 0" if anchor == CadenceAnchor.OVERDUE else "s.outstanding_fen > 0"
            )
            cursor.execute(
                _EXPAND_SQL.format(anchor_column=column, anchor_filter=anchor_filter),
                {"step_ids": step_ids, "anchor_dates": anchor_dates, "anchor": anchor, "d": send_day},
            )
            queued += cursor.rowcount
        reminder_steps = [
            s for s in steps if s.kind == StepKind.REMINDER_CALL and s.anchor == CadenceAnchor.DUE_DATE
        ]
        for step in reminder_steps:
            due_dates = cadence.due_dates_for_reminder_calls(send_day, step.days, days)
            starts = [cadence.reminder_call_start(due, step.days, days) for due in due_dates]
            cursor.execute(
                """
                INSERT INTO comms_remindercall (account_id, due_date, call_from, amount_fen, outcome)
                SELECT a.id, w.due_date, w.call_from,
                       -- A derived schedule has no instalment rows: its level instalment.
                       coalesce((SELECT sum(i.principal_due_fen + i.interest_due_fen + i.fee_due_fen
                                            + i.premium_due_fen)
                                   FROM portfolio_instalment i
                                  WHERE i.account_id = a.id AND i.due_date = w.due_date),
                                a.instalment_fen, 0),
                       ''
                  FROM unnest(%(due)s::date[], %(start)s::date[]) AS w(due_date, call_from)
                  JOIN delinquency_accountstate s ON s.next_due_date = w.due_date
                  JOIN comms_cadence cd ON cd.id = %(cadence)s AND s.bucket_group = cd.bucket_group
                  JOIN portfolio_account a ON a.id = s.account_id AND a.status = 'active'
                   AND (cd.product_id = a.product_id
                        OR (cd.product_id IS NULL AND NOT EXISTS (
                            SELECT 1 FROM comms_cadence own
                             WHERE own.product_id = a.product_id AND own.bucket_group = cd.bucket_group
                               AND own.active)))
                ON CONFLICT (account_id, due_date) DO NOTHING
                """,
                {"due": due_dates, "start": starts, "cadence": step.cadence_id},
            )
    return queued


# The default cadence of seed 000 §8 and seed 003: per bucket group, (kind, anchor, days,
# channel, template code).
DEFAULT_CADENCES: dict[str, tuple[tuple[str, str, int, str, str], ...]] = {
    "M0": (
        ("message", "due_date", 3, "sms", "REMIND_T3"),
        ("message", "due_date", 0, "sms", "REMIND_T0"),
        ("reminder_call", "due_date", 3, "sms", ""),
    ),
    # The batch picks the cadence by the bucket as of the night before: an account on
    # overdue day 30 tomorrow is still M1 tonight.
    "M1": (
        ("message", "overdue", 3, "sms", "COLLECT_D3"),
        ("message", "overdue", 5, "sms", "COLLECT_D5"),
        ("message", "overdue", 10, "sms", "COLLECT_D10"),
        ("message", "overdue", 15, "sms", "COLLECT_D15"),
        ("message", "overdue", 30, "sms", "COLLECT_D30"),
    ),
}


def cadences_seed_defaults() -> int:
    """Create the default catch-all cadences (no product) that are missing; edits an admin
    made to existing ones are kept. Returns the steps created. Safe to re-run."""
    from arrears.comms.models import Cadence, CadenceStep

    created = 0
    with transaction.atomic():
        for group, steps in DEFAULT_CADENCES.items():
            cadence, _ = Cadence.objects.get_or_create(
                product=None,
                bucket_group=group,
                defaults={"code": f"DEFAULT_{group}", "name": f"默认 {group}"},
            )
            for kind, anchor, days, channel, template_code in steps:
                # A default step an admin removed (retired) or changed into another stays so.
                same = {"cadence": cadence, "kind": kind, "anchor": anchor, "days": days, "channel": channel}
                if not CadenceStep.objects.filter(**same).exists():
                    CadenceStep.objects.create(**same, template_code=template_code, send_time=dt.time(10, 0))
                    created += 1
    return created
