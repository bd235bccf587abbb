"""`guard_reads` fetches in one round trip exactly what the ORM queries it replaced read."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arrears.cases.models import Activity, CaseHold
from arrears.compliance import selectors
from arrears.compliance.packs import US_REGF, params_as_json
from arrears.compliance.services import creditor_packs_set, guard_check, pack_params_update
from arrears.delinquency.models import AccountState
from arrears.tests.factories import AccountFactory, CaseFactory, ContactPointFactory

from .test_guard_edges import SHANGHAI, ask, at, log, make_debtor, seeded, violations  # noqa: F401 (seeded: an autouse fixture)

pytestmark = pytest.mark.django_db


def test_the_reads_are_the_rows_the_orm_reads(db: None) -> None:
    debtor = make_debtor(time_zone="America/New_York")
    other = CaseFactory(account=AccountFactory(account_no="A-OTHER", customer=debtor.customer))
    when = at(2026, 3, 10, 10)
    for days, connected in ((0.1, True), (1.5, False), (3, True), (20, False), (30.9, True), (31.5, True)):
        log(debtor.case, debtor.mobile, when - dt.timedelta(days=days), connected=connected)
    log(other, debtor.home, when - dt.timedelta(hours=5), connected=True, direction="inbound")
    log(debtor.case, debtor.home, when + dt.timedelta(minutes=1))  # after the question: not read
    CaseHold.objects.create(case=other, kind="jail", reason="服刑")
    CaseHold.objects.create(case=other, kind="dispute", reason="另一笔")
    ContactPointFactory(
        customer=debtor.customer, kind="mobile", owner_role="self", value="13500000005", is_valid=False
    )
    creditor_packs_set(creditor=debtor.case.account.creditor, pack_ids=["cn-house", "us-regf"], actor=None)
    pack_params_update(
        pack_id="us-regf", params={**params_as_json(US_REGF.params), "conversation_quiet_days": 5}, actor=None
    )

    reads = selectors.guard_reads(case=debtor.case, at=when)

    orm_history = list(
        Activity.objects.filter(
            customer_id=debtor.customer.pk,
            started_at__gte=when - dt.timedelta(days=selectors.HISTORY_DAYS),
            started_at__lt=when,
        )
        .order_by("-started_at", "-id")
        .values(*selectors.HISTORY_COLUMNS)
    )
    assert reads.history == orm_history
    assert len(reads.history) == 6
    assert [(pack.id, pack.version) for pack in reads.packs] == [("cn-house", 1), ("us-regf", 2)]
    assert reads.packs == tuple(selectors.packs_for_creditor(debtor.case.account.creditor_id))
    assert reads.holds == selectors._active_holds(debtor.case)
    assert reads.self_phone_ids == {debtor.mobile.pk, debtor.home.pk}
    assert reads.calendar == selectors.calendar_around(dt.date(2026, 3, 9))  # New York's date then
    assert reads.outstanding_fen is None


def test_one_round_trip_for_the_reads_and_one_insert(db: None) -> None:
    debtor = make_debtor()
    for hour in range(1, 9):
        log(debtor.case, debtor.mobile, at(2026, 3, 9, hour))

    with CaptureQueriesContext(connection) as queries:
        ask(debtor, at(2026, 3, 10, 10))

    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert statements == ["SELECT", "INSERT"]


def test_the_balance_comes_from_the_delinquency_state(db: None) -> None:
    debtor = make_debtor()
    AccountState.objects.create(
        account=debtor.case.account,
        as_of=dt.date(2026, 3, 9),
        outstanding_fen=30_000,
        bucket_code="M1",
        bucket_group="M1",
    )

    decision = ask(debtor, at(2026, 3, 10, 10), notes="再不还就把你列入失信被执行人")

    assert decision.inputs["case"]["balance_fen"] == 30_000
    assert violations(decision) == [("H12", "prohibited_language")]
    assert decision.result["violations"][0]["findings"] == [
        {"field": "notes", "word": "失信被执行人", "start": 8, "end": 14}
    ]


def test_without_a_delinquency_state_the_principal_is_the_balance(db: None) -> None:
    debtor = make_debtor()

    decision = guard_check(
        case=debtor.case,
        channel="call",
        contact_point=debtor.mobile,
        at=dt.datetime(2026, 3, 10, 10, tzinfo=SHANGHAI),
        notes="再不还就把你列入失信被执行人",
    )

    assert decision.inputs["case"]["balance_fen"] == debtor.case.account.principal_fen
    assert decision.allowed is True


def _orm_history(customer_id: int, when: dt.datetime) -> list[dict[str, object]]:
    return list(
        Activity.objects.filter(
            customer_id=customer_id,
            started_at__gte=when - dt.timedelta(days=selectors.HISTORY_DAYS),
            started_at__lt=when,
        )
        .order_by("-started_at", "-id")
        .values(*selectors.HISTORY_COLUMNS)
    )


@pytest.mark.parametrize("us", [False, True])
def test_a_shorter_history_without_reg_f_gives_the_same_input(db: None, us: bool) -> None:
    debtor = make_debtor(protected_reason="illness")
    if us:
        creditor_packs_set(
            creditor=debtor.case.account.creditor, pack_ids=["cn-house", "us-regf"], actor=None
        )
    other = CaseFactory(account=AccountFactory(account_no="A-OTHER", customer=debtor.customer))
    start = at(2026, 2, 10, 9)
    # Every 13 hours for a month: calls on both numbers and cases, a visit now and then,
    # connected one time in five, the last connected call 12 days before the end.
    for n in range(56):
        moment = start + dt.timedelta(hours=13 * n)
        channel = "visit" if n % 9 == 0 else "call"
        connected = n % 5 == 0 and n < 30
        log(
            debtor.case if n % 3 else other,
            debtor.home if n % 2 else debtor.mobile,
            moment,
            connected=connected,
            channel=channel,
        )

    for when in (at(2026, 3, 10, 10), at(2026, 3, 12, 20), at(2026, 3, 16, 8), at(2026, 2, 20, 12)):
        for point in (debtor.mobile, debtor.home):
            reads = selectors.guard_reads(case=debtor.case, at=when)
            full = dataclasses.replace(reads, history=_orm_history(debtor.customer.pk, when))
            pack_ids = [pack.id for pack in reads.packs]
            kwargs = {
                "case": debtor.case,
                "channel": "call",
                "point": point,
                "at": when,
                "pack_ids": pack_ids,
            }

            short_input = selectors.contact_input_for(**kwargs, reads=reads)
            full_input = selectors.contact_input_for(**kwargs, reads=full)

            assert short_input == full_input, (when, point.pk)
            if us:
                assert reads.history == full.history
            else:
                assert len(reads.history) < len(full.history)
    assert short_input.counts.last_protected_call_at is not None
