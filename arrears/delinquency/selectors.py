"""Reads of the delinquency engine's results for pages and the API.

Days past due are never stored: they are computed here from `delinquent_since` and the
business date, which is the date of the latest completed end-of-day run (the state rows are
as of that run). Every read of account data starts from `accounts_visible_to(user)`; the
book-level figures of the whole portfolio (the batch's `BookByBucket`, roll rates, runs) are
only for users who see everything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Min, OuterRef, QuerySet, Subquery, Sum

from arrears.accounts.models import Role, User
from arrears.cases.selectors import Viewer, accounts_visible_to, case_scope_filter
from arrears.delinquency.models import (
    AccountState,
    BookByBucket,
    BucketTransition,
    EodRun,
    RollRate,
    RunState,
)
from arrears.portfolio.models import Bucket

ROLL_RATE_MONTHS = 3
EOD_RUNS_SHOWN = 20
_PERCENT = Decimal("0.01")


def days_past_due(*, delinquent_since: dt.date | None, business_date: dt.date) -> int:
    """DPD on a business date: days since the oldest unpaid due date, 0 when not delinquent.

    Never negative: a state computed ahead of the completed date must not show "-1 days".
    """
    if delinquent_since is None:
        return 0
    return max((business_date - delinquent_since).days, 0)


def _done_runs() -> Subquery:
    # uses eod_run_state_date_idx (state, -business_date)
    latest = EodRun.objects.filter(state=RunState.DONE).order_by("-business_date")
    return Subquery(latest.values("business_date")[:1])


def business_date() -> dt.date | None:
    """The date of the latest completed end-of-day run; None before the first one."""
    # uses eod_run_state_date_idx (state, -business_date)
    return (
        EodRun.objects.filter(state=RunState.DONE)
        .order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )


def sees_whole_book(user: Viewer) -> bool:
    return case_scope_filter(user) is None


def user_can_run_eod(user: Viewer) -> bool:
    return isinstance(user, User) and user.is_active and user.role in (Role.ADMIN, Role.SUPERVISOR)


# --- one account ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountDelinquency:
    """An account's delinquency on the business date (None there: no run has completed yet)."""

    business_date: dt.date | None
    as_of: dt.date
    days_past_due: int | None
    bucket_code: str
    bucket_group: str
    delinquent_since: dt.date | None
    overdue_fen: int
    overdue_principal_fen: int
    overdue_interest_fen: int
    overdue_fee_fen: int
    overdue_premium_fen: int
    outstanding_fen: int
    credit_fen: int
    missed_instalments: int
    next_due_date: dt.date | None


def _delinquency(state: AccountState, on: dt.date | None) -> AccountDelinquency:
    return AccountDelinquency(
        business_date=on,
        as_of=state.as_of,
        days_past_due=(
            days_past_due(delinquent_since=state.delinquent_since, business_date=on) if on else None
        ),
        bucket_code=state.bucket_code,
        bucket_group=state.bucket_group,
        delinquent_since=state.delinquent_since,
        overdue_fen=state.overdue_fen,
        overdue_principal_fen=state.overdue_principal_fen,
        overdue_interest_fen=state.overdue_interest_fen,
        overdue_fee_fen=state.overdue_fee_fen,
        overdue_premium_fen=state.overdue_premium_fen,
        outstanding_fen=state.outstanding_fen,
        credit_fen=state.credit_fen,
        missed_instalments=state.missed_instalments,
        next_due_date=state.next_due_date,
    )


def account_delinquency(*, user: Viewer, account_id: int) -> AccountDelinquency | None:
    """The account's state as of the business date, or None if it has none (not computed yet,
    missing, or out of scope). One query: the business date rides along as a subquery."""
    state = (
        AccountState.objects.filter(account_id=account_id, account__in=accounts_visible_to(user))
        .annotate(on=_done_runs())
        .first()
    )
    if state is None:
        return None
    return _delinquency(state, state.on)


