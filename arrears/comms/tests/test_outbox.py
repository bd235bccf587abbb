"""The outbox sender: guard at send time, deferral, blocking, retries, idempotence."""

from __future__ import annotations

import datetime as dt
import json
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from arrears.cases.models import Activity, CaseHold
from arrears.comms.gateways.base import GatewayError
from arrears.comms.gateways.file import FileGateway
from arrears.comms.models import Message, MessageEvent, MessageSource, MessageState
from arrears.comms.services import MessageRefused, message_cancel, message_queue, outbox_send_due
from arrears.comms.tests.outbox_helpers import RecordingGateway, account_state, approved_template
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory

SH = ZoneInfo("Asia/Shanghai")
BODY = (
    "${customer_name}您好，您尾号${account_last4}的账户已逾期${days_past_due}天，"
    "逾期金额${overdue_amount}元，请尽快还款。咨询${hotline}。回复TD退订"
)


@pytest.fixture
def setup(book: Book, action_codes: None, settings, tmp_path):
    ensure_calendar()
    settings.ARREARS_OUTBOX_DIR = tmp_path / "outbox"
    settings.ARREARS_OUTBOX_BACKOFF_SECONDS = 60
    settings.ARREARS_OUTBOX_MAX_ATTEMPTS = 3
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
    mobile = ContactPointFactory(customer=case.customer, kind="mobile", value="13800138000")
    template = approved_template("COLLECT_TEST", BODY)
    return book, case, mobile, template


def _queue(book, case, mobile, template, at: dt.datetime) -> Message:
    return message_queue(
        case=case, contact_point=mobile, template=template, actor=book.sam, scheduled_at=at, now=at
    )


