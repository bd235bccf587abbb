"""Reads for the guard: the packs in force, and the complete input for one proposed contact.

`contact_input_for` gathers from the database everything a rule may look at (holds,
protection, the contact point, today's counts in the debtor's own zone, the calendar
around the date) into a frozen `ContactInput`; the rules then never query anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from django.db import connection
from django.db.models import Q
from django.utils import timezone
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
from arrears.core.sql import prepared_cursor
from arrears.delinquency.models import AccountState
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


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def decision_page(*, filters: Mapping[str, Any], limit: int) -> tuple[list[Decision], int | None]:
    """One page of matching decisions, newest first, and where the next page starts.

    Uses decision_case_idx for a case, decision_created_idx for a date range, the primary
    key otherwise; the rule filter is a JSONB containment test on the rows those leave.
    """
    rows = Decision.objects.select_related("asked_by").order_by("-id")
    if filters.get("outcome"):
        rows = rows.filter(allowed=filters["outcome"] == "allowed")
    if filters.get("rule"):
        probe = [{"rule": filters["rule"]}]
        rows = rows.filter(Q(result__violations__contains=probe) | Q(result__warnings__contains=probe))
    if filters.get("date_from") is not None:
        rows = rows.filter(created_at__gte=_local_midnight(filters["date_from"]))
    if filters.get("date_to") is not None:
        rows = rows.filter(created_at__lt=_local_midnight(filters["date_to"] + dt.timedelta(days=1)))
    if filters.get("case") is not None:
        rows = rows.filter(case_id=filters["case"])
    if filters.get("before") is not None:
        rows = rows.filter(id__lt=filters["before"])
    page = list(rows[: limit + 1])
    next_before = page[limit - 1].pk if len(page) > limit else None
    return page[:limit], next_before


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
        opted_out_channels=frozenset(
            Channel(channel)
            for channel in (point.opted_out_channels or ())
            if channel in Channel._value2member_map_
        ),
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
    first, last = _calendar_range(day)
    rows = CalendarDay.objects.filter(day__range=(first, last)).values_list(
        "day", "is_working", "name", "source"
    )
    return _calendar_from_rows(rows)


def _calendar_range(day: dt.date) -> tuple[dt.date, dt.date]:
    return day - dt.timedelta(days=1), day + dt.timedelta(days=35)


def _calendar_from_rows(rows: Iterable[tuple[dt.date, bool, str, str]]) -> Calendar:
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
    return _holds_from_rows(case, rows)


def _holds_from_rows(case: Case, rows: Iterable[tuple[int, str]]) -> frozenset[Hold]:
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


# --- everything for one question in one round trip ---------------------------------------

HISTORY_COLUMNS = (
    "case_id",
    "contact_point_id",
    "channel",
    "direction",
    "connected",
    "right_party",
    "started_at",
)


@dataclasses.dataclass(frozen=True, slots=True)
class GuardReads:
    """What `guard_check` reads for one question: the creditor's packs at their latest
    versions and the customer's history, holds, own phones and calendar slice."""

    packs: tuple[Pack, ...]
    # Activities of the customer before the contact, newest first: those of the
    # HISTORY_DAYS under Reg F; otherwise those since the local week's start or the
    # reachability look-back (the earlier), and the last connected call.
    history: list[dict[str, Any]]
    self_phone_ids: set[int]
    holds: frozenset[Hold]
    calendar: Calendar
    # The balance the end-of-day batch computed; None before its first run for the account.
    outstanding_fen: int | None


# started_at travels as microseconds since the epoch: psycopg's own timestamptz parsing
# (through Django's time-zone loader) is Python code and was most of the read's cost.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# The delinquency engine's state of an account (its `delinquency` one-to-one), for the balance.
_ACCOUNT_STATE_TABLE = AccountState._meta.db_table

