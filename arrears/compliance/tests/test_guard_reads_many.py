"""The batch read of the guard's inputs equals one read per question."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from arrears.cases.models import Activity, CaseHold
from arrears.compliance.selectors import guard_reads, guard_reads_many
from arrears.conftest import Book
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import ContactPointFactory, CustomerFactory

SH = ZoneInfo("Asia/Shanghai")


def _call(case, point, at, *, connected: bool) -> None:
    Activity.objects.create(
        case=case,
        customer=case.customer,
        contact_point=point,
        channel="call",
        direction="outbound",
        started_at=at,
        connected=connected,
        right_party=connected,
        action_code_id="RPC" if connected else "NA",
    )


def test_many_reads_are_the_same_as_one_read_each(book: Book, action_codes: None) -> None:
    ensure_calendar()
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    alice_case, bob_case = book.case_alice, book.case_bob
    bob_case.customer.time_zone = "Asia/Urumqi"
    bob_case.customer.save()
    alice_phone = ContactPointFactory(customer=alice_case.customer)
    ContactPointFactory(customer=alice_case.customer, kind="home", value="010-12345678")
    bob_phone = ContactPointFactory(customer=bob_case.customer)
    _call(alice_case, alice_phone, at - dt.timedelta(days=20), connected=True)  # too old, not the last one
    _call(alice_case, alice_phone, at - dt.timedelta(hours=3), connected=False)
    _call(alice_case, alice_phone, at - dt.timedelta(days=2), connected=True)
    _call(bob_case, bob_phone, at - dt.timedelta(days=1), connected=False)
    _call(bob_case, bob_phone, at + dt.timedelta(hours=1), connected=True)  # after the question: not read
    CaseHold.objects.create(case=bob_case, kind="dispute", reason="争议", placed_by=book.bob)
    # A third customer with nothing at all.
    stranger = book.case_unassigned
    stranger.customer = CustomerFactory()

    many = guard_reads_many(cases=[alice_case, bob_case, stranger, alice_case], at=at)

    for case, batch in zip([alice_case, bob_case, stranger, alice_case], many, strict=True):
        one = guard_reads(case=case, at=at)
        assert batch.history == one.history
        assert batch.self_phone_ids == one.self_phone_ids
        assert batch.holds == one.holds
        assert batch.calendar == one.calendar
        assert batch.outstanding_fen == one.outstanding_fen
        assert [(p.id, p.version) for p in batch.packs] == [(p.id, p.version) for p in one.packs]
    assert len(many[0].history) == 2
    assert many[1].holds == frozenset({"dispute"})
