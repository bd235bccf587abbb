"""The SLA monitor: the batch's follow-up due times (the same as the pure rule), the new-case
deadlines per case and in the queue, the per-collector report and the SLA page."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from arrears.cases.models import Activity, Case, CaseStatus
from arrears.cases.queue import case_sla, cases_refresh_followup_due, queue_for_collector, sla_report
from arrears.compliance import sla
from arrears.compliance.sla import DeadlineState
from arrears.conftest import Book
from arrears.delinquency import services as eod_services
from arrears.delinquency.models import AccountState
from arrears.delinquency.services import InjectedFault, eod_run
from arrears.delinquency.tests.books import add_random_accounts, ensure_calendar, make_products
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CustomerFactory,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
# Thursday 26 November 2026, 10:00 in Shanghai.
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=SH)
TODAY = NOW.date()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


def _state(case: Case, *, group: str, outstanding_fen: int) -> None:
    AccountState.objects.create(
        account=case.account,
        as_of=TODAY,
        bucket_code=group,
        bucket_group=group,
        overdue_fen=outstanding_fen // 2,
        outstanding_fen=outstanding_fen,
        next_change_date=TODAY,
    )


def _expected(case: Case) -> dt.datetime | None:
    state = AccountState.objects.get(account=case.account)
    return sla.followup_due_at(
        bucket_group=case.bucket_group,
        balance_fen=state.outstanding_fen,
        last_activity_at=case.last_activity_at,
        opened_at=case.opened_at,
        zone=ZoneInfo(case.customer.time_zone),
    )


# --- the batch's refresh --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "outstanding", "last", "zone"),
    [
        ("M1", 100_000, dt.datetime(2026, 11, 25, 23, 30, tzinfo=SH), "Asia/Shanghai"),
        ("M2", 100_000, dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH), "Asia/Shanghai"),
        ("M3", 100_000, None, "Asia/Shanghai"),
        ("M1", 40_000, dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH), "Asia/Shanghai"),  # small balance
        ("M4+", 100_000, dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC), "America/New_York"),
        ("M0", 100_000, None, "Asia/Shanghai"),  # no minimum: stays empty
    ],
)
def test_the_batch_sets_the_same_due_time_as_the_pure_rule(group, outstanding, last, zone) -> None:
    case = CaseFactory(
        account=AccountFactory(customer=CustomerFactory(time_zone=zone)),
        bucket_group=group,
        bucket_code=group,
        last_activity_at=last,
        status=CaseStatus.IN_PROGRESS,
    )
    _state(case, group=group, outstanding_fen=outstanding)

    changed = cases_refresh_followup_due()

    case.refresh_from_db()
    assert case.followup_due_at == _expected(case)
    assert changed == (0 if group == "M0" else 1)
    assert cases_refresh_followup_due() == 0  # a re-run writes nothing


def test_the_batch_refreshes_cases_of_recomputed_accounts_and_leaves_the_others(db: None) -> None:
    moved = CaseFactory(bucket_group="M1", bucket_code="M1", status=CaseStatus.IN_PROGRESS)
    untouched = CaseFactory(bucket_group="M1", bucket_code="M1", status=CaseStatus.IN_PROGRESS)
    closed = CaseFactory(bucket_group="M1", bucket_code="M1", status=CaseStatus.CLOSED)
    for case in (moved, untouched, closed):
        _state(case, group="M1", outstanding_fen=100_000)
    stale = dt.datetime(2026, 1, 1, tzinfo=SH)
    Case.objects.update(followup_due_at=stale, bucket_group="M2")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE sla_signals (account_id bigint)")
        cursor.execute("INSERT INTO sla_signals VALUES (%s), (%s)", [moved.account_id, closed.account_id])

    assert cases_refresh_followup_due(signals_table="sla_signals") == 1

    moved.refresh_from_db()
    assert moved.followup_due_at == _expected(moved)
    assert Case.objects.get(pk=untouched.pk).followup_due_at == stale
    assert Case.objects.get(pk=closed.pk).followup_due_at == stale


def test_end_of_day_gives_every_open_case_its_due_time_and_a_restarted_step_the_same(db: None) -> None:
    add_random_accounts(random.Random(11), make_products(), 30, last_payment_day=dt.date(2026, 6, 30))
    eod_run(business_date=dt.date(2026, 3, 1), mode="full")
    open_cases = list(Case.objects.exclude(status=CaseStatus.CLOSED).select_related("customer", "account"))
    assert open_cases, "the random book opens cases"
    assert [case.followup_due_at for case in open_cases] == [_expected(case) for case in open_cases]

    # A full run (every account a signal) fills cases that have no due time, e.g. after an upgrade.
    Case.objects.update(followup_due_at=None)
    eod_services.fault_at = "inside:cases"
    try:
        with pytest.raises(InjectedFault):
            eod_run(business_date=dt.date(2026, 3, 2), mode="full")
    finally:
        eod_services.fault_at = None
    assert set(Case.objects.values_list("followup_due_at", flat=True)) == {None}  # the step rolled back
    eod_run(business_date=dt.date(2026, 3, 2))  # resumes the interrupted run
    for case in Case.objects.exclude(status=CaseStatus.CLOSED).select_related("customer", "account"):
        assert case.followup_due_at == _expected(case)


# --- new-case deadlines -----------------------------------------------------------------------------


def _activity(case: Case, at: dt.datetime, *, point=None, connected: bool = False) -> Activity:
    return Activity.objects.create(
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


@pytest.fixture
def new_case(book: Book) -> Case:
    """Opened on Monday 23 November: first contact by Wednesday 25 (first hand), contact check by
    Thursday 26, two effective follow-ups by Monday 30."""
    ensure_calendar()
    case = book.case_alice
    case.opened_on = dt.date(2026, 11, 23)
    case.bucket_group = case.bucket_code = "M1"
    case.status = CaseStatus.IN_PROGRESS
    case.save()
    _state(case, group="M1", outstanding_fen=100_000)
    return case


def test_case_sla_of_an_untouched_new_case(new_case: Case) -> None:
    first, check, followups = case_sla(case=new_case, now=NOW).deadlines

    assert (first.code, first.last_day, first.state) == (
        "first_contact",
        dt.date(2026, 11, 25),
        DeadlineState.MISSED,
    )
    assert (check.last_day, check.state) == (dt.date(2026, 11, 26), DeadlineState.DUE_TODAY)
    assert (followups.last_day, followups.state) == (dt.date(2026, 11, 30), DeadlineState.PENDING)


def test_case_sla_counts_every_valid_phone_and_connected_calls(new_case: Case) -> None:
    mobile = ContactPointFactory(customer=new_case.customer, kind="mobile")
    work = ContactPointFactory(customer=new_case.customer, kind="work", owner_role="colleague")
    ContactPointFactory(customer=new_case.customer, kind="home", is_valid=False)  # need not be tried
    ContactPointFactory(customer=new_case.customer, kind="email", value="a@example.com")  # not a phone
    _activity(new_case, dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH), point=mobile, connected=True)
    _activity(new_case, dt.datetime(2026, 11, 26, 9, 30, tzinfo=SH), point=work)
    _activity(new_case, dt.datetime(2026, 11, 26, 9, 45, tzinfo=SH), point=mobile, connected=True)

    view = case_sla(case=new_case, now=NOW)

    first, check, followups = view.deadlines
    assert (first.state, first.met_at) == (DeadlineState.MET, dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH))
    assert (check.state, check.met_at) == (DeadlineState.MET, dt.datetime(2026, 11, 26, 9, 30, tzinfo=SH))
    assert (followups.state, followups.met_at) == (
        DeadlineState.MET,
        dt.datetime(2026, 11, 26, 9, 45, tzinfo=SH),
    )
    assert view.first_hand is True


def test_a_second_hand_case_has_four_working_days_for_first_contact(new_case: Case) -> None:
    Case.objects.filter(pk=new_case.pk).update(status=CaseStatus.CLOSED)
    again = CaseFactory(
        account=new_case.account, opened_on=dt.date(2026, 11, 23), bucket_group="M1", status=CaseStatus.NEW
    )

    view = case_sla(case=again, now=NOW)

    assert view.first_hand is False
    assert (view.deadlines[0].last_day, view.deadlines[0].state) == (
        dt.date(2026, 11, 27),
        DeadlineState.PENDING,
    )


def test_the_queue_counts_new_case_deadlines(book: Book, new_case: Case) -> None:
    (row,) = queue_for_collector(user=book.alice, now=NOW)

    assert [reason.code for reason in row.reasons] == [
        "first_contact_missed",
        "contact_check_due_today",
        "new_case",
        "bucket",
        "overdue_amount",
    ]
    assert row.points == 600 + 300 + 10  # a missed deadline, never worked, M1


# --- the report and the page --------------------------------------------------------------------


@pytest.fixture
def report_book(book: Book, new_case: Case) -> Book:
    """Alice: the new case (first contact missed) and an M2 case overdue; Bob: one worked today."""
    overdue = CaseFactory(
        assigned_collector=book.alice,
        team=book.alice.team,
        bucket_group="M2",
        status=CaseStatus.IN_PROGRESS,
        opened_on=dt.date(2026, 9, 1),
        last_activity_at=dt.datetime(2026, 11, 20, 10, 0, tzinfo=SH),
        followup_due_at=dt.datetime(2026, 11, 26, 0, 0, tzinfo=SH),
    )
    _state(overdue, group="M2", outstanding_fen=300_000)
    Case.objects.filter(pk=book.case_bob.pk).update(
        bucket_group="M1",
        status=CaseStatus.IN_PROGRESS,
        opened_on=dt.date(2026, 9, 1),
        last_activity_at=dt.datetime(2026, 11, 26, 9, 0, tzinfo=SH),
        followup_due_at=dt.datetime(2026, 11, 28, 0, 0, tzinfo=SH),
    )
    Case.objects.filter(pk__in=[book.case_agency.pk, book.case_unassigned.pk]).update(
        status=CaseStatus.CLOSED
    )
    book.overdue_case = overdue  # type: ignore[attr-defined]
    return book


def _line(lines, collector):
    (line,) = [line for line in lines if line.collector == collector]
    return (
        line.open_cases,
        line.worked_today,
        line.due_today,
        line.overdue,
        line.first_contact_missed,
        line.new_case_missed,
    )


def test_the_report_per_collector_and_team(report_book: Book) -> None:
    report = sla_report(user=report_book.sam, now=NOW)

    assert report is not None
    # open, worked today, due today, overdue, first contact missed, contact check/follow-ups missed
    assert _line(report.lines, "alice") == (2, 0, 0, 1, 1, 0)
    assert _line(report.lines, "bob") == (1, 1, 0, 0, 0, 0)
    assert (report.total.open_cases, report.total.overdue, report.total.first_contact_missed) == (3, 1, 1)
    assert {team.team: team.open_cases for team in report.teams} == {"东区": 2, "西区": 1}
    assert [row.case_id for row in report.breaches] == [
        report_book.overdue_case.pk,
        report_book.case_alice.pk,
    ]


def test_a_team_leader_sees_their_team_and_collectors_see_no_report(report_book: Book) -> None:
    report = sla_report(user=report_book.tina, now=NOW)

    assert report is not None
    assert [line.collector for line in report.lines] == ["alice"]
    assert sla_report(user=report_book.alice, now=NOW) is None
    assert sla_report(user=report_book.agnes, now=NOW) is None


@time_machine.travel(NOW, tick=False)
def test_the_sla_page(client: Client, report_book: Book) -> None:
    client.force_login(report_book.tina)

    response = client.get("/cases/sla/")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-collector="alice"' in text and 'data-collector="bob"' not in text
    assert f'data-testid="breach-row" data-case="{report_book.overdue_case.pk}"' in text
    assert "首次联系已超期" in text


def test_the_sla_page_refuses_collectors(client: Client, report_book: Book) -> None:
    for user in (report_book.alice, report_book.agnes):
        client.force_login(user)
        assert client.get("/cases/sla/").status_code == 403
