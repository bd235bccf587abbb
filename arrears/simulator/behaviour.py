"""How simulated borrowers repay, and the calibration report that checks the book looks real.

Pure Python: no Django, no database. ``arrears.simulator.files`` draws each account's loan and
then calls ``simulate`` with the same ``random.Random`` to get its payments, so an account's
whole history follows from ``(seed, n, as_of)``.

The model works one period at a time, a period being the month from one due date to the next
(after the last instalment, the same monthly rhythm goes on while arrears remain). What the
customer does in a period depends on how many instalments were already past due and unpaid when
it began (``k``), and on the customer's risk tier, fixed per customer so bad payers stay bad:

* ``k == 0`` (current): pays the instalment on or a few days before its due date; now and then
  pays two instalments at once or pays the loan off; otherwise misses the due date and then
  either self-cures (pays within 10 days), cures later in the month (after collection), or does
  not pay this instalment before the next one falls due (and may pay part of it);
* ``k >= 1`` (in arrears): pays everything overdue (cure), pays one instalment (stays in the same
  bucket: the oldest unpaid instalment moves up a month), pays a part, or pays nothing (rolls to
  the next bucket). The chances fall as ``k`` grows, which makes later rolls higher.

Payments are whole instalments (or the exact rest of one), so the product tolerance rarely
matters; partial payments are whole yuan. Direct debits bounce now and then: the payment is
reversed (negative amount, ``reversal_of`` set) and the customer usually pays again a few days
later through another channel.

``calibration_report`` measures a generated book the way the delinquency engine will
(``arrears.delinquency.arithmetic``: cumulative payments allocated oldest first, DPD from the
oldest past-due instalment whose cumulative shortfall reaches the tolerance) from the schedules
and payments alone. ``python -m arrears.simulator.behaviour --accounts 20000 --seed 1`` prints it.
"""

from __future__ import annotations

import argparse
import calendar
import random
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate

# --- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskTier:
    """A class of customers. Every probability here is per period (one month)."""

    name: str
    share: float  # of customers
    miss: float  # chance that a current customer does not pay an instalment by its due date
    cure_factor: float  # scales every chance of paying once the due date has passed


@dataclass(frozen=True, slots=True)
class Params:
    """The behaviour model's knobs; ``PARAMS`` holds the calibrated values."""

    tiers: tuple[RiskTier, ...]
    # A current customer who missed the due date: pays within days 1–10, or on day 11 or later
    # (before the next due date). Whoever does neither rolls; ``part_after_miss`` of them pay a part.
    self_cure: float
    late_cure: float
    part_after_miss: float
    # A customer with k instalments past due at the start of a period (index k - 1, the last
    # value repeating): pays them all and the one now due, pays the oldest one, or pays a part.
    cure: tuple[float, ...]
    pay_one: tuple[float, ...]
    pay_part: tuple[float, ...]
    # A current customer at a due date (not the last one).
    payoff: float  # pays everything still scheduled (early payoff)
    pay_ahead: float  # pays this instalment and the next one
    split: float  # a cure is paid in two pieces rather than one
    debit_share: float  # customers who pay by the creditor's direct debit (代扣)
    reversal_debit: float  # a direct debit bounces and is reversed
    reversal_other: float  # any other payment is reversed (wrong account, duplicate)
    repay_after_reversal: float  # the customer pays again after a reversal


# Calibrated on 20,000-account books (seeds 1–3, several as_of dates) with
# ``python -m arrears.simulator.behaviour``: 30+ DPD balance share about 4 %, month-end rolls
# M1→M2 about 25 %, M2→M3 about 50 %, M3→M4+ about 73 %, M1 self-cure about 48 %. Entries to
# M1 come mostly from the risky tiers, whose scaled-down cure chances set the roll rates; tier E
# (first-payment default, fraud) almost never pays and is what fills M4+ with whole balances.
PARAMS = Params(
    tiers=(
        RiskTier("A", 0.60, 0.005, 1.1),
        RiskTier("B", 0.259, 0.03, 1.0),
        RiskTier("C", 0.10, 0.10, 0.9),
        RiskTier("D", 0.03, 0.30, 0.7),
        RiskTier("E", 0.011, 0.97, 0.1),
    ),
    self_cure=0.50,
    late_cure=0.50,
    part_after_miss=0.25,
    cure=(0.45, 0.36, 0.12, 0.04),
    pay_one=(0.33, 0.28, 0.10, 0.03),
    pay_part=(0.15, 0.12, 0.08, 0.05),
    payoff=0.006,
    pay_ahead=0.01,
    split=0.15,
    debit_share=0.45,
    reversal_debit=0.015,
    reversal_other=0.002,
    repay_after_reversal=0.85,
)

