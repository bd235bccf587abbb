"""Policy packs as data, and `evaluate`: the most restrictive answer of the selected packs.

A pack is an id, a version, its parameters (the catalogue's defaults below; admins will
edit them later, each change a new version) and its rules. `evaluate` runs every rule of
every selected pack and returns a `Decision` in the shape that will be stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from arrears.compliance import rules
from arrears.compliance.inputs import ContactInput
from arrears.compliance.rules import Outcome, Params, Rule, RuleResult


@dataclasses.dataclass(frozen=True, slots=True)
class PackRule:
    id: str
    check: Rule
    # The rule depends only on the time of the contact (and the calendar), not on counts
    # or facts that change when time passes: `evaluate` re-runs these rules at a proposed
    # allowed-from time to move it into the windows (see `_settle`).
    time_only: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Pack:
    id: str
    version: int
    params: Mapping[str, object]
    rules: tuple[PackRule, ...]

    def with_params(self, **changes: object) -> Pack:
        """A new version of this pack with some parameters changed (the old one stays)."""
        return dataclasses.replace(self, version=self.version + 1, params={**self.params, **changes})


@dataclasses.dataclass(frozen=True, slots=True)
class Reason:
    pack: str
    pack_version: int
    result: RuleResult

    def as_record(self) -> dict[str, object]:
        result = self.result
        return {
            "rule": result.rule,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "reason": result.reason,
            "message": result.message_key,
            "parameters": {key: str(value) for key, value in result.message_params.items()},
            "allowed_from": result.allowed_from.isoformat() if result.allowed_from else None,
            "findings": [
                {"field": item.field, "word": item.word, "start": item.start, "end": item.end}
                for item in result.findings
            ],
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # When the earliest later attempt would pass, None when allowed or when some denial
    # does not lift by itself.
    allowed_from: dt.datetime | None
    violations: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    packs: tuple[tuple[str, int], ...]

    def as_record(self) -> dict[str, object]:
        """The decision as JSON-ready data, in the API's shape (without the stored id)."""
        return {
            "allowed": self.allowed,
            "next_allowed_at": self.allowed_from.isoformat() if self.allowed_from else None,
            "violations": [reason.as_record() for reason in self.violations],
            "warnings": [reason.as_record() for reason in self.warnings],
            "packs": [{"pack": pack_id, "version": version} for pack_id, version in self.packs],
        }


# Words shared by the cn packs' text rules. They are parameters: a pack edit can change them.
_CRIMINAL_LAW_WORDS = (
    "刑法",
    "刑事责任",
    "拒不执行判决裁定罪",
    "信用卡诈骗罪",
    "报案",
    "抓人",
    "坐牢",
    "拘留",
)
_PROHIBITED_WORDS = (
    # insults
    "无赖",
    "白痴",
    "骗子",
    "老赖",
    "废物",
    # threats
    "抓你",
    "弄死",
    "找人收拾",
    "曝光你",
    "通知你单位",
    # impersonation of police, courts, prosecutors, lawyers
    "公安",
    "警察",
    "法院",
    "检察院",
    "律师函",
)
_AUTHORITY_NAMES = ("公安", "派出所", "法院", "检察院", "仲裁委", "政府", "银保监", "金融监管局", "人民银行")

