"""Packs as data and `evaluate`: the most restrictive answer of the selected packs wins."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.compliance.inputs import Calendar, Hold
from arrears.compliance.packs import (
    CN_HOUSE,
    CN_INDUSTRY_2026,
    DEFAULT_PACK_IDS,
    PACKS,
    US_REGF,
    Decision,
    evaluate,
)
from arrears.compliance.tests.builders import (
    LOS_ANGELES,
    MAKEUP_2026,
    NATIONAL_DAY_2026,
    NEW_YORK,
    at,
    case_facts,
    contact,
    counts,
)

DEFAULT_PACKS = [PACKS[pack_id] for pack_id in DEFAULT_PACK_IDS]
HOLIDAYS_2026 = Calendar(
    statutory_days_off=NATIONAL_DAY_2026, makeup_working_days=MAKEUP_2026, known_years=frozenset({2026})
)


def cited(decision: Decision) -> list[tuple[str, int, str, str]]:
    return [
        (reason.pack, reason.pack_version, reason.result.rule, reason.result.reason)
        for reason in decision.violations
    ]


def test_every_catalogue_id_is_listed_once_per_pack() -> None:
    assert [rule.id for rule in CN_HOUSE.rules] == [f"H{number}" for number in range(1, 17)]
    assert [rule.id for rule in CN_INDUSTRY_2026.rules] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert [rule.id for rule in US_REGF.rules] == ["U1", "U2", "U3", "U4", "U5", "U8"]


def test_an_ordinary_call_is_allowed_by_the_default_packs() -> None:
    decision = evaluate(contact(), DEFAULT_PACKS)

    assert decision == Decision(
        allowed=True,
        allowed_from=None,
        violations=(),
        warnings=(),
        packs=(("cn-house", 1), ("cn-industry-2026", 1)),
    )


def test_a_call_at_twenty_fifty_nine_shanghai_is_allowed_and_at_twenty_one_thirty_refused() -> None:
    assert evaluate(contact(when=at(2026, 3, 10, 20, 59)), DEFAULT_PACKS).allowed

    decision = evaluate(contact(when=at(2026, 3, 10, 21, 30)), DEFAULT_PACKS)

    # Only the house window (08–21) forbids 21:30; the industry quiet hours start at 22:00.
    assert not decision.allowed
    assert cited(decision) == [("cn-house", 1, "H1", "outside_contact_window")]
    assert decision.allowed_from == at(2026, 3, 11, 8)


def test_reasons_from_both_packs_are_listed() -> None:
    decision = evaluate(contact(when=at(2026, 3, 10, 22, 30)), DEFAULT_PACKS)

    assert cited(decision) == [
        ("cn-house", 1, "H1", "outside_contact_window"),
        ("cn-industry-2026", 1, "C1", "quiet_hours"),
    ]
    assert decision.allowed_from == at(2026, 3, 11, 8)


def test_allowed_from_is_the_latest_lift_moved_into_the_window() -> None:
    # A protected customer called this morning (lifts at midnight in two days) and the
    # industry cap reached today (lifts at midnight tonight): the later one wins, and
    # since midnight is a quiet hour the answer is eight o'clock that morning.
    facts = case_facts(protected_reason="pregnancy")
    made = counts(last_protected_call_at=at(2026, 3, 10, 9), connected_calls_debtor_today=3)

    decision = evaluate(contact(case=facts, counts=made), DEFAULT_PACKS)

    assert cited(decision) == [
        ("cn-house", 1, "H4", "protected_call_interval"),
        ("cn-industry-2026", 1, "C2", "debtor_connected_calls_cap"),
    ]
    assert decision.allowed_from == at(2026, 3, 12, 8)


def test_allowed_from_skips_a_statutory_holiday() -> None:
    # Too late on 30 September; 1–7 October are National Day: next chance 8 October 08:00.
    decision = evaluate(contact(when=at(2026, 9, 30, 21, 30), calendar=HOLIDAYS_2026), DEFAULT_PACKS)

    assert cited(decision) == [("cn-house", 1, "H1", "outside_contact_window")]
    assert decision.allowed_from == at(2026, 10, 8, 8)


def test_a_makeup_saturday_is_a_normal_day() -> None:
    assert evaluate(contact(when=at(2026, 10, 10, 10), calendar=HOLIDAYS_2026), DEFAULT_PACKS).allowed


def test_a_denial_that_never_lifts_by_itself_leaves_no_allowed_time() -> None:
    disputed = case_facts(holds=frozenset({Hold.DISPUTE}))

    decision = evaluate(contact(when=at(2026, 3, 10, 22, 30), case=disputed), DEFAULT_PACKS)

    assert not decision.allowed
    assert ("cn-house", 1, "H6", "case_on_hold") in cited(decision)
    assert decision.allowed_from is None


def test_a_calendar_gap_warns_but_allows() -> None:
    decision = evaluate(contact(when=at(2031, 3, 11, 10), calendar=HOLIDAYS_2026), DEFAULT_PACKS)

    assert decision.allowed
    assert [(reason.pack, reason.result.rule, reason.result.reason) for reason in decision.warnings] == [
        ("cn-house", "H2", "calendar_year_missing")
    ]


def test_a_changed_parameter_is_a_new_pack_version_and_is_cited() -> None:
    nine_to_nine = CN_HOUSE.with_params(contact_window_start="09:00")

    decision = evaluate(contact(when=at(2026, 3, 10, 8, 30)), [nine_to_nine, CN_INDUSTRY_2026])

    assert CN_HOUSE.version == 1 and CN_HOUSE.params["contact_window_start"] == "08:00"
    assert cited(decision) == [("cn-house", 2, "H1", "outside_contact_window")]
    assert decision.allowed_from == at(2026, 3, 10, 9)


def test_us_conversation_and_window_combine_to_the_latest() -> None:
    # Conversation on 3 March (day 1 of 7) and a debtor who may be in New York or Los
    # Angeles: the call on 9 March at 07:00 New York time is refused by both, and the
    # next chance is 10 March 08:00 in Los Angeles (11:00 in New York).
    talked = counts(last_conversation_at=at(2026, 3, 3, 15, zone=NEW_YORK))
    proposed = contact(
        when=at(2026, 3, 9, 7, zone=NEW_YORK),
        debtor_zones=("America/New_York", "America/Los_Angeles"),
        counts=talked,
    )

    decision = evaluate(proposed, [US_REGF])

    assert cited(decision) == [
        ("us-regf", 1, "U2", "recent_conversation"),
        ("us-regf", 1, "U3", "inconvenient_time"),
    ]
    assert decision.allowed_from == at(2026, 3, 10, 8, zone=LOS_ANGELES)


def test_a_decision_record_is_json_ready() -> None:
    decision = evaluate(contact(when=at(2026, 3, 10, 21, 30), notes="你这个无赖"), DEFAULT_PACKS)

    assert decision.as_record() == {
        "allowed": False,
        "next_allowed_at": None,
        "violations": [
            {
                "rule": "H1",
                "pack": "cn-house",
                "pack_version": 1,
                "reason": "outside_contact_window",
                "message": "compliance.H1.outside_contact_window",
                "parameters": {"window_start": "08:00", "window_end": "21:00", "local_times": "21:30 CST"},
                "allowed_from": "2026-03-11T08:00:00+08:00",
                "findings": [],
            },
            {
                "rule": "H12",
                "pack": "cn-house",
                "pack_version": 1,
                "reason": "prohibited_language",
                "message": "compliance.H12.prohibited_language",
                "parameters": {"words": "无赖"},
                "allowed_from": None,
                "findings": [{"field": "notes", "word": "无赖", "start": 3, "end": 5}],
            },
        ],
        "warnings": [],
        "packs": [{"pack": "cn-house", "version": 1}, {"pack": "cn-industry-2026", "version": 1}],
    }
    assert json.loads(json.dumps(decision.as_record())) == decision.as_record()


def test_evaluate_needs_a_pack() -> None:
    with pytest.raises(ValueError, match="at least one policy pack"):
        evaluate(contact(), [])


@given(
    moment=st.datetimes(
        min_value=dt.datetime(2026, 9, 1), max_value=dt.datetime(2026, 11, 1), timezones=st.just(dt.UTC)
    ),
    days_off=st.frozensets(
        st.integers(min_value=0, max_value=60).map(lambda n: dt.date(2026, 9, 1) + dt.timedelta(n))
    ),
    zones=st.sampled_from([("Asia/Shanghai",), ("Asia/Urumqi",)]),
)
def test_the_allowed_from_time_passes_when_tried_again(
    moment: dt.datetime, days_off: frozenset[dt.date], zones: tuple[str, ...]
) -> None:
    calendar = Calendar(statutory_days_off=days_off, known_years=frozenset({2026}))
    proposed = contact(when=moment, debtor_zones=zones, calendar=calendar)

    decision = evaluate(proposed, DEFAULT_PACKS)

    if not decision.allowed:
        assert decision.allowed_from is not None and decision.allowed_from > moment
        retried = evaluate(
            contact(when=decision.allowed_from, debtor_zones=zones, calendar=calendar), DEFAULT_PACKS
        )
        assert retried.allowed, retried.violations


def test_a_window_that_closes_before_it_opens_is_a_problem_not_a_crash() -> None:
    from arrears.compliance.packs import CN_HOUSE, CN_INDUSTRY_2026, params_problems

    house = dict(CN_HOUSE.params, contact_window_start="21:00", contact_window_end="08:00")
    assert params_problems("cn-house", house) == [("contact_window_end", "window_order")]
    same = dict(CN_HOUSE.params, contact_window_start="09:00", contact_window_end="09:00")
    assert params_problems("cn-house", same) == [("contact_window_end", "window_order")]
    quiet = dict(CN_INDUSTRY_2026.params, quiet_hours_start="07:00", quiet_hours_end="08:00")
    assert params_problems("cn-industry-2026", quiet) == [("quiet_hours_start", "window_order")]
    assert params_problems("cn-industry-2026", dict(CN_INDUSTRY_2026.params)) == []
