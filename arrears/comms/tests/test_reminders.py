"""The reminder desk (还款提醒, seed 003): which calls a day shows, recording their outcomes,
who may use the page, and what it costs in queries."""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from arrears.accounts.models import Role
from arrears.audit.models import AuditAction, AuditEntry
from arrears.cases.models import CaseHold, HoldKind
from arrears.comms import reminder_selectors, views_reminders
from arrears.comms.models import ReminderCall
from arrears.comms.reminder_selectors import reminder_desk
from arrears.comms.reminder_services import reminder_call_done
from arrears.comms.services import cadences_expand, cadences_seed_defaults
from arrears.comms.tests.outbox_helpers import account_state, approved_template
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.delinquency.tests.books import ensure_calendar
from arrears.portfolio.models import Account, ContactPoint
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CustomerFactory,
    InstalmentFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db]

SH = ZoneInfo("Asia/Shanghai")
D = dt.date(2026, 11, 24)  # a Tuesday
FRIDAY = dt.date(2026, 11, 27)  # due in three working days: its calls start on D
MONDAY = dt.date(2026, 11, 30)  # its calls start tomorrow
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    translation.deactivate()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _call(
    account_no: str,
    name: str,
    *,
    due: dt.date,
    call_from: dt.date,
    amount: int,
    paid: int = 0,
    instalment_fen: int | None = None,
    mobile: str = "",
) -> ReminderCall:
    account = AccountFactory(
        account_no=account_no, customer=CustomerFactory(name=name), instalment_fen=instalment_fen
    )
    account_state(account, as_of=D - dt.timedelta(days=1), next_due_date=due)
    if paid:
        Account.objects.filter(pk=account.pk).update(paid_fen=paid)
    if mobile:
        # A relative's number first: the desk must pick the customer's own.
        ContactPointFactory(
            customer=account.customer, kind="mobile", owner_role="spouse", value="13900000001"
        )
        ContactPointFactory(customer=account.customer, kind="mobile", owner_role="self", value=mobile)
    return ReminderCall.objects.create(account=account, due_date=due, call_from=call_from, amount_fen=amount)


@pytest.fixture
def desk(db: None) -> dict[str, ReminderCall]:
    calls = {
        "BIG": _call("BIG", "王大", due=FRIDAY, call_from=D, amount=200_000, mobile="13812345678"),
        "SMALL": _call("SMALL", "李小", due=FRIDAY, call_from=D, amount=50_000, mobile="13812340002"),
        # Paid 35,000 of 80,000: 45,000 still to pay.
        "PARTIAL": _call("PARTIAL", "赵半", due=FRIDAY, call_from=D, amount=80_000, paid=35_000),
        # A derived schedule: the batch writes 0, the desk uses the account's instalment.
        "DERIVED": _call("DERIVED", "钱生", due=FRIDAY, call_from=D, amount=0, instalment_fen=70_000),
        "DUE-TODAY": _call("DUE-TODAY", "孙今", due=D, call_from=D - dt.timedelta(days=5), amount=30_000),
        # Absent: the calls start tomorrow; already paid; due date passed; a remainder below
        # the product's tolerance (1,000 fen).
        "TOMORROW": _call("TOMORROW", "周明", due=MONDAY, call_from=D + dt.timedelta(days=1), amount=90_000),
        "PAID": _call("PAID", "吴已", due=FRIDAY, call_from=D, amount=100_000, paid=100_000),
        "PAST": _call(
            "PAST", "郑过", due=D - dt.timedelta(days=1), call_from=D - dt.timedelta(days=6), amount=40_000
        ),
        "CRUMBS": _call("CRUMBS", "冯零", due=FRIDAY, call_from=D, amount=100_000, paid=99_500),
    }
    # Done yesterday with "promised": not called again before the due date.
    done = _call("DONE", "陈诺", due=FRIDAY, call_from=D - dt.timedelta(days=1), amount=60_000)
    ReminderCall.objects.filter(pk=done.pk).update(
        done_at=dt.datetime(2026, 11, 23, 15, 0, tzinfo=SH), outcome="promised"
    )
    calls["DONE"] = done
    return calls