DEBIT = "代扣"
# Channels other than direct debit, with weights (bank transfer, Alipay, WeChat, counter).
_OTHER_CHANNELS = ("银行转账", "支付宝", "微信", "柜台")
_OTHER_CHANNEL_WEIGHTS = (15, 18, 17, 5)
CHANNELS = (DEBIT, *_OTHER_CHANNELS)
# Days before the due date a customer who pays by hand pays: most pay on the day itself.
_EARLY_DAYS = (0, 1, 2, 3, 4, 5, 6, 7)
_EARLY_WEIGHTS = (45, 15, 12, 10, 6, 5, 4, 3)
# Day past due of a self-cure (1–10): reminders on day 1–3 bring most of them in.
_SELF_CURE_DAYS = tuple(range(1, 11))
_SELF_CURE_WEIGHTS = (18, 15, 12, 10, 9, 8, 8, 7, 7, 6)
_END_OF_DAY = time(23, 59, 59)


def tier_for(pick: float, params: Params | None = None) -> RiskTier:
    """The tier of a customer whose uniform draw in [0, 1) is ``pick``."""
    params = params or PARAMS
    total = 0.0
    for tier in params.tiers:
        total += tier.share
        if pick < total:
            return tier
    return params.tiers[-1]


# --- the model -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Txn:
    """One row of the payments file, before it gets its transaction id."""

    paid_at: datetime
    amount_fen: int  # negative only for a reversal
    channel: str
    reversal_of: int | None = None  # index, in the account's list, of the payment reversed


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, the day clamped to short months (31 Jan + 1 → 28/29 Feb)."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    if day.day <= 28:  # every month has it; the common case, and a hot path when generating
        return date(year, month0 + 1, day.day)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


@dataclass(slots=True)
class _Draft:
    """A payment being planned: reversals point at their original by object, ids come later."""

    paid_at: datetime
    amount_fen: int
    channel: str
    reverses: _Draft | None = None
    order: int = 0  # tie-break so equal times keep the order they were planned in


@dataclass(slots=True)
class _Account:
    """The running state of one account while its periods are simulated."""

    rng: random.Random
    params: Params
    debit: bool  # pays by direct debit when on time
    paid: int = 0  # net of every payment planned so far
    drafts: list[_Draft] = field(default_factory=list)

    def at(self, day: date, *, debit: bool) -> datetime:
        # The creditor's overnight debit run, or a customer paying during the day.
        start, end = (3600, 7 * 3600) if debit else (8 * 3600, 23 * 3600)
        return datetime.combine(day, time()) + timedelta(seconds=self.rng.randrange(start, end))

    def other_channel(self) -> str:
        return self.rng.choices(_OTHER_CHANNELS, _OTHER_CHANNEL_WEIGHTS)[0]

    def pay(self, day: date, amount: int, *, debit: bool = False) -> None:
        if amount <= 0:
            return
        rng, params = self.rng, self.params
        channel = DEBIT if debit else self.other_channel()
        draft = _Draft(self.at(day, debit=debit), amount, channel, order=len(self.drafts))
        self.drafts.append(draft)
        self.paid += amount
        if rng.random() >= (params.reversal_debit if debit else params.reversal_other):
            return
        # Reversed a few hours to two days later; usually paid again by hand a few days after.
        reversed_at = draft.paid_at + timedelta(hours=rng.randint(2, 48))
        self.drafts.append(_Draft(reversed_at, -amount, channel, reverses=draft, order=len(self.drafts)))
        if rng.random() < params.repay_after_reversal:
            again = reversed_at.date() + timedelta(days=rng.randint(1, 5))
            self.drafts.append(
                _Draft(self.at(again, debit=False), amount, self.other_channel(), order=len(self.drafts))
            )
        else:
            self.paid -= amount

    def pay_on_time(self, due: date, amount: int) -> None:
        if self.debit:
            self.pay(due, amount, debit=True)
        else:
            early = self.rng.choices(_EARLY_DAYS, _EARLY_WEIGHTS)[0]
            self.pay(due - timedelta(days=early), amount)

    def pay_late(self, start: date, delay: int, amount: int, *, may_split: bool = True) -> None:
        """Pay ``amount`` ``delay`` days after ``start`` (some customers in two pieces)."""
        rng = self.rng
        # A debit customer's late payment is often the creditor's retried debit.
        debit = self.debit and rng.random() < 0.3
        if may_split and amount >= 200 and rng.random() < self.params.split:
            first = amount * rng.randint(30, 70) // 100 // 100 * 100 or amount // 2
            first_delay = rng.randint(max(1, delay - 7), delay) if delay >= 1 else 0
            self.pay(start + timedelta(days=first_delay), first)
            amount -= first
            debit = False
        self.pay(start + timedelta(days=delay), amount, debit=debit)

    def pay_part(self, start: date, length: int, owed: int) -> None:
        """Part (20–80 %, whole yuan) of ``owed`` at some day of the period."""
        part = owed * self.rng.randint(20, 80) // 100 // 100 * 100
        if 0 < part < owed:
            self.pay(start + timedelta(days=self.rng.randint(1, length - 1)), part)


