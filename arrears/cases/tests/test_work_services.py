"""The collector's work services: activities through the guard, promises, tasks, holds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from arrears.cases.models import (
    Activity,
    CaseEvent,
    CaseEventKind,
    CaseHold,
    CaseStatus,
    Promise,
    PromiseKind,
    PromiseStatus,
    Task,
    TaskKind,
)
from arrears.cases.services import (
    ContactRefused,
    WorkRefused,
    activity_log,
    contact_point_update,
    customer_update,
    hold_place,
    hold_release,
    promise_make,
    promises_settle,
)
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.tests.factories import ContactPointFactory, PaymentFactory

SH = ZoneInfo("Asia/Shanghai")
# A Tuesday, an ordinary working day.
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SH)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


@pytest.fixture
def case(book: Book):
    case = book.case_alice
    case.bucket_group = "M1"
    case.bucket_code = "M1-1"
    case.save()
    return case


@pytest.fixture
def mobile(case):
    return ContactPointFactory(customer=case.customer, kind="mobile", owner_role="self")


def call(case, actor, point, at, code="RPC", **extra):
    connected = code not in ("NA", "BUSY", "OFF", "EMPTY")
    values = dict(
        case=case,
        actor=actor,
        channel="call",
        contact_point=point,
        direction="outbound",
        started_at=at,
        connected=connected,
        right_party=connected and code != "TPC",
        action_code=code,
        now=NOW,
    )
    values.update(extra)
    return activity_log(**values)


def test_an_allowed_call_is_logged_with_its_decision_event_and_sla(case, mobile, book: Book) -> None:
    activity = call(
        case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), notes="客户说月底还"
    )

    stored = Activity.objects.get()
    assert stored.pk == activity.pk
    assert (
        stored.action_code_id,
        stored.channel,
        stored.direction,
        stored.connected,
        stored.right_party,
    ) == (
        "RPC",
        "call",
        "outbound",
        True,
        True,
    )
    assert stored.decision is not None and stored.decision.allowed is True
    assert stored.decision.purpose == "activity"
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.last_activity_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    # M1: the next activity is due by the end of the next local day.
    assert case.followup_due_at == dt.datetime(2026, 11, 26, 0, 0, tzinfo=SH)
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.ACTIVITY)
    assert (event.to_value, event.actor) == ("RPC", book.alice)


def test_a_call_at_21_30_is_refused_with_the_reason_and_nothing_is_logged(case, mobile, book: Book) -> None:
    with pytest.raises(ContactRefused) as refused:
        call(case, book.alice, mobile, dt.datetime(2026, 11, 23, 21, 30, tzinfo=SH))

    decision = refused.value.decision
    assert decision.allowed is False
    assert [v["rule"] for v in decision.result["violations"]] == ["H1"]
    assert decision.next_allowed_at == dt.datetime(2026, 11, 24, 8, 0, tzinfo=SH)
    assert Activity.objects.count() == 0
    assert Decision.objects.filter(pk=decision.pk).exists()
    denied = CaseEvent.objects.get(case=case, kind=CaseEventKind.CONTACT_DENIED)
    assert denied.to_value == "H1"
    case.refresh_from_db()
    assert (case.status, case.last_activity_at) == (CaseStatus.NEW, None)


def test_notes_with_insults_or_threats_are_refused_with_the_words(case, mobile, book: Book) -> None:
    for notes, words in (("客户是白痴", ["白痴"]), ("我们会去法院抓你", ["法院", "抓你"])):
        with pytest.raises(ContactRefused) as refused:
            call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), notes=notes)
        h12 = [v for v in refused.value.decision.result["violations"] if v["rule"] == "H12"]
        assert [f["word"] for f in h12[0]["findings"]] == words
        assert all(notes[f["start"] : f["end"]] == f["word"] for f in h12[0]["findings"])
    assert Activity.objects.count() == 0


def test_inbound_notes_are_screened_but_not_the_hour(case, mobile, book: Book) -> None:
    inbound = dict(direction="inbound")
    late = dt.datetime(2026, 11, 23, 22, 30, tzinfo=SH)
    activity = call(case, book.alice, mobile, late, **inbound)
    assert activity.decision is None
    with pytest.raises(ContactRefused):
        call(case, book.alice, mobile, late, notes="老赖", **inbound)
    assert Activity.objects.count() == 1


def test_a_promise_makes_a_followup_task_an_hour_before_and_a_second_one_is_ptp2(
    case, mobile, book: Book
) -> None:
    due = dt.datetime(2026, 11, 25, 18, 0, tzinfo=SH)
    call(
        case,
        book.alice,
        mobile,
        dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH),
        code="PTP",
        promise_amount_fen=150_000,
        promise_due_at=due,
    )
    first = Promise.objects.get()
    assert (first.kind, first.amount_fen, first.due_at, first.status) == ("PTP", 150_000, due, "open")
    task = Task.objects.get(promise=first)
    assert (task.kind, task.due_at, task.assigned_to) == (
        TaskKind.PROMISE_FOLLOWUP,
        due - dt.timedelta(hours=1),
        book.alice,
    )

    second = promise_make(case=case, actor=book.alice, amount_fen=80_000, due_at=due, now=NOW)
    first.refresh_from_db()
    task.refresh_from_db()
    assert (second.kind, first.status, task.done_at) == (PromiseKind.PTP2, PromiseStatus.CANCELLED, NOW)
    kinds = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))
    assert kinds == ["activity", "promise_made", "promise_cancelled", "promise_made"]


@pytest.mark.parametrize(
    ("due", "field"),
    [
        (dt.datetime(2026, 11, 24, 14, 0, tzinfo=SH), "promise_due_at"),  # in the past
        (dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH), "promise_due_at"),  # M1: beyond 2 days
        (dt.datetime(2026, 11, 25, 10, 0), "promise_due_at"),  # naive
    ],
)
def test_bad_promises_are_refused_and_nothing_is_written(case, mobile, book: Book, due, field) -> None:
    with pytest.raises(WorkRefused) as refused:
        call(
            case,
            book.alice,
            mobile,
            dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH),
            code="PTP",
            promise_amount_fen=10_000,
            promise_due_at=due,
        )
    assert refused.value.field == field
    assert (
        Activity.objects.count(),
        Promise.objects.count(),
        Task.objects.count(),
        Decision.objects.count(),
    ) == (
        0,
        0,
        0,
        0,
    )


def test_promises_are_kept_partial_or_broken_from_payments(case, book: Book) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH), tick=False):
        kept = promise_make(
            case=case,
            actor=book.alice,
            amount_fen=50_000,
            due_at=NOW + dt.timedelta(hours=3),
            now=NOW - dt.timedelta(hours=6),
        )
    PaymentFactory(
        account=case.account,
        txn_id="T1",
        paid_at=dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH),
        amount_fen=50_000,
    )
    assert promises_settle(now=NOW).kept == 1
    kept.refresh_from_db()
    assert (kept.status, kept.paid_fen) == (PromiseStatus.KEPT, 50_000)
    assert CaseEvent.objects.filter(case=case, kind="promise_kept", to_value="KP").count() == 1
    assert promises_settle(now=NOW).kept == 0  # re-running changes nothing


def test_an_unpaid_promise_past_its_time_is_broken_and_a_part_paid_one_partial(case, book: Book) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH), tick=False):
        broken = promise_make(
            case=case,
            actor=book.alice,
            amount_fen=50_000,
            due_at=NOW - dt.timedelta(hours=1),
            now=NOW - dt.timedelta(hours=6),
        )
    counts = promises_settle(now=NOW)
    broken.refresh_from_db()
    assert (counts.broken, broken.status, broken.paid_fen) == (1, PromiseStatus.BROKEN, 0)

    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH), tick=False):
        partial = promise_make(
            case=case,
            actor=book.alice,
            amount_fen=50_000,
            due_at=NOW - dt.timedelta(hours=1),
            now=NOW - dt.timedelta(hours=6),
        )
    PaymentFactory(
        account=case.account,
        txn_id="T2",
        paid_at=dt.datetime(2026, 11, 24, 11, 0, tzinfo=SH),
        amount_fen=20_000,
    )
    counts = promises_settle(now=NOW)
    partial.refresh_from_db()
    assert (counts.partial, partial.status, partial.paid_fen) == (1, PromiseStatus.PARTIAL, 20_000)
    assert list(
        CaseEvent.objects.filter(case=case, kind__in=["promise_broken", "promise_partial"]).values_list(
            "to_value", flat=True
        )
    ) == ["BP", "BP"]


def test_wrong_number_invalidates_the_point_and_the_next_call_is_refused(case, mobile, book: Book) -> None:
    call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), code="WN", right_party=False)
    mobile.refresh_from_db()
    assert mobile.is_valid is False
    with pytest.raises(ContactRefused) as refused:
        call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 11, 0, tzinfo=SH))
    assert [v["reason"] for v in refused.value.decision.result["violations"]] == ["contact_point_invalid"]


def test_a_dispute_hold_stops_contact_until_released(case, mobile, book: Book) -> None:
    hold = hold_place(case=case, actor=book.alice, kind="dispute", reason="客户称从未借款")
    case.refresh_from_db()
    assert case.status == CaseStatus.ON_HOLD
    with pytest.raises(ContactRefused) as refused:
        call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH))
    assert [v["rule"] for v in refused.value.decision.result["violations"]] == ["H6"]
    assert Activity.objects.count() == 0

    hold_release(hold=hold, actor=book.sam, note="核实为本人借款")
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH))
    assert Activity.objects.count() == 1
    kinds = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))
    assert kinds == ["hold_placed", "contact_denied", "hold_released", "activity"]


def test_a_deceased_hold_on_another_case_of_the_customer_stops_this_one(case, mobile, book: Book) -> None:
    from arrears.tests.factories import AccountFactory, CaseFactory

    other = CaseFactory(account=AccountFactory(customer=case.customer, product=case.account.product))
    hold_place(case=other, actor=book.sam, kind="deceased", reason="家属告知")
    with pytest.raises(ContactRefused) as refused:
        call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH))
    assert refused.value.decision.result["violations"][0]["parameters"] == {"holds": "deceased"}
    assert CaseHold.objects.filter(case=case).count() == 0


def test_a_refusing_third_party_is_marked_do_not_contact_and_never_called_again(
    case, mobile, book: Book
) -> None:
    friend = ContactPointFactory(customer=case.customer, kind="mobile", owner_role="friend")
    with pytest.raises(WorkRefused) as refused:
        contact_point_update(point=friend, actor=book.alice, do_not_contact=True)
    assert refused.value.field == "reason"
    contact_point_update(point=friend, actor=book.alice, do_not_contact=True, reason="第三方拒绝")
    friend.refresh_from_db()
    assert (friend.do_not_contact, friend.do_not_contact_reason) == (True, "第三方拒绝")
    with pytest.raises(ContactRefused) as denied:
        call(case, book.alice, friend, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), code="TPC")
    assert "H5" in [v["rule"] for v in denied.value.decision.result["violations"]]
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.CONTACT_POINT_CHANGED).count() == 1


def test_protected_customer_called_yesterday_waits_a_day(case, mobile, book: Book) -> None:
    customer_update(customer=case.customer, actor=book.alice, protected_reason="illness")
    call(case, book.alice, mobile, dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH))
    with pytest.raises(ContactRefused) as refused:
        call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH))
    assert refused.value.decision.next_allowed_at == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    assert Activity.objects.count() == 1


def test_customer_time_zone_is_validated_and_used(case, mobile, book: Book) -> None:
    with pytest.raises(WorkRefused) as refused:
        customer_update(customer=case.customer, actor=book.alice, time_zone="Mars/Olympus")
    assert refused.value.field == "timezone"
    customer_update(customer=case.customer, actor=book.alice, time_zone="Asia/Urumqi")
    case.customer.refresh_from_db()
    # 09:30 in Shanghai is 07:30 in Urumqi: before the window there.
    with pytest.raises(ContactRefused) as denied:
        call(case, book.alice, mobile, dt.datetime(2026, 11, 24, 9, 30, tzinfo=SH))
    assert denied.value.decision.next_allowed_at == dt.datetime(
        2026, 11, 24, 8, 0, tzinfo=ZoneInfo("Asia/Urumqi")
    )


def test_system_codes_and_inconsistent_flags_are_refused(case, mobile, book: Book) -> None:
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    for code, extra, field in (
        ("KP", {}, "action_code"),
        ("NOPE", {}, "action_code"),
        ("NA", {"right_party": True}, "right_party"),
        ("RPC", {"connected": False, "right_party": False}, "connected"),
        ("RPC", {"started_at": NOW + dt.timedelta(hours=1)}, "started_at"),
    ):
        with pytest.raises(WorkRefused) as refused:
            call(case, book.alice, mobile, at, code=code, **extra)
        assert refused.value.field == field
    assert (Activity.objects.count(), Decision.objects.count()) == (0, 0)


def test_a_visit_needs_two_visitors_and_a_recording(case, book: Book) -> None:
    address = ContactPointFactory(
        customer=case.customer, kind="address", owner_role="self", value="北京市海淀区某路1号"
    )
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    visit = dict(
        case=case,
        actor=book.alice,
        channel="visit",
        contact_point=address,
        direction="outbound",
        started_at=at,
        connected=True,
        right_party=True,
        action_code="RPC",
        now=NOW,
    )
    for extra, reasons in (
        ({"visitors": 1, "recording_ref": "VID-1"}, {"visit_too_few_staff"}),
        ({"visitors": 2}, {"visit_not_recorded"}),
    ):
        with pytest.raises(ContactRefused) as refused:
            activity_log(**visit, **extra)
        assert {v["reason"] for v in refused.value.decision.result["violations"]} == reasons
    assert Activity.objects.count() == 0
    logged = activity_log(**visit, visitors=2, recording_ref="VID-2")
    assert (logged.channel, logged.recording_ref) == ("visit", "VID-2")