def _own_mobile(call: ReminderCall) -> ContactPoint:
    return ContactPoint.objects.get(customer_id=call.account.customer_id, owner_role="self", kind="mobile")


def _to_call(day: dt.date = D) -> list[str]:
    return [line.reminder.account.account_no for line in reminder_desk(day=day).to_call]


# --- the desk ------------------------------------------------------------------------------------


def test_the_desk_lists_the_unpaid_calls_of_the_day_by_due_date_then_amount(desk) -> None:
    result = reminder_desk(day=D)
    assert [line.reminder.account.account_no for line in result.to_call] == [
        "DUE-TODAY",
        "BIG",
        "DERIVED",
        "SMALL",
        "PARTIAL",
    ]
    assert [(line.to_pay_fen, line.days_left) for line in result.to_call] == [
        (30_000, 0),
        (200_000, 3),
        (70_000, 3),
        (50_000, 3),
        (45_000, 3),
    ]
    big = result.to_call[1]
    assert (big.customer_name, big.mobile_masked, big.creditor_name, big.product_name) == (
        "王大",
        "138****5678",
        "示范银行",
        "现金贷",
    )
    assert (big.outcome_code, big.final_check) == ("", False)
    assert result.to_call[2].mobile_masked == ""  # no mobile of their own
    assert result.done == []


def test_yesterdays_desk_shows_what_was_done_that_day(desk) -> None:
    yesterday = reminder_desk(day=D - dt.timedelta(days=1))
    assert [line.reminder.account.account_no for line in yesterday.done] == ["DONE"]
    assert yesterday.done[0].outcome_label == "答应存款"
    assert [line.reminder.account.account_no for line in yesterday.to_call] == ["PAST", "DUE-TODAY"]


def test_the_desk_costs_four_queries_whatever_its_size(desk, django_assert_num_queries) -> None:
    ReminderCall.objects.filter(pk=desk["PAID"].pk).update(done_at=NOW, outcome="deposited")
    with django_assert_num_queries(4):
        small = reminder_desk(day=D)
    for n in range(5):
        _call(f"MORE-{n}", "加", due=FRIDAY, call_from=D, amount=10_000 + n, mobile=f"1370000000{n}")
    with django_assert_num_queries(4):
        large = reminder_desk(day=D)
        masked = [line.mobile_masked for line in large.to_call]
    assert (len(small.to_call), len(large.to_call)) == (5, 10)
    assert "137****0004" in masked


def _accounts(lines) -> list[str]:
    return [line.reminder.account.account_no for line in lines]


def test_the_desk_is_paged_with_the_days_totals(desk, django_assert_num_queries) -> None:
    # The page and its mobiles, a count (the first page does not hold every call), the done list.
    with django_assert_num_queries(4):
        first = reminder_desk(day=D, per_page=2)
    second = reminder_desk(day=D, page=2, per_page=2)
    last = reminder_desk(day=D, page=3, per_page=2)
    beyond = reminder_desk(day=D, page=9, per_page=2)

    assert [
        (_accounts(d.to_call), d.page, d.pages, d.to_call_total) for d in (first, second, last, beyond)
    ] == [
        (["DUE-TODAY", "BIG"], 1, 3, 5),
        (["DERIVED", "SMALL"], 2, 3, 5),
        (["PARTIAL"], 3, 3, 5),
        (["PARTIAL"], 3, 3, 5),  # past the last page: the last
    ]


def test_the_done_list_shows_the_latest_and_counts_the_day(desk, monkeypatch) -> None:
    monkeypatch.setattr(reminder_selectors, "DONE_SHOWN", 2)
    for n, (name, outcome) in enumerate(
        [("BIG", "deposited"), ("SMALL", "promised"), ("PARTIAL", "deposited:已转账"), ("DERIVED", "other:x")]
    ):
        ReminderCall.objects.filter(pk=desk[name].pk).update(
            done_at=dt.datetime(2026, 11, 24, 9, n, tzinfo=SH), outcome=outcome
        )

    result = reminder_desk(day=D)

    assert (_accounts(result.done), result.done_total, result.deposited) == (["DERIVED", "PARTIAL"], 4, 2)
    assert _accounts(result.to_call) == ["DUE-TODAY"]