def simulate(
    rng: random.Random,
    dues: Sequence[tuple[date, int]],
    *,
    tier: RiskTier,
    last_day: date,
    params: Params | None = None,
) -> list[Txn]:
    """The payments of one account: ``dues`` is its schedule as (due date, total due fen) in order.

    Payments fall on or before ``last_day`` (anything the model plans later is dropped), in time
    order, each reversal after the payment it reverses. ``rng`` is consumed; the same state and
    arguments give the same list.
    """
    if not dues:
        return []
    cumulative = list(accumulate(amount for _day, amount in dues))
    total = cumulative[-1]
    term = len(dues)
    params = params or PARAMS
    account = _Account(rng, params, debit=rng.random() < params.debit_share)
    i = 0  # the period that starts when instalment i (0-based) falls due
    while True:
        start = dues[i][0] if i < term else add_months(dues[-1][0], i - term + 1)
        if start > last_day or account.paid >= total:
            break
        end = dues[i + 1][0] if i + 1 < term else add_months(dues[-1][0], i - term + 2)
        length = (end - start).days
        covered = bisect_right(cumulative, account.paid)  # instalments fully paid
        owed_now = cumulative[i] if i < term else total  # all that is due once this period starts
        late = min(i, term) - covered  # instalments past due and unpaid before this period
        if late > 0:
            _arrears_period(account, tier, start, length, late, owed_now, cumulative[covered])
        elif covered == i:  # current, and instalment i (i < term, as paid < total) falls due now
            _current_period(account, tier, start, length, i, cumulative)
        # else paid ahead: instalment i is already paid, nothing to do this period
        i += 1

    limit = datetime.combine(last_day, _END_OF_DAY)
    drafts = sorted((d for d in account.drafts if d.paid_at <= limit), key=lambda d: (d.paid_at, d.order))
    index = {id(draft): position for position, draft in enumerate(drafts)}
    return [
        Txn(
            draft.paid_at,
            draft.amount_fen,
            draft.channel,
            None if draft.reverses is None else index[id(draft.reverses)],
        )
        for draft in drafts
    ]