CN_HOUSE = Pack(
    id="cn-house",
    version=1,
    params={
        # H1 (seed 001; seed 002 uses 09:00 on working days)
        "contact_window_start": "08:00",
        "contact_window_end": "21:00",
        # H3 (seed 001 §3)
        "max_connected_calls_per_case_day": 3,
        "max_outbound_calls_per_case_day": 10,
        # H4 (seed 001 §21)
        "protected_call_interval_days": 2,
        "protected_max_visits_per_week": 1,
        "protected_max_visitors": 2,
        # H7
        "third_party_template_classes": ("pass_message",),
        # H11 (seed 001 §f): 50,000 yuan
        "legal_wording_principal_threshold_fen": 5_000_000,
        "criminal_law_words": _CRIMINAL_LAW_WORDS,
        # H12, H13 (seed 001 §23): 500 yuan
        "prohibited_words": _PROHIBITED_WORDS,
        "small_balance_prohibited_words": ("失信被执行人",),
        "small_balance_fen": 50_000,
        # H14 (seed 000 §8, seed 001 §15–17)
        "min_visitors": 2,
        # H15, H16
        "waiver_promise_words": ("减免", "免息", "免除", "打折", "停息挂账", "保证批准", "一定批准"),
        "personal_payment_words": (
            "转给我",
            "转到我",
            "私人账户",
            "个人账户",
            "我的微信",
            "我的支付宝",
            "现金交给我",
        ),
    },
    rules=(
        PackRule("H1", rules.h1_contact_window, time_only=True),
        PackRule("H2", rules.h2_statutory_holiday, time_only=True),
        PackRule("H3", rules.h3_case_daily_calls),
        PackRule("H4", rules.h4_protected_customer),
        PackRule("H5", rules.h5_do_not_contact),
        PackRule("H6", rules.h6_case_on_hold),
        PackRule("H7", rules.h7_third_party),
        PackRule("H8", rules.h8_recorded_lines),
        PackRule("H9", rules.h9_system_sms_only),
        PackRule("H10", rules.h10_masking_and_letters),
        PackRule("H11", rules.h11_legal_wording),
        PackRule("H12", rules.h12_prohibited_language),
        PackRule("H13", rules.h13_small_balance_dispute),
        PackRule("H14", rules.h14_visit_conduct),
        PackRule("H15", rules.h15_unauthorised_promise),
        PackRule("H16", rules.h16_personal_payment),
    ),
)

CN_INDUSTRY_2026 = Pack(
    id="cn-industry-2026",
    version=1,
    params={
        # C1 (GB/T 45251-2025; NIFA 2024; CBA 2026)
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "08:00",
        # C2, C3 (CBA 2026)
        "max_connected_calls_per_debtor_day": 3,
        "max_unanswered_attempts_per_number_day": 6,
        # C4
        "unrelated_third_party_template_classes": ("pass_message",),
        # C5
        "authority_names": _AUTHORITY_NAMES,
        # C6 (CBA 2026 art. 22)
        "min_visitors": 2,
    },
    rules=(
        PackRule("C1", rules.c1_quiet_hours, time_only=True),
        PackRule("C2", rules.c2_debtor_daily_connected_calls),
        PackRule("C3", rules.c3_number_unanswered_attempts),
        PackRule("C4", rules.c4_third_party_conditions),
        PackRule("C5", rules.c5_authority_names),
        PackRule("C6", rules.c6_visit_conduct),
    ),
)

US_REGF = Pack(
    id="us-regf",
    version=1,
    params={
        # U1 (12 CFR 1006.14(b)(2)(i))
        "max_call_attempts_in_window": 7,
        "call_attempt_window_days": 7,
        # U2 (1006.14(b)(2)(ii))
        "conversation_quiet_days": 7,
        # U3 (1006.6(b)(1)(i))
        "convenient_window_start": "08:00",
        "convenient_window_end": "21:00",
        # U5 (1006.6(e))
        "opt_out_words": ("STOP", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "退订", "停止"),
        # U8 (1006.26(b))
        "suit_threat_words": ("sue", "lawsuit", "legal action", "court", "起诉", "诉讼"),
    },
    rules=(
        PackRule("U1", rules.u1_seven_in_seven),
        PackRule("U2", rules.u2_after_conversation),
        PackRule("U3", rules.u3_inconvenient_time, time_only=True),
        PackRule("U4", rules.u4_stop_flags),
        PackRule("U5", rules.u5_opt_out),
        PackRule("U8", rules.u8_time_barred),
    ),
)

PACKS: Mapping[str, Pack] = {pack.id: pack for pack in (CN_HOUSE, CN_INDUSTRY_2026, US_REGF)}
DEFAULT_PACK_IDS = ("cn-house", "cn-industry-2026")

# Moving an allowed-from time into every window converges in a few steps (a holiday
# pushes to the next day's midnight, the window to its opening); more means the windows
# contradict each other, and the safe answer is "no time".
_MAX_SETTLE_STEPS = 16


def _run(contact: ContactInput, packs: Sequence[Pack], *, time_only: bool = False) -> list[Reason]:
    reasons = []
    for pack in packs:
        params: Params = pack.params
        for rule in pack.rules:
            if time_only and not rule.time_only:
                continue
            result = rule.check(contact, params)
            if result is not None and result.outcome is not Outcome.ALLOW:
                reasons.append(Reason(pack.id, pack.version, result))
    return reasons


def _latest_lift(denials: Sequence[Reason]) -> dt.datetime | None:
    times = [reason.result.allowed_from for reason in denials]
    if any(moment is None for moment in times):
        return None
    return max(moment for moment in times if moment is not None)