def test_a_payment_loaded_during_the_day_removes_the_call_at_once(desk) -> None:
    Account.objects.filter(account_no="SMALL").update(paid_fen=50_000)
    assert "SMALL" not in _to_call()


# --- recording outcomes ---------------------------------------------------------------------------


def test_deposited_closes_the_call_and_writes_one_event(book: Book, desk) -> None:
    reminder_call_done(reminder=desk["BIG"], actor=book.tina, outcome="deposited", now=NOW)

    call = ReminderCall.objects.get(pk=desk["BIG"].pk)
    assert (call.done_at, call.done_by, call.outcome) == (NOW, book.tina, "deposited")
    result = reminder_desk(day=D)
    assert "BIG" not in [line.reminder.account.account_no for line in result.to_call]
    assert [line.reminder.account.account_no for line in result.done] == ["BIG"]
    assert (len(result.to_call), len(result.done), result.deposited) == (4, 1, 1)
    event = Event.objects.get(kind="comms.reminder_call")
    assert (event.actor, event.subject_type, event.subject_id) == (book.tina, "comms.remindercall", call.pk)
    # The guard was asked about the call at its time, to the mobile the desk shows, and said yes.
    decision = Decision.objects.get()
    assert (decision.allowed, decision.case, decision.contact_point, decision.channel) == (
        True,
        None,
        _own_mobile(call),
        "call",
    )
    assert (decision.at, decision.purpose, decision.asked_by) == (NOW, "activity", book.tina)
    assert event.data == {
        "account_id": call.account_id,
        "due_date": "2026-11-27",
        "outcome": "deposited",
        "note": "",
        "closed": True,
        "previous": {"outcome": "", "done_at": None},
        "decision": decision.pk,
    }


def test_no_answer_keeps_the_call_open_and_records_the_attempt(book: Book, desk) -> None:
    reminder_call_done(reminder=desk["SMALL"], actor=book.sam, outcome="no_answer", note="关机", now=NOW)
    reminder_call_done(reminder=desk["SMALL"], actor=book.sam, outcome="no_answer", now=NOW)

    call = ReminderCall.objects.get(pk=desk["SMALL"].pk)
    assert (call.done_at, call.done_by, call.outcome) == (None, None, "no_answer")
    result = reminder_desk(day=D)
    small = next(line for line in result.to_call if line.reminder.pk == call.pk)
    assert (small.outcome_code, small.outcome_label) == ("no_answer", "未接通")
    assert result.done == []
    assert [e.data["closed"] for e in Event.objects.filter(kind="comms.reminder_call").order_by("id")] == [
        False,
        False,
    ]


def test_other_needs_a_note_and_stores_it(book: Book, desk) -> None:
    with pytest.raises(ValidationError) as refused:
        reminder_call_done(reminder=desk["SMALL"], actor=book.sam, outcome="other", note="  ", now=NOW)
    assert refused.value.message_dict == {"note": ["备注：结果为“其他”时请写明情况。"]}
    with pytest.raises(ValidationError) as unknown:
        reminder_call_done(reminder=desk["SMALL"], actor=book.sam, outcome="shouted", now=NOW)
    assert unknown.value.message_dict == {"outcome": ["通话结果：请选择一个有效的结果。"]}
    with pytest.raises(ValidationError) as long_note:
        reminder_call_done(
            reminder=desk["SMALL"], actor=book.sam, outcome="promised", note="长" * 188, now=NOW
        )
    assert list(long_note.value.message_dict) == ["note"]
    assert Event.objects.count() == 0
    assert ReminderCall.objects.get(pk=desk["SMALL"].pk).outcome == ""

    reminder_call_done(reminder=desk["SMALL"], actor=book.sam, outcome="other", note="客户已  改期", now=NOW)
    assert ReminderCall.objects.get(pk=desk["SMALL"].pk).outcome == "other:客户已 改期"
    done = reminder_desk(day=D).done[0]
    assert (done.outcome_label, done.outcome_note) == ("其他", "客户已 改期")


