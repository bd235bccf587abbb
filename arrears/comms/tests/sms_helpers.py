"""Builders for the receipt, reply and callback tests: a debtor with two mobiles and an email,
and outbox rows made directly (the sender is not involved)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.utils import timezone

from arrears.comms.models import Message, MessageState
from arrears.portfolio.models import Account, ContactPoint
from arrears.tests.factories import AccountFactory, ContactPointFactory

MOBILE = "13900000001"
OTHER_MOBILE = "13900000002"
EMAIL = "zhang.san@example.com"


@dataclasses.dataclass
class Debtor:
    account: Account
    mobile: ContactPoint
    other_mobile: ContactPoint
    email: ContactPoint


def debtor(account: Account | None = None) -> Debtor:
    account = account or AccountFactory()
    customer = account.customer
    return Debtor(
        account=account,
        mobile=ContactPointFactory(customer=customer, kind="mobile", value=MOBILE),
        other_mobile=ContactPointFactory(customer=customer, kind="mobile", value=OTHER_MOBILE),
        email=ContactPointFactory(customer=customer, kind="email", value=EMAIL),
    )


def message(
    point: ContactPoint,
    account: Account,
    *,
    state: str = MessageState.QUEUED,
    gateway: str = "",
    provider_message_id: str = "",
) -> Message:
    now = timezone.now()
    return Message.objects.create(
        account=account,
        customer=account.customer,
        contact_point=point,
        channel="email" if point.kind == "email" else "sms",
        template_class="collection",
        source="cadence",
        body="张三您好，您的账户已逾期，请尽快还款。回T退订",
        scheduled_at=now,
        next_attempt_at=now,
        state=state,
        gateway=gateway,
        provider_message_id=provider_message_id,
        sent_at=now - dt.timedelta(minutes=1) if state != MessageState.QUEUED else None,
        attempts=1 if state != MessageState.QUEUED else 0,
    )
