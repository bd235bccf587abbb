"""The guard through the real database: the edge cases of issue #4, one question each.

History is set with activity and hold rows written directly (the services that log them are
not what is tested here); the guard reads them back through `contact_input_for`. Every
question goes through `guard_check`, so each answer is also a stored decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, transaction

from arrears.cases.action_codes import DEFAULT_ACTION_CODES
from arrears.cases.models import ActionCode, Activity, Case, CaseHold
from arrears.compliance.inputs import Channel
from arrears.compliance.models import Decision, PolicyPackVersion
from arrears.compliance.packs import PACKS, params_as_json
from arrears.compliance.services import GuardError, creditor_packs_set, guard_check
from arrears.core.calendar import library_knows
from arrears.delinquency.tests.books import ensure_calendar
from arrears.portfolio.models import ContactPoint, Customer
from arrears.tests.factories import AccountFactory, CaseFactory, ContactPointFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
NEW_YORK = ZoneInfo("America/New_York")


def at(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, zone: ZoneInfo = SHANGHAI
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)


@pytest.fixture(autouse=True)
def seeded(db: None) -> None:
    """The rows migrations seed (action codes, pack versions, the calendar): a transactional
    test elsewhere in the run flushes them, so put back whatever is missing."""
    for order, item in enumerate(DEFAULT_ACTION_CODES):
        ActionCode.objects.get_or_create(
            code=item.code, defaults={**item._asdict(), "sort_order": (order + 1) * 10}
        )
    for pack in PACKS.values():
        PolicyPackVersion.objects.get_or_create(
            pack=pack.id,
            version=pack.version,
            defaults={"params": params_as_json(pack.params), "note": "catalogue defaults"},
        )
    ensure_calendar()


@dataclass
class Debtor:
    case: Case
    customer: Customer
    mobile: ContactPoint
    home: ContactPoint


def make_debtor(*, account_no: str = "A-GUARD", time_zone: str = "Asia/Shanghai", **customer: Any) -> Debtor:
    case = CaseFactory(account=AccountFactory(account_no=account_no))
    person = case.customer
    person.time_zone = time_zone
    for field, value in customer.items():
        setattr(person, field, value)
    person.save()
    mobile = ContactPointFactory(customer=person, kind="mobile", owner_role="self", value="13800000001")
    home = ContactPointFactory(customer=person, kind="home", owner_role="self", value="02100000002")
    # The guard reads the case's customer as loaded: take it fresh.
    return Debtor(
        case=Case.objects.select_related("customer", "account").get(pk=case.pk),
        customer=person,
        mobile=mobile,
        home=home,
    )


@pytest.fixture
def debtor(db: None) -> Debtor:
    return make_debtor()


def log(
    case: Case,
    point: ContactPoint | None,
    started_at: dt.datetime,
    *,
    connected: bool = False,
    right_party: bool | None = None,
    direction: str = "outbound",
    channel: str = "call",
    code: str | None = None,
) -> Activity:
    """One past contact or attempt, as the activity service would have stored it."""
    return Activity.objects.create(
        case=case,
        customer_id=case.customer_id,
        contact_point=point,
        channel=channel,
        direction=direction,
        started_at=started_at,
        connected=connected,
        right_party=connected if right_party is None else right_party,
        action_code_id=code or ("RPC" if connected else "NA"),
    )


def ask(
    debtor: Debtor,
    when: dt.datetime,
    *,
    point: ContactPoint | None = None,
    channel: str = "call",
    **options: Any,
) -> Decision:
    return guard_check(
        case=debtor.case, channel=channel, contact_point=point or debtor.mobile, at=when, **options
    )


def violations(decision: Decision) -> list[tuple[str, str]]:
    return [(item["rule"], item["reason"]) for item in decision.result["violations"]]


def warnings(decision: Decision) -> list[tuple[str, str]]:
    return [(item["rule"], item["reason"]) for item in decision.result["warnings"]]


# --- hours -----------------------------------------------------------------------------------

# Tuesday 10 March 2026, an ordinary working day in China.


@pytest.mark.parametrize(
    ("clock", "denied_by", "next_allowed_at"),
    [
        ((7, 59, 59), [("H1", "outside_contact_window"), ("C1", "quiet_hours")], at(2026, 3, 10, 8)),
        ((8, 0, 0), [], None),
        ((20, 59, 59), [], None),
        # 21:00 is outside H1's window (end exclusive) but not yet in C1's quiet hours.
        ((21, 0, 0), [("H1", "outside_contact_window")], at(2026, 3, 11, 8)),
        ((22, 0, 0), [("H1", "outside_contact_window"), ("C1", "quiet_hours")], at(2026, 3, 11, 8)),
    ],
)
def test_calling_hours_in_shanghai(
    debtor: Debtor,
    clock: tuple[int, int, int],
    denied_by: list[tuple[str, str]],
    next_allowed_at: dt.datetime | None,
) -> None:
    decision = ask(debtor, at(2026, 3, 10, *clock))

    assert violations(decision) == denied_by
    assert decision.allowed is (not denied_by)
    assert decision.next_allowed_at == next_allowed_at
    assert warnings(decision) == []


@pytest.mark.parametrize(
    ("clock", "allowed", "next_allowed_at"),
    [
        ((7, 59, 59), False, at(2026, 3, 10, 8, zone=URUMQI)),
        ((8, 0, 0), True, None),
        # 20:59:59 in Urumqi is 22:59:59 in Beijing: the debtor's own clock decides.
        ((20, 59, 59), True, None),
        ((21, 0, 0), False, at(2026, 3, 11, 8, zone=URUMQI)),
    ],
)
def test_calling_hours_follow_the_customers_own_zone(
    db: None, clock: tuple[int, int, int], allowed: bool, next_allowed_at: dt.datetime | None
) -> None:
    debtor = make_debtor(time_zone="Asia/Urumqi")

    decision = ask(debtor, at(2026, 3, 10, *clock, zone=URUMQI))

    assert decision.allowed is allowed
    assert decision.next_allowed_at == next_allowed_at
    assert decision.inputs["debtor_zones"] == ["Asia/Urumqi"]


def test_a_new_york_customer_at_0759_local_is_refused_until_0800_local(db: None) -> None:
    debtor = make_debtor(time_zone="America/New_York")

    early = ask(debtor, at(2026, 3, 10, 7, 59, 59, zone=NEW_YORK))
    on_time = ask(debtor, at(2026, 3, 10, 8, zone=NEW_YORK))

    assert violations(early) == [("H1", "outside_contact_window"), ("C1", "quiet_hours")]
    assert early.next_allowed_at == at(2026, 3, 10, 8, zone=NEW_YORK)
    assert early.result["violations"][0]["parameters"]["local_times"] == "07:59 EDT"
    assert on_time.allowed is True


def test_a_naive_time_is_refused_and_nothing_is_stored(debtor: Debtor) -> None:
    with pytest.raises(GuardError):
        ask(debtor, dt.datetime(2026, 3, 10, 10, 0))

    assert Decision.objects.count() == 0


# --- the calendar ------------------------------------------------------------------------------


def _first_year_the_library_lacks() -> int:
    return next(year for year in range(2026, 2061) if not library_knows(year))


def test_a_year_the_holiday_library_lacks_is_allowed_with_a_warning(debtor: Debtor) -> None:
    year = _first_year_the_library_lacks()
    wednesday = dt.date(year, 3, 10) + dt.timedelta(days=(2 - dt.date(year, 3, 10).weekday()) % 7)

    decision = ask(debtor, dt.datetime.combine(wednesday, dt.time(10), SHANGHAI))

    assert decision.allowed is True
    assert violations(decision) == []
    assert warnings(decision) == [("H2", "calendar_year_missing")]
    assert decision.result["warnings"][0]["parameters"] == {"year": str(year)}
    assert decision.inputs["calendar"]["known_years"] == []


def test_a_makeup_working_saturday_is_a_working_day(debtor: Debtor) -> None:
    # Saturday 10 October 2026 is worked instead of a National Day holiday (调休).
    decision = ask(debtor, at(2026, 10, 10, 10))

    assert decision.allowed is True
    assert decision.result["violations"] == [] and decision.result["warnings"] == []
    assert "2026-10-10" in decision.inputs["calendar"]["makeup_working_days"]


def test_a_statutory_holiday_is_refused_until_the_morning_after_it(debtor: Debtor) -> None:
    decision = ask(debtor, at(2026, 10, 1, 10))

    assert violations(decision) == [("H2", "statutory_holiday")]
    # 1–7 October are off; Thursday the 8th opens at 08:00.
    assert decision.next_allowed_at == at(2026, 10, 8, 8)
    assert decision.result["violations"][0]["allowed_from"] == "2026-10-08T00:00:00+08:00"


# --- counts ------------------------------------------------------------------------------------


def test_the_fourth_connected_call_of_a_day_is_refused(debtor: Debtor) -> None:
    for hour in (9, 11, 14):
        log(debtor.case, debtor.mobile, at(2026, 3, 10, hour), connected=True)

    decision = ask(debtor, at(2026, 3, 10, 16))

    assert violations(decision) == [("H3", "case_connected_calls_cap"), ("C2", "debtor_connected_calls_cap")]
    assert [item["parameters"] for item in decision.result["violations"]] == [
        {"count": "3", "limit": "3"},
        {"count": "3", "limit": "3"},
    ]
    assert decision.next_allowed_at == at(2026, 3, 11, 8)


def test_yesterdays_calls_do_not_count_today(debtor: Debtor) -> None:
    for hour in (9, 11, 14, 20):
        log(debtor.case, debtor.mobile, at(2026, 3, 9, hour), connected=True)

    assert ask(debtor, at(2026, 3, 10, 8)).allowed is True


def test_connected_calls_on_another_case_of_the_debtor_count_for_c2_only(debtor: Debtor) -> None:
    other = CaseFactory(account=AccountFactory(account_no="A-OTHER", customer=debtor.customer))
    for hour in (9, 11, 14):
        log(other, debtor.mobile, at(2026, 3, 10, hour), connected=True)

    decision = ask(debtor, at(2026, 3, 10, 16))

    assert violations(decision) == [("C2", "debtor_connected_calls_cap")]


def test_the_tenth_attempt_is_allowed_and_the_eleventh_refused(debtor: Debtor) -> None:
    # Nine outbound calls on two numbers: two connected and four unanswered on the mobile,
    # three unanswered on the home phone (neither number reaches C3's six).
    times = iter(at(2026, 3, 10, 9, minute) for minute in range(0, 60, 5))
    for connected in (True, True, False, False, False, False):
        log(debtor.case, debtor.mobile, next(times), connected=connected)
    for _ in range(3):
        log(debtor.case, debtor.home, next(times))

    tenth = ask(debtor, at(2026, 3, 10, 11), point=debtor.home)
    log(debtor.case, debtor.home, at(2026, 3, 10, 11))
    eleventh = ask(debtor, at(2026, 3, 10, 12), point=debtor.home)

    assert tenth.allowed is True
    assert violations(eleventh) == [("H3", "case_outbound_calls_cap")]
    assert eleventh.result["violations"][0]["parameters"] == {"count": "10", "limit": "10"}
    assert eleventh.next_allowed_at == at(2026, 3, 11, 8)
    assert eleventh.inputs["counts"]["unanswered_attempts_number_today"] == 4


def test_the_seventh_unanswered_attempt_on_one_number_is_refused_the_other_number_still_allowed(
    debtor: Debtor,
) -> None:
    for hour in (8, 9, 10, 11, 12, 13):
        log(debtor.case, debtor.mobile, at(2026, 3, 10, hour))

    seventh = ask(debtor, at(2026, 3, 10, 14))
    other_number = ask(debtor, at(2026, 3, 10, 14), point=debtor.home)

    assert violations(seventh) == [("C3", "number_unanswered_cap")]
    assert seventh.result["violations"][0]["parameters"] == {"count": "6", "limit": "6"}
    assert seventh.next_allowed_at == at(2026, 3, 11, 8)
    assert other_number.allowed is True
    assert other_number.inputs["counts"]["unanswered_attempts_number_today"] == 0


# --- Reg F -------------------------------------------------------------------------------------


@pytest.fixture
def us_debtor(db: None) -> Debtor:
    debtor = make_debtor(account_no="A-US", time_zone="America/New_York")
    creditor_packs_set(creditor=debtor.case.account.creditor, pack_ids=["us-regf"], actor=None)
    return debtor


def test_a_conversation_the_consumer_started_blocks_calls_for_seven_days(us_debtor: Debtor) -> None:
    # The consumer called in on Monday 2 March (day 1 of 7).
    log(
        us_debtor.case,
        us_debtor.mobile,
        at(2026, 3, 2, 14, zone=NEW_YORK),
        connected=True,
        direction="inbound",
    )

    day_seven = ask(us_debtor, at(2026, 3, 8, 20, zone=NEW_YORK))
    day_eight = ask(us_debtor, at(2026, 3, 9, 8, zone=NEW_YORK))

    assert violations(day_seven) == [("U2", "recent_conversation")]
    assert day_seven.next_allowed_at == at(2026, 3, 9, 8, zone=NEW_YORK)
    assert day_seven.packs == [{"pack": "us-regf", "version": 1}]
    assert day_eight.allowed is True


def test_seven_attempts_in_seven_days_slide_across_a_month_boundary(us_debtor: Debtor) -> None:
    # Seven unanswered attempts: three on 30 March, two on the 31st, two on 2 April.
    for day, hours in (
        (dt.date(2026, 3, 30), (9, 12, 15)),
        (dt.date(2026, 3, 31), (9, 12)),
        (dt.date(2026, 4, 2), (9, 12)),
    ):
        for hour in hours:
            log(us_debtor.case, us_debtor.mobile, dt.datetime.combine(day, dt.time(hour), NEW_YORK))

    # 5 April: the window 30 March – 5 April holds all seven.
    sunday = ask(us_debtor, at(2026, 4, 5, 10, zone=NEW_YORK))
    # 6 April: the window 31 March – 6 April holds four.
    monday = ask(us_debtor, at(2026, 4, 6, 10, zone=NEW_YORK))

    assert violations(sunday) == [("U1", "call_attempts_in_window")]
    assert sunday.result["violations"][0]["parameters"] == {"count": "7", "limit": "7", "days": "7"}
    assert sunday.next_allowed_at == at(2026, 4, 6, 8, zone=NEW_YORK)
    assert monday.allowed is True


# --- people and holds --------------------------------------------------------------------------


def test_a_protected_customer_called_yesterday_is_refused_today_and_allowed_tomorrow(db: None) -> None:
    debtor = make_debtor(protected_reason="illness")
    log(debtor.case, debtor.mobile, at(2026, 3, 9, 10), connected=True)

    today = ask(debtor, at(2026, 3, 10, 10))
    tomorrow = ask(debtor, at(2026, 3, 11, 8))

    assert violations(today) == [("H4", "protected_call_interval")]
    assert today.result["violations"][0]["parameters"] == {
        "last_call": "2026-03-09T10:00:00+08:00",
        "interval_days": "2",
        "protected_reason": "illness",
    }
    assert today.next_allowed_at == at(2026, 3, 11, 8)
    assert tomorrow.allowed is True


def test_a_third_party_who_refused_is_never_contacted_again(debtor: Debtor) -> None:
    friend = ContactPointFactory(
        customer=debtor.customer,
        kind="mobile",
        owner_role="friend",
        value="13900000003",
        do_not_contact=True,
        do_not_contact_reason="refused",
        do_not_contact_since=dt.date(2026, 3, 1),
    )

    decision = ask(debtor, at(2026, 3, 10, 10), point=friend)

    assert ("H5", "do_not_contact") in violations(decision)
    assert decision.result["violations"][0]["parameters"] == {"dnc_reason": "refused"}
    # The debtor's own numbers work, so a third party is refused anyway (H7, C4).
    assert violations(decision) == [
        ("H5", "do_not_contact"),
        ("H7", "third_party_while_debtor_reachable"),
        ("C4", "third_party_while_debtor_reachable"),
    ]
    assert decision.next_allowed_at is None


def test_a_case_on_dispute_hold_is_refused(debtor: Debtor) -> None:
    CaseHold.objects.create(case=debtor.case, kind="dispute", reason="客户对金额有异议")

    decision = ask(debtor, at(2026, 3, 10, 10))

    assert violations(decision) == [("H6", "case_on_hold")]
    assert decision.result["violations"][0]["parameters"] == {"holds": "dispute"}
    assert decision.next_allowed_at is None


def test_a_deceased_hold_on_another_case_of_the_customer_refuses_this_one(debtor: Debtor) -> None:
    other = CaseFactory(account=AccountFactory(account_no="A-OTHER", customer=debtor.customer))
    CaseHold.objects.create(case=other, kind="deceased", reason="家属告知")
    CaseHold.objects.create(case=other, kind="dispute", reason="只涉及另一笔")

    decision = ask(debtor, at(2026, 3, 10, 10))

    assert violations(decision) == [("H6", "case_on_hold")]
    # The other case's dispute is about that debt only; the death is about the person.
    assert decision.result["violations"][0]["parameters"] == {"holds": "deceased"}


def test_a_released_hold_no_longer_refuses(debtor: Debtor) -> None:
    CaseHold.objects.create(case=debtor.case, kind="dispute", reason="已核实", released_at=at(2026, 3, 9, 10))

    assert ask(debtor, at(2026, 3, 10, 10)).allowed is True


# --- text --------------------------------------------------------------------------------------


def test_notes_with_an_insult_are_refused_with_the_word_and_its_position(debtor: Debtor) -> None:
    decision = ask(debtor, at(2026, 3, 10, 10), notes="客户说我们是白痴")

    assert violations(decision) == [("H12", "prohibited_language")]
    assert decision.result["violations"][0]["findings"] == [
        {"field": "notes", "word": "白痴", "start": 6, "end": 8}
    ]
    assert decision.next_allowed_at is None


def test_notes_threatening_court_and_arrest_are_refused(debtor: Debtor) -> None:
    decision = ask(debtor, at(2026, 3, 10, 10), notes="我们会去法院抓你")

    assert violations(decision) == [("H12", "prohibited_language"), ("C5", "authority_name_used")]
    h12, c5 = decision.result["violations"]
    assert h12["findings"] == [
        {"field": "notes", "word": "法院", "start": 4, "end": 6},
        {"field": "notes", "word": "抓你", "start": 6, "end": 8},
    ]
    assert h12["parameters"] == {"words": "法院、抓你"}
    assert c5["findings"] == [{"field": "notes", "word": "法院", "start": 4, "end": 6}]


# --- the stored decision -----------------------------------------------------------------------


def test_every_decision_is_stored_with_its_inputs_and_pack_versions(debtor: Debtor) -> None:
    decision = ask(debtor, at(2026, 3, 10, 10), asked_by=None)

    stored = Decision.objects.get()
    assert stored.pk == decision.pk
    assert (stored.channel, stored.purpose, stored.allowed, stored.next_allowed_at) == (
        "call",
        "check",
        True,
        None,
    )
    assert stored.at == at(2026, 3, 10, 10)
    assert stored.packs == [{"pack": "cn-house", "version": 1}, {"pack": "cn-industry-2026", "version": 1}]
    assert stored.inputs["channel"] == "call"
    assert stored.inputs["when"] == "2026-03-10T10:00:00+08:00"
    assert stored.inputs["contact_point"] == {
        "owner_role": "self",
        "kind": "mobile",
        "valid": True,
        "do_not_contact": False,
        "do_not_contact_reason": "",
        "opted_out_channels": [],
    }
    assert stored.result == {
        "allowed": True,
        "next_allowed_at": None,
        "violations": [],
        "warnings": [],
        "packs": [{"pack": "cn-house", "version": 1}, {"pack": "cn-industry-2026", "version": 1}],
    }


def test_a_stored_decision_cannot_be_updated(debtor: Debtor) -> None:
    decision = ask(debtor, at(2026, 3, 10, 22))

    with pytest.raises(DatabaseError, match="never edited"), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(allowed=True)
    with pytest.raises(DatabaseError, match="never edited"), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(result={})

    assert Decision.objects.get(pk=decision.pk).allowed is False


def test_a_preview_stores_nothing(debtor: Debtor) -> None:
    preview = ask(debtor, at(2026, 3, 10, 22), store=False)

    assert preview.allowed is False and preview.pk is None
    assert Decision.objects.count() == 0


def test_a_contact_point_of_another_customer_is_refused(debtor: Debtor) -> None:
    stranger = ContactPointFactory(kind="mobile", owner_role="self", value="13700000009")

    with pytest.raises(GuardError):
        ask(debtor, at(2026, 3, 10, 10), point=stranger)

    assert Decision.objects.count() == 0


def test_the_channel_may_be_given_as_text(debtor: Debtor) -> None:
    assert ask(debtor, at(2026, 3, 10, 10), channel=Channel.SMS.value).channel == "sms"