def bucket_history(*, user: Viewer, account_id: int, limit: int = 100) -> list[BucketTransition]:
    """The account's bucket moves, newest first (uses transition_account_idx)."""
    return list(
        BucketTransition.objects.filter(
            account_id=account_id, account__in=accounts_visible_to(user)
        ).order_by("-business_date", "-id")[:limit]
    )


# --- the book -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketLine:
    bucket_code: str
    bucket_group: str
    accounts: int
    outstanding_fen: int
    overdue_fen: int


@dataclass(frozen=True)
class BookByBuckets:
    business_date: dt.date | None
    lines: list[BucketLine]

    @property
    def accounts(self) -> int:
        return sum(line.accounts for line in self.lines)

    @property
    def outstanding_fen(self) -> int:
        return sum(line.outstanding_fen for line in self.lines)

    @property
    def overdue_fen(self) -> int:
        return sum(line.overdue_fen for line in self.lines)


def _rank_of_code(column: str) -> Subquery:
    """A bucket code's place on the ladders (its lowest min DPD), so M1-3 sorts before M2.

    Sorting the codes as text would put M10 before M2 on a custom ladder.
    """
    ranks = Bucket.objects.filter(code=OuterRef(column)).order_by("min_dpd")
    return Subquery(ranks.values("min_dpd")[:1])


def _rank_of_group(column: str) -> Subquery:
    ranks = Bucket.objects.filter(group=OuterRef(column)).order_by("min_dpd")
    return Subquery(ranks.values("min_dpd")[:1])


def book_by_bucket(*, user: Viewer) -> BookByBuckets:
    """Accounts, outstanding and overdue per bucket on the business date, within the user's scope.

    Whoever sees the whole book gets the batch's `BookByBucket` rows of the latest completed
    date (cheap at any size); anyone else gets the same sums over the states of the accounts
    they may see, which are as of that run too.
    """
    on = business_date()
    if on is None:
        return BookByBuckets(business_date=None, lines=[])
    columns = ("bucket_code", "group", "accounts", "outstanding", "overdue")
    rows: QuerySet[Any, Any]
    if sees_whole_book(user):
        rows = BookByBucket.objects.filter(business_date=on).annotate(
            group=F("bucket_group"), outstanding=F("outstanding_fen"), overdue=F("overdue_fen")
        )
    else:
        # Grouped like the batch's book step: per code, the group being the same for a code.
        rows = (
            AccountState.objects.filter(account__in=accounts_visible_to(user))
            .values("bucket_code")
            .annotate(
                group=Min("bucket_group"),
                accounts=Count("account_id"),
                outstanding=Sum("outstanding_fen"),
                overdue=Sum("overdue_fen"),
            )
        )
    ordered = rows.annotate(rank=_rank_of_code("bucket_code")).order_by(
        F("rank").asc(nulls_last=True), "bucket_code"
    )
    lines = [
        BucketLine(
            bucket_code=code,
            bucket_group=group,
            accounts=count,
            outstanding_fen=outstanding,
            overdue_fen=overdue,
        )
        for code, group, count, outstanding, overdue in ordered.values_list(*columns)
    ]
    return BookByBuckets(business_date=on, lines=lines)


# --- roll rates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollCell:
    accounts: int
    balance_fen: int
    rate: Decimal  # percent of the row's accounts, two decimals


@dataclass(frozen=True)
class RollRow:
    from_group: str
    accounts: int
    cells: list[RollCell | None]  # one per column; None where no account made that move


@dataclass(frozen=True)
class RollMatrix:
    """Where the accounts in each bucket group at the previous month end were at `month_end`."""

    month_end: dt.date
    to_groups: list[str]
    rows: list[RollRow]

    @property
    def previous_month_end(self) -> dt.date:
        return self.month_end.replace(day=1) - dt.timedelta(days=1)


def roll_rate_percent(*, moved: int, base: int) -> Decimal:
    """count(from→to) / count(from) in percent, rounded half up to two decimals."""
    if base == 0:
        return Decimal("0.00")
    return (Decimal(moved) * 100 / Decimal(base)).quantize(_PERCENT, rounding=ROUND_HALF_UP)