def test_a_done_call_is_refused_before_its_due_date(book: Book, desk) -> None:
    with pytest.raises(ValidationError) as refused:
        reminder_call_done(reminder=desk["DONE"], actor=book.sam, outcome="deposited", now=NOW)
    assert refused.value.message_dict == {"outcome": ["通话结果：这条提醒已处理。"]}
    with pytest.raises(ValidationError) as late:
        reminder_call_done(reminder=desk["PAST"], actor=book.sam, outcome="deposited", now=NOW)
    assert late.value.message_dict == {"outcome": ["通话结果：还款日已过，这条提醒已结束。"]}
    assert Event.objects.count() == 0


def test_on_the_due_date_every_customer_still_unpaid_is_checked_again(book: Book, desk) -> None:
    friday_morning = dt.datetime(2026, 11, 27, 9, 0, tzinfo=SH)
    # The batch of Thursday night: the state still waits for Friday's instalment.
    for call in ReminderCall.objects.filter(due_date=FRIDAY):
        account_state(call.account, as_of=FRIDAY - dt.timedelta(days=1), next_due_date=FRIDAY)
    reminder_call_done(reminder=desk["BIG"], actor=book.sam, outcome="deposited", now=NOW)

    friday = reminder_desk(day=FRIDAY)
    lines = {line.reminder.account.account_no: line for line in friday.to_call}
    # Said 已存款 on Tuesday, promised on Monday: the money is not in, so both come back
    # (and Monday's calls have started).
    assert sorted(lines) == ["BIG", "DERIVED", "DONE", "PARTIAL", "SMALL", "TOMORROW"]
    assert (lines["BIG"].final_check, lines["BIG"].outcome_label) == (True, "已存款")
    assert lines["SMALL"].final_check is False

    reminder_call_done(
        reminder=desk["BIG"], actor=book.sam, outcome="promised", note="下午存", now=friday_morning
    )
    assert ReminderCall.objects.get(pk=desk["BIG"].pk).done_at == friday_morning
    assert "BIG" not in [line.reminder.account.account_no for line in reminder_desk(day=FRIDAY).to_call]


@pytest.mark.parametrize("persona", ["alice", "agnes", Role.QA, Role.COMPLIANCE_OFFICER])
def test_roles_off_the_desk_cannot_record(book: Book, desk, persona) -> None:
    actor = getattr(book, persona) if persona in ("alice", "agnes") else UserFactory(role=persona)
    with pytest.raises(PermissionDenied):
        reminder_call_done(reminder=desk["BIG"], actor=actor, outcome="deposited", now=NOW)
    assert Event.objects.count() == 0
    assert ReminderCall.objects.get(pk=desk["BIG"].pk).done_at is None


# --- the compliance guard -------------------------------------------------------------------------

LATE = dt.datetime(2026, 11, 24, 21, 30, tzinfo=SH)
H1_AT_2130 = "当地时间 21:30 CST 不在联系时段 08:00–21:00 内"


def _refusal(reminder: ReminderCall, actor, *, now: dt.datetime, outcome: str = "no_answer") -> str:
    with pytest.raises(ValidationError) as refused:
        reminder_call_done(reminder=reminder, actor=actor, outcome=outcome, now=now)
    assert list(refused.value.message_dict) == ["outcome"]
    [message] = refused.value.message_dict["outcome"]
    return message


