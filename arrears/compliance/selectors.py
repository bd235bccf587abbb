"""Reads for the guard: the packs in force, and the complete input for one proposed contact.

`contact_input_for` gathers from the database everything a rule may look at (holds,
protection, the contact point, today's counts in the debtor's own zone, the calendar
around the date) into a frozen `ContactInput`; the rules then never query anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

from arrears.cases.models import CUSTOMER_WIDE_HOLDS, Activity, Case, CaseHold
from arrears.compliance.inputs import (
    Calendar,
    CaseFacts,
    Channel,
    ContactCounts,
    ContactInput,
    ContactKind,
    ContactPoint,
    Hold,
    Message,
    OwnerRole,
    Visit,
)
from arrears.compliance.models import CreditorPolicyPack, Decision, PolicyPackVersion
from arrears.compliance.packs import DEFAULT_PACK_IDS, PACKS, Pack, pack_at_version
from arrears.core.models import CalendarDay, DaySource
from arrears.portfolio.models import ContactPoint as ContactPointRow
from arrears.portfolio.models import OwnerRole as PortfolioOwnerRole

# How far back the guard reads activities: the longest counting window of any pack
# (Reg F's 7 days, protected customers' call interval) with room to spare.
HISTORY_DAYS = 31
# A debtor counts as unreachable after unanswered attempts in this many different hours
# over two different numbers within the last week (domain page, "Contact mix").
UNREACHABLE_SLOTS = 3
UNREACHABLE_NUMBERS = 2
UNREACHABLE_LOOKBACK = dt.timedelta(days=7)
PHONE_KINDS = frozenset({"mobile", "home", "work"})
# Reg F zones come from the debtor's record and, for a US number, its area code.
US_PACK_ID = "us-regf"


def pack_latest(pack_id: str) -> Pack:
    """The newest version of a pack; version 1 is the catalogue's own parameters."""
    row = PolicyPackVersion.objects.filter(pack=pack_id).order_by("-version").first()
    if row is None:
        return PACKS[pack_id]
    return pack_at_version(pack_id, row.version, row.params)


def pack_versions(pack_id: str) -> list[PolicyPackVersion]:
    return list(
        PolicyPackVersion.objects.filter(pack=pack_id).select_related("created_by").order_by("-version")
    )


def creditor_pack_ids(creditor_id: int) -> tuple[str, ...]:
    chosen = tuple(
        CreditorPolicyPack.objects.filter(creditor_id=creditor_id)
        .order_by("pack")
        .values_list("pack", flat=True)
    )
    return chosen or DEFAULT_PACK_IDS


def packs_for_creditor(creditor_id: int) -> list[Pack]:
    ids = creditor_pack_ids(creditor_id)
    latest: dict[str, PolicyPackVersion] = {}
    for row in PolicyPackVersion.objects.filter(pack__in=ids).order_by("pack", "-version"):
        latest.setdefault(row.pack, row)
    packs = []
    for pack_id in ids:
        stored = latest.get(pack_id)
        packs.append(
            PACKS[pack_id] if stored is None else pack_at_version(pack_id, stored.version, stored.params)
        )
    return packs


def decisions_for_case(case_id: int, *, limit: int = 50) -> list[Decision]:
    return list(Decision.objects.filter(case_id=case_id).select_related("asked_by").order_by("-id")[:limit])


# --- building the input ----------------------------------------------------------------


def _owner_role(value: str) -> OwnerRole:
    if value == PortfolioOwnerRole.SIBLING:
        return OwnerRole.RELATIVE
    try:
        return OwnerRole(value)
    except ValueError:
        return OwnerRole.OTHER


def contact_point_facts(point: ContactPointRow) -> ContactPoint:
    return ContactPoint(
        owner_role=_owner_role(point.owner_role),
        kind=ContactKind(point.kind),
        valid=point.is_valid,
        do_not_contact=point.do_not_contact,
        do_not_contact_reason=point.do_not_contact_reason,
    )


def debtor_zones(*, home_zone: str, point: ContactPointRow, pack_ids: Iterable[str]) -> tuple[str, ...]:
    """The zones the debtor may be in: their own, plus for Reg F the zones of a US number."""
    zones = [home_zone]
    if US_PACK_ID in pack_ids and point.kind in PHONE_KINDS:
        try:
            number = phonenumbers.parse(point.value, "US" if point.value.startswith("+1") else "CN")
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and number.country_code == 1:
            zones += [zone for zone in phone_timezone.time_zones_for_number(number) if zone.count("/")]
    return tuple(dict.fromkeys(zones))


def calendar_around(day: dt.date) -> Calendar:
    """The calendar from the day before to five weeks after: enough to move an
    allowed-from time past the longest holiday (Spring Festival, National Day)."""
    rows = CalendarDay.objects.filter(
        day__range=(day - dt.timedelta(days=1), day + dt.timedelta(days=35))
    ).values_list("day", "is_working", "name", "source")
    days_off, makeup, known = set(), set(), set()
    for when, is_working, name, source in rows:
        if source != DaySource.WEEKEND:
            known.add(when.year)
        if not is_working and name:
            days_off.add(when)
        elif is_working and when.weekday() >= 5:
            makeup.add(when)
    return Calendar(
        statutory_days_off=frozenset(days_off),
        makeup_working_days=frozenset(makeup),
        known_years=frozenset(known),
    )