def _current_period(
    account: _Account, tier: RiskTier, start: date, length: int, i: int, cumulative: list[int]
) -> None:
    rng, params = account.rng, account.params
    owed = cumulative[i] - account.paid
    if i + 1 < len(cumulative):  # paying off or ahead only makes sense before the last instalment
        u = rng.random()
        if u < params.payoff:
            account.pay_on_time(start, cumulative[-1] - account.paid)
            return
        if u < params.payoff + params.pay_ahead:
            account.pay_on_time(start, cumulative[i + 1] - account.paid)
            return
    if rng.random() >= tier.miss:
        account.pay_on_time(start, owed)
        return
    # Missed the due date. Bad payers take longer: their cure chances are scaled down, and the
    # chance they lose goes to rolling (for the best tier the two add up to more than 1: it
    # always pays within the month).
    v = rng.random()
    self_cure = params.self_cure * tier.cure_factor
    late_cure = params.late_cure * tier.cure_factor
    if v < self_cure:
        account.pay_late(start, rng.choices(_SELF_CURE_DAYS, _SELF_CURE_WEIGHTS)[0], owed)
    elif v < self_cure + late_cure:
        account.pay_late(start, rng.randint(11, length - 1), owed)
    elif rng.random() < params.part_after_miss:
        account.pay_part(start, length, owed)


def _arrears_period(
    account: _Account, tier: RiskTier, start: date, length: int, late: int, owed_now: int, oldest: int
) -> None:
    rng, params = account.rng, account.params
    step = min(late, len(params.cure)) - 1
    cure = params.cure[step] * tier.cure_factor
    pay_one = params.pay_one[step] * tier.cure_factor
    pay_part = params.pay_part[step]
    v = rng.random()
    if v < cure:
        account.pay_late(start, rng.randint(0, length - 1), owed_now - account.paid)
    elif v < cure + pay_one:
        account.pay_late(start, rng.randint(0, length - 1), oldest - account.paid, may_split=False)
    elif v < cure + pay_one + pay_part:
        account.pay_part(start, length, oldest - account.paid)


# --- measuring a book ------------------------------------------------------------------------

GROUPS = ("M0", "M1", "M2", "M3", "M4+")
CLOSED = "closed"
_GROUP_MIN_DPD = (0, 1, 30, 60, 90)


