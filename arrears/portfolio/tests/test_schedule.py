from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given
from hypothesis import strategies as st

from arrears.portfolio.schedule import add_months, equal_instalments


def test_remainder_falls_on_the_last_instalment() -> None:
    schedule = equal_instalments(principal_fen=100_000, term=3, first_due_date=dt.date(2026, 1, 31))

    assert [(i.seq, i.due_date, i.principal_due_fen) for i in schedule] == [
        (1, dt.date(2026, 1, 31), 33_333),
        (2, dt.date(2026, 2, 28), 33_333),
        (3, dt.date(2026, 3, 31), 33_334),
    ]


def test_leap_year_february_and_the_instalment_amount_gives_interest() -> None:
    schedule = equal_instalments(
        principal_fen=120_000, term=2, first_due_date=dt.date(2028, 1, 30), instalment_fen=65_000
    )

    assert [(i.due_date, i.principal_due_fen, i.interest_due_fen) for i in schedule] == [
        (dt.date(2028, 1, 30), 60_000, 5_000),
        (dt.date(2028, 2, 29), 60_000, 5_000),
    ]


@given(
    principal=st.integers(min_value=1, max_value=10**10),
    term=st.integers(min_value=1, max_value=360),
    start=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2060, 12, 31)),
)
def test_parts_always_add_up_to_the_principal(principal: int, term: int, start: dt.date) -> None:
    schedule = equal_instalments(principal_fen=principal, term=term, first_due_date=start)

    assert sum(i.principal_due_fen for i in schedule) == principal
    assert len(schedule) == term
    assert all(i.due_date == add_months(start, i.seq - 1) for i in schedule)
    assert all(b.due_date > a.due_date for a, b in itertools.pairwise(schedule))
