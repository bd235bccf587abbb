"""Delivery receipts and inbound replies (services): delivered, undelivered, duplicates;
opt-outs by SMS and email, scoped to the one number or address."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from arrears.cases.models import CaseEvent
from arrears.comms.inbound import (
    Receipt,
    hard_bounce,
    inbound_receive,
    is_opt_out,
    normalize_reply,
    receipts_apply,
)
from arrears.comms.models import InboundMessage, MessageEvent, MessageState
from arrears.comms.tests.sms_helpers import EMAIL, MOBILE, OTHER_MOBILE, debtor, message
from arrears.core.models import Event
from arrears.portfolio.models import ContactPoint
from arrears.tests.factories import AccountFactory, CaseFactory, ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
REPORTED = dt.datetime(2026, 3, 10, 2, 0, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _events(message_id: int) -> list[tuple[str, dict]]:
    return list(MessageEvent.objects.filter(message_id=message_id).order_by("id").values_list("kind", "data"))


# --- receipts ---------------------------------------------------------------------------------


def test_a_delivered_receipt_marks_the_message_delivered_once() -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="9001^0"
    )
    report = Receipt(
        provider_message_id="9001^0", out_id=str(sent.pk), to=MOBILE, delivered=True, reported_at=REPORTED
    )

    assert receipts_apply(gateway="smsapi", reports=[report]) == 1
    assert receipts_apply(gateway="smsapi", reports=[report]) == 0

    sent.refresh_from_db()
    assert (sent.state, sent.delivered_at) == (MessageState.DELIVERED, REPORTED)
    assert _events(sent.pk) == [("delivered", {"gateway": "smsapi", "provider_message_id": "9001^0"})]


def test_a_receipt_is_matched_by_provider_id_when_no_out_id_comes_back() -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="9002^0"
    )

    changed = receipts_apply(
        gateway="smsapi",
        reports=[Receipt(provider_message_id="9002^0", delivered=True, reported_at=REPORTED)],
    )

    assert changed == 1
    sent.refresh_from_db()
    assert sent.state == MessageState.DELIVERED


def test_a_batch_receipt_is_told_apart_by_number() -> None:
    person = debtor()
    first = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="9003^0"
    )
    second = message(
        person.other_mobile, person.account, state="sent", gateway="smsapi", provider_message_id="9003^0"
    )

    changed = receipts_apply(
        gateway="smsapi",
        reports=[
            Receipt(provider_message_id="9003^0", to=OTHER_MOBILE, delivered=True, reported_at=REPORTED)
        ],
    )

    assert changed == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (MessageState.SENT, MessageState.DELIVERED)


def test_an_undelivered_receipt_keeps_the_message_sent_with_the_providers_error_once() -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="9004^0"
    )
    report = Receipt(
        provider_message_id="9004^0",
        out_id=str(sent.pk),
        to=MOBILE,
        delivered=False,
        error_code="MK:0001",
        error_message="用户关机",
        reported_at=REPORTED,
    )

    assert receipts_apply(gateway="smsapi", reports=[report]) == 1
    assert receipts_apply(gateway="smsapi", reports=[report]) == 0

    sent.refresh_from_db()
    assert (sent.state, sent.delivered_at, sent.last_error) == (MessageState.SENT, None, "MK:0001: 用户关机")
    assert _events(sent.pk) == [
        (
            "undelivered",
            {
                "gateway": "smsapi",
                "provider_message_id": "9004^0",
                "error_code": "MK:0001",
                "error_message": "用户关机",
            },
        )
    ]


def test_an_email_bounced_later_marks_the_address_invalid_once() -> None:
    person = debtor()
    case = CaseFactory(account=person.account, customer=person.account.customer)
    sent = message(person.email, person.account, state="sent", gateway="smtp", provider_message_id="<m-1>")
    report = Receipt(
        provider_message_id="<m-1>",
        out_id=str(sent.pk),
        to=EMAIL,
        delivered=False,
        error_code="5.1.1",
        error_message="User unknown",
        reported_at=REPORTED,
    )

    assert receipts_apply(gateway="smtp", reports=[report]) == 1
    assert receipts_apply(gateway="smtp", reports=[report]) == 0

    sent.refresh_from_db()
    person.email.refresh_from_db()
    assert (sent.state, sent.last_error) == (MessageState.SENT, "5.1.1: User unknown")
    assert _events(sent.pk) == [
        (
            "bounced",
            {
                "gateway": "smtp",
                "provider_message_id": "<m-1>",
                "error_code": "5.1.1",
                "error_message": "User unknown",
            },
        )
    ]
    assert (person.email.is_valid, person.email.do_not_contact) == (False, False)
    assert list(
        CaseEvent.objects.filter(case=case, kind="contact_point_changed").values_list("to_value", "data")
    ) == [
        (
            "bounced",
            {
                "contact_point_id": person.email.pk,
                "before": {"do_not_contact": False, "valid": True},
                "after": {"do_not_contact": False, "valid": False},
            },
        )
    ]
    # The mobile is another contact point: untouched.
    person.mobile.refresh_from_db()
    assert person.mobile.is_valid is True


@pytest.mark.parametrize(
    ("channel_point", "code"),
    [
        ("email", "4.2.2"),  # mailbox full: transient
        ("email", "452"),
        ("email", "bounce"),  # no SMTP code: not judged
        ("mobile", "550"),  # an SMS provider's codes are its own
    ],
)
def test_a_transient_or_non_email_failure_leaves_the_address_valid(channel_point: str, code: str) -> None:
    person = debtor()
    point = getattr(person, channel_point)
    sent = message(point, person.account, state="sent", gateway="x", provider_message_id="p-1")

    receipts_apply(
        gateway="x",
        reports=[Receipt(provider_message_id="p-1", delivered=False, error_code=code, reported_at=REPORTED)],
    )

    point.refresh_from_db()
    assert point.is_valid is True
    assert [kind for kind, _ in _events(sent.pk)] == ["undelivered"]


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        ("5.1.1", True),
        ("5.1.10", True),
        (" 550", True),
        ("554 5.7.1", True),
        ("4.2.2", False),
        ("421", False),
        ("5", False),
        ("50", False),
        ("5000", False),
        ("5.1", False),
        ("", False),
    ],
)
def test_hard_bounce_reads_smtp_codes(code: str, permanent: bool) -> None:
    assert hard_bounce(code) is permanent


def test_receipts_for_unknown_or_unsent_messages_change_nothing() -> None:
    person = debtor()
    queued = message(person.mobile, person.account)
    other_gateway = message(
        person.other_mobile, person.account, state="sent", gateway="file", provider_message_id="x"
    )

    changed = receipts_apply(
        gateway="smsapi",
        reports=[
            Receipt(out_id=str(queued.pk), delivered=True),
            Receipt(out_id=str(other_gateway.pk), delivered=True),
            Receipt(provider_message_id="nope", delivered=True),
            Receipt(out_id="not-a-number", delivered=True),
            Receipt(out_id="9" * 40, delivered=True),
        ],
    )

    assert changed == 0
    assert MessageEvent.objects.count() == 0
    assert {m.state for m in (queued, other_gateway)} == {MessageState.QUEUED, MessageState.SENT}


def test_a_receipt_for_a_message_still_sending_is_deferred() -> None:
    person = debtor()
    sending = message(
        person.mobile, person.account, state="sending", gateway="smsapi", provider_message_id="9006^0"
    )
    report = Receipt(out_id=str(sending.pk), delivered=True, reported_at=REPORTED)
    deferred: list[Receipt] = []

    assert receipts_apply(gateway="smsapi", reports=[report], deferred=deferred) == 0

    assert deferred == [report]
    sending.refresh_from_db()
    assert sending.state == MessageState.SENDING
    assert _events(sending.pk) == []


def test_a_batch_receipt_for_a_number_still_being_sent_is_deferred() -> None:
    person = debtor()
    message(person.mobile, person.account, state="sending")
    report = Receipt(provider_message_id="9007^0", to=f"+86{MOBILE}", delivered=True, reported_at=REPORTED)
    unknown = Receipt(provider_message_id="9008^0", to="13700000000", delivered=True, reported_at=REPORTED)
    deferred: list[Receipt] = []

    assert receipts_apply(gateway="smsapi", reports=[report, unknown], deferred=deferred) == 0

    assert deferred == [report]


def test_a_late_failure_report_does_not_undo_a_delivery() -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="9005^0"
    )
    receipts_apply(
        gateway="smsapi", reports=[Receipt(out_id=str(sent.pk), delivered=True, reported_at=REPORTED)]
    )

    changed = receipts_apply(
        gateway="smsapi", reports=[Receipt(out_id=str(sent.pk), delivered=False, error_code="MK:0005")]
    )

    assert changed == 0
    sent.refresh_from_db()
    assert sent.state == MessageState.DELIVERED
    assert [kind for kind, _ in _events(sent.pk)] == ["delivered"]


# --- opt-out words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "退订",
        "退订。",
        " 退订 ",
        "【退订】",
        "停止",
        "TD",
        "td",
        "ＴＤ",
        "T",
        "STOP",
        " stop ",
        "Stop!",
        "UNSUBSCRIBE",
        "拒收",
    ],
)
def test_opt_out_replies(reply: str) -> None:
    assert is_opt_out(reply) is True


@pytest.mark.parametrize("reply", ["我要退订", "stop it", "不要停止", "好的", "下周还款", "", "。"])
def test_replies_that_are_not_opt_outs(reply: str) -> None:
    assert is_opt_out(reply) is False


def test_an_email_opt_out_is_read_from_the_subject_or_the_first_own_line() -> None:
    assert is_opt_out("", channel="email", subject="Re: STOP") is True
    assert is_opt_out("", channel="email", subject="回复：退订") is True
    assert is_opt_out("unsubscribe\n\n> 张三您好……", channel="email", subject="Re: 还款提醒") is True
    assert is_opt_out("> STOP\n谢谢，下周还款", channel="email", subject="Re: 还款提醒") is False


def test_normalized_replies() -> None:
    assert normalize_reply("  ＳＴＯＰ！ ") == "stop"
    assert normalize_reply("“退订”") == "退订"


def test_a_pack_edited_opt_out_word_counts() -> None:
    from arrears.compliance.models import PolicyPackVersion
    from arrears.compliance.packs import PACKS

    params = dict(PACKS["us-regf"].params)
    params["opt_out_words"] = [*params["opt_out_words"], "取消订阅"]
    PolicyPackVersion.objects.create(pack="us-regf", version=2, params=params)

    assert is_opt_out("取消订阅") is True


# --- inbound replies --------------------------------------------------------------------------


def test_an_sms_opt_out_marks_that_number_and_cancels_its_queued_sms_only() -> None:
    person = debtor()
    case = CaseFactory(account=person.account)
    queued = message(person.mobile, person.account)
    queued_other = message(person.other_mobile, person.account)
    queued_email = message(person.email, person.account)
    already_sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="1^0"
    )

    inbound = inbound_receive(
        gateway="smsapi",
        channel="sms",
        sender="+86 139-0000-0001",
        text="退订",
        received_at=NOW,
        provider_message_id="77",
    )

    assert (inbound.sender_masked, inbound.text, inbound.opt_out, inbound.received_at) == (
        "139****0001",
        "退订",
        True,
        NOW,
    )
    assert list(inbound.contact_points.all()) == [person.mobile]
    person.mobile.refresh_from_db()
    person.other_mobile.refresh_from_db()
    person.email.refresh_from_db()
    # SMS only: the number may still be called (do-not-contact is untouched).
    assert (person.mobile.opted_out_channels, person.mobile.do_not_contact) == (["sms"], False)
    assert (person.other_mobile.opted_out_channels, person.email.opted_out_channels) == ([], [])
    states = {m.pk: m.state for m in (queued, queued_other, queued_email, already_sent)}
    for row in (queued, queued_other, queued_email, already_sent):
        row.refresh_from_db()
    assert {m.pk: m.state for m in (queued, queued_other, queued_email, already_sent)} == states | {
        queued.pk: MessageState.CANCELLED
    }
    assert queued.last_error == "opt_out"
    assert _events(queued.pk) == [("cancelled", {"reason": "opt_out", "inbound_message_id": inbound.pk})]
    assert _events(queued_other.pk) == _events(queued_email.pk) == _events(already_sent.pk) == []
    # The change is on the customer's case and in the event log, by the system (no user).
    case_events = list(CaseEvent.objects.filter(case=case, kind="contact_point_changed"))
    assert [(e.actor_id, e.to_value, e.data["contact_point_id"]) for e in case_events] == [
        (None, "opt_out:sms", person.mobile.pk)
    ]
    assert list(Event.objects.filter(kind="comms.inbound_received").values_list("subject_id", "data")) == [
        (
            inbound.pk,
            {
                "gateway": "smsapi",
                "channel": "sms",
                "opt_out": True,
                "contact_point_ids": [person.mobile.pk],
                "opted_out": [person.mobile.pk],
                "cancelled_message_ids": [queued.pk],
            },
        )
    ]


def test_a_repeated_push_is_stored_once_and_acts_once() -> None:
    person = debtor()
    first = inbound_receive(
        gateway="smsapi", channel="sms", sender=MOBILE, text="退订", received_at=NOW, provider_message_id="78"
    )
    queued_later = message(person.mobile, person.account)

    again = inbound_receive(
        gateway="smsapi", channel="sms", sender=MOBILE, text="退订", received_at=NOW, provider_message_id="78"
    )

    assert again.pk == first.pk
    assert InboundMessage.objects.count() == 1
    assert Event.objects.filter(kind="comms.inbound_received").count() == 1
    assert Event.objects.filter(kind="portfolio.contact_point_opted_out").count() == 1
    queued_later.refresh_from_db()
    assert queued_later.state == MessageState.QUEUED


def test_a_number_on_two_customers_files_is_opted_out_on_both() -> None:
    person = debtor()
    stranger = CustomerFactory()
    same_number = ContactPointFactory(customer=stranger, kind="mobile", owner_role="spouse", value=MOBILE)

    inbound = inbound_receive(
        gateway="smsapi",
        channel="sms",
        sender="8613900000001",
        text="STOP",
        received_at=NOW,
        provider_message_id="79",
    )

    assert sorted(p.pk for p in inbound.contact_points.all()) == sorted([person.mobile.pk, same_number.pk])
    assert set(
        ContactPoint.objects.filter(opted_out_channels__contains=["sms"]).values_list("pk", flat=True)
    ) == {
        person.mobile.pk,
        same_number.pk,
    }


def test_an_already_blocked_number_keeps_its_reason_and_a_second_opt_out_changes_nothing() -> None:
    person = debtor()
    ContactPoint.objects.filter(pk=person.mobile.pk).update(
        do_not_contact=True, do_not_contact_reason="第三方拒绝", do_not_contact_since=dt.date(2026, 1, 1)
    )

    inbound_receive(
        gateway="smsapi", channel="sms", sender=MOBILE, text="退订", received_at=NOW, provider_message_id="80"
    )
    inbound_receive(
        gateway="smsapi", channel="sms", sender=MOBILE, text="TD", received_at=NOW, provider_message_id="81"
    )

    person.mobile.refresh_from_db()
    assert (person.mobile.do_not_contact_reason, person.mobile.do_not_contact_since) == (
        "第三方拒绝",
        dt.date(2026, 1, 1),
    )
    assert person.mobile.opted_out_channels == ["sms"]
    assert Event.objects.filter(kind="portfolio.contact_point_changed").count() == 0
    assert Event.objects.filter(kind="portfolio.contact_point_opted_out").count() == 1


def test_an_email_stop_marks_that_address_and_cancels_its_queued_email_only() -> None:
    person = debtor()
    queued_email = message(person.email, person.account)
    queued_sms = message(person.mobile, person.account)

    inbound = inbound_receive(
        gateway="smtp",
        channel="email",
        sender="Zhang.San@EXAMPLE.com",
        subject="Re: 还款提醒",
        text="STOP\n\n> 张三您好……",
        received_at=NOW,
        provider_message_id="<reply-1@example.com>",
    )

    assert (inbound.opt_out, inbound.sender_masked, inbound.text) == (
        True,
        "Z***@EXAMPLE.com",
        "Re: 还款提醒\n\nSTOP\n\n> 张三您好……",
    )
    assert list(inbound.contact_points.all()) == [person.email]
    assert list(
        ContactPoint.objects.exclude(opted_out_channels=[]).values_list("pk", "opted_out_channels")
    ) == [(person.email.pk, ["email"])]
    queued_email.refresh_from_db()
    queued_sms.refresh_from_db()
    assert (queued_email.state, queued_sms.state) == (MessageState.CANCELLED, MessageState.QUEUED)
    assert EMAIL == "zhang.san@example.com"


def test_a_reply_that_is_not_an_opt_out_is_just_stored() -> None:
    person = debtor()
    queued = message(person.mobile, person.account)

    inbound = inbound_receive(
        gateway="smsapi",
        channel="sms",
        sender=MOBILE,
        text="我下周一还款",
        received_at=NOW,
        provider_message_id="81",
    )

    assert (inbound.opt_out, inbound.text, inbound.sender_masked) == (False, "我下周一还款", "139****0001")
    assert list(inbound.contact_points.all()) == [person.mobile]
    assert ContactPoint.objects.filter(do_not_contact=True).count() == 0
    queued.refresh_from_db()
    assert queued.state == MessageState.QUEUED
    assert MessageEvent.objects.count() == 0


def test_a_reply_from_an_unknown_number_is_stored_unlinked() -> None:
    AccountFactory()
    inbound = inbound_receive(
        gateway="smsapi",
        channel="sms",
        sender="13700000009",
        text="退订",
        received_at=NOW,
        provider_message_id="82",
    )

    assert (inbound.opt_out, inbound.sender_masked) == (True, "137****0009")
    assert list(inbound.contact_points.all()) == []
    assert ContactPoint.objects.filter(do_not_contact=True).count() == 0


def test_received_at_is_kept_as_given() -> None:
    moment = timezone.now() - dt.timedelta(hours=1)
    inbound = inbound_receive(
        gateway="smsapi",
        channel="sms",
        sender="13700000009",
        text="好",
        received_at=moment,
        provider_message_id="",
    )
    assert inbound.received_at == moment