def _settle(contact: ContactInput, packs: Sequence[Pack], candidate: dt.datetime) -> dt.datetime | None:
    """Push `candidate` forward until no time-only rule (windows, holidays) denies it.

    The counting rules lift at a local midnight, which is itself a quiet hour; the answer
    a collector needs is when the next attempt would actually pass. Counts and facts are
    left as they are: after their lift time the counting rules stay lifted.
    """
    for _ in range(_MAX_SETTLE_STEPS):
        denials = [
            reason
            for reason in _run(dataclasses.replace(contact, when=candidate), packs, time_only=True)
            if reason.result.denies
        ]
        if not denials:
            return candidate
        later = _latest_lift(denials)
        if later is None or later <= candidate:
            return None
        candidate = later
    return None


def evaluate(contact: ContactInput, packs: Sequence[Pack]) -> Decision:
    """Run every rule of every pack: any denial denies, and all reasons are kept.

    The allowed-from time is the latest of the denials' times, moved into the time
    windows of all packs; None when some denial has no time at which it lifts.
    """
    if not packs:
        raise ValueError("evaluate needs at least one policy pack")
    reasons = _run(contact, packs)
    violations = tuple(reason for reason in reasons if reason.result.denies)
    warnings = tuple(reason for reason in reasons if reason.result.outcome is Outcome.WARN)
    allowed_from = None
    if violations:
        latest = _latest_lift(violations)
        allowed_from = None if latest is None else _settle(contact, packs, latest)
    return Decision(
        allowed=not violations,
        allowed_from=allowed_from,
        violations=violations,
        warnings=warnings,
        packs=tuple((pack.id, pack.version) for pack in packs),
    )


# --- parameters as data ------------------------------------------------------------------


def params_as_json(params: Mapping[str, object]) -> dict[str, object]:
    """A pack's parameters as JSON-ready data (word tuples become lists)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in params.items()}


def params_problems(pack_id: str, params: Mapping[str, object]) -> list[tuple[str, str]]:
    """What is wrong with proposed parameters for a pack, as (key, problem code) pairs.

    Parameters must keep the catalogue's keys and each key's type: whole numbers ≥ 0,
    "HH:MM" clock times, or non-empty lists of non-empty words. The codes are translated
    by the pages and the API.
    """
    defaults = PACKS[pack_id].params
    problems: list[tuple[str, str]] = []
    for key in sorted(set(params) - set(defaults)):
        problems.append((key, "unknown"))
    for key, default in defaults.items():
        if key not in params:
            problems.append((key, "missing"))
            continue
        value = params[key]
        if isinstance(default, bool) or isinstance(value, bool):
            problems.append((key, "not_a_number"))
        elif isinstance(default, int):
            if not isinstance(value, int) or value < 0:
                problems.append((key, "not_a_number"))
        elif isinstance(default, str):
            try:
                if not isinstance(value, str) or len(value) != 5:
                    raise ValueError(value)
                dt.time.fromisoformat(value)
            except ValueError:
                problems.append((key, "not_a_time"))
        elif not _is_word_list(value):
            problems.append((key, "not_words"))
    problems += _window_problems(params, {key for key, _code in problems})
    return problems


# Windows as (opens, closes) parameter pairs: the allowed part of the day must open before
# it closes (quiet hours run the other way: their end opens the day, their start closes it).
_WINDOWS = (
    ("contact_window_start", "contact_window_end"),
    ("convenient_window_start", "convenient_window_end"),
    ("quiet_hours_end", "quiet_hours_start"),
)


def _window_problems(params: Mapping[str, object], bad: set[str]) -> list[tuple[str, str]]:
    problems = []
    for opens, closes in _WINDOWS:
        if opens not in params or closes not in params or {opens, closes} & bad:
            continue
        if str(params[opens]) >= str(params[closes]):  # "HH:MM" strings order as times
            problems.append((closes, "window_order"))
    return problems


def _is_word_list(value: object) -> bool:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        return False
    return all(isinstance(word, str) and word.strip() for word in value)


def pack_at_version(pack_id: str, version: int, params: Mapping[str, object]) -> Pack:
    """The pack's rules with stored parameters (JSON lists back to tuples)."""
    frozen = {key: tuple(value) if isinstance(value, list) else value for key, value in params.items()}
    return dataclasses.replace(PACKS[pack_id], version=version, params=frozen)
