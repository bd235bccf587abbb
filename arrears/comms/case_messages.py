"""A case's messages: the reads of the case page's messages panel and of the messages API,
and queueing a message by hand from one of them.

A message sent by hand is still a *system* message: a collector picks an approved template
and one of the debtor's contact points; the outbox renders and sends it, asking the guard
again at send time (`services.outbox_send_due`). That is what rule H9 allows (SMS only
from approved templates, sent by the system, never from a collector's own phone).

Who may queue: whoever may work the case (`cases.services.user_can_work`); the scope of
the case is the caller's selector (`cases.selectors.case_for_work`, out of scope → 404).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.cases.models import Case
from arrears.comms.models import (
    Message,
    MessageChannel,
    MessageEvent,
    MessageEventKind,
    Template,
    VersionStatus,
    message_queued_event,
)
from arrears.comms.services import CHANNEL_KINDS, MessageRefused, message_queue
from arrears.compliance.messages import reason_text
from arrears.portfolio.models import ContactKind, ContactPoint, OwnerRole

# How many messages the panel and the API list show (newest first).
MESSAGES_SHOWN = 20
MESSAGES_MAX = 100
# A time to send may be a little in the past (the form's clock is to the minute) and at most
# this far ahead: a manual message is about the case as it is now.
PAST_TOLERANCE = dt.timedelta(minutes=5)
MAX_AHEAD = dt.timedelta(days=30)

# The debtor's own points of a kind some channel writes to; a liable guarantor's address for
# letters (H10). Anything else — a relative's number, a colleague's — is not offered here:
# third parties are the guard's business at send time, and a collector does not start it.
_MESSAGEABLE = Q(
    owner_role=OwnerRole.SELF, kind__in=[ContactKind.MOBILE, ContactKind.EMAIL, ContactKind.ADDRESS]
) | Q(owner_role=OwnerRole.GUARANTOR, kind=ContactKind.ADDRESS)
# Events whose data may carry the guard's reasons.
_GUARD_EVENTS = frozenset({MessageEventKind.BLOCKED, MessageEventKind.DEFERRED})


# --- reads -----------------------------------------------------------------------------------


def case_messages(*, case: Case, limit: int = MESSAGES_SHOWN, message_id: int | None = None) -> list[Message]:
    """The case's messages, newest first, each with its last event in `last_events` (two queries).

    uses comms_message_case_idx (case, -id); the last event per message is one windowed
    query over the page's messages (a sliced prefetch).
    """
    rows = (
        Message.objects.filter(case=case)
        .select_related("contact_point", "template_version", "template_version__template", "created_by")
        .prefetch_related(
            Prefetch("events", queryset=MessageEvent.objects.order_by("-id")[:1], to_attr="last_events")
        )
    )
    if message_id is not None:
        rows = rows.filter(pk=message_id)
    return list(rows.order_by("-id")[: max(1, min(limit, MESSAGES_MAX))])


def messageable_points(*, case: Case) -> QuerySet[ContactPoint]:
    """The contact points a message may be queued to by hand on this case."""
    return ContactPoint.objects.filter(_MESSAGEABLE, customer_id=case.customer_id).order_by(
        "owner_role", "kind", "id"
    )


def sendable_templates(*, channels: Iterable[str] | None = None) -> QuerySet[Template]:
    """Active templates with an approved version in use (of the given channels)."""
    rows = Template.objects.filter(
        active=True, current_version__isnull=False, current_version__status=VersionStatus.APPROVED
    ).select_related("current_version")
    if channels is not None:
        rows = rows.filter(channel__in=list(channels))
    return rows.order_by("channel", "code", "language")


def channels_for(points: Iterable[ContactPoint]) -> set[str]:
    """The channels that can reach at least one of the points."""
    kinds = {point.kind for point in points}
    return {channel for channel, fits in CHANNEL_KINDS.items() if kinds & fits}


@dataclasses.dataclass(frozen=True)
class Reason:
    rule: str
    text: str


def last_event(message: Message) -> MessageEvent:
    """The newest event of a message read with `case_messages` (its `queued` if none is stored)."""
    events = getattr(message, "last_events", None)
    return events[0] if events else message_queued_event(message)


def event_reasons(event: MessageEvent | None) -> list[Reason]:
    """The guard's reasons of a blocked or deferred event, in the reader's language."""
    if event is None or event.kind not in _GUARD_EVENTS:
        return []
    reasons: list[Reason] = []
    for item in event.data.get("reasons") or ():
        if isinstance(item, Mapping):
            parameters = item.get("parameters")
            text = reason_text(
                str(item.get("message", "")), parameters if isinstance(parameters, Mapping) else {}
            )
            reasons.append(Reason(rule=str(item.get("rule") or ""), text=text))
    return reasons


# --- the write -------------------------------------------------------------------------------


def case_message_queue(
    *,
    case: Case,
    contact_point: ContactPoint,
    template: Template,
    actor: Any,
    scheduled_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Queue a message by hand (the caller checked scope and `user_can_work`).

    On top of `services.message_queue`'s checks: the point is the debtor's own (or a
    guarantor's address for a letter), and the time is now or within `MAX_AHEAD`. Raises
    `MessageRefused` (field, translated message) with nothing written.
    """
    now = now or timezone.now()
    if contact_point.customer_id != case.customer_id:
        raise MessageRefused("contact_point_id", _("该联系方式不属于本案客户。"))
    is_own = contact_point.owner_role == OwnerRole.SELF
    is_guarantor_address = (
        contact_point.owner_role == OwnerRole.GUARANTOR
        and contact_point.kind == ContactKind.ADDRESS
        and template.channel == MessageChannel.LETTER
    )
    if not (is_own or is_guarantor_address):
        raise MessageRefused("contact_point_id", _("消息只能发往客户本人的联系方式；信函也可寄给担保人。"))
    if scheduled_at is not None and scheduled_at.tzinfo is not None and scheduled_at.utcoffset() is not None:
        if scheduled_at < now - PAST_TOLERANCE:
            raise MessageRefused("scheduled_at", _("发送时间不能早于现在。"))
        if scheduled_at > now + MAX_AHEAD:
            raise MessageRefused("scheduled_at", _("发送时间不能晚于 30 天以后。"))
    return message_queue(
        case=case,
        contact_point=contact_point,
        template=template,
        actor=actor,
        scheduled_at=scheduled_at,
        now=now,
    )
