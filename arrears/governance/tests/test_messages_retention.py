"""Retention of message texts: finished outbox messages and received replies are anonymised.

Dates as in test_retention: applied as of 2032-01-01 with the seeded five-year policy, so the
cutoff is 2027-01-01 (Beijing midnight). The communications models are reached through the app
registry: governance, tests included, may not import the communications app (import-linter).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps

from arrears.accounts.models import Role
from arrears.core.models import Event
from arrears.governance.models import DataClass, RetentionPolicy, RetentionRun
from arrears.governance.services import legal_hold_place, retention_run
from arrears.governance.tests.test_retention import SHANGHAI, TODAY
from arrears.portfolio.models import Account, ContactPoint
from arrears.tests.factories import AccountFactory, ContactPointFactory, UserFactory

MESSAGES = DataClass.MESSAGES
OLD = dt.datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI)  # the day before the cutoff: due
YOUNG = dt.datetime(2027, 1, 1, 10, 0, tzinfo=SHANGHAI)  # the cutoff day itself: kept
LONG_AGO = dt.datetime(2026, 1, 1, 10, 0, tzinfo=SHANGHAI)

BODY = "张三您好,您尾号1237的贷款已逾期,欠款1,234.56元,请于今日还款。"
SUBJECT = "还款提醒"
VARIABLES = {"name": "张三", "amount": "1,234.56"}
REPLY = "我是张三,下周一还1234.56元"
ANONYMISED = ("已匿名", "已匿名", {})


def message_model() -> Any:
    return apps.get_model("comms", "Message")


def inbound_model() -> Any:
    return apps.get_model("comms", "InboundMessage")


def message(
    account: Account, *, state: str, created_at: dt.datetime, sent_at: dt.datetime | None = None
) -> int:
    point = ContactPoint.objects.filter(customer=account.customer).order_by("pk").first()
    made = message_model().objects.create(
        account=account,
        customer=account.customer,
        contact_point=point,
        channel="sms",
        template_class="reminder",
        source="manual",
        subject=SUBJECT,
        body=BODY,
        variables=VARIABLES,
        scheduled_at=created_at,
        next_attempt_at=created_at,
        state=state,
        sent_at=sent_at,
    )
    message_model().objects.filter(pk=made.pk).update(created_at=created_at)
    return made.pk


def inbound(*, received_at: dt.datetime, points: list[ContactPoint], provider_id: str) -> int:
    made = inbound_model().objects.create(
        channel="sms",
        gateway="smsapi",
        sender_masked="138****0001",
        text=REPLY,
        received_at=received_at,
        provider_message_id=provider_id,
    )
    made.contact_points.set(points)
    return made.pk


def texts(pk: int) -> tuple[str, str, dict[str, str]]:
    return message_model().objects.values_list("subject", "body", "variables").get(pk=pk)


def inbound_text(pk: int) -> tuple[str, str]:
    return inbound_model().objects.values_list("text", "sender_masked").get(pk=pk)


def all_texts() -> tuple[Any, ...]:
    return (
        tuple(message_model().objects.order_by("pk").values_list("subject", "body", "variables", "state")),
        tuple(inbound_model().objects.order_by("pk").values_list("text", "received_at")),
    )


@dataclass
class Outbox:
    account: Account
    point: ContactPoint
    sent_old: int  # sent the day before the cutoff
    sent_young: int  # delivered on the cutoff day, made long before
    blocked_old: int  # never sent, made the day before the cutoff
    delivered: int
    failed: int
    cancelled: int
    queued: int  # made long ago, still waiting
    sending: int  # made long ago, being sent


@pytest.fixture
def outbox(db: None) -> Outbox:
    account = AccountFactory()
    point = ContactPointFactory(customer=account.customer)
    return Outbox(
        account=account,
        point=point,
        sent_old=message(account, state="sent", created_at=LONG_AGO, sent_at=OLD),
        sent_young=message(account, state="delivered", created_at=LONG_AGO, sent_at=YOUNG),
        blocked_old=message(account, state="blocked", created_at=OLD),
        delivered=message(account, state="delivered", created_at=LONG_AGO, sent_at=LONG_AGO),
        failed=message(account, state="failed", created_at=LONG_AGO),
        cancelled=message(account, state="cancelled", created_at=LONG_AGO),
        queued=message(account, state="queued", created_at=LONG_AGO),
        sending=message(account, state="sending", created_at=LONG_AGO),
    )


def officer() -> Any:
    return UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)


def test_finished_messages_past_retention_are_anonymised_younger_and_unfinished_ones_kept(
    outbox: Outbox,
) -> None:
    report = retention_run(today=TODAY, dry_run=False)

    result = report.result(MESSAGES)
    assert (result.enabled, result.action, result.days, result.cutoff) == (
        True,
        "anonymise",
        1826,
        dt.date(2027, 1, 1),
    )
    assert (result.affected, result.skipped_for_hold, result.counts) == (
        5,
        0,
        {"messages": 5, "inbound_messages": 0},
    )
    for pk in (outbox.sent_old, outbox.blocked_old, outbox.delivered, outbox.failed, outbox.cancelled):
        assert texts(pk) == ANONYMISED
    for pk in (outbox.sent_young, outbox.queued, outbox.sending):
        assert texts(pk) == (SUBJECT, BODY, VARIABLES)
    # Only the texts go: the rows and their states stay.
    assert list(message_model().objects.order_by("pk").values_list("state", flat=True)) == [
        "sent",
        "delivered",
        "blocked",
        "delivered",
        "failed",
        "cancelled",
        "queued",
        "sending",
    ]
    run = RetentionRun.objects.get()
    assert run.results[MESSAGES]["affected"] == 5
    assert run.results[MESSAGES]["counts"] == {"messages": 5, "inbound_messages": 0}
    assert Event.objects.filter(kind="retention.applied", data__data_class=MESSAGES).count() == 1


def test_queued_and_sending_messages_are_never_anonymised_however_old(outbox: Outbox) -> None:
    RetentionPolicy.objects.filter(data_class=MESSAGES).update(days=30)  # cutoff 2031-12-02

    result = retention_run(today=TODAY, dry_run=False).result(MESSAGES)

    assert (result.affected, result.counts["messages"]) == (6, 6)
    assert texts(outbox.sent_young) == ANONYMISED
    assert texts(outbox.queued) == (SUBJECT, BODY, VARIABLES)
    assert texts(outbox.sending) == (SUBJECT, BODY, VARIABLES)


def test_a_message_of_a_customer_or_account_under_legal_hold_is_kept(outbox: Outbox) -> None:
    held_customer = AccountFactory()
    ContactPointFactory(customer=held_customer.customer)
    of_held_customer = message(held_customer, state="sent", created_at=LONG_AGO, sent_at=OLD)
    held_account = AccountFactory()
    ContactPointFactory(customer=held_account.customer)
    other_account = AccountFactory(customer=held_account.customer, creditor=held_account.creditor)
    of_held_account = message(held_account, state="delivered", created_at=LONG_AGO, sent_at=OLD)
    of_other_account = message(other_account, state="delivered", created_at=LONG_AGO, sent_at=OLD)
    legal_hold_place(customer=held_customer.customer, reason="诉讼中", actor=officer())
    legal_hold_place(account=held_account, reason="监管调查", actor=UserFactory(username="dave"))

    result = retention_run(today=TODAY, dry_run=False).result(MESSAGES)

    assert (result.affected, result.skipped_for_hold, result.counts) == (
        6,
        2,
        {"messages": 6, "inbound_messages": 0},
    )
    assert texts(of_held_customer) == (SUBJECT, BODY, VARIABLES)
    assert texts(of_held_account) == (SUBJECT, BODY, VARIABLES)
    # A hold on one account keeps that account's messages, not those of the customer's others.
    assert texts(of_other_account) == ANONYMISED
    assert texts(outbox.sent_old) == ANONYMISED


def test_replies_past_retention_are_anonymised_unless_a_matched_customer_is_held(db: None) -> None:
    plain = ContactPointFactory()
    held_by_customer = ContactPointFactory()
    held_account = AccountFactory()
    held_by_account = ContactPointFactory(customer=held_account.customer)
    old = inbound(received_at=OLD, points=[plain], provider_id="in-1")
    young = inbound(received_at=YOUNG, points=[plain], provider_id="in-2")
    unmatched = inbound(received_at=OLD, points=[], provider_id="in-3")
    # A number shared by two customers: the hold on one of them keeps the reply.
    shared = inbound(received_at=OLD, points=[plain, held_by_customer], provider_id="in-4")
    of_held_account = inbound(received_at=OLD, points=[held_by_account], provider_id="in-5")
    legal_hold_place(customer=held_by_customer.customer, reason="诉讼中", actor=officer())
    legal_hold_place(account=held_account, reason="监管调查", actor=UserFactory(username="dave"))

    result = retention_run(today=TODAY, dry_run=False).result(MESSAGES)

    assert (result.affected, result.skipped_for_hold, result.counts) == (
        2,
        2,
        {"messages": 0, "inbound_messages": 2},
    )
    assert inbound_text(old) == ("已匿名", "138****0001")
    assert inbound_text(unmatched) == ("已匿名", "138****0001")
    assert inbound_text(young) == (REPLY, "138****0001")
    assert inbound_text(shared) == (REPLY, "138****0001")
    assert inbound_text(of_held_account) == (REPLY, "138****0001")


def test_a_second_run_changes_nothing(outbox: Outbox) -> None:
    inbound(received_at=OLD, points=[outbox.point], provider_id="in-1")
    first = retention_run(today=TODAY, dry_run=False).result(MESSAGES)
    after_first = all_texts()

    second = retention_run(today=TODAY, dry_run=False).result(MESSAGES)

    assert (first.affected, first.counts) == (6, {"messages": 5, "inbound_messages": 1})
    assert (second.affected, second.skipped_for_hold, second.counts) == (
        0,
        0,
        {"messages": 0, "inbound_messages": 0},
    )
    assert all_texts() == after_first


def test_a_dry_run_changes_nothing_and_counts_what_the_run_does(outbox: Outbox) -> None:
    inbound(received_at=OLD, points=[outbox.point], provider_id="in-1")
    before = all_texts()

    dry = retention_run(today=TODAY, dry_run=True).result(MESSAGES)

    assert all_texts() == before
    real = retention_run(today=TODAY, dry_run=False).result(MESSAGES)
    assert (dry.affected, dry.skipped_for_hold, dry.counts) == (
        real.affected,
        real.skipped_for_hold,
        real.counts,
    )
    assert dry.counts == {"messages": 5, "inbound_messages": 1}


def test_a_disabled_policy_does_nothing(outbox: Outbox) -> None:
    old_reply = inbound(received_at=OLD, points=[outbox.point], provider_id="in-1")
    RetentionPolicy.objects.filter(data_class=MESSAGES).update(enabled=False)
    before = all_texts()

    result = retention_run(today=TODAY, dry_run=False).result(MESSAGES)

    assert (result.enabled, result.affected, result.skipped_for_hold, result.cutoff, result.note) == (
        False,
        0,
        0,
        None,
        "disabled",
    )
    assert all_texts() == before
    assert texts(outbox.sent_old) == (SUBJECT, BODY, VARIABLES)
    assert inbound_text(old_reply) == (REPLY, "138****0001")
    assert MESSAGES not in RetentionRun.objects.get().results
