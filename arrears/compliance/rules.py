"""Every contact-time rule of the catalogue as a pure function (no Django, no ORM).

A rule is ``rule(contact, params) -> RuleResult | None``: None when the rule has nothing
to say about this contact, otherwise a result that allows, warns or denies, with the
catalogue id (``docs: compliance-rules.md``), a reason code, a message key with its
parameters and, for denials that lift by themselves, the first instant they lift
(`allowed_from`). Text rules return the offending words with their positions.

Parameters come from the pack (`packs.py`), never from constants here. Readings chosen
where the catalogue leaves room are stated next to each rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from arrears.compliance.inputs import (
    LIABLE_ROLES,
    WRITTEN_CHANNELS,
    Channel,
    ContactInput,
    ContactKind,
    Hold,
    OwnerRole,
)

Params = Mapping[str, object]


class Outcome(enum.StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    DENY = "deny"


@dataclasses.dataclass(frozen=True, slots=True)
class TextFinding:
    """An offending word: `text[start:end] == word` in the named field ("message"/"notes")."""

    field: str
    word: str
    start: int
    end: int


@dataclasses.dataclass(frozen=True, slots=True)
class RuleResult:
    outcome: Outcome
    rule: str
    reason: str
    message_key: str
    message_params: Mapping[str, object] = dataclasses.field(default_factory=dict)
    # For a denial: the first instant at which this rule alone no longer denies, or None
    # when it does not lift by itself (a hold, a refusal, a word in the text …).
    allowed_from: dt.datetime | None = None
    findings: tuple[TextFinding, ...] = ()

    @property
    def denies(self) -> bool:
        return self.outcome is Outcome.DENY


Rule = Callable[[ContactInput, Params], RuleResult | None]


def _deny(
    rule: str,
    reason: str,
    *,
    allowed_from: dt.datetime | None = None,
    findings: tuple[TextFinding, ...] = (),
    **message_params: object,
) -> RuleResult:
    return RuleResult(
        outcome=Outcome.DENY,
        rule=rule,
        reason=reason,
        message_key=f"compliance.{rule}.{reason}",
        message_params=message_params,
        allowed_from=allowed_from,
        findings=findings,
    )


def _warn(rule: str, reason: str, **message_params: object) -> RuleResult:
    return RuleResult(
        outcome=Outcome.WARN,
        rule=rule,
        reason=reason,
        message_key=f"compliance.{rule}.{reason}",
        message_params=message_params,
    )


# --- parameters ------------------------------------------------------------------------


def _int(params: Params, key: str) -> int:
    value = params[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"pack parameter {key!r} must be an int, not {value!r}")
    return value


def _clock(params: Params, key: str) -> dt.time:
    value = params[key]
    if not isinstance(value, str):
        raise TypeError(f"pack parameter {key!r} must be 'HH:MM', not {value!r}")
    return dt.time.fromisoformat(value)


def _words(params: Params, key: str) -> tuple[str, ...]:
    value = params[key]
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"pack parameter {key!r} must be a list of words, not {value!r}")
    words = tuple(value)
    if not all(isinstance(word, str) and word for word in words):
        raise TypeError(f"pack parameter {key!r} must hold non-empty strings")
    return words


# --- time ------------------------------------------------------------------------------

# Letters are posted, not delivered at a chosen hour, so the hour and day rules (H1, H2,
# C1, U3) do not judge them.
TIMED_CHANNELS = frozenset({Channel.CALL, Channel.SMS, Channel.EMAIL, Channel.VISIT})


def _local_day(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def _start_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def _start_of_day_after(contact: ContactInput, days: int = 1) -> dt.datetime:
    """Local midnight `days` days after the contact's local day, the latest over the zones.

    Daily counters reset at the debtor's local midnight ("windows use the debtor's local
    calendar day, not 24-hour spans"); with several zones the latest reset is the safe one.
    """
    return max(
        _start_of_day(_local_day(contact.when, zone) + dt.timedelta(days=days), zone)
        for zone in contact.zones
    )


def _inside(moment: dt.datetime, zones: tuple[ZoneInfo, ...], start: dt.time, end: dt.time) -> bool:
    """Whether `moment` is in [start, end) on the local clock of every zone."""
    return all(start <= moment.astimezone(zone).time().replace(tzinfo=None) < end for zone in zones)


def next_inside_window(
    moment: dt.datetime, zones: tuple[ZoneInfo, ...], start: dt.time, end: dt.time
) -> dt.datetime | None:
    """The first instant >= `moment` inside [start, end) in every zone, None if none soon.

    The allowed set is an intersection of daily intervals, so its earliest point at or
    after `moment` is `moment` itself or the opening of some zone's window. Zones whose
    windows never overlap (e.g. 12 hours apart for a 13-hour window) give None.
    """
    if start >= end:
        raise ValueError(f"a window must open before it closes: {start}–{end}")
    candidates = [moment]
    for zone in zones:
        first_day = _local_day(moment, zone)
        for offset in range(-1, 8):
            opening = dt.datetime.combine(first_day + dt.timedelta(days=offset), start, tzinfo=zone)
            if opening > moment:
                candidates.append(opening)
    for candidate in sorted(candidates):
        if _inside(candidate, zones, start, end):
            return candidate
    return None


def _window_denial(
    rule: str, reason: str, contact: ContactInput, start: dt.time, end: dt.time
) -> RuleResult | None:
    if contact.channel not in TIMED_CHANNELS or _inside(contact.when, contact.zones, start, end):
        return None
    return _deny(
        rule,
        reason,
        allowed_from=next_inside_window(contact.when, contact.zones, start, end),
        window_start=start.strftime("%H:%M"),
        window_end=end.strftime("%H:%M"),
        local_times=", ".join(contact.when.astimezone(zone).strftime("%H:%M %Z") for zone in contact.zones),
    )


# --- text ------------------------------------------------------------------------------


def _word_pattern(word: str) -> str:
    # Latin words match whole words only ("sue" is not in "issue"); Chinese has no spaces
    # between words, so Chinese words match anywhere.
    pattern = re.escape(word)
    if word[0].isascii() and word[0].isalnum():
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if word[-1].isascii() and word[-1].isalnum():
        pattern += r"(?![A-Za-z0-9])"
    return pattern


def find_words(text: str, words: Iterable[str], *, field: str = "text") -> tuple[TextFinding, ...]:
    """Every occurrence of any of `words` in `text`, case-insensitive, longest word first.

    Positions are indexes into the original text (not a case-folded copy), so a page can
    highlight ``text[start:end]`` directly.
    """
    unique = sorted(set(words), key=lambda word: (-len(word), word))
    if not unique or not text:
        return ()
    pattern = re.compile("|".join(_word_pattern(word) for word in unique), re.IGNORECASE)
    return tuple(
        TextFinding(field, match.group(0), match.start(), match.end()) for match in pattern.finditer(text)
    )


def _texts(contact: ContactInput) -> list[tuple[str, str]]:
    texts = []
    if contact.message is not None:
        texts.append(("message", contact.message.text))
    if contact.notes:
        texts.append(("notes", contact.notes))
    return texts


def _screen(contact: ContactInput, words: Iterable[str]) -> tuple[TextFinding, ...]:
    word_list = tuple(words)
    return tuple(
        finding for field, text in _texts(contact) for finding in find_words(text, word_list, field=field)
    )


def _shown_words(findings: tuple[TextFinding, ...]) -> str:
    return "、".join(dict.fromkeys(finding.word for finding in findings))


# A card number (12–19 digits, optionally grouped by single spaces or hyphens) or an ID
# number (17 digits and a check digit or X) written out in full. Amounts and 11-digit
# phone numbers stay below the length, masked numbers ("**** 1234") have too few digits.
_UNMASKED_NUMBER = re.compile(r"(?<![\dXx])\d(?:[ -]?\d){11,18}[Xx]?(?![\dXx])")


def _is_third_party(contact: ContactInput) -> bool:
    return contact.contact_point.owner_role not in LIABLE_ROLES


# --- pack cn-house ---------------------------------------------------------------------


def h1_contact_window(contact: ContactInput, params: Params) -> RuleResult | None:
    """H1: contact only inside the working window, debtor's local time (end exclusive)."""
    return _window_denial(
        "H1",
        "outside_contact_window",
        contact,
        _clock(params, "contact_window_start"),
        _clock(params, "contact_window_end"),
    )