def _assert_refused_and_unchanged(
    book: Book, call: ReminderCall, *, now: dt.datetime, rules: list[str]
) -> None:
    """The denial is stored with its event; the call and everything else are as they were."""
    assert ReminderCall.objects.filter(pk=call.pk, outcome="", done_at=None, done_by=None).count() == 1
    assert Event.objects.filter(kind="comms.reminder_call").count() == 0
    decision = Decision.objects.get()
    assert (decision.allowed, decision.case, decision.contact_point, decision.channel) == (
        False,
        None,
        _own_mobile(call),
        "call",
    )
    assert (decision.at, decision.purpose, decision.asked_by) == (now, "activity", book.sam)
    event = Event.objects.get()
    assert (event.kind, event.actor, event.subject_type, event.subject_id) == (
        "comms.reminder_contact_denied",
        book.sam,
        "comms.remindercall",
        call.pk,
    )
    assert event.data == {
        "account_id": call.account_id,
        "due_date": call.due_date.isoformat(),
        "outcome": "no_answer",
        "decision": decision.pk,
        "channel": "call",
        "contact_point_id": _own_mobile(call).pk,
        "at": now.isoformat(),
        "rules": rules,
    }


def test_a_call_at_half_past_nine_in_the_evening_is_refused_until_eight_next_morning(
    book: Book, desk
) -> None:
    message = _refusal(desk["BIG"], book.sam, now=LATE)

    assert message == (
        f"通话结果：合规检查不允许此次通话：{H1_AT_2130}。最早可联系：2026-11-25 08:00（客户当地时间）。"
    )
    _assert_refused_and_unchanged(book, desk["BIG"], now=LATE, rules=["H1"])
    decision = Decision.objects.get()
    assert decision.next_allowed_at == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    assert [(v["rule"], v["reason"]) for v in decision.result["violations"]] == [
        ("H1", "outside_contact_window")
    ]


def test_the_refusal_is_in_the_readers_language(book: Book, desk) -> None:
    translation.activate("en")
    message = _refusal(desk["BIG"], book.sam, now=LATE)

    assert message == (
        "Outcome: the compliance guard does not allow this call: Local time 21:30 CST is outside the contact"
        " window 08:00–21:00. Allowed from: 2026-11-25 08:00 (customer's local time)."
    )


def test_a_call_on_a_statutory_holiday_is_refused_until_the_holiday_ends(book: Book, db: None) -> None:
    ensure_calendar()
    # Due the day after National Day week: its calls start before the holiday.
    call = _call(
        "HOLIDAY",
        "国庆",
        due=dt.date(2026, 10, 9),
        call_from=dt.date(2026, 9, 28),
        amount=50_000,
        mobile="13812340009",
    )
    national_day = dt.datetime(2026, 10, 1, 10, 0, tzinfo=SH)

    message = _refusal(call, book.sam, now=national_day)

    assert message == (
        "通话结果：合规检查不允许此次通话：2026-10-01 是法定节假日，不得催收联系。"
        "最早可联系：2026-10-08 08:00（客户当地时间）。"
    )
    _assert_refused_and_unchanged(book, call, now=national_day, rules=["H2"])


def test_a_mobile_marked_do_not_contact_is_refused_for_good(book: Book, desk) -> None:
    ContactPoint.objects.filter(customer_id=desk["SMALL"].account.customer_id, owner_role="self").update(
        do_not_contact=True, do_not_contact_reason="客户要求", do_not_contact_since=NOW
    )

    message = _refusal(desk["SMALL"], book.sam, now=NOW)

    assert message == "通话结果：合规检查不允许此次通话：该联系方式已标记为勿扰（客户要求）。不会自动解除。"
    _assert_refused_and_unchanged(book, desk["SMALL"], now=NOW, rules=["H5"])
    assert Decision.objects.get().next_allowed_at is None


def test_a_deceased_hold_on_another_case_of_the_customer_stops_the_call(book: Book, desk) -> None:
    # The customer's other, overdue account has a case with a hold about the person.
    other = CaseFactory(account=AccountFactory(account_no="OTHER", customer=desk["BIG"].account.customer))
    CaseHold.objects.create(case=other, kind=HoldKind.DECEASED, reason="家属告知")

    message = _refusal(desk["BIG"], book.sam, now=NOW)

    assert message == "通话结果：合规检查不允许此次通话：案件停催中：deceased。不会自动解除。"
    _assert_refused_and_unchanged(book, desk["BIG"], now=NOW, rules=["H6"])