# Seven reads in one round trip, as one statement of seven scalar subqueries each answering a
# JSON array (json_agg): one statement can be prepared (`core.sql.prepared_cursor`), so
# PostgreSQL parses and plans it once per connection, not seven statements per question (they
# were sent together as seven statements, which cannot be prepared).
# Indexes: creditor_pack_unique, pack_version_unique, activity_customer_idx (customer,
# started_at), the contact-point and hold foreign keys, the calendar's primary key.
_EMPTY = "'[]'::json"
_GUARD_READS_SQL = f"""
SELECT
 (SELECT coalesce(json_agg(pack ORDER BY pack), {_EMPTY})
    FROM {CreditorPolicyPack._meta.db_table} WHERE creditor_id = %(creditor)s),
 (SELECT coalesce(json_agg(json_build_array(pack, version, params)), {_EMPTY}) FROM (
    SELECT DISTINCT ON (pack) pack, version, params FROM {PolicyPackVersion._meta.db_table}
     WHERE pack = ANY(%(known_packs)s) ORDER BY pack, version DESC) latest),
 (SELECT coalesce(json_agg(json_build_array({", ".join(HISTORY_COLUMNS[:-1])},
                                            (extract(epoch FROM started_at) * 1000000)::bigint)
                           ORDER BY started_at DESC, id DESC), {_EMPTY}) FROM (
    SELECT id, {", ".join(HISTORY_COLUMNS)} FROM {Activity._meta.db_table}
     WHERE customer_id = %(customer)s AND started_at < %(at)s
       AND started_at >= CASE WHEN EXISTS (
             SELECT 1 FROM {CreditorPolicyPack._meta.db_table} WHERE creditor_id = %(creditor)s AND pack = %(us_pack)s
           ) THEN %(since)s ELSE %(short_since)s END
    UNION
    (SELECT id, {", ".join(HISTORY_COLUMNS)} FROM {Activity._meta.db_table}
      WHERE customer_id = %(customer)s AND started_at >= %(since)s AND started_at < %(at)s
        AND channel = 'call' AND connected
      ORDER BY started_at DESC, id DESC LIMIT 1)) history),
 (SELECT coalesce(json_agg(id), {_EMPTY}) FROM {ContactPointRow._meta.db_table}
   WHERE customer_id = %(customer)s AND owner_role = 'self' AND kind = ANY(%(phone_kinds)s)
     AND is_valid AND NOT do_not_contact),
 (SELECT coalesce(json_agg(json_build_array(h.case_id, h.kind)), {_EMPTY})
    FROM {CaseHold._meta.db_table} h JOIN {Case._meta.db_table} c ON c.id = h.case_id
   WHERE h.released_at IS NULL AND c.customer_id = %(customer)s),
 (SELECT coalesce(json_agg(json_build_array(day, is_working, name, source)), {_EMPTY})
    FROM {CalendarDay._meta.db_table} WHERE day BETWEEN %(first)s AND %(last)s),
 (SELECT outstanding_fen FROM {_ACCOUNT_STATE_TABLE} WHERE account_id = %(account)s)
"""


