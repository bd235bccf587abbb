"""The schedule an account gets when no schedule file was sent (pure, no ORM).

Equal monthly instalments from the first due date. The principal is split evenly in fen and
the remainder falls on the last instalment, so the parts always add up to the principal.
When the creditor gives the amount due per period, the part above the principal share is
interest. Due dates keep the first due date's day, clamped to short months (31 Jan → 28/29 Feb
→ 31 Mar), because each date is computed from the first, never from the previous one.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledInstalment:
    seq: int
    due_date: dt.date
    principal_due_fen: int
    interest_due_fen: int = 0
    fee_due_fen: int = 0
    premium_due_fen: int = 0

    @property
    def total_due_fen(self) -> int:
        return self.principal_due_fen + self.interest_due_fen + self.fee_due_fen + self.premium_due_fen


def add_months(start: dt.date, months: int) -> dt.date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def equal_instalments(
    *, principal_fen: int, term: int, first_due_date: dt.date, instalment_fen: int | None = None
) -> list[ScheduledInstalment]:
    if term < 1 or principal_fen <= 0:
        raise ValueError("term must be at least 1 and principal positive")
    share, remainder = divmod(principal_fen, term)
    schedule = []
    for seq in range(1, term + 1):
        principal = share + (remainder if seq == term else 0)
        interest = max(instalment_fen - principal, 0) if instalment_fen is not None else 0
        schedule.append(
            ScheduledInstalment(
                seq=seq,
                due_date=add_months(first_due_date, seq - 1),
                principal_due_fen=principal,
                interest_due_fen=interest,
            )
        )
    return schedule