def test_a_customer_without_a_mobile_of_their_own_cannot_have_been_called(book: Book, desk) -> None:
    message = _refusal(desk["DERIVED"], book.sam, now=NOW, outcome="deposited")

    assert message == "通话结果：客户没有本人手机，无法记录提醒电话。"
    assert (Decision.objects.count(), Event.objects.count()) == (0, 0)
    assert ReminderCall.objects.get(pk=desk["DERIVED"].pk).done_at is None


def test_todays_desk_shows_the_guards_answer_for_calling_each_mobile_now(desk) -> None:
    at_ten = {
        line.reminder.account.account_no: line.guard for line in reminder_desk(day=D, guard_at=NOW).to_call
    }
    late = reminder_desk(day=D, guard_at=LATE).to_call

    assert {no: (g.allowed, g.reasons) if g else None for no, g in at_ten.items()} == {
        "DUE-TODAY": None,  # no mobile: nothing to ask
        "BIG": (True, []),
        "DERIVED": None,
        "SMALL": (True, []),
        "PARTIAL": None,
    }
    big = late[1].guard
    assert big is not None
    assert (big.allowed, big.reasons, big.next_allowed_at) == (
        False,
        [H1_AT_2130],
        dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH),
    )
    assert reminder_desk(day=D).to_call[1].guard is None  # not asked without a time
    assert Decision.objects.count() == 0  # previews are not stored


def test_the_page_shows_why_a_call_may_not_be_made(book: Book, desk, clock) -> None:
    ContactPoint.objects.filter(customer_id=desk["SMALL"].account.customer_id, owner_role="self").update(
        do_not_contact=True, do_not_contact_reason="客户要求", do_not_contact_since=NOW
    )

    html = client_for(book.sam).get("/comms/reminders/").content.decode()

    assert html.count('data-testid="reminder-guard" data-allowed="true"') == 1  # BIG
    assert html.count('data-testid="reminder-guard" data-allowed="false"') == 1  # SMALL
    assert "暂不可拨打" in html and "可以拨打" in html
    assert "<li>该联系方式已标记为勿扰（客户要求）</li>" in html
    assert "不会自动解除" in html
    assert Decision.objects.count() == 0


def test_the_page_late_in_the_evening_says_when_calling_may_resume(book: Book, desk, clock) -> None:
    clock.move_to(LATE)

    html = client_for(book.sam).get("/comms/reminders/").content.decode()

    assert html.count('data-testid="reminder-guard" data-allowed="false"') == 2  # BIG and SMALL
    assert html.count(f"<li>{H1_AT_2130}</li>") == 2
    assert html.count("最早可联系：2026-11-25 08:00（客户当地时间）") == 2
    refused = client_for(book.sam).post(
        f"/comms/reminders/{desk['BIG'].pk}/outcome/", {"outcome": "deposited"}, **HTMX
    )
    assert f"通话结果：合规检查不允许此次通话：{H1_AT_2130}。" in refused.content.decode()
    assert ReminderCall.objects.get(pk=desk["BIG"].pk).done_at is None
    assert list(Event.objects.values_list("kind", flat=True)) == ["comms.reminder_contact_denied"]


# --- the batch fills the desk ---------------------------------------------------------------------


def test_the_nightly_batch_puts_the_calls_on_the_desk(db: None) -> None:
    ensure_calendar()
    cadences_seed_defaults()
    for code in ("REMIND_T3", "REMIND_T0"):
        approved_template(code, f"{code} ${{customer_name}} 回复TD退订", template_class="reminder")
    due_friday = AccountFactory(account_no="DUE-FRI", customer=CustomerFactory(name="王五"))
    account_state(due_friday, as_of=D - dt.timedelta(days=1), next_due_date=FRIDAY)
    InstalmentFactory(account=due_friday, seq=10, due_date=FRIDAY, principal_due_fen=105_000)
    due_monday = AccountFactory(account_no="DUE-MON")
    account_state(due_monday, as_of=D - dt.timedelta(days=1), next_due_date=MONDAY)
    InstalmentFactory(account=due_monday, seq=10, due_date=MONDAY, principal_due_fen=105_000)

    cadences_expand(business_date=D - dt.timedelta(days=1))

    lines = reminder_desk(day=D).to_call
    assert [(line.reminder.account.account_no, line.to_pay_fen, line.days_left) for line in lines] == [
        ("DUE-FRI", 105_000, 3)
    ]