def h2_statutory_holiday(contact: ContactInput, params: Params) -> RuleResult | None:
    """H2: no collection contact on statutory holidays; 调休 working days count as working.

    A year the calendar does not cover only knows weekends, which H2 does not forbid, so
    the contact passes with a warning that shows the gap (it never crashes).
    """
    if contact.channel not in TIMED_CHANNELS:
        return None
    calendar = contact.calendar
    for zone in contact.zones:
        day = _local_day(contact.when, zone)
        if calendar.is_statutory_day_off(day):
            lifts_on = day + dt.timedelta(days=1)
            while calendar.is_statutory_day_off(lifts_on):
                lifts_on += dt.timedelta(days=1)
            return _deny(
                "H2",
                "statutory_holiday",
                allowed_from=_start_of_day(lifts_on, zone),
                local_date=day.isoformat(),
            )
        if day.year not in calendar.known_years:
            return _warn("H2", "calendar_year_missing", year=day.year)
    return None


def h3_case_daily_calls(contact: ContactInput, params: Params) -> RuleResult | None:
    """H3: per case per local day, at most N connected calls and M outbound calls in all.

    Before dialling nobody knows whether the call will connect, so once the connected cap
    is reached any further call is refused (the 4th connected call can never happen).
    """
    if contact.channel is not Channel.CALL:
        return None
    counts = contact.counts
    max_connected = _int(params, "max_connected_calls_per_case_day")
    max_outbound = _int(params, "max_outbound_calls_per_case_day")
    if counts.connected_calls_case_today >= max_connected:
        return _deny(
            "H3",
            "case_connected_calls_cap",
            allowed_from=_start_of_day_after(contact),
            count=counts.connected_calls_case_today,
            limit=max_connected,
        )
    if counts.outbound_calls_case_today >= max_outbound:
        return _deny(
            "H3",
            "case_outbound_calls_cap",
            allowed_from=_start_of_day_after(contact),
            count=counts.outbound_calls_case_today,
            limit=max_outbound,
        )
    return None


