"""Builders for the case-messages tests (panel and API): the debtor's points, templates, and
messages in the states the panel shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from arrears.cases.models import Case
from arrears.comms.models import Message, MessageEvent, MessageEventKind, MessageState, Template
from arrears.comms.services import message_queue
from arrears.comms.tests.outbox_helpers import approved_template
from arrears.conftest import Book
from arrears.portfolio.models import ContactPoint
from arrears.tests.factories import ContactPointFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 24 November 2026, 10:30 in Shanghai (a working day).
NOW = dt.datetime(2026, 11, 24, 10, 30, tzinfo=SHANGHAI)

H1_REASON = {
    "rule": "H1",
    "message": "H1.outside_contact_window",
    "parameters": {"local_times": "21:35", "window_start": "08:00", "window_end": "21:00"},
}
H1_TEXT = "当地时间 21:35 不在联系时段 08:00–21:00 内"


@dataclass
class Setup:
    mobile: ContactPoint
    email: ContactPoint
    spouse_mobile: ContactPoint
    guarantor_address: ContactPoint
    sms: Template
    email_template: Template
    letter: Template


def setup(book: Book) -> Setup:
    customer = book.case_alice.customer
    return Setup(
        mobile=ContactPointFactory(customer=customer, kind="mobile", owner_role="self", value="13812345678"),
        email=ContactPointFactory(
            customer=customer, kind="email", owner_role="self", value="zhangsan@example.com"
        ),
        spouse_mobile=ContactPointFactory(
            customer=customer, kind="mobile", owner_role="spouse", value="13900001111"
        ),
        guarantor_address=ContactPointFactory(
            customer=customer, kind="address", owner_role="guarantor", value="上海市浦东新区世纪大道100号"
        ),
        sms=approved_template("COLLECT_D3", "${customer_name}您好，您的账户已逾期。回复TD退订"),
        email_template=approved_template(
            "NOTICE_MAIL", "${customer_name}您好。回复TD退订", channel="email", subject="还款提醒"
        ),
        letter=approved_template(
            "LETTER_1", "${customer_name}：请还款。", channel="letter", subject="催收函"
        ),
    )


def blocked(message: Message, *, at: dt.datetime) -> Message:
    """Mark a queued message blocked by the guard at `at` (as the sender records it)."""
    Message.objects.filter(pk=message.pk).update(state=MessageState.BLOCKED, last_error="guard")
    MessageEvent.objects.create(
        message=message,
        kind=MessageEventKind.BLOCKED,
        at=at,
        data={"reason": "guard", "rules": ["H1"], "reasons": [H1_REASON]},
    )
    message.refresh_from_db()
    return message


def queued(case: Case, point: ContactPoint, template: Template, *, at: dt.datetime) -> Message:
    return message_queue(
        case=case, contact_point=point, template=template, actor=None, scheduled_at=at, now=at
    )