def guard_reads(*, case: Case, at: dt.datetime) -> GuardReads:
    """Everything `contact_input_for` and the packs need for a question at `at`, in one
    round trip; the same rows the ORM queries of `packs_for_creditor`,
    `contact_input_for`, `_active_holds` and `calendar_around` read."""
    zone = ZoneInfo(case.customer.time_zone or "Asia/Shanghai")
    local_day = at.astimezone(zone).date()
    first, last = _calendar_range(local_day)
    # Without Reg F, nothing older than the local week, the reachability look-back and the
    # last connected call (H4) is ever looked at: the history is read only that far back,
    # plus that one call. Reg F's U1 reads every attempt of the HISTORY_DAYS.
    day_start = dt.datetime.combine(local_day, dt.time(0), zone)
    week_start = day_start - dt.timedelta(days=local_day.weekday())
    params: dict[str, Any] = {
        "creditor": case.account.creditor_id,
        "known_packs": list(PACKS),
        "customer": case.customer_id,
        "account": case.account_id,
        "since": at - dt.timedelta(days=HISTORY_DAYS),
        "short_since": min(week_start, at - UNREACHABLE_LOOKBACK),
        "us_pack": US_PACK_ID,
        "at": at,
        "phone_kinds": sorted(PHONE_KINDS),
        "first": first,
        "last": last,
    }
    with prepared_cursor() as cursor:
        cursor.execute(_GUARD_READS_SQL, params)
        chosen, latest_rows, history_rows, phone_ids, hold_rows, calendar_rows, outstanding_fen = (
            cursor.fetchone()
        )
    latest = {pack: (version, stored) for pack, version, stored in latest_rows}
    history = [
        dict(zip(HISTORY_COLUMNS, (*row[:-1], _EPOCH + dt.timedelta(microseconds=row[-1])), strict=True))
        for row in history_rows
    ]
    self_phone_ids = set(phone_ids)
    holds = _holds_from_rows(case, hold_rows)
    calendar = _calendar_from_rows(
        (dt.date.fromisoformat(day), is_working, name, source)
        for day, is_working, name, source in calendar_rows
    )
    packs = []
    for pack_id in tuple(chosen) or DEFAULT_PACK_IDS:
        if pack_id not in latest:
            packs.append(PACKS[pack_id])
            continue
        version, stored = latest[pack_id]
        packs.append(
            pack_at_version(pack_id, version, json.loads(stored) if isinstance(stored, str) else stored)
        )
    return GuardReads(
        packs=tuple(packs),
        history=history,
        self_phone_ids=self_phone_ids,
        holds=holds,
        calendar=calendar,
        outstanding_fen=outstanding_fen,
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
    reads: GuardReads | None = None,
) -> ContactInput:
    """`reads` is what `guard_reads` fetched for this case and time (read here when absent)."""
    if reads is None:
        reads = guard_reads(case=case, at=at)
    customer = case.customer
    zones = debtor_zones(home_zone=customer.time_zone or "Asia/Shanghai", point=point, pack_ids=pack_ids)
    zone = ZoneInfo(zones[0])
    local_day = at.astimezone(zone).date()
    day_start = dt.datetime.combine(local_day, dt.time(0), zone)
    week_start = day_start - dt.timedelta(days=local_day.weekday())

    history = reads.history
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
    self_phone_ids = reads.self_phone_ids
    facts = CaseFacts(
        principal_fen=case.account.principal_fen,
        balance_fen=reads.outstanding_fen
        if reads.outstanding_fen is not None
        else case.account.principal_fen,
        bucket=case.bucket_group or case.bucket_code or "M1",
        holds=reads.holds,
        protected_reason=customer.protected_reason,
        debtor_reachable=_debtor_reachable(self_phone_ids=self_phone_ids, attempts=history, at=at, zone=zone),
        cease_requested=customer.cease_requested,
        attorney_represented=customer.attorney_represented,
        employer_prohibits_workplace_contact=customer.employer_prohibits_contact,
    )
    return ContactInput(
        channel=channel,
        when=at,
        debtor_zones=zones,
        contact_point=contact_point_facts(point),
        case=facts,
        counts=counts,
        calendar=reads.calendar,
        recording_available=recording_available,
        visit=visit,
        message=message,
        notes=notes,
    )


_GUARD_READS_MANY_SQL = f"""
SELECT creditor_id, pack FROM {CreditorPolicyPack._meta.db_table} WHERE creditor_id = ANY(%(creditors)s) ORDER BY pack;
SELECT DISTINCT ON (pack) pack, version, params FROM {PolicyPackVersion._meta.db_table}
 WHERE pack = ANY(%(known_packs)s) ORDER BY pack, version DESC;
SELECT customer_id, {", ".join(HISTORY_COLUMNS[:-1])}, (extract(epoch FROM started_at) * 1000000)::bigint FROM (
  SELECT a.id, a.customer_id, {", ".join("a." + c for c in HISTORY_COLUMNS)} FROM {Activity._meta.db_table} a
    JOIN unnest(%(customers)s::bigint[], %(starts)s::timestamptz[]) AS w(customer_id, since)
      ON a.customer_id = w.customer_id AND a.started_at >= w.since
   WHERE a.started_at < %(at)s
  UNION
  (SELECT DISTINCT ON (customer_id) id, customer_id, {", ".join(HISTORY_COLUMNS)} FROM {Activity._meta.db_table}
    WHERE customer_id = ANY(%(customers)s) AND started_at >= %(since)s AND started_at < %(at)s
      AND channel = 'call' AND connected
    ORDER BY customer_id, started_at DESC, id DESC)
) history ORDER BY started_at DESC, id DESC;
SELECT customer_id, id FROM {ContactPointRow._meta.db_table}
 WHERE customer_id = ANY(%(customers)s) AND owner_role = 'self' AND kind = ANY(%(phone_kinds)s)
   AND is_valid AND NOT do_not_contact;
SELECT c.customer_id, h.case_id, h.kind FROM {CaseHold._meta.db_table} h JOIN {Case._meta.db_table} c ON c.id = h.case_id
 WHERE h.released_at IS NULL AND c.customer_id = ANY(%(customers)s);
SELECT day, is_working, name, source FROM {CalendarDay._meta.db_table} WHERE day BETWEEN %(first)s AND %(last)s;
SELECT account_id, outstanding_fen FROM {_ACCOUNT_STATE_TABLE} WHERE account_id = ANY(%(accounts)s)
"""