def h4_protected_customer(contact: ContactInput, params: Params) -> RuleResult | None:
    """H4: protected customers — calls at most once every N days unless they asked for a
    call back; visits at most once a week with at most K visitors.

    "Once every 2 days" is read in local calendar days: after a call on day D the next
    call is allowed from day D+2. "A week" is the Monday–Sunday week of the local date.
    """
    case = contact.case
    if not case.is_protected:
        return None
    counts = contact.counts
    if contact.channel is Channel.CALL:
        last = counts.last_protected_call_at
        if last is None or case.customer_asked_call_back:
            return None
        interval = _int(params, "protected_call_interval_days")
        zone = contact.zones[0]
        lifts_on = _local_day(last, zone) + dt.timedelta(days=interval)
        if _local_day(contact.when, zone) >= lifts_on:
            return None
        return _deny(
            "H4",
            "protected_call_interval",
            allowed_from=_start_of_day(lifts_on, zone),
            last_call=last.astimezone(zone).isoformat(),
            interval_days=interval,
            protected_reason=case.protected_reason,
        )
    if contact.channel is Channel.VISIT:
        max_visitors = _int(params, "protected_max_visitors")
        if contact.visit is not None and contact.visit.visitors > max_visitors:
            return _deny(
                "H4", "protected_visit_too_many_visitors", visitors=contact.visit.visitors, limit=max_visitors
            )
        max_visits = _int(params, "protected_max_visits_per_week")
        if counts.protected_visits_this_week >= max_visits:
            zone = contact.zones[0]
            today = _local_day(contact.when, zone)
            next_monday = today + dt.timedelta(days=7 - today.weekday())
            return _deny(
                "H4",
                "protected_visit_weekly",
                allowed_from=_start_of_day(next_monday, zone),
                count=counts.protected_visits_this_week,
                limit=max_visits,
            )
    return None