def test_a_due_message_is_rendered_checked_sent_and_logged(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    gateway = FileGateway()

    stats = outbox_send_due(now=at, gateways=lambda channel: gateway)

    message.refresh_from_db()
    assert (stats.claimed, stats.sent) == (1, 1)
    assert message.state == MessageState.SENT
    expected = (
        "张三您好，您尾号LICE的账户已逾期15天，逾期金额1,234.56元，请尽快还款。咨询400-000-0000。回复TD退订"
    )
    assert message.body == expected
    assert (message.gateway, message.provider_message_id, message.attempts) == (
        "file",
        f"file:sms:{message.pk}",
        1,
    )
    written = json.loads((gateway.directory / "sms" / f"{message.pk:012d}.json").read_text(encoding="utf-8"))
    assert (written["to"], written["body"], written["provider_template_code"]) == (
        "13800138000",
        expected,
        "SMS_COLLECT_TEST",
    )
    decision = Decision.objects.get(pk=message.decision_id)
    assert (decision.purpose, decision.allowed, decision.channel) == ("send", True, "sms")
    activity = Activity.objects.get(pk=message.activity_id)
    assert (activity.case_id, activity.channel, activity.action_code_id, activity.direction) == (
        case.pk,
        "sms",
        "SENT",
        "outbound",
    )
    assert activity.notes == f"[COLLECT_TEST v1] {expected}"
    assert list(MessageEvent.objects.filter(message=message).values_list("kind", flat=True)) == [
        "queued",
        "sent",
    ]


def test_queued_at_2059_but_sent_after_2100_waits_for_the_next_morning(setup) -> None:
    book, case, mobile, template = setup
    queued_at = dt.datetime(2026, 11, 24, 20, 59, tzinfo=SH)
    message = _queue(book, case, mobile, template, queued_at)
    gateway = RecordingGateway()

    stats = outbox_send_due(now=dt.datetime(2026, 11, 24, 21, 0, 30, tzinfo=SH), gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (stats.deferred, stats.sent, gateway.sent) == (1, 0, [])
    assert message.state == MessageState.QUEUED
    assert message.next_attempt_at == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    deferred = MessageEvent.objects.get(message=message, kind="deferred")
    assert deferred.data["rules"] == ["H1"]
    assert Activity.objects.filter(case=case).count() == 0

    # Nothing is due before 08:00; at 08:00 it goes.
    assert (
        outbox_send_due(now=dt.datetime(2026, 11, 25, 7, 59, tzinfo=SH), gateways=lambda c: gateway).claimed
        == 0
    )
    outbox_send_due(now=dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH), gateways=lambda c: gateway)
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert [m.message_id for m in gateway.sent] == [message.pk]


def test_a_message_the_guard_would_only_allow_too_late_is_blocked(setup) -> None:
    book, case, mobile, template = setup
    # Queued for 10:00 two days ago; at 21:30 today the next allowed time is past its validity.
    message = _queue(book, case, mobile, template, dt.datetime(2026, 11, 22, 10, 0, tzinfo=SH))
    gateway = RecordingGateway()

    outbox_send_due(now=dt.datetime(2026, 11, 24, 21, 30, tzinfo=SH), gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (message.state, message.last_error, gateway.sent) == (MessageState.BLOCKED, "expired", [])


def test_a_case_on_hold_blocks_the_message_with_the_rule(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    CaseHold.objects.create(case=case, kind="dispute", reason="客户提出争议", placed_by=book.alice)
    gateway = RecordingGateway()

    stats = outbox_send_due(now=at, gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (stats.blocked, message.state, gateway.sent) == (1, MessageState.BLOCKED, [])
    blocked = MessageEvent.objects.get(message=message, kind="blocked")
    assert blocked.data["rules"] == ["H6"]
    assert Activity.objects.filter(case=case).count() == 0


def test_a_collection_message_for_an_account_paid_since_is_blocked(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    account_state(case.account, as_of=dt.date(2026, 11, 24), overdue_fen=0, bucket="M0")
    gateway = RecordingGateway()

    outbox_send_due(now=at, gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (message.state, message.last_error, gateway.sent) == (MessageState.BLOCKED, "nothing_overdue", [])


def test_a_failed_attempt_is_retried_after_the_backoff_and_sent_once(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    gateway = RecordingGateway(failures=[GatewayError("timeout", retryable=True, code="timeout")])

    first = outbox_send_due(now=at, gateways=lambda c: gateway)
    message.refresh_from_db()
    assert (first.retried, message.state, message.attempts) == (1, MessageState.QUEUED, 1)
    assert message.next_attempt_at == at + dt.timedelta(seconds=60)
    assert message.last_error == "timeout: timeout"

    assert outbox_send_due(now=at + dt.timedelta(seconds=59), gateways=lambda c: gateway).claimed == 0
    outbox_send_due(now=at + dt.timedelta(seconds=60), gateways=lambda c: gateway)
    outbox_send_due(now=at + dt.timedelta(seconds=600), gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (message.state, message.attempts) == (MessageState.SENT, 2)
    assert [m.message_id for m in gateway.sent] == [message.pk]
    assert list(MessageEvent.objects.filter(message=message).values_list("kind", flat=True)) == [
        "queued",
        "attempt_failed",
        "sent",
    ]
    assert Activity.objects.filter(case=case, action_code_id="SENT").count() == 1


def test_retries_end_in_failed_with_the_reason(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    gateway = RecordingGateway(failures=[GatewayError("throttled", retryable=True, code="throttled")] * 3)

    for minutes in (0, 2, 5, 10):
        outbox_send_due(now=at + dt.timedelta(minutes=minutes), gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (
        MessageState.FAILED,
        3,
        "throttled: throttled",
    )
    assert gateway.sent == []
    assert Activity.objects.filter(case=case).count() == 0


def test_a_permanent_error_fails_at_once(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    gateway = RecordingGateway(
        failures=[GatewayError("illegal number", retryable=False, code="illegal_number")]
    )

    stats = outbox_send_due(now=at, gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (stats.failed, message.state, message.attempts) == (1, MessageState.FAILED, 1)


def test_a_sender_that_died_mid_send_does_not_send_twice(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    # A sender claimed it and died before recording the answer.
    Message.objects.filter(pk=message.pk).update(
        state=MessageState.SENDING, claimed_until=at + dt.timedelta(minutes=5)
    )
    gateway = RecordingGateway()

    assert outbox_send_due(now=at + dt.timedelta(minutes=1), gateways=lambda c: gateway).claimed == 0
    outbox_send_due(now=at + dt.timedelta(minutes=6), gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (message.state, message.last_error, gateway.sent) == (MessageState.FAILED, "outcome_unknown", [])


def test_an_idempotent_gateway_gets_a_stale_message_again(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    Message.objects.filter(pk=message.pk).update(state=MessageState.SENDING, claimed_until=at)
    gateway = FileGateway()

    outbox_send_due(now=at + dt.timedelta(minutes=6), gateways=lambda c: gateway)

    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert len(list((gateway.directory / "sms").iterdir())) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_senders_at_once_send_each_message_exactly_once(
    book: Book, action_codes: None, settings, tmp_path
) -> None:
    ensure_calendar()
    case = book.case_alice
    account_state(
        case.account,
        as_of=dt.date(2026, 11, 24),
        overdue_fen=5_000,
        delinquent_since=dt.date(2026, 11, 9),
        bucket="M1",
    )
    template = approved_template("COLLECT_TEST", BODY)
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    points = [ContactPointFactory(customer=case.customer, kind="mobile") for _ in range(4)]
    for index in range(40):
        message_queue(
            case=case, contact_point=points[index % 4], template=template, actor=None, scheduled_at=at, now=at
        )
    gateway = RecordingGateway()
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            outbox_send_due(now=at, limit=7, gateways=lambda c: gateway)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sent_ids = [m.message_id for m in gateway.sent]
    assert len(sent_ids) == 40
    assert len(set(sent_ids)) == 40
    assert Message.objects.filter(state=MessageState.SENT).count() == 40
    assert Activity.objects.filter(case=case, action_code_id="SENT").count() == 40
    # Each message points at its own decision (stored in batches, matched back by order).
    pairs = Message.objects.values_list("contact_point_id", "decision__contact_point_id", "decision__purpose")
    assert all(point == decided and purpose == "send" for point, decided, purpose in pairs)


def test_queueing_refuses_a_template_without_approval_and_a_wrong_point(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    email = ContactPointFactory(customer=case.customer, kind="email", value="zhang@example.com")
    with pytest.raises(MessageRefused) as wrong_kind:
        message_queue(case=case, contact_point=email, template=template, actor=book.sam, now=at)
    assert wrong_kind.value.field == "contact_point_id"
    template.current_version = None
    template.save()
    with pytest.raises(MessageRefused) as unapproved:
        message_queue(case=case, contact_point=mobile, template=template, actor=book.sam, now=at)
    assert unapproved.value.field == "template"
    assert Message.objects.count() == 0
    assert MessageEvent.objects.count() == 0


def test_a_manual_message_is_marked_manual(setup) -> None:
    book, case, mobile, template = setup
    message = _queue(book, case, mobile, template, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH))
    assert (message.source, message.created_by_id, message.template_version_id) == (
        MessageSource.MANUAL,
        book.sam.pk,
        template.current_version_id,
    )


def test_an_sms_opt_out_blocks_messages_to_that_number_but_not_calls(setup) -> None:
    from arrears.compliance.services import guard_check

    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    mobile.opted_out_channels = ["sms"]
    mobile.save(update_fields=["opted_out_channels"])
    gateway = RecordingGateway()

    outbox_send_due(now=at, gateways=lambda c: gateway)

    message.refresh_from_db()
    assert (message.state, gateway.sent) == (MessageState.BLOCKED, [])
    assert MessageEvent.objects.get(message=message, kind="blocked").data["rules"] == ["H5"]
    call = guard_check(case=case, channel="call", contact_point=mobile, at=at, store=False)
    assert (call.allowed, call.result["violations"]) == (True, [])


def test_a_cancelled_message_is_never_sent(setup) -> None:
    book, case, mobile, template = setup
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    message = _queue(book, case, mobile, template, at)
    message_cancel(message=message, actor=book.sam, reason="客户已结清", now=at)
    gateway = RecordingGateway()

    stats = outbox_send_due(now=at + dt.timedelta(minutes=1), gateways=lambda channel: gateway)

    message.refresh_from_db()
    assert (stats.claimed, gateway.sent, message.state, message.attempts) == (
        0,
        [],
        MessageState.CANCELLED,
        0,
    )
    assert not Activity.objects.filter(case=case).exists()
