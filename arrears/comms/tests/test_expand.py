"""The end-of-day expansion of the default cadence into outbox rows and reminder calls."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from arrears.comms.models import Message, MessageEvent, ReminderCall
from arrears.comms.selectors_pages import message_events
from arrears.comms.services import cadences_expand, cadences_seed_defaults
from arrears.comms.tests.outbox_helpers import account_state, approved_template
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CustomerFactory,
    InstalmentFactory,
)

D = dt.date(2026, 11, 24)  # a Tuesday: the day the messages go
NIGHT_BEFORE = D - dt.timedelta(days=1)  # the business date of the batch that queues them
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(db: None, action_codes: None):
    ensure_calendar()
    cadences_seed_defaults()
    templates = {
        code: approved_template(code, f"{code} ${{customer_name}} 回复TD退订", template_class=cls)
        for code, cls in (("REMIND_T3", "reminder"), ("REMIND_T0", "reminder"), ("COLLECT_D5", "collection"))
    }
    due_soon = AccountFactory(account_no="DUE-SOON")
    account_state(due_soon, as_of=D, next_due_date=D + dt.timedelta(days=3))
    InstalmentFactory(account=due_soon, seq=10, due_date=D + dt.timedelta(days=3), principal_due_fen=105_000)
    due_soon_mobile = ContactPointFactory(customer=due_soon.customer, kind="mobile")

    overdue = AccountFactory(account_no="DPD-5")
    account_state(
        overdue, as_of=D, overdue_fen=50_000, delinquent_since=D - dt.timedelta(days=5), bucket="M1"
    )
    overdue_case = CaseFactory(account=overdue, status="in_progress", bucket_group="M1")
    ContactPointFactory(
        customer=overdue.customer,
        kind="mobile",
        do_not_contact=True,
        do_not_contact_reason="opt_out",
        do_not_contact_since=D,
    )
    overdue_mobile = ContactPointFactory(customer=overdue.customer, kind="mobile")
    ContactPointFactory(customer=overdue.customer, kind="mobile", owner_role="spouse")

    opted_out = AccountFactory(account_no="DPD-5-OPTED-OUT")
    account_state(
        opted_out, as_of=D, overdue_fen=50_000, delinquent_since=D - dt.timedelta(days=5), bucket="M1"
    )
    # Replied 退订: no SMS to it (its calls are another matter).
    ContactPointFactory(customer=opted_out.customer, kind="mobile", opted_out_channels=["sms"])

    far_west = AccountFactory(
        account_no="DUE-SOON-WEST", customer=CustomerFactory(time_zone="Asia/Urumqi", name="艾力")
    )
    account_state(far_west, as_of=D, next_due_date=D + dt.timedelta(days=3))
    ContactPointFactory(customer=far_west.customer, kind="mobile")

    not_due = AccountFactory(account_no="DPD-4")
    account_state(
        not_due, as_of=D, overdue_fen=50_000, delinquent_since=D - dt.timedelta(days=4), bucket="M1"
    )
    ContactPointFactory(customer=not_due.customer, kind="mobile")
    return templates, due_soon, due_soon_mobile, overdue, overdue_case, overdue_mobile, far_west


def test_the_batch_queues_t3_reminders_and_day_5_collection_messages(world) -> None:
    _, _, due_soon_mobile, _, overdue_case, overdue_mobile, _ = world

    queued = cadences_expand(business_date=NIGHT_BEFORE)

    assert queued == 3
    rows = {
        m.account.account_no: m
        for m in Message.objects.select_related("account", "template_version__template").order_by("id")
    }
    assert sorted(rows) == ["DPD-5", "DUE-SOON", "DUE-SOON-WEST"]
    reminder = rows["DUE-SOON"]
    assert (reminder.case_id, reminder.contact_point_id, reminder.channel, reminder.template_class) == (
        None,
        due_soon_mobile.pk,
        "sms",
        "reminder",
    )
    assert reminder.template_version.template.code == "REMIND_T3"
    assert reminder.scheduled_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    assert (reminder.state, reminder.source, reminder.body) == ("queued", "cadence", "")
    collection = rows["DPD-5"]
    assert (collection.case_id, collection.contact_point_id, collection.template_version.template.code) == (
        overdue_case.pk,
        overdue_mobile.pk,
        "COLLECT_D5",
    )
    # 10:00 in Urumqi's own zone.
    assert rows["DUE-SOON-WEST"].scheduled_at == dt.datetime(
        2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Urumqi")
    )
    # No event row per queued message: the history shows the row's own queueing first.
    assert MessageEvent.objects.count() == 0
    history = message_events(message=collection)
    assert [(e.pk, e.kind, e.at, e.data) for e in history] == [
        (
            None,
            "queued",
            collection.created_at,
            {"source": "cadence", "cadence_step": collection.cadence_step_id},
        )
    ]


def test_running_the_expansion_again_queues_nothing_more(world) -> None:
    cadences_expand(business_date=NIGHT_BEFORE)
    assert cadences_expand(business_date=NIGHT_BEFORE) == 0
    assert Message.objects.count() == 3
    assert ReminderCall.objects.count() == 2


def test_reminder_calls_appear_three_working_days_before_due(world) -> None:
    _, due_soon, *_ = world
    cadences_expand(business_date=NIGHT_BEFORE)
    call = ReminderCall.objects.get(account=due_soon)
    assert (call.due_date, call.call_from, call.amount_fen) == (D + dt.timedelta(days=3), D, 105_000)


def test_a_reminder_to_an_account_without_a_case_is_sent_with_its_decision(world, settings, tmp_path) -> None:
    from arrears.comms.gateways.file import FileGateway
    from arrears.comms.services import outbox_send_due
    from arrears.compliance.models import Decision

    settings.ARREARS_OUTBOX_DIR = tmp_path
    cadences_expand(business_date=NIGHT_BEFORE)
    gateway = FileGateway()

    stats = outbox_send_due(now=dt.datetime(2026, 11, 24, 10, 0, 30, tzinfo=SH), gateways=lambda c: gateway)

    reminder = Message.objects.get(account__account_no="DUE-SOON")
    assert (reminder.state, reminder.case_id, reminder.activity_id) == ("sent", None, None)
    assert reminder.body == "REMIND_T3 张三 回复TD退订"
    decision = Decision.objects.get(pk=reminder.decision_id)
    assert (decision.case_id, decision.purpose, decision.allowed) == (None, "send", True)
    # Urumqi's 10:00 (12:00 in Shanghai) is not due yet: that one is not even claimed.
    assert (stats.claimed, stats.sent) == (2, 2)