def h5_do_not_contact(contact: ContactInput, params: Params) -> RuleResult | None:
    """H5: a contact point marked do-not-contact (a third party who refused, had no
    information or objected) is never contacted again. A wrong number (WN) invalidates
    the point; it is refused here too, as the catalogue has no separate id for it.
    """
    point = contact.contact_point
    if point.do_not_contact:
        return _deny("H5", "do_not_contact", dnc_reason=point.do_not_contact_reason)
    if not point.valid:
        return _deny("H5", "contact_point_invalid")
    if contact.channel in point.opted_out_channels:
        # The owner replied 退订 / STOP: no more messages on that channel; calls are judged as usual.
        return _deny("H5", "opted_out_channel", channel=contact.channel.value)
    return None


def h6_case_on_hold(contact: ContactInput, params: Params) -> RuleResult | None:
    """H6: no contact at all while the case is on hold (dispute, complaint, deceased,
    jail, creditor's do-not-collect list, legal hold)."""
    if not contact.case.holds:
        return None
    holds = sorted(hold.value for hold in contact.case.holds)
    return _deny("H6", "case_on_hold", holds=", ".join(holds))


def h7_third_party(contact: ContactInput, params: Params) -> RuleResult | None:
    """H7: third parties only when the debtor cannot be reached, and no debt details in
    what is written to them: only the template classes the pack lists (a request to pass
    a message). Spoken disclosure is for QA; the guard cannot hear the call.
    """
    if not _is_third_party(contact):
        return None
    if contact.case.debtor_reachable:
        return _deny(
            "H7", "third_party_while_debtor_reachable", owner_role=contact.contact_point.owner_role.value
        )
    allowed_classes = _words(params, "third_party_template_classes")
    if contact.channel in WRITTEN_CHANNELS and (
        contact.message is None or contact.message.template_class not in allowed_classes
    ):
        template_class = contact.message.template_class if contact.message else ""
        return _deny("H7", "third_party_disclosure", template_class=template_class)
    return None


def h8_recorded_lines(contact: ContactInput, params: Params) -> RuleResult | None:
    """H8: calls only from recorded lines; while recording is down, calls stop. Nobody
    knows when it comes back, so the denial has no time."""
    if contact.channel is Channel.CALL and not contact.recording_available:
        return _deny("H8", "recording_unavailable")
    return None


def h9_system_sms_only(contact: ContactInput, params: Params) -> RuleResult | None:
    """H9: no SMS by individual collectors; system SMS from approved templates only."""
    if contact.channel is not Channel.SMS:
        return None
    message = contact.message
    if message is not None and not message.sent_by_system:
        return _deny("H9", "sms_by_individual")
    if message is None or not message.template_approved:
        return _deny(
            "H9", "sms_template_not_approved", template_code=message.template_code if message else ""
        )
    return None


def h10_masking_and_letters(contact: ContactInput, params: Params) -> RuleResult | None:
    """H10: letters go only to the debtor or a liable guarantor; letters and SMS show at
    most the last 4 digits of a card or ID number."""
    if contact.channel is Channel.LETTER and _is_third_party(contact):
        return _deny("H10", "letter_to_third_party", owner_role=contact.contact_point.owner_role.value)
    if contact.channel not in (Channel.LETTER, Channel.SMS) or contact.message is None:
        return None
    findings = tuple(
        TextFinding("message", match.group(0), match.start(), match.end())
        for match in _UNMASKED_NUMBER.finditer(contact.message.text)
    )
    if findings:
        return _deny("H10", "unmasked_number", findings=findings, count=len(findings))
    return None


