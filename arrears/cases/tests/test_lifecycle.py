"""Cases opened, escalated, reassigned, closed and reopened by the end-of-day batch."""

from __future__ import annotations

import datetime as dt

import pytest

from arrears.accounts.models import Role
from arrears.cases.models import Case, CaseEvent, CaseStatus, TeamRotation
from arrears.cases.services import assignment_rule_set
from arrears.delinquency.models import BucketTransition, RollRate
from arrears.delinquency.services import eod_run, eod_run_range
from arrears.tests.factories import AccountFactory, PaymentFactory, ProductFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def events(case: Case) -> list[tuple[str, str, str, str]]:
    return [
        (event.kind, str(event.business_date), event.from_value, event.to_value)
        for event in CaseEvent.objects.filter(case=case).order_by("id")
    ]


@pytest.fixture
def teams() -> dict[str, object]:
    east, west = TeamFactory(code="EAST"), TeamFactory(code="WEST")
    people = {
        "c1": UserFactory(username="c1", role=Role.COLLECTOR, team=east),
        "c2": UserFactory(username="c2", role=Role.COLLECTOR, team=east),
        "w1": UserFactory(username="w1", role=Role.COLLECTOR, team=west),
    }
    UserFactory(username="gone", role=Role.COLLECTOR, team=east, is_active=False)
    UserFactory(username="lead", role=Role.TEAM_LEADER, team=east)
    assignment_rule_set(bucket_group="M1", team=east)
    assignment_rule_set(bucket_group="M2", team=west)
    return {"east": east, "west": west, **people}


def test_a_case_follows_its_account_from_first_miss_to_cure_and_reopens(teams: dict[str, object]) -> None:
    account = AccountFactory(principal_fen=1_200_000, term=12, first_due_date=dt.date(2026, 1, 15))
    PaymentFactory(account=account, amount_fen=200_000, paid_at=dt.datetime(2026, 2, 20, 10, tzinfo=SHANGHAI))

    eod_run_range(first=dt.date(2026, 1, 15), last=dt.date(2026, 3, 16))

    first, second = Case.objects.filter(account=account).order_by("id")
    assert events(first) == [
        ("opened", "2026-01-16", "", "M1-1"),
        ("assigned", "2026-01-16", "", "c1"),
        ("escalated", "2026-01-26", "M1-1", "M1-2"),
        ("escalated", "2026-02-05", "M1-2", "M1-3"),
        ("escalated", "2026-02-14", "M1-3", "M2"),
        ("reassigned", "2026-02-14", "", "w1"),
        ("closed", "2026-02-20", "M2", "paid"),
    ]
    assert (first.status, first.close_reason, first.closed_on) == (
        CaseStatus.CLOSED,
        "paid",
        dt.date(2026, 2, 20),
    )
    assert first.assigned_collector == teams["w1"] and first.team == teams["west"]
    opened = CaseEvent.objects.get(case=first, kind="opened")
    assert opened.data == {"dpd": 1, "overdue_fen": 100_000, "previous_case_id": None}
    escalated_to_m2 = CaseEvent.objects.get(case=first, to_value="M2")
    assert escalated_to_m2.data == {"dpd": 30, "overdue_fen": 100_000, "released": True}

    assert events(second) == [("opened", "2026-03-16", "", "M1-1"), ("assigned", "2026-03-16", "", "c2")]
    assert CaseEvent.objects.get(case=second, kind="opened").data["previous_case_id"] == first.pk
    assert (second.status, second.bucket_code, second.opened_on) == ("new", "M1-1", dt.date(2026, 3, 16))

    assert list(
        BucketTransition.objects.filter(account=account)
        .order_by("business_date")
        .values_list("business_date", "from_code", "to_code", "dpd", "overdue_fen")
    ) == [
        (dt.date(2026, 1, 16), "M0", "M1-1", 1, 100_000),
        (dt.date(2026, 1, 26), "M1-1", "M1-2", 11, 100_000),
        (dt.date(2026, 2, 5), "M1-2", "M1-3", 21, 100_000),
        (dt.date(2026, 2, 14), "M1-3", "M2", 30, 100_000),
        (dt.date(2026, 2, 20), "M2", "M0", 0, 0),
        (dt.date(2026, 3, 16), "M0", "M1-1", 1, 100_000),
    ]
    # 31 Jan: M1 (16 days); 28 Feb: current. One account rolled M1 → M0.
    assert list(RollRate.objects.values_list("month_end", "from_group", "to_group", "accounts")) == [
        (dt.date(2026, 2, 28), "M1", "M0", 1)
    ]


def test_new_cases_go_round_robin_and_the_rotation_continues_the_next_day(teams: dict[str, object]) -> None:
    first_batch = [AccountFactory(first_due_date=dt.date(2026, 1, 15)) for _ in range(3)]
    later = AccountFactory(first_due_date=dt.date(2026, 1, 16))

    eod_run_range(first=dt.date(2026, 1, 15), last=dt.date(2026, 1, 17))

    owners = [Case.objects.get(account=a).assigned_collector.username for a in first_batch]
    assert owners == ["c1", "c2", "c1"]
    assert Case.objects.get(account=later).assigned_collector.username == "c2"
    assert TeamRotation.objects.get(team=teams["east"]).next_position == 4
    assert not Case.objects.filter(assigned_collector__username__in=["gone", "lead"]).exists()


