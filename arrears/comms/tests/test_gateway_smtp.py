"""The email gateway over real SMTP, against a local aiosmtpd server that keeps what arrives."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from arrears.comms.gateways.base import GatewayError, Outgoing, Sent
from arrears.comms.gateways.smtp import SmtpGateway
from arrears.comms.models import MessageEvent, MessageState
from arrears.comms.services import message_queue, outbox_send_due
from arrears.comms.tests.outbox_helpers import account_state, approved_template
from arrears.conftest import Book
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory

SENDER = "collections@arrears.test"
BOUNCING = "nobody@example.com"


class Mailbox:
    """Keeps every message that arrives; refuses BOUNCING at RCPT (550) and, when told, DATA (451)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.sessions = 0
        self.defer_data = False

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address == BOUNCING:
            return "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.defer_data:
            return "451 4.3.0 Temporary failure, try again later"
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def email(message_id: int, to: str, *, name: str = "张三") -> Outgoing:
    return Outgoing(
        message_id=message_id,
        channel="email",
        to=to,
        recipient_name=name,
        subject="还款提醒：您的账单即将到期",
        body="张三您好：\n\n您尾号1234的账户本期应还 1,000.00 元，请于 2026年3月10日 前还款。\n如需退订，请回复“退订”。\n",
    )