def h11_legal_wording(contact: ContactInput, params: Params) -> RuleResult | None:
    """H11: principal below the threshold → no Criminal Law citation nor words such as
    报案 / 抓人, anywhere; at or above it → such wording only inside an approved template
    (free text and notes may not carry it)."""
    threshold = _int(params, "legal_wording_principal_threshold_fen")
    words = _words(params, "criminal_law_words")
    if contact.case.principal_fen < threshold:
        findings = _screen(contact, words)
        reason = "legal_wording_below_threshold"
    else:
        findings = find_words(contact.notes, words, field="notes")
        if contact.message is not None and not contact.message.template_approved:
            findings = find_words(contact.message.text, words, field="message") + findings
        reason = "legal_wording_not_approved"
    if not findings:
        return None
    return _deny("H11", reason, findings=findings, words=_shown_words(findings), threshold_fen=threshold)


def h12_prohibited_language(contact: ContactInput, params: Params) -> RuleResult | None:
    """H12: insults, threats and impersonation of police, courts or lawyers are refused
    in messages and notes; 失信被执行人 too when the balance is small."""
    words = list(_words(params, "prohibited_words"))
    if contact.case.balance_fen < _int(params, "small_balance_fen"):
        words += _words(params, "small_balance_prohibited_words")
    findings = _screen(contact, words)
    if not findings:
        return None
    return _deny("H12", "prohibited_language", findings=findings, words=_shown_words(findings))


def h13_small_balance_dispute(contact: ContactInput, params: Params) -> RuleResult | None:
    """H13: a small balance whose amount is strongly disputed: stop and report."""
    small = contact.case.balance_fen < _int(params, "small_balance_fen")
    if small and contact.case.amount_disputed:
        return _deny("H13", "small_balance_disputed", balance_fen=contact.case.balance_fen)
    return None


def h14_visit_conduct(contact: ContactInput, params: Params) -> RuleResult | None:
    """H14: a visit has at least N staff, a recording device and shows identity."""
    if contact.channel is not Channel.VISIT:
        return None
    visit = contact.visit
    if visit is None:
        return _deny("H14", "visit_details_missing")
    min_visitors = _int(params, "min_visitors")
    if visit.visitors < min_visitors:
        return _deny("H14", "visit_too_few_staff", visitors=visit.visitors, minimum=min_visitors)
    if not visit.recording_device:
        return _deny("H14", "visit_not_recorded")
    if not visit.identity_shown:
        return _deny("H14", "visit_identity_not_shown")
    return None


def h15_unauthorised_promise(contact: ContactInput, params: Params) -> RuleResult | None:
    """H15: no promise of a waiver, reduction or approval without authorisation."""
    if contact.case.waiver_authorised:
        return None
    findings = _screen(contact, _words(params, "waiver_promise_words"))
    if not findings:
        return None
    return _deny("H15", "unauthorised_promise", findings=findings, words=_shown_words(findings))


def h16_personal_payment(contact: ContactInput, params: Params) -> RuleResult | None:
    """H16: money is never taken personally: no text asking to pay a person."""
    findings = _screen(contact, _words(params, "personal_payment_words"))
    if not findings:
        return None
    return _deny("H16", "personal_payment", findings=findings, words=_shown_words(findings))


# --- pack cn-industry-2026 -------------------------------------------------------------


def c1_quiet_hours(contact: ContactInput, params: Params) -> RuleResult | None:
    """C1: no contact in quiet hours (22:00–08:00) unless the debtor consented for this
    channel and the consent has not expired at the time of contact."""
    consent = contact.consent
    if consent is not None and contact.channel in consent.channels and contact.when < consent.expires_at:
        return None
    # Quiet hours span midnight; the allowed part of the day is [quiet end, quiet start).
    return _window_denial(
        "C1", "quiet_hours", contact, _clock(params, "quiet_hours_end"), _clock(params, "quiet_hours_start")
    )


