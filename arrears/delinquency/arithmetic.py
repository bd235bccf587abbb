"""Delinquency arithmetic for one account on one business date (pure: no Django, no ORM).

This module is the specification. The set-based SQL of the end-of-day batch is
property-tested against `delinquency_as_of`, so the definitions below are the contract; the
code follows them line by line rather than cleverly.

Money is integer fen, dates are `datetime.date`. D is the business date.

1. The effective due date of an instalment is ``next_working_day(due_date)`` when
   ``rules.shift_due_dates`` is set, else ``due_date``. Instalments are ordered oldest first
   by (effective due date, seq).
2. An instalment is *past due* on D iff its effective due date < D. An instalment due on D
   itself is not yet overdue; the day after, DPD is 1.
3. P = max(0, sum of ``amount_fen`` of the payments with ``paid_on <= D``). Negative amounts
   are reversals. Payments dated after D are ignored (they only set `next_change_date`).
   Payments before a due date simply count (paid ahead).
4. Allocation is oldest first: with C_k the cumulative total due of instalments 1..k in
   order, instalment k receives clamp(P − C_{k−1}, 0, total_k). Within an instalment that
   amount pays the components in ``rules.allocation_order``, each component taking
   min(what is left of the amount, its due). A component's unpaid part is due − paid.
5. due_to_date = sum of the totals of past-due instalments; overdue_<component> = sum over
   past-due instalments of that component's unpaid part; overdue = max(due_to_date − P, 0)
   (equal to the sum of the four); outstanding = max(sum of all totals − P, 0);
   credit = max(P − due_to_date, 0).
6. T = max(rules.tolerance_fen, 1). The account is delinquent iff overdue >= T (so an
   overdue exactly equal to the tolerance is delinquent, and tolerance 0 means any fen).
   delinquent_since = the effective due date of the first past-due instalment k (in order)
   with C_k − P >= T, None when not delinquent. dpd = (D − delinquent_since).days when
   delinquent, else 0. missed_instalments = the number of past-due instalments k with
   C_k − P >= T (0 when not delinquent). An overdue below the tolerance therefore gives dpd 0,
   bucket at 0 and missed 0, but overdue_fen still shows it.
7. bucket = the ladder bucket with the greatest min_dpd <= dpd. Ladders may have gaps;
   max_dpd is informational only.
8. next_due_date = the smallest effective due date >= D, None if there is none.
9. next_change_date = the earliest of (a) next_due_date + 1 day; (b) when delinquent and some
   bucket has min_dpd > dpd: delinquent_since + (the smallest such min_dpd) days; (c) the
   earliest ``paid_on`` > D among the payments, of either sign. None if none applies. Until
   that date, with no new data, the result only differs in business_date and dpd (which grows
   one a day when delinquent): this is what lets the batch skip unchanged accounts.

Readings chosen where the definitions leave room:

* Instalment components must be >= 0 (ValueError otherwise): the clamp in 4 and the
  equality "overdue = sum of the components" in 5 only hold for non-negative dues.
* A ladder must be non-empty, have a bucket at min_dpd 0, no negative min_dpd and no two
  buckets with the same min_dpd (the database has the same uniqueness constraint); otherwise
  the bucket of some dpd would be missing or ambiguous (ValueError).
* ``rules.allocation_order`` must list each of COMPONENTS exactly once (ValueError).
* A past-due instalment with a zero total still counts as missed when C_k − P >= T: the
  definition is on cumulative amounts, not on the instalment's own unpaid part.
* next_due_date is an effective (possibly shifted) date, like delinquent_since.
* next_change_date is a date on which the result *can* change; it may not actually change
  then (e.g. a prepaid instalment falls due).
* ``next_working_day`` is trusted to return a date on or after its argument; it is only
  called when shifting is on. Instalments with equal (effective due date, seq) keep their
  input order (seq is unique per account in the database, so this does not arise there).
* `Delinquency.bucket` is the ladder's own `Bucket` object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

COMPONENTS = ("principal", "interest", "fee", "premium")

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Instalment:
    seq: int
    due_date: dt.date
    principal_fen: int = 0
    interest_fen: int = 0
    fee_fen: int = 0
    premium_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.interest_fen + self.fee_fen + self.premium_fen

    def due_by_component(self) -> dict[str, int]:
        return {
            "principal": self.principal_fen,
            "interest": self.interest_fen,
            "fee": self.fee_fen,
            "premium": self.premium_fen,
        }


@dataclass(frozen=True)
class Payment:
    paid_on: dt.date
    amount_fen: int  # negative = a reversal


@dataclass(frozen=True)
class Bucket:
    code: str
    group: str
    min_dpd: int
    max_dpd: int | None  # informational: the next bucket's min_dpd is what ends this one


@dataclass(frozen=True)
class Rules:
    tolerance_fen: int = 0
    shift_due_dates: bool = False
    allocation_order: tuple[str, ...] = ("fee", "interest", "principal", "premium")


@dataclass(frozen=True)
class Delinquency:
    business_date: dt.date
    paid_fen: int
    due_to_date_fen: int
    overdue_principal_fen: int
    overdue_interest_fen: int
    overdue_fee_fen: int
    overdue_premium_fen: int
    overdue_fen: int
    outstanding_fen: int
    credit_fen: int
    missed_instalments: int
    delinquent_since: dt.date | None
    dpd: int
    bucket: Bucket
    next_due_date: dt.date | None
    next_change_date: dt.date | None


DEFAULT_LADDER: tuple[Bucket, ...] = (
    Bucket("M0", "M0", 0, 0),
    Bucket("M1-1", "M1", 1, 10),
    Bucket("M1-2", "M1", 11, 20),
    Bucket("M1-3", "M1", 21, 29),
    Bucket("M2", "M2", 30, 59),
    Bucket("M3", "M3", 60, 89),
    Bucket("M4+", "M4+", 90, None),
)


def weekend_next_working_day(day: dt.date) -> dt.date:
    """Saturday and Sunday move to the following Monday (a simple calendar for tests)."""
    saturday, sunday = 5, 6
    if day.weekday() == saturday:
        return day + dt.timedelta(days=2)
    if day.weekday() == sunday:
        return day + ONE_DAY
    return day


def _same_day(day: dt.date) -> dt.date:
    return day


def _check_ladder(ladder: Sequence[Bucket]) -> None:
    min_dpds = [bucket.min_dpd for bucket in ladder]
    if not min_dpds:
        raise ValueError("a ladder needs at least one bucket")
    if 0 not in min_dpds:
        raise ValueError("a ladder needs a bucket starting at DPD 0")
    if min(min_dpds) < 0:
        raise ValueError("a bucket cannot start below DPD 0")
    if len(set(min_dpds)) != len(min_dpds):
        raise ValueError("two buckets of a ladder start at the same DPD")


def _check_rules(rules: Rules) -> None:
    if sorted(rules.allocation_order) != sorted(COMPONENTS):
        raise ValueError(f"allocation_order must list each of {COMPONENTS} exactly once")


def _check_instalments(instalments: Sequence[Instalment]) -> None:
    for instalment in instalments:
        if any(due < 0 for due in instalment.due_by_component().values()):
            raise ValueError(f"instalment {instalment.seq} has a negative amount due")


def bucket_for(ladder: Sequence[Bucket], dpd: int) -> Bucket:
    """The bucket with the greatest min_dpd <= dpd (gaps fall into the bucket below them)."""
    _check_ladder(ladder)
    if dpd < 0:
        raise ValueError("DPD cannot be negative")
    return max((bucket for bucket in ladder if bucket.min_dpd <= dpd), key=lambda bucket: bucket.min_dpd)


def _unpaid_by_component(instalment: Instalment, applied_fen: int, order: Sequence[str]) -> dict[str, int]:
    """What stays unpaid of each component once `applied_fen` has paid them in `order`."""
    due = instalment.due_by_component()
    unpaid = {}
    left = applied_fen
    for component in order:
        paid = min(left, due[component])
        left -= paid
        unpaid[component] = due[component] - paid
    return unpaid


def delinquency_as_of(
    *,
    business_date: dt.date,
    instalments: Sequence[Instalment],
    payments: Sequence[Payment],
    rules: Rules,
    ladder: Sequence[Bucket],
    next_working_day: Callable[[dt.date], dt.date] = _same_day,
) -> Delinquency:
    """The account's delinquency at the end of `business_date` (see the module docstring)."""
    _check_rules(rules)
    _check_ladder(ladder)
    _check_instalments(instalments)

    def effective_due(instalment: Instalment) -> dt.date:
        return next_working_day(instalment.due_date) if rules.shift_due_dates else instalment.due_date

    # Sorting is stable, so equal keys keep the input order (see the module docstring).
    schedule = sorted(
        ((effective_due(instalment), instalment) for instalment in instalments),
        key=lambda pair: (pair[0], pair[1].seq),
    )
    paid = max(0, sum(payment.amount_fen for payment in payments if payment.paid_on <= business_date))
    threshold = max(rules.tolerance_fen, 1)

    due_to_date = 0
    overdue_by_component = dict.fromkeys(COMPONENTS, 0)
    cumulative = 0  # C_k
    # Past-due instalments k whose cumulative shortfall C_k − P reaches the threshold.
    short_due_dates: list[dt.date] = []
    for due_date, instalment in schedule:
        applied = min(max(paid - cumulative, 0), instalment.total_fen)
        cumulative += instalment.total_fen
        if due_date >= business_date:
            continue
        due_to_date += instalment.total_fen
        for component, unpaid in _unpaid_by_component(instalment, applied, rules.allocation_order).items():
            overdue_by_component[component] += unpaid
        if cumulative - paid >= threshold:
            short_due_dates.append(due_date)
    total_due = cumulative

    overdue = max(due_to_date - paid, 0)
    # With non-negative dues, overdue >= T exactly when some past-due C_k − P >= T (the last
    # past-due instalment has C_k − P = overdue), but the definition is the overdue amount.
    delinquent = overdue >= threshold
    delinquent_since = short_due_dates[0] if delinquent else None
    missed = len(short_due_dates) if delinquent else 0
    dpd = (business_date - delinquent_since).days if delinquent_since is not None else 0

    next_due_date = min((due_date for due_date, _ in schedule if due_date >= business_date), default=None)
    return Delinquency(
        business_date=business_date,
        paid_fen=paid,
        due_to_date_fen=due_to_date,
        overdue_principal_fen=overdue_by_component["principal"],
        overdue_interest_fen=overdue_by_component["interest"],
        overdue_fee_fen=overdue_by_component["fee"],
        overdue_premium_fen=overdue_by_component["premium"],
        overdue_fen=overdue,
        outstanding_fen=max(total_due - paid, 0),
        credit_fen=max(paid - due_to_date, 0),
        missed_instalments=missed,
        delinquent_since=delinquent_since,
        dpd=dpd,
        bucket=bucket_for(ladder, dpd),
        next_due_date=next_due_date,
        next_change_date=_next_change_date(
            business_date=business_date,
            next_due_date=next_due_date,
            delinquent_since=delinquent_since,
            dpd=dpd,
            ladder=ladder,
            payments=payments,
        ),
    )


def _next_change_date(
    *,
    business_date: dt.date,
    next_due_date: dt.date | None,
    delinquent_since: dt.date | None,
    dpd: int,
    ladder: Sequence[Bucket],
    payments: Sequence[Payment],
) -> dt.date | None:
    """The first date after `business_date` on which the result can change without new data."""
    candidates = []
    # (a) The next instalment becomes past due the day after its effective due date.
    if next_due_date is not None:
        candidates.append(next_due_date + ONE_DAY)
    # (b) DPD reaches the start of the next bucket up.
    if delinquent_since is not None:
        next_min_dpd = min((bucket.min_dpd for bucket in ladder if bucket.min_dpd > dpd), default=None)
        if next_min_dpd is not None:
            candidates.append(delinquent_since + dt.timedelta(days=next_min_dpd))
    # (c) A payment (or reversal) already on file becomes effective.
    candidates.extend(payment.paid_on for payment in payments if payment.paid_on > business_date)
    return min(candidates, default=None)