def guard_reads_many(*, cases: Sequence[Case], at: dt.datetime) -> list[GuardReads]:
    """`guard_reads` for many questions at one time (a sender's batch), in one round trip:
    the same rows, read for all the customers at once; one result per case, in order."""
    if not cases:
        return []
    creditors = sorted({case.account.creditor_id for case in cases})
    customers: dict[int, dt.datetime] = {}
    ranges: list[tuple[dt.date, dt.date]] = []
    for case in cases:
        zone = ZoneInfo(case.customer.time_zone or "Asia/Shanghai")
        local_day = at.astimezone(zone).date()
        ranges.append(_calendar_range(local_day))
        day_start = dt.datetime.combine(local_day, dt.time(0), zone)
        week_start = day_start - dt.timedelta(days=local_day.weekday())
        short_since = min(week_start, at - UNREACHABLE_LOOKBACK)
        customers[case.customer_id] = min(customers.get(case.customer_id, short_since), short_since)
    params: dict[str, Any] = {
        "creditors": creditors,
        "known_packs": list(PACKS),
        "customers": list(customers),
        "starts": list(customers.values()),
        "since": at - dt.timedelta(days=HISTORY_DAYS),
        "at": at,
        "phone_kinds": sorted(PHONE_KINDS),
        "first": min(first for first, _ in ranges),
        "last": max(last for _, last in ranges),
        "accounts": sorted({case.account_id for case in cases}),
    }
    with connection.cursor() as cursor:
        cursor.execute(_GUARD_READS_MANY_SQL, params)
        chosen: dict[int, list[str]] = {}
        for creditor_id, pack in cursor.fetchall():
            chosen.setdefault(creditor_id, []).append(pack)
        cursor.nextset()
        latest = {pack: (version, stored) for pack, version, stored in cursor.fetchall()}
        cursor.nextset()
        history: dict[int, list[dict[str, Any]]] = {}
        for customer_id, *row in cursor.fetchall():
            history.setdefault(customer_id, []).append(
                dict(
                    zip(
                        HISTORY_COLUMNS, (*row[:-1], _EPOCH + dt.timedelta(microseconds=row[-1])), strict=True
                    )
                )
            )
        cursor.nextset()
        phones: dict[int, set[int]] = {}
        for customer_id, point_id in cursor.fetchall():
            phones.setdefault(customer_id, set()).add(point_id)
        cursor.nextset()
        hold_rows: dict[int, list[tuple[int, str]]] = {}
        for customer_id, case_id, kind in cursor.fetchall():
            hold_rows.setdefault(customer_id, []).append((case_id, kind))
        cursor.nextset()
        calendar_rows = cursor.fetchall()
        cursor.nextset()
        balances = dict(cursor.fetchall())
    pack_cache: dict[tuple[str, ...], tuple[Pack, ...]] = {}
    calendar_cache: dict[tuple[dt.date, dt.date], Calendar] = {}
    results = []
    for case, (first, last) in zip(cases, ranges, strict=True):
        ids = tuple(chosen.get(case.account.creditor_id, ())) or DEFAULT_PACK_IDS
        if ids not in pack_cache:
            packs = []
            for pack_id in ids:
                if pack_id not in latest:
                    packs.append(PACKS[pack_id])
                    continue
                version, stored = latest[pack_id]
                packs.append(
                    pack_at_version(
                        pack_id, version, json.loads(stored) if isinstance(stored, str) else stored
                    )
                )
            pack_cache[ids] = tuple(packs)
        if US_PACK_ID in ids:
            # Reg F's U1 needs the whole look-back: this batch read only the short one.
            results.append(guard_reads(case=case, at=at))
            continue
        if (first, last) not in calendar_cache:
            calendar_cache[first, last] = _calendar_from_rows(
                row for row in calendar_rows if first <= row[0] <= last
            )
        results.append(
            GuardReads(
                packs=pack_cache[ids],
                history=history.get(case.customer_id, []),
                self_phone_ids=phones.get(case.customer_id, set()),
                holds=_holds_from_rows(case, hold_rows.get(case.customer_id, [])),
                calendar=calendar_cache[first, last],
                outstanding_fen=balances.get(case.account_id),
            )
        )
    return results