def c2_debtor_daily_connected_calls(contact: ContactInput, params: Params) -> RuleResult | None:
    """C2: per debtor per local day, across the lender and all agencies, at most N
    connected calls (AI voice included)."""
    if contact.channel is not Channel.CALL:
        return None
    limit = _int(params, "max_connected_calls_per_debtor_day")
    count = contact.counts.connected_calls_debtor_today
    if count >= limit:
        return _deny(
            "C2",
            "debtor_connected_calls_cap",
            allowed_from=_start_of_day_after(contact),
            count=count,
            limit=limit,
        )
    return None


def c3_number_unanswered_attempts(contact: ContactInput, params: Params) -> RuleResult | None:
    """C3: per contact number per local day, at most N unanswered attempts."""
    if contact.channel is not Channel.CALL:
        return None
    limit = _int(params, "max_unanswered_attempts_per_number_day")
    count = contact.counts.unanswered_attempts_number_today
    if count >= limit:
        return _deny(
            "C3", "number_unanswered_cap", allowed_from=_start_of_day_after(contact), count=count, limit=limit
        )
    return None


def c4_third_party_conditions(contact: ContactInput, params: Params) -> RuleResult | None:
    """C4: third parties only when the debtor is unreachable, deceased or lacks capacity;
    an unrelated third party (role "other") may only be asked to pass a message, which
    the guard can check for written contacts."""
    if not _is_third_party(contact):
        return None
    case = contact.case
    if case.debtor_reachable and Hold.DECEASED not in case.holds and not case.debtor_lacks_capacity:
        return _deny(
            "C4", "third_party_while_debtor_reachable", owner_role=contact.contact_point.owner_role.value
        )
    if contact.contact_point.owner_role is OwnerRole.OTHER and contact.channel in WRITTEN_CHANNELS:
        allowed_classes = _words(params, "unrelated_third_party_template_classes")
        if contact.message is None or contact.message.template_class not in allowed_classes:
            return _deny("C4", "unrelated_third_party_beyond_message")
    return None


def c5_authority_names(contact: ContactInput, params: Params) -> RuleResult | None:
    """C5: never use the name of an administrative or judicial body."""
    findings = _screen(contact, _words(params, "authority_names"))
    if not findings:
        return None
    return _deny("C5", "authority_name_used", findings=findings, words=_shown_words(findings))


def c6_visit_conduct(contact: ContactInput, params: Params) -> RuleResult | None:
    """C6: field visits by at least N collectors, audio/video recorded."""
    if contact.channel is not Channel.VISIT:
        return None
    visit = contact.visit
    if visit is None:
        return _deny("C6", "visit_details_missing")
    min_visitors = _int(params, "min_visitors")
    if visit.visitors < min_visitors:
        return _deny("C6", "visit_too_few_staff", visitors=visit.visitors, minimum=min_visitors)
    if not visit.recording_device:
        return _deny("C6", "visit_not_recorded")
    return None


# --- pack us-regf ----------------------------------------------------------------------


def _attempts_in_window(attempt_days: list[dt.date], last_day: dt.date, days: int) -> int:
    first_day = last_day - dt.timedelta(days=days - 1)
    return sum(1 for day in attempt_days if first_day <= day <= last_day)