# --- the page -------------------------------------------------------------------------------------


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_the_page_shows_todays_desk_with_totals_and_forms(book: Book, desk, clock) -> None:
    page = client_for(book.tina).get("/comms/reminders/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="reminder-row"') == 5
    assert html.count('data-testid="reminder-form"') == 5
    assert "138****5678" in html and "13812345678" not in html
    assert "待提醒 5" in html and "已处理 0" in html
    assert 'href="/comms/reminders/"' in html  # the menu link


def test_another_day_is_read_only(book: Book, desk, clock) -> None:
    html = client_for(book.sam).get("/comms/reminders/", {"day": "2026-11-23"}, **HTMX).content.decode()
    assert html.startswith("\n<section") or html.lstrip().startswith("<section")
    assert 'data-testid="reminder-form"' not in html
    assert 'data-account="DONE"' in html  # done that day


def test_recording_through_the_page_swaps_the_desk(book: Book, desk, clock) -> None:
    url = f"/comms/reminders/{desk['BIG'].pk}/outcome/"
    html = client_for(book.sam).post(url, {"outcome": "deposited"}, **HTMX).content.decode()
    assert 'data-account="BIG"' in html
    assert html.count('data-testid="reminder-row"') == 4
    assert "已存款 1" in html
    assert Event.objects.filter(kind="comms.reminder_call", actor=book.sam).count() == 1


def test_a_refused_outcome_names_the_field_and_writes_nothing(book: Book, desk, clock) -> None:
    url = f"/comms/reminders/{desk['SMALL'].pk}/outcome/"
    html = client_for(book.sam).post(url, {"outcome": "other", "note": ""}, **HTMX).content.decode()
    assert "备注：结果为“其他”时请写明情况。" in html
    assert html.count('data-testid="reminder-row"') == 5
    done = client_for(book.sam).post(
        f"/comms/reminders/{desk['DONE'].pk}/outcome/", {"outcome": "deposited"}, **HTMX
    )
    assert "通话结果：这条提醒已处理。" in done.content.decode()
    assert Event.objects.count() == 0


def test_no_outcome_is_preselected_and_none_chosen_is_refused(book: Book, desk, clock) -> None:
    client = client_for(book.sam)
    page = client.get("/comms/reminders/").content.decode()
    url = f"/comms/reminders/{desk['SMALL'].pk}/outcome/"

    html = client.post(url, {"outcome": "", "note": ""}, **HTMX).content.decode()

    assert '<option value="" selected>请选择结果…</option>' in page
    assert "通话结果：请选择一个结果。" in html
    assert ReminderCall.objects.get(pk=desk["SMALL"].pk).outcome == ""
    assert (Event.objects.count(), Decision.objects.count()) == (0, 0)


@pytest.mark.parametrize("persona", ["alice", "agnes"])
def test_collectors_and_agencies_get_403_and_change_nothing(book: Book, desk, clock, persona) -> None:
    client = client_for(getattr(book, persona))
    assert client.get("/comms/reminders/").status_code == 403
    assert (
        client.post(f"/comms/reminders/{desk['BIG'].pk}/outcome/", {"outcome": "deposited"}).status_code
        == 403
    )
    assert (
        client.post(f"/comms/reminders/{desk['BIG'].pk}/mobile/", {"purpose": "verify_identity"}).status_code
        == 403
    )
    assert Event.objects.count() == 0
    assert AuditEntry.objects.filter(action=AuditAction.READ_UNMASKED).count() == 0
    assert ReminderCall.objects.get(pk=desk["BIG"].pk).done_at is None
    assert 'href="/comms/reminders/"' not in client.get("/").content.decode()


@pytest.mark.parametrize("persona", ["sam", "root", "tina"])
def test_the_desk_roles_may_open_the_page(book: Book, desk, clock, persona) -> None:
    assert client_for(getattr(book, persona)).get("/comms/reminders/").status_code == 200


def test_the_page_costs_a_fixed_number_of_queries(book: Book, desk, clock, django_assert_num_queries) -> None:
    client = client_for(book.sam)
    client.get("/comms/reminders/")  # warm the session
    # Session, user, the desk's three (nothing done yet: no mobiles to fetch for that list),
    # the guard's reads for every row at once, and what the middleware does on every request.
    with django_assert_num_queries(9):
        client.get("/comms/reminders/", **HTMX)
    for n in range(5):
        _call(f"MORE-{n}", "加", due=FRIDAY, call_from=D, amount=10_000 + n, mobile=f"1370000000{n}")
    with django_assert_num_queries(9):
        html = client.get("/comms/reminders/", **HTMX).content.decode()
    assert html.count('data-testid="reminder-row"') == 10
    assert html.count('data-testid="reminder-guard" data-allowed="true"') == 7  # every row with a mobile


def test_the_page_shows_one_page_of_calls_and_keeps_it_after_a_record(
    book: Book, desk, clock, monkeypatch
) -> None:
    monkeypatch.setattr(views_reminders, "reminder_desk", functools.partial(reminder_desk, per_page=2))
    client = client_for(book.sam)

    html = client.get("/comms/reminders/?page=2").content.decode()
    posted = client.post(
        f"/comms/reminders/{desk['SMALL'].pk}/outcome/", {"outcome": "deposited", "page": "2"}
    )
    after = client.get(posted["Location"]).content.decode()

    assert re.findall(r'data-testid="reminder-row" data-reminder="\d+" data-account="([A-Z-]+)"', html) == [
        "DERIVED",
        "SMALL",
    ]
    assert 'data-testid="reminder-page">第 2 / 3 页</span>' in html
    assert 'data-testid="total-to-call">待提醒 5</span>' in html
    assert posted["Location"] == "/comms/reminders/?page=2"
    assert re.findall(r'data-testid="reminder-row" data-reminder="\d+" data-account="([A-Z-]+)"', after) == [
        "DERIVED",
        "PARTIAL",
    ]
    assert 'data-testid="reminder-page">第 2 / 2 页</span>' in after


def test_the_full_mobile_is_shown_with_a_purpose_and_audited(book: Book, desk, clock) -> None:
    client = client_for(book.tina)
    url = f"/comms/reminders/{desk['BIG'].pk}/mobile/"
    assert 'data-testid="reveal-form"' in client.get(url).content.decode()
    shown = client.post(url, {"purpose": "verify_identity"}).content.decode()
    assert "13812345678" in shown
    entry = AuditEntry.objects.get(action=AuditAction.READ_UNMASKED)
    point = desk["BIG"].account.customer.contact_points.get(owner_role="self")
    assert (entry.actor, entry.object_type, entry.object_id) == (book.tina, "contact_point", str(point.pk))
    assert entry.summary == (
        f"查看联系方式明文：客户 {desk['BIG'].account.customer.customer_no}（还款提醒 #{desk['BIG'].pk}）"
    )
    # Outside today's window (calls from tomorrow) or without a mobile of one's own: 404.
    assert client.get(f"/comms/reminders/{desk['TOMORROW'].pk}/mobile/").status_code == 404
    assert client.get(f"/comms/reminders/{desk['DERIVED'].pk}/mobile/").status_code == 404


def test_the_page_in_english(book: Book, desk, clock) -> None:
    client = client_for(book.sam)
    client.cookies["django_language"] = "en"
    html = client.get("/comms/reminders/").content.decode()
    assert "Payment reminder" in html
    assert "Payment reminders of 2026-11-24" in html
    assert "To call 5" in html
