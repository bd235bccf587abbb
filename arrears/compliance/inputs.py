"""What the guard is asked: one proposed contact, described completely (pure Python).

Everything a rule needs is in `ContactInput`, precomputed by the caller (counts, holds,
the calendar around the contact date). Rules therefore never query anything, and the
same input always gives the same answer; the input is what a decision stores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Channel(enum.StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"


# Written channels carry a message text that the text rules screen (H9–H12, U5).
WRITTEN_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL, Channel.LETTER})


class OwnerRole(enum.StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    PARENT = "parent"
    RELATIVE = "relative"
    COLLEAGUE = "colleague"
    FRIEND = "friend"
    EMERGENCY = "emergency"
    GUARANTOR = "guarantor"
    OTHER = "other"


# The debtor and a guarantor are liable for the debt; everyone else is a third party
# (H7, H10, C4).
LIABLE_ROLES = frozenset({OwnerRole.SELF, OwnerRole.GUARANTOR})


class ContactKind(enum.StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    EMAIL = "email"
    ADDRESS = "address"


class Hold(enum.StrEnum):
    DISPUTE = "dispute"
    COMPLAINT = "complaint"
    DECEASED = "deceased"
    JAIL = "jail"
    DO_NOT_COLLECT = "do_not_collect"
    LEGAL = "legal"


@dataclasses.dataclass(frozen=True, slots=True)
class ContactPoint:
    owner_role: OwnerRole
    kind: ContactKind
    valid: bool = True
    do_not_contact: bool = False
    # Why the point is blocked: "refused", "no_information", "objected" (H5), "opt_out" (U5) …
    do_not_contact_reason: str = ""
    # Written channels the owner opted out of on this point (a 退订 reply): those only (H5, U5).
    opted_out_channels: frozenset[Channel] = frozenset()


@dataclasses.dataclass(frozen=True, slots=True)
class CaseFacts:
    principal_fen: int
    balance_fen: int
    bucket: str = "M1"
    holds: frozenset[Hold] = frozenset()
    # "illness", "hardship", "pregnancy" … ; empty when the customer is not protected (H4).
    protected_reason: str = ""
    customer_asked_call_back: bool = False
    # Whether the debtor can currently be reached directly (H7, C4).
    debtor_reachable: bool = True
    debtor_lacks_capacity: bool = False
    # The customer strongly disputes the amount of a small balance (H13).
    amount_disputed: bool = False
    # A waiver or reduction the collector may offer has been approved (H15).
    waiver_authorised: bool = False
    # US flags (U4, U8).
    cease_requested: bool = False
    attorney_represented: bool = False
    employer_prohibits_workplace_contact: bool = False
    time_barred: bool = False

    @property
    def is_protected(self) -> bool:
        return bool(self.protected_reason)


@dataclasses.dataclass(frozen=True, slots=True)
class ContactCounts:
    """Contacts already made, counted by the caller for the debtor's local day of `when`."""

    connected_calls_case_today: int = 0
    outbound_calls_case_today: int = 0
    # Across the lender and every agency working this debtor (C2).
    connected_calls_debtor_today: int = 0
    # Unanswered attempts today on the number being dialled (C3).
    unanswered_attempts_number_today: int = 0
    # The last connected call with a protected customer (H4).
    last_protected_call_at: dt.datetime | None = None
    # Visits to a protected customer in the current Monday–Sunday week (H4).
    protected_visits_this_week: int = 0
    # Reg F: call attempts to this person about this debt in (at least) the last 7 days
    # (U1), and the last telephone conversation about the debt, whoever called (U2).
    call_attempts_at: tuple[dt.datetime, ...] = ()
    last_conversation_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class QuietHoursConsent:
    """The debtor agreed to be contacted in quiet hours (C1), for some channels, until expiry."""

    channels: frozenset[Channel]
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Calendar:
    """The slice of the holiday calendar around the contact date, taken from the table.

    A statutory holiday period includes the weekend days inside it; `makeup_working_days`
    are the 调休 weekend days worked instead. `known_years` are the years the table covers:
    for any other year only weekends are known (and the guard warns, see H2).
    """

    statutory_days_off: frozenset[dt.date] = frozenset()
    makeup_working_days: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = frozenset()

    def is_statutory_day_off(self, day: dt.date) -> bool:
        return day in self.statutory_days_off and day not in self.makeup_working_days

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup_working_days:
            return True
        return day.weekday() < 5 and day not in self.statutory_days_off


@dataclasses.dataclass(frozen=True, slots=True)
class Visit:
    visitors: int
    recording_device: bool
    identity_shown: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """The text going out (SMS, email, letter) and where it came from."""

    text: str
    template_code: str = ""
    # "reminder", "legal_notice", "pass_message" … (set by whoever approves templates).
    template_class: str = ""
    template_approved: bool = False
    sent_by_system: bool = True
    has_opt_out: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ContactInput:
    channel: Channel
    when: dt.datetime
    # IANA zone names. The cn packs expect one; for Reg F every plausible zone (address,
    # area code) is listed and the intersection of the allowed windows applies (U3). The
    # window and day rules of every pack use all of them: more zones only restrict more.
    debtor_zones: tuple[str, ...]
    contact_point: ContactPoint
    case: CaseFacts
    counts: ContactCounts = ContactCounts()
    calendar: Calendar = Calendar()
    consent: QuietHoursConsent | None = None
    recording_available: bool = True
    visit: Visit | None = None
    message: Message | None = None
    # Free text written by the collector (activity notes), screened like messages (H12).
    notes: str = ""

    def __post_init__(self) -> None:
        # A naive datetime has no place in the debtor's local day; refuse it loudly.
        if self.when.tzinfo is None or self.when.utcoffset() is None:
            raise ValueError("ContactInput.when must be timezone-aware")
        if not self.debtor_zones:
            raise ValueError("ContactInput.debtor_zones must name at least one zone")
        for name in self.debtor_zones:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {name!r}") from error

    @property
    def zones(self) -> tuple[ZoneInfo, ...]:
        return tuple(ZoneInfo(name) for name in self.debtor_zones)
