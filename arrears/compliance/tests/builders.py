"""A plain proposed contact that every rule allows, and helpers to vary one thing at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from arrears.compliance.inputs import (
    Calendar,
    CaseFacts,
    Channel,
    ContactCounts,
    ContactInput,
    ContactKind,
    ContactPoint,
    OwnerRole,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

# 2026 National Day as chinesecalendar has it: 1–7 October off, Saturday 10 October worked.
NATIONAL_DAY_2026 = frozenset(dt.date(2026, 10, day) for day in range(1, 8))
MAKEUP_2026 = frozenset({dt.date(2026, 10, 10)})


def at(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, zone: ZoneInfo = SHANGHAI
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)


# Tuesday 10 March 2026, 10:00 in Shanghai: an ordinary working morning.
TUESDAY_10AM = at(2026, 3, 10, 10)


def debtor_point(**changes: Any) -> ContactPoint:
    return dataclasses.replace(ContactPoint(owner_role=OwnerRole.SELF, kind=ContactKind.MOBILE), **changes)


def case_facts(**changes: Any) -> CaseFacts:
    # 20,000 yuan principal, 21,000 yuan balance: neither a small balance nor above the
    # 50,000-yuan legal-wording threshold.
    return dataclasses.replace(CaseFacts(principal_fen=2_000_000, balance_fen=2_100_000), **changes)


def counts(**changes: Any) -> ContactCounts:
    return dataclasses.replace(ContactCounts(), **changes)


def contact(**changes: Any) -> ContactInput:
    base = ContactInput(
        channel=Channel.CALL,
        when=TUESDAY_10AM,
        debtor_zones=("Asia/Shanghai",),
        contact_point=debtor_point(),
        case=case_facts(),
        calendar=Calendar(known_years=frozenset({2025, 2026})),
    )
    return dataclasses.replace(base, **changes)
