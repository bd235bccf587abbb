"""The set-based engine against the pure arithmetic, on seeded random books."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection, transaction

from arrears.delinquency import engine
from arrears.delinquency.models import AccountState
from arrears.delinquency.services import eod_run
from arrears.delinquency.tests.books import (
    add_random_accounts,
    expected_state,
    make_products,
    next_working_day_from_table,
)
from arrears.portfolio.models import Account

pytestmark = pytest.mark.django_db

BUSINESS_DATES = [
    dt.date(2025, 3, 1),
    dt.date(2025, 12, 31),
    dt.date(2026, 2, 28),
    dt.date(2026, 3, 1),
    dt.date(2026, 10, 3),  # inside the National Day holiday
    dt.date(2026, 10, 8),  # the first working day after it
    dt.date(2026, 11, 23),
    dt.date(2028, 3, 1),  # past every schedule; a year the holiday library does not know
]


def _computed(business_date: dt.date) -> dict[int, dict[str, object]]:
    with transaction.atomic(), connection.cursor() as cur:
        engine.compute(cur, business_date=business_date, all_accounts=True)
        cur.execute(f"SELECT account_id, {', '.join(engine.STATE_COLUMNS)} FROM eod_new")
        rows = cur.fetchall()
    return {row[0]: dict(zip(engine.STATE_COLUMNS, row[1:], strict=True)) for row in rows}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_engine_agrees_with_the_arithmetic_for_every_account_and_date(seed: int) -> None:
    rng = random.Random(seed)
    add_random_accounts(rng, make_products(), 120, last_payment_day=dt.date(2026, 12, 31))
    calendar = next_working_day_from_table()
    assert calendar[dt.date(2026, 10, 3)] == dt.date(2026, 10, 8)  # the holiday shift is really tested
    accounts = list(
        Account.objects.select_related("product__ladder").prefetch_related(
            "instalments", "payments", "product__ladder__buckets"
        )
    )
    for business_date in BUSINESS_DATES:
        computed = _computed(business_date)
        assert set(computed) == {account.pk for account in accounts}
        for account in accounts:
            expected = expected_state(account, business_date, calendar)
            assert computed[account.pk] == expected, (account.account_no, business_date)


def test_an_account_without_instalments_or_payments_is_current() -> None:
    from arrears.tests.factories import AccountFactory

    account = AccountFactory(schedule_source="file")
    computed = _computed(dt.date(2026, 6, 1))
    assert computed[account.pk] == {
        "paid_fen": 0,
        "due_to_date_fen": 0,
        "overdue_principal_fen": 0,
        "overdue_interest_fen": 0,
        "overdue_fee_fen": 0,
        "overdue_premium_fen": 0,
        "overdue_fen": 0,
        "outstanding_fen": 0,
        "credit_fen": 0,
        "missed_instalments": 0,
        "delinquent_since": None,
        "bucket_code": "M0",
        "bucket_group": "M0",
        "next_due_date": None,
        "next_change_date": None,
    }


def test_a_full_run_stores_what_the_engine_computed() -> None:
    rng = random.Random(7)
    add_random_accounts(rng, make_products(), 40, last_payment_day=dt.date(2026, 12, 31))
    business_date = dt.date(2026, 6, 30)
    calendar = next_working_day_from_table()

    eod_run(business_date=business_date, mode="full")

    for account in Account.objects.select_related("product__ladder"):
        state = AccountState.objects.get(account=account)
        stored = {column: getattr(state, column) for column in engine.STATE_COLUMNS}
        assert stored == expected_state(account, business_date, calendar)
        assert state.as_of == business_date