def _active_holds(case: Case) -> frozenset[Hold]:
    rows = CaseHold.objects.filter(released_at__isnull=True, case__customer_id=case.customer_id).values_list(
        "case_id", "kind"
    )
    return frozenset(
        Hold(kind) for case_id, kind in rows if case_id == case.pk or kind in CUSTOMER_WIDE_HOLDS
    )


def _debtor_reachable(
    *, self_phone_ids: set[int], attempts: Sequence[Mapping[str, Any]], at: dt.datetime, zone: ZoneInfo
) -> bool:
    """Unreachable: no usable phone of their own, or unanswered attempts in three different
    hours over two different numbers (or the only one) this past week with no answer since."""
    if not self_phone_ids:
        return False
    since = at - UNREACHABLE_LOOKBACK
    slots: set[tuple[dt.date, int]] = set()
    numbers: set[int] = set()
    for row in attempts:  # newest first
        started: dt.datetime = row["started_at"]
        if started < since or row["contact_point_id"] not in self_phone_ids or row["channel"] != Channel.CALL:
            continue
        if row["connected"]:
            break
        local = started.astimezone(zone)
        slots.add((local.date(), local.hour))
        numbers.add(row["contact_point_id"])
    hours = {hour for _, hour in slots}
    return not (
        len(hours) >= UNREACHABLE_SLOTS and len(numbers) >= min(UNREACHABLE_NUMBERS, len(self_phone_ids))
    )


def contact_input_for(
    *,
    case: Case,
    channel: Channel,
    point: ContactPointRow,
    at: dt.datetime,
    pack_ids: Sequence[str],
    message: Message | None = None,
    notes: str = "",
    visit: Visit | None = None,
    recording_available: bool = True,
) -> ContactInput:
    customer = case.customer
    zones = debtor_zones(home_zone=customer.time_zone or "Asia/Shanghai", point=point, pack_ids=pack_ids)
    zone = ZoneInfo(zones[0])
    local_day = at.astimezone(zone).date()
    day_start = dt.datetime.combine(local_day, dt.time(0), zone)
    week_start = day_start - dt.timedelta(days=local_day.weekday())

    history = list(
        Activity.objects.filter(
            customer_id=customer.pk, started_at__gte=at - dt.timedelta(days=HISTORY_DAYS), started_at__lt=at
        )
        .order_by("-started_at", "-id")
        .values(
            "case_id", "contact_point_id", "channel", "direction", "connected", "right_party", "started_at"
        )
    )
    calls = [row for row in history if row["channel"] == Channel.CALL]
    today = [row for row in calls if row["started_at"] >= day_start]
    on_case = [row for row in today if row["case_id"] == case.pk]
    counts = ContactCounts(
        connected_calls_case_today=sum(1 for row in on_case if row["connected"]),
        outbound_calls_case_today=sum(1 for row in on_case if row["direction"] == "outbound"),
        connected_calls_debtor_today=sum(1 for row in today if row["connected"]),
        unanswered_attempts_number_today=sum(
            1
            for row in today
            if row["contact_point_id"] == point.pk and row["direction"] == "outbound" and not row["connected"]
        ),
        last_protected_call_at=next((row["started_at"] for row in calls if row["connected"]), None)
        if customer.protected_reason
        else None,
        protected_visits_this_week=sum(
            1 for row in history if row["channel"] == Channel.VISIT and row["started_at"] >= week_start
        )
        if customer.protected_reason
        else 0,
        call_attempts_at=tuple(
            row["started_at"] for row in calls if row["case_id"] == case.pk and row["direction"] == "outbound"
        )
        if US_PACK_ID in pack_ids
        else (),
        last_conversation_at=next(
            (
                row["started_at"]
                for row in calls
                if row["case_id"] == case.pk and row["connected"] and row["right_party"]
            ),
            None,
        )
        if US_PACK_ID in pack_ids
        else None,
    )
    self_phone_ids = set(
        ContactPointRow.objects.filter(
            customer_id=customer.pk,
            owner_role="self",
            kind__in=PHONE_KINDS,
            is_valid=True,
            do_not_contact=False,
        ).values_list("pk", flat=True)
    )
    state = getattr(case.account, "delinquency", None)
    facts = CaseFacts(
        principal_fen=case.account.principal_fen,
        balance_fen=state.outstanding_fen if state is not None else case.account.principal_fen,
        bucket=case.bucket_group or case.bucket_code or "M1",
        holds=_active_holds(case),
        protected_reason=customer.protected_reason,
        debtor_reachable=_debtor_reachable(self_phone_ids=self_phone_ids, attempts=history, at=at, zone=zone),
    )
    return ContactInput(
        channel=channel,
        when=at,
        debtor_zones=zones,
        contact_point=contact_point_facts(point),
        case=facts,
        counts=counts,
        calendar=calendar_around(local_day),
        recording_available=recording_available,
        visit=visit,
        message=message,
        notes=notes,
    )