def roll_rate_matrices(*, user: Viewer, months: int = ROLL_RATE_MONTHS) -> list[RollMatrix]:
    """The roll-rate matrices of the last `months` completed month ends, newest first.

    Roll rates are figures of the whole book (no per-account breakdown is kept), so only
    users who see the whole book get them. One query.
    """
    if not sees_whole_book(user) or months < 1:
        return []
    recent = RollRate.objects.values("month_end").distinct().order_by("-month_end")[:months]
    rows = (
        RollRate.objects.filter(month_end__in=Subquery(recent))
        .annotate(from_rank=_rank_of_group("from_group"), to_rank=_rank_of_group("to_group"))
        .order_by("-month_end")
        .values_list("month_end", "from_group", "from_rank", "to_group", "to_rank", "accounts", "balance_fen")
    )
    by_month: dict[dt.date, list[_Move]] = {}
    for month_end, source, source_rank, target, target_rank, accounts, balance in rows:
        by_month.setdefault(month_end, []).append(
            _Move(
                source,
                _rank_key(source, source_rank),
                target,
                _rank_key(target, target_rank),
                accounts,
                balance,
            )
        )
    return [_matrix(month_end, moves) for month_end, moves in by_month.items()]


@dataclass(frozen=True)
class _Move:
    source: str
    source_rank: tuple[bool, int, str]
    target: str
    target_rank: tuple[bool, int, str]
    accounts: int
    balance_fen: int


def _rank_key(group: str, rank: int | None) -> tuple[bool, int, str]:
    # Groups on no ladder (e.g. a retired one) go last, by name.
    return (rank is None, rank or 0, group)


def _matrix(month_end: dt.date, moves: list[_Move]) -> RollMatrix:
    # Columns are every group seen that month on either side, so the diagonal reads "stayed".
    sources = [group for _, group in sorted({(m.source_rank, m.source) for m in moves})]
    groups = {(m.source_rank, m.source) for m in moves} | {(m.target_rank, m.target) for m in moves}
    to_groups = [group for _, group in sorted(groups)]
    rows = []
    for source in sources:
        targets = {m.target: m for m in moves if m.source == source}
        base = sum(m.accounts for m in targets.values())
        cells = [
            RollCell(
                accounts=targets[target].accounts,
                balance_fen=targets[target].balance_fen,
                rate=roll_rate_percent(moved=targets[target].accounts, base=base),
            )
            if target in targets
            else None
            for target in to_groups
        ]
        rows.append(RollRow(from_group=source, accounts=base, cells=cells))
    return RollMatrix(month_end=month_end, to_groups=to_groups, rows=rows)


# --- end-of-day runs ----------------------------------------------------------------------------


def eod_run_list(*, user: Viewer, limit: int = EOD_RUNS_SHOWN) -> list[EodRun]:
    """The latest runs with their steps, newest first; only for supervisors and admins."""
    if not user_can_run_eod(user):
        return []
    return list(
        EodRun.objects.select_related("requested_by").prefetch_related("steps").order_by("-id")[:limit]
    )


def eod_run_get(*, user: Viewer, run_id: int) -> EodRun | None:
    if not user_can_run_eod(user):
        return None
    return EodRun.objects.select_related("requested_by").prefetch_related("steps").filter(pk=run_id).first()


def bucket_choices() -> list[tuple[str, str]]:
    """Bucket groups and, under each, its codes (across ladders, lowest DPD first) for filters.

    A filter value matches a case's group or code, so "M1" finds M1-1 to M1-3 as well.
    """
    groups: dict[str, list[str]] = {}
    for group, code in Bucket.objects.order_by("min_dpd", "code").values_list("group", "code"):
        codes = groups.setdefault(group, [])
        if code != group and code not in codes:
            codes.append(code)
    choices: list[tuple[str, str]] = []
    for group, codes in groups.items():
        choices.append((group, group))
        choices.extend((code, f"　{code}") for code in codes)
    return choices