def group_for(dpd: int) -> str:
    """The default ladder's group (M0, M1 1–29, M2 30–59, M3 60–89, M4+ 90+) of a DPD."""
    return GROUPS[bisect_right(_GROUP_MIN_DPD, dpd) - 1]


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the report reads of one account: its schedule and its payments, as the files say."""

    open_date: date
    dues: Sequence[tuple[date, int]]  # (due date, total due fen), in due order
    payments: Sequence[tuple[date, int]]  # (day paid, fen; negative for a reversal), in time order


class _Position:
    """Cumulative arithmetic of one ledger (definitions of ``arrears.delinquency.arithmetic``)."""

    __slots__ = ("cumulative", "days", "due_dates", "paid_by_day", "threshold", "total")

    def __init__(self, ledger: Ledger, tolerance_fen: int) -> None:
        self.due_dates = [day for day, _amount in ledger.dues]
        self.cumulative = list(accumulate(amount for _day, amount in ledger.dues))
        self.total = self.cumulative[-1] if self.cumulative else 0
        self.threshold = max(tolerance_fen, 1)
        self.days: list[date] = []
        self.paid_by_day: list[int] = []  # net paid by the end of days[j]
        running = 0
        for day, amount in ledger.payments:
            running += amount
            if self.days and self.days[-1] == day:
                self.paid_by_day[-1] = running
            else:
                self.days.append(day)
                self.paid_by_day.append(running)

    def paid(self, day: date) -> int:
        """P: net payments made by the end of ``day`` (never below zero)."""
        j = bisect_right(self.days, day)
        return max(self.paid_by_day[j - 1], 0) if j else 0

    def since(self, day: date) -> date | None:
        """The due date of the oldest past-due instalment whose cumulative shortfall reaches
        the tolerance at the end of ``day`` (None: not delinquent)."""
        past_due = bisect_left(self.due_dates, day)  # due before ``day``
        k = bisect_left(self.cumulative, self.paid(day) + self.threshold)
        return self.due_dates[k] if k < past_due else None

    def dpd(self, day: date) -> int:
        since = self.since(day)
        return (day - since).days if since is not None else 0

    def outstanding(self, day: date) -> int:
        return max(self.total - self.paid(day), 0)


def dpd_on(ledger: Ledger, day: date, *, tolerance_fen: int = 1000) -> int:
    """Days past due of ``ledger`` at the end of ``day`` (payments dated ``day`` count)."""
    return _Position(ledger, tolerance_fen).dpd(day)


def month_ends(last_day: date, count: int = 12) -> list[date]:
    """The last ``count`` month ends on or before ``last_day``, oldest first."""
    end = last_day.replace(day=calendar.monthrange(last_day.year, last_day.month)[1])
    if end > last_day:
        end = last_day.replace(day=1) - timedelta(days=1)
    ends = [end]
    while len(ends) < count:
        ends.append(ends[-1].replace(day=1) - timedelta(days=1))
    return ends[::-1]


@dataclass(frozen=True)
class CalibrationReport:
    as_of: date
    last_day: date  # the last day with payments: as_of - 1
    accounts: int
    month_ends: tuple[date, ...]
    balance_fen: int  # outstanding at the end of last_day, accounts opened by then
    balance_30_plus_fen: int  # of which on accounts 30+ DPD
    # month end → group (GROUPS or CLOSED) → accounts; accounts not yet opened are left out
    month_end_counts: dict[date, dict[str, int]]
    # (from group, to group) → share of the accounts in ``from`` at one month end that are in
    # ``to`` at the next, averaged over the month pairs where ``from`` is not empty
    roll: dict[tuple[str, str], float]
    m1_entries: int  # DPD went from 0 to 1–29 (observable: 10 days of history after)
    m1_self_cured: int  # … and was back to 0 by the 10th day past due
    payments: int
    reversals: int
    partial_payments: int  # leave the instalment they pay partly unpaid
    paid_before_due: int  # pay an instalment before its due date
    early_payoffs: int  # clear the whole schedule before its last due date

    @property
    def share_30_plus(self) -> float:
        return self.balance_30_plus_fen / self.balance_fen if self.balance_fen else 0.0

    @property
    def self_cure_share(self) -> float:
        return self.m1_self_cured / self.m1_entries if self.m1_entries else 0.0

    def rate(self, source: str, target: str) -> float:
        return self.roll.get((source, target), 0.0)

    def format(self) -> str:
        lines = [
            f"as of {self.as_of} (payments to {self.last_day}), {self.accounts:,} accounts",
            f"30+ DPD share of outstanding balance at {self.last_day}: {self.share_30_plus:.2%} "
            f"({self.balance_30_plus_fen / 100:,.2f} of {self.balance_fen / 100:,.2f} yuan)",
            f"M1 self-cure (back to 0 by day 10): {self.self_cure_share:.1%} "
            f"({self.m1_self_cured:,} of {self.m1_entries:,} entries to M1)",
            "month-end roll rates (row: bucket at a month end; column: at the next; mean over months):",
            "        " + "".join(f"{group:>8}" for group in (*GROUPS, CLOSED)),
        ]
        for source in GROUPS:
            cells = "".join(f"{self.rate(source, target):8.1%}" for target in (*GROUPS, CLOSED))
            lines.append(f"{source:>6}  {cells}")
        lines.append("accounts by bucket at each month end:")
        lines.append("            " + "".join(f"{group:>8}" for group in (*GROUPS, CLOSED)))
        for end in self.month_ends:
            counts = self.month_end_counts[end]
            lines.append(f"{end}  " + "".join(f"{counts.get(group, 0):8,}" for group in (*GROUPS, CLOSED)))
        lines.append(
            f"payments: {self.payments:,} rows; {self.reversals:,} reversals, {self.partial_payments:,} "
            f"partial, {self.paid_before_due:,} before the due date, {self.early_payoffs:,} early payoffs"
        )
        return "\n".join(lines)


def calibration_report(
    ledgers: Iterable[Ledger], *, as_of: date, tolerance_fen: int = 1000, months: int = 12
) -> CalibrationReport:
    """Month-end buckets over the last ``months`` month ends, roll rates, M1 self-cure and the
    30+ DPD balance share of a book, computed from its schedules and payments alone.

    ``tolerance_fen`` is the products' tolerance (the default product's 10 yuan).
    """
    last_day = as_of - timedelta(days=1)
    ends = month_ends(last_day, months)
    transitions: list[dict[tuple[str, str], int]] = [{} for _ in ends[1:]]
    counts: dict[date, dict[str, int]] = {end: {} for end in ends}
    window_start = ends[0] + timedelta(days=1)
    accounts = balance = balance_30 = entries = cured = 0
    payments = reversals = partial = before_due = payoffs = 0

    for ledger in ledgers:
        accounts += 1
        position = _Position(ledger, tolerance_fen)
        if ledger.open_date <= last_day:
            outstanding = position.outstanding(last_day)
            balance += outstanding
            if position.dpd(last_day) >= 30:
                balance_30 += outstanding

        previous: str | None = None
        for t, end in enumerate(ends):
            if ledger.open_date > end:
                previous = None
                continue
            group = (
                CLOSED if position.total and position.outstanding(end) == 0 else group_for(position.dpd(end))
            )
            counts[end][group] = counts[end].get(group, 0) + 1
            if previous is not None and previous != CLOSED:
                key = (previous, group)
                transitions[t - 1][key] = transitions[t - 1].get(key, 0) + 1
            previous = group

        # Entries to M1: the day after a due date, or a payment day (a reversal can do it).
        candidates = sorted({due + timedelta(days=1) for due in position.due_dates} | set(position.days))
        for day in candidates:
            if not window_start <= day <= last_day:
                continue
            since = position.since(day)
            if since is None or position.dpd(day - timedelta(days=1)) != 0:
                continue
            if not 1 <= (day - since).days <= 29:
                continue
            deadline = since + timedelta(days=10)
            if deadline > last_day:
                continue  # not yet known whether it self-cures
            entries += 1
            if any(position.dpd(paid_day) == 0 for paid_day in position.days if day <= paid_day <= deadline):
                cured += 1

        # The payment mix, from the amounts alone.
        running = 0
        for day, amount in ledger.payments:
            payments += 1
            if amount < 0:
                reversals += 1
                running += amount
                continue
            k = bisect_right(position.cumulative, running)  # the first instalment this pays
            if k < len(position.due_dates) and day < position.due_dates[k]:
                before_due += 1
            running += amount
            if running < position.total and running not in position.cumulative:
                partial += 1
            if running >= position.total and len(position.due_dates) > 1 and day < position.due_dates[-2]:
                payoffs += 1  # cleared the schedule with at least two instalments still to fall due

    sums: dict[tuple[str, str], float] = {}
    months_seen: dict[str, int] = {}
    for pair_counts in transitions:
        by_source: dict[str, int] = {}
        for (source, _target), number in pair_counts.items():
            by_source[source] = by_source.get(source, 0) + number
        for source in by_source:
            months_seen[source] = months_seen.get(source, 0) + 1
        for (source, target), number in pair_counts.items():
            sums[(source, target)] = sums.get((source, target), 0.0) + number / by_source[source]
    roll = {key: value / months_seen[key[0]] for key, value in sums.items()}
    return CalibrationReport(
        as_of=as_of,
        last_day=last_day,
        accounts=accounts,
        month_ends=tuple(ends),
        balance_fen=balance,
        balance_30_plus_fen=balance_30,
        month_end_counts=counts,
        roll=roll,
        m1_entries=entries,
        m1_self_cured=cured,
        payments=payments,
        reversals=reversals,
        partial_payments=partial,
        paid_before_due=before_due,
        early_payoffs=payoffs,
    )


# --- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m arrears.simulator.behaviour``: print the calibration report of a generated book."""
    from arrears.simulator import files

    parser = argparse.ArgumentParser(prog="python -m arrears.simulator.behaviour", description=main.__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", default="1", help="the book's seed (the demo uses 1 and 2)")
    parser.add_argument("--start", type=int, default=1, help="first account number")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="the simulated today, YYYY-MM-DD (default: today in Asia/Shanghai)",
    )
    args = parser.parse_args(argv)
    seed: int | str = int(args.seed) if args.seed.isdigit() else args.seed
    as_of = args.as_of or files.default_as_of()
    report = calibration_report(
        files.ledgers(count=args.accounts, seed=seed, start=args.start, as_of=as_of), as_of=as_of
    )
    print(report.format())
    return 0


if __name__ == "__main__":
    # Run the package's copy of this module, not this __main__ one, so that the classes the
    # report sees are the ones ``files`` uses.
    from arrears.simulator.behaviour import main as _main

    sys.exit(_main())