def u1_seven_in_seven(contact: ContactInput, params: Params) -> RuleResult | None:
    """U1: more than N call attempts in N consecutive local calendar days (sliding) is
    presumed harassment, so with N attempts already in the window ending today the next
    one is refused until a day whose window holds fewer. Every plausible zone counts."""
    if contact.channel is not Channel.CALL:
        return None
    limit = _int(params, "max_call_attempts_in_window")
    window_days = _int(params, "call_attempt_window_days")
    lifts_at: list[dt.datetime] = []
    worst_count = 0
    for zone in contact.zones:
        attempt_days = [_local_day(attempt, zone) for attempt in contact.counts.call_attempts_at]
        today = _local_day(contact.when, zone)
        count = _attempts_in_window(attempt_days, today, window_days)
        if count < limit:
            continue
        worst_count = max(worst_count, count)
        day = today + dt.timedelta(days=1)
        # Attempts only fall out of the window, so this ends within `window_days` days.
        while _attempts_in_window(attempt_days, day, window_days) >= limit:
            day += dt.timedelta(days=1)
        lifts_at.append(_start_of_day(day, zone))
    if not lifts_at:
        return None
    return _deny(
        "U1",
        "call_attempts_in_window",
        allowed_from=max(lifts_at),
        count=worst_count,
        limit=limit,
        days=window_days,
    )


def u2_after_conversation(contact: ContactInput, params: Params) -> RuleResult | None:
    """U2: no call within N consecutive days after a telephone conversation about the
    debt, whoever started it; the conversation's local day is day 1."""
    last = contact.counts.last_conversation_at
    if contact.channel is not Channel.CALL or last is None:
        return None
    days = _int(params, "conversation_quiet_days")
    lifts_at = [
        _start_of_day(_local_day(last, zone) + dt.timedelta(days=days), zone) for zone in contact.zones
    ]
    allowed_from = max(lifts_at)
    if contact.when >= allowed_from:
        return None
    return _deny(
        "U2", "recent_conversation", allowed_from=allowed_from, last_conversation=last.isoformat(), days=days
    )


def u3_inconvenient_time(contact: ContactInput, params: Params) -> RuleResult | None:
    """U3: not before 08:00 nor at/after 21:00 at the consumer's location; with an
    uncertain location, only the intersection of every plausible zone's window.
    21:00 itself is refused, like H1, to keep one reading of "after 21:00" everywhere."""
    return _window_denial(
        "U3",
        "inconvenient_time",
        contact,
        _clock(params, "convenient_window_start"),
        _clock(params, "convenient_window_end"),
    )


def u4_stop_flags(contact: ContactInput, params: Params) -> RuleResult | None:
    """U4: a cease request or attorney representation stops contact; so does an
    employer's prohibition, for the workplace contact point."""
    case = contact.case
    if case.cease_requested:
        return _deny("U4", "cease_requested")
    if case.attorney_represented:
        return _deny("U4", "attorney_represented")
    if case.employer_prohibits_workplace_contact and contact.contact_point.kind is ContactKind.WORK:
        return _deny("U4", "employer_prohibits_workplace_contact")
    return None


def opt_out_requested(reply: str, params: Params) -> bool:
    """U5: whether an inbound reply asks to opt out (a whole keyword such as STOP or 退订).

    The caller then marks that address or number do-not-contact with reason "opt_out".
    """
    keywords = {word.casefold() for word in _words(params, "opt_out_words")}
    return reply.strip().casefold() in keywords


def u5_opt_out(contact: ContactInput, params: Params) -> RuleResult | None:
    """U5: email and SMS carry an opt-out, and an opted-out address or number is never
    written to again (scoped to that contact point)."""
    if contact.channel not in (Channel.SMS, Channel.EMAIL):
        return None
    point = contact.contact_point
    if contact.channel in point.opted_out_channels or (
        point.do_not_contact and point.do_not_contact_reason == "opt_out"
    ):
        return _deny("U5", "opted_out")
    if contact.message is None or not contact.message.has_opt_out:
        return _deny("U5", "missing_opt_out")
    return None


def u8_time_barred(contact: ContactInput, params: Params) -> RuleResult | None:
    """U8: on a time-barred debt, no suit nor threat of suit in what is written or noted."""
    if not contact.case.time_barred:
        return None
    findings = _screen(contact, _words(params, "suit_threat_words"))
    if not findings:
        return None
    return _deny("U8", "time_barred_suit_threat", findings=findings, words=_shown_words(findings))
