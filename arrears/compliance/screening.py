"""Screening a message template's text with the guard's own text rules, before anyone uses it.

The guard screens every message again when it is sent, with the real case's facts; this
screening runs when a template is saved and again when it is approved, so that a text
that could never pass is refused at the desk instead of being blocked in the outbox.

Which rules: the packs' text rules H10 (unmasked card/ID numbers; SMS and letters, as the
rule says), H11 (legal wording), H12 (prohibited language), H15 (unauthorised waiver
promises), H16 (payment to a person) and C5 (names of authorities). U8 (suit threats on
time-barred debts) is left out: it depends on a case fact a template cannot know, and the
send-time guard applies it. Two template checks are added here, both as findings:

* U5 opt-out: every SMS and email template must tell how to opt out, with one of
  `OPT_OUT_PHRASES` (e.g. "回复TD退订", "Reply STOP to opt out"). The sender does not
  append anything: the approved text is exactly what goes out (and what the SMS provider
  registered), and `has_opt_out` tells the sender the text carries its opt-out.
* H7 third-party messages: a `pass_message` template goes to someone who is not liable,
  so it may not use the variables or words that disclose a debt (`DEBT_VARIABLES`,
  `DEBT_WORDS`).

How strict (`template_screen`): a template does not know the case it will be sent for, so
it is screened as if for the case where the rules are strictest: principal and balance 0,
i.e. below H11's legal-wording threshold and below H12's small-balance threshold (so
失信被执行人 is refused too), no waiver authorised (H15). The one exception is the class
`legal_notice`: it is screened as a case at H11's threshold with an approved template, so
it may carry the legal wording the approval is for (Criminal Law citations …); every
other rule stays as strict (insults, threats, impersonation, authority names, 失信被执行人,
waivers, personal accounts, unmasked numbers). The send-time guard still refuses a legal
notice for a case whose principal is below the threshold.

Positions: placeholders (``${name}``) are blanked before screening, keeping every index,
so `start`/`end` of a finding index the text as typed and a page can highlight it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence

from arrears.compliance.inputs import (
    CaseFacts,
    Channel,
    ContactInput,
    ContactKind,
    ContactPoint,
    Message,
    OwnerRole,
)
from arrears.compliance.messages import reason_text
from arrears.compliance.models import PolicyPackVersion
from arrears.compliance.packs import PACKS, Pack, evaluate, pack_at_version
from arrears.compliance.rules import TextFinding, find_words

# The packs' rules that judge a text alone (services.TEXT_RULES, plus H10's masking, minus U8).
SCREENING_RULES = frozenset({"H10", "H11", "H12", "H15", "H16", "C5"})

# What an SMS or email must contain to tell the reader how to opt out (case-insensitive).
OPT_OUT_PHRASES = (
    "回复TD退订",
    "回TD退订",
    "回T退订",
    "退订回T",
    "退订回TD",
    "回复退订",
    "回复“退订”",
    "回复「退订」",
    "Reply STOP",
    "reply UNSUBSCRIBE",
    "unsubscribe",
)
OPT_OUT_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})

# A message asking a third party to pass a message on says nothing about a debt (H7, C4).
THIRD_PARTY_CLASS = "pass_message"
LEGAL_NOTICE_CLASS = "legal_notice"
DEBT_VARIABLES = frozenset(
    {
        "account_last4",
        "card_last4",
        "id_last4",
        "overdue_amount",
        "outstanding_amount",
        "instalment_amount",
        "due_date",
        "days_past_due",
        "creditor_name",
        "product_name",
    }
)
DEBT_WORDS = (
    "欠款",
    "欠费",
    "欠债",
    "债务",
    "逾期",
    "催收",
    "还款",
    "贷款",
    "信用卡",
    "账单",
    "debt",
    "overdue",
    "arrears",
    "owe",
    "owes",
    "loan",
    "repay",
    "repayment",
    "collection",
)

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
# Text rules do not read the time; any fixed aware instant will do (keeps this pure).
_WHEN = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
_ZONES = ("Asia/Shanghai",)
_CONTACT_KIND = {
    Channel.SMS: ContactKind.MOBILE,
    Channel.EMAIL: ContactKind.EMAIL,
    Channel.LETTER: ContactKind.ADDRESS,
}


@dataclasses.dataclass(frozen=True, slots=True)
class ScreeningFinding:
    """One rule that refuses the text: which, why, and the words with their positions."""

    rule: str
    pack: str  # "" for the template checks of this module (U5 opt-out, H7 pass message)
    pack_version: int
    reason: str
    message_key: str
    params: Mapping[str, str]
    field: str  # "body" | "subject"
    words: tuple[TextFinding, ...] = ()

    @property
    def text(self) -> str:
        """The reason in the current language."""
        return reason_text(self.message_key, self.params)

    def as_record(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "reason": self.reason,
            "message": self.message_key,
            "parameters": dict(self.params),
            "field": self.field,
            "findings": [{"word": w.word, "start": w.start, "end": w.end} for w in self.words],
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Screening:
    findings: tuple[ScreeningFinding, ...]
    packs: tuple[tuple[str, int], ...]
    has_opt_out: bool
    principal_fen: int
    balance_fen: int

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_record(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "packs": [{"pack": pack_id, "version": version} for pack_id, version in self.packs],
            "principal_fen": self.principal_fen,
            "balance_fen": self.balance_fen,
            "has_opt_out": self.has_opt_out,
            "findings": [finding.as_record() for finding in self.findings],
        }


def current_packs() -> list[Pack]:
    """Every known pack at its newest stored version (catalogue defaults when none is stored).

    One query. Templates are shared by every creditor, so they are screened against all
    packs, not only the ones some creditor chose.
    """
    latest: dict[str, PolicyPackVersion] = {}
    for row in PolicyPackVersion.objects.filter(pack__in=list(PACKS)).order_by("pack", "-version"):
        latest.setdefault(row.pack, row)
    packs = []
    for pack_id, pack in PACKS.items():
        stored = latest.get(pack_id)
        packs.append(pack if stored is None else pack_at_version(pack_id, stored.version, stored.params))
    return packs


def has_opt_out(text: str) -> bool:
    """Whether the text tells the reader how to opt out (one of `OPT_OUT_PHRASES`)."""
    folded = text.casefold()
    return any(phrase.casefold() in folded for phrase in OPT_OUT_PHRASES)


def blank_placeholders(text: str) -> str:
    """The text with each ``${…}`` replaced by as many spaces (indexes unchanged)."""
    return _PLACEHOLDER.sub(lambda match: " " * len(match.group(0)), text)


def _only_screening_rules(packs: Sequence[Pack]) -> list[Pack]:
    return [
        dataclasses.replace(pack, rules=tuple(rule for rule in pack.rules if rule.id in SCREENING_RULES))
        for pack in packs
    ]


def _rule_findings(
    *,
    text: str,
    field: str,
    channel: Channel,
    template_class: str,
    case: CaseFacts,
    approved: bool,
    packs: Sequence[Pack],
) -> list[ScreeningFinding]:
    if not text.strip():
        return []
    contact = ContactInput(
        channel=channel,
        when=_WHEN,
        debtor_zones=_ZONES,
        contact_point=ContactPoint(owner_role=OwnerRole.SELF, kind=_CONTACT_KIND[channel]),
        case=case,
        message=Message(
            text=blank_placeholders(text), template_class=template_class, template_approved=approved
        ),
    )
    decision = evaluate(contact, packs)
    return [
        ScreeningFinding(
            rule=reason.result.rule,
            pack=reason.pack,
            pack_version=reason.pack_version,
            reason=reason.result.reason,
            message_key=reason.result.message_key,
            params={key: str(value) for key, value in reason.result.message_params.items()},
            field=field,
            # Put back what was typed (the rule saw blanks where placeholders were).
            words=tuple(
                dataclasses.replace(item, field=field, word=text[item.start : item.end])
                for item in reason.result.findings
            ),
        )
        for reason in decision.violations
    ]


def _pass_message_findings(*, text: str, field: str) -> list[ScreeningFinding]:
    words = [
        TextFinding(field, match.group(0), match.start(), match.end())
        for match in _PLACEHOLDER.finditer(text)
        if match.group(0)[2:-1].strip() in DEBT_VARIABLES
    ]
    words += [
        dataclasses.replace(item, field=field) for item in find_words(blank_placeholders(text), DEBT_WORDS)
    ]
    if not words:
        return []
    words.sort(key=lambda item: item.start)
    return [
        ScreeningFinding(
            rule="H7",
            pack="",
            pack_version=0,
            reason="third_party_disclosure",
            message_key="compliance.H7.third_party_disclosure",
            params={"words": "、".join(dict.fromkeys(item.word for item in words))},
            field=field,
            words=tuple(words),
        )
    ]


def text_screen(
    *,
    text: str,
    channel: str,
    template_class: str,
    principal_fen: int,
    balance_fen: int,
    subject: str = "",
    approved_wording: bool = False,
    packs: Sequence[Pack] | None = None,
) -> Screening:
    """Screen a text (and an email subject or letter title) for a case with these amounts.

    `approved_wording` says the text is an approved template's (H11 then allows legal
    wording at or above the threshold). `packs` defaults to `current_packs()`; only their
    `SCREENING_RULES` run. Nothing is written.
    """
    chosen = Channel(channel)
    if chosen not in _CONTACT_KIND:
        raise ValueError(f"not a written channel: {channel!r}")
    packs = _only_screening_rules(current_packs() if packs is None else packs)
    case = CaseFacts(principal_fen=principal_fen, balance_fen=balance_fen)
    findings: list[ScreeningFinding] = []
    for field, part in (("subject", subject), ("body", text)):
        findings += _rule_findings(
            text=part,
            field=field,
            channel=chosen,
            template_class=template_class,
            case=case,
            approved=approved_wording,
            packs=packs,
        )
        if template_class == THIRD_PARTY_CLASS:
            findings += _pass_message_findings(text=part, field=field)
    opt_out = has_opt_out(text)
    if chosen in OPT_OUT_CHANNELS and not opt_out:
        findings.append(
            ScreeningFinding(
                rule="U5",
                pack="",
                pack_version=0,
                reason="missing_opt_out",
                message_key="compliance.U5.missing_opt_out",
                params={},
                field="body",
            )
        )
    return Screening(
        findings=tuple(findings),
        packs=tuple((pack.id, pack.version) for pack in packs),
        has_opt_out=opt_out,
        principal_fen=principal_fen,
        balance_fen=balance_fen,
    )


def _threshold(packs: Sequence[Pack], key: str) -> int:
    values = [value for pack in packs if isinstance(value := pack.params.get(key), int)]
    return max(values, default=0)


def template_screen(
    *, body: str, subject: str = "", channel: str, template_class: str, packs: Sequence[Pack] | None = None
) -> Screening:
    """Screen a template's text in its strictest case (see the module's docstring).

    Every class but `legal_notice`: principal and balance 0 (below every threshold), text
    not approved. `legal_notice`: principal at the highest H11 threshold of the packs and
    the wording counted as approved (the approval is for exactly that wording); balance
    still 0, so H12's small-balance words stay refused.
    """
    packs = current_packs() if packs is None else list(packs)
    legal = template_class == LEGAL_NOTICE_CLASS
    return text_screen(
        text=body,
        subject=subject,
        channel=channel,
        template_class=template_class,
        principal_fen=_threshold(packs, "legal_wording_principal_threshold_fen") if legal else 0,
        balance_fen=0,
        approved_wording=legal,
        packs=packs,
    )