def test_a_bucket_without_a_rule_keeps_the_case_with_its_collector(teams: dict[str, object]) -> None:
    account = AccountFactory(first_due_date=dt.date(2026, 1, 15))

    eod_run_range(first=dt.date(2026, 1, 15), last=dt.date(2026, 3, 16))  # 60 days: M3

    case = Case.objects.get(account=account)
    assert (case.bucket_code, case.assigned_collector, case.team) == ("M3", teams["w1"], teams["west"])
    assert CaseEvent.objects.get(case=case, to_value="M3").data["released"] is False


def test_a_new_case_without_a_rule_for_its_bucket_stays_unassigned(teams: dict[str, object]) -> None:
    product = ProductFactory(code="NORULE")
    other_rules_only = ProductFactory(code="RULED")
    assignment_rule_set(bucket_group="M1", team=teams["west"], product=other_rules_only)
    from arrears.cases.models import AssignmentRule

    AssignmentRule.objects.filter(product__isnull=True, bucket_group="M1").delete()
    account = AccountFactory(product=product, first_due_date=dt.date(2026, 1, 15))
    ruled = AccountFactory(product=other_rules_only, first_due_date=dt.date(2026, 1, 15))

    eod_run_range(first=dt.date(2026, 1, 15), last=dt.date(2026, 1, 16))

    case = Case.objects.get(account=account)
    assert (case.status, case.assigned_collector, case.team) == ("new", None, None)
    assert events(case) == [("opened", "2026-01-16", "", "M1-1")]
    assert Case.objects.get(account=ruled).assigned_collector == teams["w1"]


def test_a_product_can_open_cases_later_and_the_batch_wakes_up_on_that_day(teams: dict[str, object]) -> None:
    product = ProductFactory(code="LATE", case_open_dpd=15)
    account = AccountFactory(product=product, first_due_date=dt.date(2026, 1, 15))
    eod_run(business_date=dt.date(2026, 1, 15), mode="full")

    eod_run_range(first=dt.date(2026, 1, 16), last=dt.date(2026, 1, 29))
    assert not Case.objects.filter(account=account).exists()  # DPD 14

    run = eod_run(business_date=dt.date(2026, 1, 30))

    assert run.accounts == 1  # only this account was due for a look
    case = Case.objects.get(account=account)
    assert (case.opened_on, case.bucket_code) == (dt.date(2026, 1, 30), "M1-2")
    assert CaseEvent.objects.get(case=case, kind="opened").data["dpd"] == 15


def test_a_case_placed_with_an_agency_is_not_taken_back_by_assignment(teams: dict[str, object]) -> None:
    from arrears.tests.factories import AgencyFactory

    account = AccountFactory(first_due_date=dt.date(2026, 1, 15))
    eod_run_range(first=dt.date(2026, 1, 15), last=dt.date(2026, 1, 16))
    agency = AgencyFactory(code="AGX")
    Case.objects.filter(account=account).update(agency=agency, assigned_collector=None, team=None)
    events_before = CaseEvent.objects.count()

    eod_run_range(first=dt.date(2026, 1, 17), last=dt.date(2026, 1, 30))

    case = Case.objects.get(account=account)
    assert (case.agency, case.assigned_collector, case.bucket_code) == (agency, None, "M1-2")
    kinds = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))
    assert kinds[events_before:] == ["escalated"]
    assert CaseEvent.objects.get(case=case, to_value="M1-2").data["released"] is False


def test_a_case_that_rolls_back_stays_with_its_collector(teams: dict[str, object]) -> None:
    account = AccountFactory(principal_fen=1_200_000, term=12, first_due_date=dt.date(2026, 1, 15))
    # Pays one of the two instalments due by 20 Feb: back from M2 (35 days) to 5 days past due.
    PaymentFactory(account=account, amount_fen=100_000, paid_at=dt.datetime(2026, 2, 20, 10, tzinfo=SHANGHAI))

    eod_run_range(first=dt.date(2026, 1, 15), last=dt.date(2026, 2, 21))

    case = Case.objects.get(account=account)
    assert (case.bucket_code, case.assigned_collector, case.team) == ("M1-1", teams["w1"], teams["west"])
    rolled_back = CaseEvent.objects.get(case=case, kind="deescalated")
    assert (rolled_back.business_date, rolled_back.from_value, rolled_back.to_value) == (
        dt.date(2026, 2, 20),
        "M2",
        "M1-1",
    )
    assert rolled_back.data == {"dpd": 5, "overdue_fen": 100_000, "released": False}
    assert CaseEvent.objects.filter(case=case, kind="reassigned").count() == 1  # only the roll into M2