def test_an_email_arrives_with_its_subject_body_and_headers(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    with SmtpGateway(
        host="127.0.0.1", port=port, user="", password="", starttls=False, sender=SENDER
    ) as gateway:
        sent = gateway.send(email(42, "zhang.san@example.com"))

    assert sent == Sent(provider_message_id="<arrears-message-42@arrears.test>")
    assert len(box.received) == 1
    mail_from, rcpt_tos, message = box.received[0]
    assert mail_from == SENDER
    assert rcpt_tos == ["zhang.san@example.com"]
    assert message["Subject"] == "还款提醒：您的账单即将到期"
    assert message["From"] == SENDER
    assert message["To"] == "张三 <zhang.san@example.com>"
    assert message["Message-ID"] == "<arrears-message-42@arrears.test>"
    assert message["X-Arrears-Message"] == "42"
    assert message["Date"]
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == (
        "张三您好：\n\n您尾号1234的账户本期应还 1,000.00 元，请于 2026年3月10日 前还款。\n如需退订，请回复“退订”。\n"
    )


def test_a_recipient_refused_with_550_is_a_permanent_bounce(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    with SmtpGateway(
        host="127.0.0.1", port=port, user="", password="", starttls=False, sender=SENDER
    ) as gateway:
        with pytest.raises(GatewayError) as caught:
            gateway.send(email(43, BOUNCING))
        # The connection is still good for the next message.
        after = gateway.send(email(44, "li.si@example.com", name="李四"))

    assert caught.value.code == "bounced"
    assert caught.value.retryable is False
    assert caught.value.reason.startswith("RCPT 550 5.1.1 <nobody@example.com>: Recipient address rejected")
    assert after == Sent(provider_message_id="<arrears-message-44@arrears.test>")
    assert [(rcpts, message["Message-ID"]) for _, rcpts, message in box.received] == [
        (["li.si@example.com"], "<arrears-message-44@arrears.test>")
    ]
    assert box.sessions == 1


def test_a_4xx_at_data_is_retryable(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    box.defer_data = True
    with (
        SmtpGateway(
            host="127.0.0.1", port=port, user="", password="", starttls=False, sender=SENDER
        ) as gateway,
        pytest.raises(GatewayError) as caught,
    ):
        gateway.send(email(45, "zhang.san@example.com"))

    assert (caught.value.code, caught.value.retryable) == ("smtp_451", True)
    assert box.received == []


def test_no_server_is_retryable() -> None:
    gateway = SmtpGateway(
        host="127.0.0.1", port=_free_port(), user="", password="", starttls=False, sender=SENDER
    )
    with gateway, pytest.raises(GatewayError) as caught:
        gateway.send(email(46, "zhang.san@example.com"))

    assert (caught.value.code, caught.value.retryable) == ("connection", True)


def test_not_an_address_is_refused_before_connecting() -> None:
    gateway = SmtpGateway(
        host="127.0.0.1", port=_free_port(), user="", password="", starttls=False, sender=SENDER
    )
    with gateway, pytest.raises(GatewayError) as caught:
        gateway.send(email(47, "zhang san at example"))

    assert (caught.value.code, caught.value.retryable) == ("bad_address", False)


def test_several_messages_go_over_one_connection_each_with_its_own_answer(
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    with SmtpGateway(
        host="127.0.0.1", port=port, user="", password="", starttls=False, sender=SENDER
    ) as gateway:
        results = gateway.send_many(
            [email(50, "a@example.com"), email(51, BOUNCING), email(52, "b@example.com")]
        )

    assert results[0] == Sent(provider_message_id="<arrears-message-50@arrears.test>")
    assert isinstance(results[1], GatewayError) and results[1].code == "bounced"
    assert results[2] == Sent(provider_message_id="<arrears-message-52@arrears.test>")
    assert [rcpts for _, rcpts, _ in box.received] == [["a@example.com"], ["b@example.com"]]
    assert box.sessions == 1


def test_a_dropped_connection_is_reopened(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    with SmtpGateway(
        host="127.0.0.1", port=port, user="", password="", starttls=False, sender=SENDER
    ) as gateway:
        gateway.send(email(60, "a@example.com"))
        assert gateway._connection is not None
        gateway._connection.close()  # as if the server had timed the idle connection out
        gateway.send(email(61, "b@example.com"))

    assert [message["Message-ID"] for _, _, message in box.received] == [
        "<arrears-message-60@arrears.test>",
        "<arrears-message-61@arrears.test>",
    ]
    assert box.sessions == 2


def test_settings_configure_the_gateway(settings: Any, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    settings.ARREARS_SMTP_HOST = "127.0.0.1"
    settings.ARREARS_SMTP_PORT = port
    settings.ARREARS_SMTP_USER = ""
    settings.ARREARS_SMTP_STARTTLS = False
    settings.ARREARS_EMAIL_FROM = "notices@bank.test"
    with SmtpGateway() as gateway:
        sent = gateway.send(email(70, "a@example.com"))

    assert sent.provider_message_id == "<arrears-message-70@bank.test>"
    assert box.received[0][0] == "notices@bank.test"


# --- through the outbox -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_address_that_bounces_fails_its_message_and_is_marked_invalid(
    mailbox: tuple[Mailbox, int], book: Book, action_codes: None
) -> None:
    """The sender against the real server: the 550 at RCPT ends the message at once (no
    retry), with a `bounced` event, and the address is invalid from then on (cadences and
    the guard use valid points only); the good address in the same batch arrives."""
    box, port = mailbox
    ensure_calendar()
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    case = book.case_alice
    account_state(
        case.account,
        as_of=dt.date(2026, 11, 24),
        overdue_fen=123_456,
        outstanding_fen=900_000,
        delinquent_since=dt.date(2026, 11, 9),
        bucket="M1",
        next_due_date=dt.date(2026, 12, 9),
    )
    template = approved_template(
        "COLLECT_MAIL",
        "${customer_name}您好，您的账户已逾期${days_past_due}天，请尽快还款。如需退订，请回复“退订”。",
        channel="email",
        subject="逾期提醒",
    )
    bouncing = ContactPointFactory(customer=case.customer, kind="email", value=BOUNCING)
    good = ContactPointFactory(customer=case.customer, kind="email", value="zhang.san@example.com")
    first = message_queue(case=case, contact_point=bouncing, template=template, actor=book.sam, now=at)
    second = message_queue(case=case, contact_point=good, template=template, actor=book.sam, now=at)
    gateway = SmtpGateway(host="127.0.0.1", port=port, user="", password="", starttls=False, sender=SENDER)

    with gateway:
        stats = outbox_send_due(now=at, gateways=lambda channel: gateway)

    first.refresh_from_db()
    second.refresh_from_db()
    bouncing.refresh_from_db()
    good.refresh_from_db()
    assert (stats.sent, stats.failed, stats.retried) == (1, 1, 0)
    assert (first.state, first.attempts) == (MessageState.FAILED, 1)
    assert (
        first.last_error
        == "bounced: RCPT 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
    )
    assert [e.kind for e in MessageEvent.objects.filter(message=first).order_by("id")] == [
        "queued",
        "bounced",
    ]
    assert (bouncing.is_valid, good.is_valid) == (False, True)
    assert second.state == MessageState.SENT
    assert [rcpt for _, rcpt, _ in box.received] == [["zhang.san@example.com"]]
