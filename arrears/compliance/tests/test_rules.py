"""Each catalogue rule alone, with the default parameters of its pack. No database.

Every rule has at least one contact it lets through and one it refuses; refusals are
checked exactly (rule id, reason code, allowed-from time, highlighted words).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.compliance import rules
from arrears.compliance.inputs import (
    Calendar,
    CaseFacts,
    Channel,
    ContactInput,
    ContactKind,
    Hold,
    Message,
    OwnerRole,
    QuietHoursConsent,
    Visit,
)
from arrears.compliance.packs import CN_HOUSE, CN_INDUSTRY_2026, US_REGF
from arrears.compliance.rules import Outcome, RuleResult, TextFinding
from arrears.compliance.tests.builders import (
    LOS_ANGELES,
    MAKEUP_2026,
    NATIONAL_DAY_2026,
    NEW_YORK,
    SHANGHAI,
    URUMQI,
    at,
    case_facts,
    contact,
    counts,
    debtor_point,
)

HOUSE = CN_HOUSE.params
INDUSTRY = CN_INDUSTRY_2026.params
REGF = US_REGF.params

SPOUSE = debtor_point(owner_role=OwnerRole.SPOUSE)
APPROVED_SMS = Message(text="您的账单已逾期，请及时还款。", template_code="M1-D3", template_approved=True)


def denial(result: RuleResult | None) -> tuple[str, str, dt.datetime | None]:
    assert result is not None and result.outcome is Outcome.DENY, result
    return result.rule, result.reason, result.allowed_from


def finding(text: str, word: str, field: str = "message") -> TextFinding:
    start = text.index(word)
    return TextFinding(field, word, start, start + len(word))


# --- inputs --------------------------------------------------------------------------------


def test_a_naive_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        contact(when=dt.datetime(2026, 3, 10, 10))


def test_an_unknown_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="Asia/Nowhere"):
        contact(debtor_zones=("Asia/Nowhere",))


# --- H1 working window ---------------------------------------------------------------------


@pytest.mark.parametrize("hour, minute, second", [(8, 0, 0), (12, 30, 0), (20, 59, 0), (20, 59, 59)], ids=str)
def test_h1_allows_inside_the_window(hour: int, minute: int, second: int) -> None:
    assert rules.h1_contact_window(contact(when=at(2026, 3, 10, hour, minute, second)), HOUSE) is None


def test_h1_refuses_one_second_before_eight_until_eight() -> None:
    result = rules.h1_contact_window(contact(when=at(2026, 3, 10, 7, 59, 59)), HOUSE)

    assert denial(result) == ("H1", "outside_contact_window", at(2026, 3, 10, 8))
    assert result is not None
    assert result.message_key == "compliance.H1.outside_contact_window"
    assert result.message_params == {
        "window_start": "08:00",
        "window_end": "21:00",
        "local_times": "07:59 CST",
    }


def test_h1_refuses_at_nine_pm_until_eight_next_morning() -> None:
    result = rules.h1_contact_window(contact(when=at(2026, 3, 10, 21)), HOUSE)

    assert denial(result) == ("H1", "outside_contact_window", at(2026, 3, 11, 8))


def test_h1_uses_the_debtors_zone_not_beijing_time() -> None:
    # 08:30 Beijing time is 06:30 in Urumqi (UTC+6); 22:30 Beijing time is 20:30 there.
    urumqi = ("Asia/Urumqi",)

    early = rules.h1_contact_window(contact(when=at(2026, 3, 10, 8, 30), debtor_zones=urumqi), HOUSE)
    late = rules.h1_contact_window(contact(when=at(2026, 3, 10, 22, 30), debtor_zones=urumqi), HOUSE)

    assert denial(early) == ("H1", "outside_contact_window", at(2026, 3, 10, 8, zone=URUMQI))
    assert late is None


def test_h1_does_not_judge_the_hour_a_letter_is_posted() -> None:
    assert rules.h1_contact_window(contact(channel=Channel.LETTER, when=at(2026, 3, 10, 23)), HOUSE) is None


# --- H2 statutory holidays -----------------------------------------------------------------

HOLIDAYS_2026 = Calendar(
    statutory_days_off=NATIONAL_DAY_2026, makeup_working_days=MAKEUP_2026, known_years=frozenset({2026})
)


def test_h2_refuses_a_statutory_holiday_until_the_holiday_ends() -> None:
    result = rules.h2_statutory_holiday(contact(when=at(2026, 10, 1, 10), calendar=HOLIDAYS_2026), HOUSE)

    assert denial(result) == ("H2", "statutory_holiday", at(2026, 10, 8, 0))


def test_h2_allows_a_makeup_working_saturday() -> None:
    # Saturday 10 October 2026 is worked (调休).
    assert (
        rules.h2_statutory_holiday(contact(when=at(2026, 10, 10, 10), calendar=HOLIDAYS_2026), HOUSE) is None
    )


def test_h2_allows_an_ordinary_weekend() -> None:
    assert (
        rules.h2_statutory_holiday(contact(when=at(2026, 10, 11, 10), calendar=HOLIDAYS_2026), HOUSE) is None
    )


def test_h2_warns_about_a_year_missing_from_the_calendar_without_refusing() -> None:
    result = rules.h2_statutory_holiday(contact(when=at(2031, 10, 1, 10), calendar=HOLIDAYS_2026), HOUSE)

    assert result is not None
    assert (result.outcome, result.rule, result.reason) == (Outcome.WARN, "H2", "calendar_year_missing")
    assert result.message_params == {"year": 2031}


# --- H3 calls per case per day ---------------------------------------------------------------


def test_h3_allows_a_call_after_two_connected_and_nine_outbound() -> None:
    calls = counts(connected_calls_case_today=2, outbound_calls_case_today=9)

    assert rules.h3_case_daily_calls(contact(counts=calls), HOUSE) is None


def test_h3_refuses_once_three_calls_connected_until_local_midnight() -> None:
    calls = counts(connected_calls_case_today=3, outbound_calls_case_today=3)

    result = rules.h3_case_daily_calls(contact(counts=calls), HOUSE)

    assert denial(result) == ("H3", "case_connected_calls_cap", at(2026, 3, 11, 0))
    assert result is not None and result.message_params == {"count": 3, "limit": 3}


def test_h3_refuses_the_eleventh_outbound_call() -> None:
    result = rules.h3_case_daily_calls(contact(counts=counts(outbound_calls_case_today=10)), HOUSE)

    assert denial(result) == ("H3", "case_outbound_calls_cap", at(2026, 3, 11, 0))


def test_h3_does_not_count_against_sms() -> None:
    message = contact(channel=Channel.SMS, counts=counts(connected_calls_case_today=3), message=APPROVED_SMS)

    assert rules.h3_case_daily_calls(message, HOUSE) is None


# --- H4 protected customers ----------------------------------------------------------------

PROTECTED = case_facts(protected_reason="illness")


def test_h4_refuses_a_call_the_day_after_the_last_one() -> None:
    called_yesterday = counts(last_protected_call_at=at(2026, 3, 9, 15))

    result = rules.h4_protected_customer(contact(case=PROTECTED, counts=called_yesterday), HOUSE)

    assert denial(result) == ("H4", "protected_call_interval", at(2026, 3, 11, 0))


def test_h4_allows_a_call_two_calendar_days_later() -> None:
    called_two_days_ago = counts(last_protected_call_at=at(2026, 3, 8, 20, 59))

    assert rules.h4_protected_customer(contact(case=PROTECTED, counts=called_two_days_ago), HOUSE) is None


def test_h4_allows_the_call_back_the_customer_asked_for() -> None:
    asked = case_facts(protected_reason="hardship", customer_asked_call_back=True)
    called_today = counts(last_protected_call_at=at(2026, 3, 10, 9))

    assert rules.h4_protected_customer(contact(case=asked, counts=called_today), HOUSE) is None


def test_h4_does_not_apply_to_unprotected_customers() -> None:
    called_today = counts(last_protected_call_at=at(2026, 3, 10, 9))

    assert rules.h4_protected_customer(contact(counts=called_today), HOUSE) is None


def test_h4_refuses_a_second_visit_in_the_week_until_monday() -> None:
    visited = contact(
        channel=Channel.VISIT,
        case=PROTECTED,
        counts=counts(protected_visits_this_week=1),
        visit=Visit(visitors=2, recording_device=True),
    )

    # Tuesday 10 March 2026: the next week starts on Monday 16 March.
    assert denial(rules.h4_protected_customer(visited, HOUSE)) == (
        "H4",
        "protected_visit_weekly",
        at(2026, 3, 16, 0),
    )


def test_h4_allows_a_first_visit_with_two_visitors_and_refuses_three() -> None:
    two = contact(channel=Channel.VISIT, case=PROTECTED, visit=Visit(visitors=2, recording_device=True))
    three = contact(channel=Channel.VISIT, case=PROTECTED, visit=Visit(visitors=3, recording_device=True))

    assert rules.h4_protected_customer(two, HOUSE) is None
    assert denial(rules.h4_protected_customer(three, HOUSE)) == (
        "H4",
        "protected_visit_too_many_visitors",
        None,
    )


# --- H5 do-not-contact, wrong number -------------------------------------------------------


def test_h5_never_calls_a_third_party_who_refused_again() -> None:
    refused = debtor_point(owner_role=OwnerRole.FRIEND, do_not_contact=True, do_not_contact_reason="refused")

    result = rules.h5_do_not_contact(contact(contact_point=refused), HOUSE)

    assert denial(result) == ("H5", "do_not_contact", None)
    assert result is not None and result.message_params == {"dnc_reason": "refused"}


def test_h5_refuses_a_wrong_number() -> None:
    wrong_number = debtor_point(valid=False)

    assert denial(rules.h5_do_not_contact(contact(contact_point=wrong_number), HOUSE)) == (
        "H5",
        "contact_point_invalid",
        None,
    )


def test_h5_allows_a_valid_point() -> None:
    assert rules.h5_do_not_contact(contact(), HOUSE) is None


# --- H6 holds ------------------------------------------------------------------------------


@pytest.mark.parametrize("hold", list(Hold), ids=str)
def test_h6_refuses_every_hold(hold: Hold) -> None:
    result = rules.h6_case_on_hold(contact(case=case_facts(holds=frozenset({hold}))), HOUSE)

    assert denial(result) == ("H6", "case_on_hold", None)
    assert result is not None and result.message_params == {"holds": hold.value}


def test_h6_allows_a_case_without_hold() -> None:
    assert rules.h6_case_on_hold(contact(), HOUSE) is None


# --- H7 third parties ----------------------------------------------------------------------


def test_h7_refuses_a_third_party_while_the_debtor_is_reachable() -> None:
    assert denial(rules.h7_third_party(contact(contact_point=SPOUSE), HOUSE)) == (
        "H7",
        "third_party_while_debtor_reachable",
        None,
    )


def test_h7_allows_calling_a_third_party_when_the_debtor_is_unreachable() -> None:
    unreachable = case_facts(debtor_reachable=False)

    assert rules.h7_third_party(contact(contact_point=SPOUSE, case=unreachable), HOUSE) is None


def test_h7_allows_a_guarantor_like_the_debtor() -> None:
    guarantor = debtor_point(owner_role=OwnerRole.GUARANTOR)

    assert rules.h7_third_party(contact(contact_point=guarantor), HOUSE) is None


def test_h7_writes_to_a_third_party_only_to_pass_a_message() -> None:
    unreachable = case_facts(debtor_reachable=False)
    reminder = Message(text="您的家人欠款逾期", template_class="reminder", template_approved=True)
    pass_message = Message(text="请转告机主回电", template_class="pass_message", template_approved=True)

    disclosed = contact(channel=Channel.SMS, contact_point=SPOUSE, case=unreachable, message=reminder)
    passed = contact(channel=Channel.SMS, contact_point=SPOUSE, case=unreachable, message=pass_message)

    assert denial(rules.h7_third_party(disclosed, HOUSE)) == ("H7", "third_party_disclosure", None)
    assert rules.h7_third_party(passed, HOUSE) is None


# --- H8 recording --------------------------------------------------------------------------


def test_h8_stops_calls_while_recording_is_down() -> None:
    assert denial(rules.h8_recorded_lines(contact(recording_available=False), HOUSE)) == (
        "H8",
        "recording_unavailable",
        None,
    )


def test_h8_allows_calls_when_recording_works_and_sms_when_it_does_not() -> None:
    assert rules.h8_recorded_lines(contact(), HOUSE) is None
    sms = contact(channel=Channel.SMS, recording_available=False, message=APPROVED_SMS)
    assert rules.h8_recorded_lines(sms, HOUSE) is None


# --- H9 SMS only from the system -----------------------------------------------------------


def test_h9_allows_a_system_sms_from_an_approved_template() -> None:
    assert rules.h9_system_sms_only(contact(channel=Channel.SMS, message=APPROVED_SMS), HOUSE) is None


def test_h9_refuses_an_sms_sent_by_a_collector() -> None:
    personal = Message(text="还钱", sent_by_system=False)

    assert denial(rules.h9_system_sms_only(contact(channel=Channel.SMS, message=personal), HOUSE)) == (
        "H9",
        "sms_by_individual",
        None,
    )


def test_h9_refuses_an_unapproved_template() -> None:
    draft = Message(text="请还款", template_code="DRAFT-1")

    result = rules.h9_system_sms_only(contact(channel=Channel.SMS, message=draft), HOUSE)

    assert denial(result) == ("H9", "sms_template_not_approved", None)
    assert result is not None and result.message_params == {"template_code": "DRAFT-1"}


# --- H10 masking, letters ------------------------------------------------------------------


def test_h10_refuses_a_letter_to_a_parent() -> None:
    parent = debtor_point(owner_role=OwnerRole.PARENT, kind=ContactKind.ADDRESS)

    assert denial(
        rules.h10_masking_and_letters(contact(channel=Channel.LETTER, contact_point=parent), HOUSE)
    ) == (
        "H10",
        "letter_to_third_party",
        None,
    )


def test_h10_allows_a_masked_card_phone_number_and_amount() -> None:
    text = "您尾号1234的信用卡欠款12345.67元，卡号**** **** **** 1234，请致电13800138000。"

    assert (
        rules.h10_masking_and_letters(contact(channel=Channel.SMS, message=Message(text=text)), HOUSE) is None
    )


def test_h10_highlights_full_card_and_id_numbers() -> None:
    text = "卡号6222 0212 3456 7890 123，身份证11010119900307777X，请还款。"

    result = rules.h10_masking_and_letters(contact(channel=Channel.LETTER, message=Message(text=text)), HOUSE)

    assert denial(result) == ("H10", "unmasked_number", None)
    assert result is not None
    assert result.findings == (
        finding(text, "6222 0212 3456 7890 123"),
        finding(text, "11010119900307777X"),
    )


# --- H11 legal wording by principal --------------------------------------------------------


def test_h11_refuses_reporting_to_police_below_fifty_thousand_yuan() -> None:
    text = "再不还款我们将报案"
    small = case_facts(principal_fen=4_999_999)

    result = rules.h11_legal_wording(
        contact(channel=Channel.SMS, case=small, message=Message(text=text)), HOUSE
    )

    assert denial(result) == ("H11", "legal_wording_below_threshold", None)
    assert result is not None and result.findings == (TextFinding("message", "报案", 7, 9),)


def test_h11_allows_approved_legal_wording_from_fifty_thousand_yuan() -> None:
    text = "根据《刑法》第一百九十六条，恶意透支可能承担刑事责任。"
    notice = Message(text=text, template_class="legal_notice", template_approved=True)
    large = case_facts(principal_fen=5_000_000)

    assert rules.h11_legal_wording(contact(channel=Channel.LETTER, case=large, message=notice), HOUSE) is None


def test_h11_refuses_legal_wording_in_free_text_even_from_fifty_thousand_yuan() -> None:
    notes = "已告知客户刑法后果"
    large = case_facts(principal_fen=5_000_000)

    result = rules.h11_legal_wording(contact(case=large, notes=notes), HOUSE)

    assert denial(result) == ("H11", "legal_wording_not_approved", None)
    assert result is not None and result.findings == (finding(notes, "刑法", field="notes"),)


def test_h11_allows_plain_text() -> None:
    assert rules.h11_legal_wording(contact(notes="客户承诺周五还款"), HOUSE) is None


# --- H12 prohibited language ---------------------------------------------------------------


def test_h12_highlights_an_insult_in_notes() -> None:
    result = rules.h12_prohibited_language(contact(notes="你这个无赖"), HOUSE)

    assert denial(result) == ("H12", "prohibited_language", None)
    assert result is not None
    assert result.findings == (TextFinding("notes", "无赖", 3, 5),)
    assert result.message_params == {"words": "无赖"}


def test_h12_highlights_a_court_threat_and_police_impersonation() -> None:
    text = "我们会去法院抓你，公安已经立案"

    result = rules.h12_prohibited_language(contact(channel=Channel.SMS, message=Message(text=text)), HOUSE)

    assert result is not None
    assert result.findings == (
        TextFinding("message", "法院", 4, 6),
        TextFinding("message", "抓你", 6, 8),
        TextFinding("message", "公安", 9, 11),
    )


def test_h12_refuses_the_dishonest_debtor_label_only_for_small_balances() -> None:
    text = "您将被列为失信被执行人"
    small = case_facts(balance_fen=49_999)
    large = case_facts(balance_fen=50_000)

    small_result = rules.h12_prohibited_language(contact(case=small, notes=text), HOUSE)

    assert denial(small_result) == ("H12", "prohibited_language", None)
    assert small_result is not None and small_result.findings == (
        finding(text, "失信被执行人", field="notes"),
    )
    assert rules.h12_prohibited_language(contact(case=large, notes=text), HOUSE) is None


def test_h12_allows_polite_notes() -> None:
    assert rules.h12_prohibited_language(contact(notes="客户称本周五发工资后还款"), HOUSE) is None


# --- H13 small balance ---------------------------------------------------------------------


def test_h13_stops_a_strongly_disputed_small_balance() -> None:
    disputed = case_facts(balance_fen=30_000, amount_disputed=True)

    assert denial(rules.h13_small_balance_dispute(contact(case=disputed), HOUSE)) == (
        "H13",
        "small_balance_disputed",
        None,
    )


def test_h13_ignores_undisputed_small_and_disputed_large_balances() -> None:
    assert rules.h13_small_balance_dispute(contact(case=case_facts(balance_fen=30_000)), HOUSE) is None
    disputed_large = case_facts(balance_fen=50_000, amount_disputed=True)
    assert rules.h13_small_balance_dispute(contact(case=disputed_large), HOUSE) is None


# --- H14 / C6 visits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, params, rule_id",
    [(rules.h14_visit_conduct, HOUSE, "H14"), (rules.c6_visit_conduct, INDUSTRY, "C6")],
)
def test_visits_need_two_recorded_staff(rule: rules.Rule, params: rules.Params, rule_id: str) -> None:
    def visit(details: Visit | None) -> ContactInput:
        return contact(channel=Channel.VISIT, visit=details)

    assert rule(visit(Visit(visitors=2, recording_device=True)), params) is None
    assert denial(rule(visit(Visit(visitors=1, recording_device=True)), params)) == (
        rule_id,
        "visit_too_few_staff",
        None,
    )
    assert denial(rule(visit(Visit(visitors=2, recording_device=False)), params)) == (
        rule_id,
        "visit_not_recorded",
        None,
    )
    assert denial(rule(visit(None), params)) == (rule_id, "visit_details_missing", None)


def test_h14_refuses_a_visit_without_identity_shown() -> None:
    anonymous = contact(
        channel=Channel.VISIT, visit=Visit(visitors=2, recording_device=True, identity_shown=False)
    )

    assert denial(rules.h14_visit_conduct(anonymous, HOUSE)) == ("H14", "visit_identity_not_shown", None)


# --- H15, H16 promises and personal payment ------------------------------------------------


def test_h15_refuses_an_unauthorised_waiver_and_allows_an_authorised_one() -> None:
    notes = "可以给您减免利息"

    result = rules.h15_unauthorised_promise(contact(notes=notes), HOUSE)

    assert denial(result) == ("H15", "unauthorised_promise", None)
    assert result is not None and result.findings == (TextFinding("notes", "减免", 4, 6),)
    authorised = case_facts(waiver_authorised=True)
    assert rules.h15_unauthorised_promise(contact(case=authorised, notes=notes), HOUSE) is None


def test_h16_refuses_payment_to_a_person() -> None:
    text = "请转到我个人账户"

    result = rules.h16_personal_payment(contact(channel=Channel.SMS, message=Message(text=text)), HOUSE)

    assert denial(result) == ("H16", "personal_payment", None)
    assert result is not None
    assert result.findings == (
        TextFinding("message", "转到我", 1, 4),
        TextFinding("message", "个人账户", 4, 8),
    )


def test_h16_allows_the_official_channel() -> None:
    assert rules.h16_personal_payment(contact(notes="请通过官方APP还款"), HOUSE) is None


# --- C1 quiet hours ------------------------------------------------------------------------


def test_c1_allows_until_twenty_two() -> None:
    assert rules.c1_quiet_hours(contact(when=at(2026, 3, 10, 21, 59, 59)), INDUSTRY) is None
    assert rules.c1_quiet_hours(contact(when=at(2026, 3, 10, 8)), INDUSTRY) is None


def test_c1_refuses_quiet_hours_until_eight() -> None:
    late = rules.c1_quiet_hours(contact(when=at(2026, 3, 10, 22)), INDUSTRY)
    early = rules.c1_quiet_hours(contact(when=at(2026, 3, 10, 7, 59, 59)), INDUSTRY)

    assert denial(late) == ("C1", "quiet_hours", at(2026, 3, 11, 8))
    assert denial(early) == ("C1", "quiet_hours", at(2026, 3, 10, 8))


def test_c1_honours_a_consent_only_for_its_channels_and_until_it_expires() -> None:
    consent = QuietHoursConsent(channels=frozenset({Channel.CALL}), expires_at=at(2026, 3, 31, 0))
    night = at(2026, 3, 10, 23)

    assert rules.c1_quiet_hours(contact(when=night, consent=consent), INDUSTRY) is None
    sms = contact(channel=Channel.SMS, when=night, consent=consent, message=APPROVED_SMS)
    assert denial(rules.c1_quiet_hours(sms, INDUSTRY)) == ("C1", "quiet_hours", at(2026, 3, 11, 8))
    expired = contact(when=at(2026, 4, 1, 23), consent=consent)
    assert denial(rules.c1_quiet_hours(expired, INDUSTRY)) == ("C1", "quiet_hours", at(2026, 4, 2, 8))


# --- C2, C3 caps ---------------------------------------------------------------------------


def test_c2_caps_connected_calls_per_debtor_across_agencies() -> None:
    assert (
        rules.c2_debtor_daily_connected_calls(
            contact(counts=counts(connected_calls_debtor_today=2)), INDUSTRY
        )
        is None
    )
    result = rules.c2_debtor_daily_connected_calls(
        contact(counts=counts(connected_calls_debtor_today=3)), INDUSTRY
    )
    assert denial(result) == ("C2", "debtor_connected_calls_cap", at(2026, 3, 11, 0))


def test_c3_caps_unanswered_attempts_per_number() -> None:
    five = contact(counts=counts(unanswered_attempts_number_today=5))
    six = contact(counts=counts(unanswered_attempts_number_today=6))

    assert rules.c3_number_unanswered_attempts(five, INDUSTRY) is None
    assert denial(rules.c3_number_unanswered_attempts(six, INDUSTRY)) == (
        "C3",
        "number_unanswered_cap",
        at(2026, 3, 11, 0),
    )


# --- C4 third parties ----------------------------------------------------------------------

COLLEAGUE = debtor_point(owner_role=OwnerRole.COLLEAGUE, kind=ContactKind.WORK)


def test_c4_refuses_a_third_party_while_the_debtor_is_reachable() -> None:
    assert denial(rules.c4_third_party_conditions(contact(contact_point=COLLEAGUE), INDUSTRY)) == (
        "C4",
        "third_party_while_debtor_reachable",
        None,
    )


@pytest.mark.parametrize(
    "facts",
    [
        case_facts(debtor_reachable=False),
        case_facts(holds=frozenset({Hold.DECEASED})),
        case_facts(debtor_lacks_capacity=True),
    ],
    ids=["unreachable", "deceased", "lacks-capacity"],
)
def test_c4_allows_a_third_party_when_the_debtor_cannot_answer(facts: CaseFacts) -> None:
    assert rules.c4_third_party_conditions(contact(contact_point=COLLEAGUE, case=facts), INDUSTRY) is None


def test_c4_lets_an_unrelated_third_party_only_pass_a_message() -> None:
    stranger = debtor_point(owner_role=OwnerRole.OTHER)
    unreachable = case_facts(debtor_reachable=False)
    reminder = Message(text="机主欠款逾期", template_class="reminder", template_approved=True)
    pass_message = Message(text="请转告机主回电", template_class="pass_message", template_approved=True)

    told = contact(channel=Channel.SMS, contact_point=stranger, case=unreachable, message=reminder)
    asked = contact(channel=Channel.SMS, contact_point=stranger, case=unreachable, message=pass_message)

    assert denial(rules.c4_third_party_conditions(told, INDUSTRY)) == (
        "C4",
        "unrelated_third_party_beyond_message",
        None,
    )
    assert rules.c4_third_party_conditions(asked, INDUSTRY) is None


# --- C5 authority names --------------------------------------------------------------------


def test_c5_refuses_the_name_of_a_court_and_allows_the_institution() -> None:
    text = "这里是人民法院执行局"

    result = rules.c5_authority_names(contact(channel=Channel.SMS, message=Message(text=text)), INDUSTRY)

    assert denial(result) == ("C5", "authority_name_used", None)
    assert result is not None and result.findings == (finding(text, "法院"),)
    assert rules.c5_authority_names(contact(notes="这里是某某消费金融公司"), INDUSTRY) is None


# --- U1 seven calls in seven days ----------------------------------------------------------

NY = ("America/New_York",)


def ny_contact(when: dt.datetime, **changes: object) -> ContactInput:
    return contact(when=when, debtor_zones=NY, **changes)


def test_u1_allows_a_seventh_attempt_and_ignores_attempts_eight_days_ago() -> None:
    six = [at(2026, 3, day, 10, zone=NEW_YORK) for day in range(4, 10)]
    old = [at(2026, 3, 2, 10, zone=NEW_YORK)] * 5

    calls = counts(call_attempts_at=tuple(six + old))

    assert rules.u1_seven_in_seven(ny_contact(at(2026, 3, 10, 10, zone=NEW_YORK), counts=calls), REGF) is None


def test_u1_refuses_an_eighth_attempt_until_the_oldest_leaves_the_window() -> None:
    one_a_day = counts(call_attempts_at=tuple(at(2026, 3, day, 10, zone=NEW_YORK) for day in range(4, 11)))

    result = rules.u1_seven_in_seven(ny_contact(at(2026, 3, 10, 15, zone=NEW_YORK), counts=one_a_day), REGF)

    assert denial(result) == ("U1", "call_attempts_in_window", at(2026, 3, 11, 0, zone=NEW_YORK))


def test_u1_slides_over_a_month_boundary() -> None:
    # Two attempts on 29, 30 and 31 January, one on 1 February: seven in the window.
    attempts = [at(2026, 1, day, hour, zone=NEW_YORK) for day in (29, 30, 31) for hour in (10, 16)]
    attempts.append(at(2026, 2, 1, 10, zone=NEW_YORK))

    result = rules.u1_seven_in_seven(
        ny_contact(at(2026, 2, 2, 10, zone=NEW_YORK), counts=counts(call_attempts_at=tuple(attempts))), REGF
    )

    # 5 February: the window 30 January – 5 February holds five attempts.
    assert denial(result) == ("U1", "call_attempts_in_window", at(2026, 2, 5, 0, zone=NEW_YORK))


# --- U2 after a conversation ---------------------------------------------------------------


def test_u2_blocks_seven_days_from_a_conversation_the_consumer_started() -> None:
    # The consumer called in on Tuesday 3 March (day 1); day 7 is Monday 9 March.
    talked = counts(last_conversation_at=at(2026, 3, 3, 15, zone=NEW_YORK))

    day_seven = rules.u2_after_conversation(
        ny_contact(at(2026, 3, 9, 20, zone=NEW_YORK), counts=talked), REGF
    )
    day_eight = rules.u2_after_conversation(
        ny_contact(at(2026, 3, 10, 8, zone=NEW_YORK), counts=talked), REGF
    )

    assert denial(day_seven) == ("U2", "recent_conversation", at(2026, 3, 10, 0, zone=NEW_YORK))
    assert day_eight is None


# --- U3 inconvenient time, uncertain location ----------------------------------------------

NY_OR_LA = ("America/New_York", "America/Los_Angeles")


def test_u3_allows_only_the_intersection_of_the_plausible_zones() -> None:
    # 08:30 in New York is 05:30 in Los Angeles; the common window is 11:00–21:00 New York time.
    early = rules.u3_inconvenient_time(
        contact(when=at(2026, 3, 10, 8, 30, zone=NEW_YORK), debtor_zones=NY_OR_LA), REGF
    )
    inside = rules.u3_inconvenient_time(
        contact(when=at(2026, 3, 10, 20, 59, 59, zone=NEW_YORK), debtor_zones=NY_OR_LA), REGF
    )
    late_la = rules.u3_inconvenient_time(
        contact(when=at(2026, 3, 10, 20, 59, zone=LOS_ANGELES), debtor_zones=NY_OR_LA), REGF
    )

    assert denial(early) == ("U3", "inconvenient_time", at(2026, 3, 10, 8, zone=LOS_ANGELES))
    assert inside is None
    assert denial(late_la) == ("U3", "inconvenient_time", at(2026, 3, 11, 8, zone=LOS_ANGELES))


def test_u3_refuses_at_nine_pm_sharp() -> None:
    result = rules.u3_inconvenient_time(ny_contact(at(2026, 3, 10, 21, zone=NEW_YORK)), REGF)

    assert denial(result) == ("U3", "inconvenient_time", at(2026, 3, 11, 8, zone=NEW_YORK))


def test_a_window_no_zone_pair_shares_has_no_allowed_time() -> None:
    # A two-hour window in Shanghai and in New York never overlaps.
    zones = (SHANGHAI, NEW_YORK)

    assert rules.next_inside_window(at(2026, 3, 10, 10), zones, dt.time(8), dt.time(10)) is None


# --- U4, U5, U8 ----------------------------------------------------------------------------


def test_u4_stops_on_cease_attorney_and_employer_prohibition() -> None:
    assert denial(rules.u4_stop_flags(contact(case=case_facts(cease_requested=True)), REGF)) == (
        "U4",
        "cease_requested",
        None,
    )
    assert denial(rules.u4_stop_flags(contact(case=case_facts(attorney_represented=True)), REGF)) == (
        "U4",
        "attorney_represented",
        None,
    )
    employer = case_facts(employer_prohibits_workplace_contact=True)
    work = debtor_point(kind=ContactKind.WORK)
    assert denial(rules.u4_stop_flags(contact(case=employer, contact_point=work), REGF)) == (
        "U4",
        "employer_prohibits_workplace_contact",
        None,
    )
    assert rules.u4_stop_flags(contact(case=employer), REGF) is None


def test_u5_needs_an_opt_out_and_honours_one() -> None:
    with_opt_out = Message(text="Reply STOP to opt out.", template_approved=True, has_opt_out=True)
    opted_out = debtor_point(do_not_contact=True, do_not_contact_reason="opt_out")

    assert rules.u5_opt_out(contact(channel=Channel.SMS, message=with_opt_out), REGF) is None
    assert denial(rules.u5_opt_out(contact(channel=Channel.EMAIL, message=APPROVED_SMS), REGF)) == (
        "U5",
        "missing_opt_out",
        None,
    )
    assert denial(
        rules.u5_opt_out(contact(channel=Channel.SMS, contact_point=opted_out, message=with_opt_out), REGF)
    ) == ("U5", "opted_out", None)


@pytest.mark.parametrize(
    "reply, expected", [(" stop ", True), ("退订", True), ("Cancel", True), ("stop by later", False)]
)
def test_u5_recognises_opt_out_replies(reply: str, expected: bool) -> None:
    assert rules.opt_out_requested(reply, REGF) is expected


def test_u8_refuses_threats_of_suit_on_time_barred_debt() -> None:
    text = "About this issue: we will sue you."
    barred = case_facts(time_barred=True)

    result = rules.u8_time_barred(
        contact(channel=Channel.EMAIL, case=barred, message=Message(text=text)), REGF
    )

    # "issue" contains "sue" but is not the word.
    assert denial(result) == ("U8", "time_barred_suit_threat", None)
    assert result is not None and result.findings == (TextFinding("message", "sue", 26, 29),)
    assert rules.u8_time_barred(contact(channel=Channel.EMAIL, message=Message(text=text)), REGF) is None


# --- properties ----------------------------------------------------------------------------

WINDOW_RULES = [
    (rules.h1_contact_window, HOUSE),
    (rules.c1_quiet_hours, INDUSTRY),
    (rules.u3_inconvenient_time, REGF),
]
ZONE_SETS = [
    ("Asia/Shanghai",),
    ("Asia/Urumqi",),
    ("America/New_York", "America/Los_Angeles"),
    ("America/New_York", "America/Chicago", "America/Denver"),
    ("Asia/Shanghai", "Europe/London"),
]


@given(
    moment=st.datetimes(
        min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(dt.UTC)
    ),
    zones=st.sampled_from(ZONE_SETS),
    rule_and_params=st.sampled_from(WINDOW_RULES),
)
def test_a_window_denial_lifts_at_its_allowed_from_time(
    moment: dt.datetime, zones: tuple[str, ...], rule_and_params: tuple[rules.Rule, rules.Params]
) -> None:
    rule, params = rule_and_params
    proposed = contact(when=moment, debtor_zones=zones)

    result = rule(proposed, params)

    if result is not None:
        assert result.allowed_from is not None and result.allowed_from > moment
        assert rule(contact(when=result.allowed_from, debtor_zones=zones), params) is None
