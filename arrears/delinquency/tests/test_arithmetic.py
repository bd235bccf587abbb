"""The delinquency arithmetic, the specification the set-based batch is tested against.

Expected values are computed by hand. Most examples use LOAN: three monthly instalments of
100 yuan (10_000 fen) due on the 15th, each 80 principal, 15 interest, 3 fee and 2 premium.
No test here touches the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from arrears.delinquency.arithmetic import (
    COMPONENTS,
    DEFAULT_LADDER,
    Bucket,
    Delinquency,
    Instalment,
    Payment,
    Rules,
    bucket_for,
    delinquency_as_of,
    weekend_next_working_day,
)

D = dt.date
BUCKET = {bucket.code: bucket for bucket in DEFAULT_LADDER}
PRINCIPAL_FIRST = ("principal", "interest", "fee", "premium")


def _instalment(seq: int, due_date: dt.date) -> Instalment:
    return Instalment(
        seq=seq, due_date=due_date, principal_fen=8_000, interest_fen=1_500, fee_fen=300, premium_fen=200
    )


LOAN = (
    _instalment(1, D(2026, 1, 15)),
    _instalment(2, D(2026, 2, 15)),
    _instalment(3, D(2026, 3, 15)),
)

GAPPED_LADDER = (
    Bucket("C", "C", 0, 0),
    Bucket("X1", "X", 1, 30),
    Bucket("X3", "X", 61, None),  # nothing starts at 31: DPD 31–60 stays in X1
)

# China's National Day week (weekends inside it included): a due date in it moves to the 8th.
NATIONAL_DAY = frozenset(D(2026, 10, day) for day in range(1, 8))


def national_day_next_working_day(day: dt.date) -> dt.date:
    while day in NATIONAL_DAY:
        day += dt.timedelta(days=1)
    return day


def as_of(
    business_date: dt.date,
    payments: Sequence[Payment] = (),
    *,
    instalments: Sequence[Instalment] = LOAN,
    rules: Rules = Rules(),  # noqa: B008 - frozen, so sharing the default is safe
    ladder: Sequence[Bucket] = DEFAULT_LADDER,
    next_working_day: Callable[[dt.date], dt.date] = weekend_next_working_day,
) -> Delinquency:
    return delinquency_as_of(
        business_date=business_date,
        instalments=instalments,
        payments=payments,
        rules=rules,
        ladder=ladder,
        next_working_day=next_working_day,
    )


def overdue_components(result: Delinquency) -> dict[str, int]:
    return {
        "principal": result.overdue_principal_fen,
        "interest": result.overdue_interest_fen,
        "fee": result.overdue_fee_fen,
        "premium": result.overdue_premium_fen,
    }


# --- No payments, payments on time, partial payments --------------------------------------


def test_without_payments_dpd_counts_from_the_first_due_date() -> None:
    result = as_of(D(2026, 1, 16))

    assert result == Delinquency(
        business_date=D(2026, 1, 16),
        paid_fen=0,
        due_to_date_fen=10_000,
        overdue_principal_fen=8_000,
        overdue_interest_fen=1_500,
        overdue_fee_fen=300,
        overdue_premium_fen=200,
        overdue_fen=10_000,
        outstanding_fen=30_000,
        credit_fen=0,
        missed_instalments=1,
        delinquent_since=D(2026, 1, 15),
        dpd=1,
        bucket=BUCKET["M1-1"],
        next_due_date=D(2026, 2, 15),
        next_change_date=D(2026, 1, 26),  # DPD 11 enters M1-2 before the next instalment falls due
    )


def test_several_missed_instalments_count_dpd_from_the_oldest() -> None:
    result = as_of(D(2026, 3, 20))

    assert result == Delinquency(
        business_date=D(2026, 3, 20),
        paid_fen=0,
        due_to_date_fen=30_000,
        overdue_principal_fen=24_000,
        overdue_interest_fen=4_500,
        overdue_fee_fen=900,
        overdue_premium_fen=600,
        overdue_fen=30_000,
        outstanding_fen=30_000,
        credit_fen=0,
        missed_instalments=3,
        delinquent_since=D(2026, 1, 15),
        dpd=64,  # 16 days left of January + 28 of February + 20 of March
        bucket=BUCKET["M3"],
        next_due_date=None,
        next_change_date=D(2026, 4, 15),  # 15 Jan + 90 days: M4+
    )


def test_paid_on_time_is_current() -> None:
    result = as_of(D(2026, 1, 16), [Payment(D(2026, 1, 15), 10_000)])

    assert result == Delinquency(
        business_date=D(2026, 1, 16),
        paid_fen=10_000,
        due_to_date_fen=10_000,
        overdue_principal_fen=0,
        overdue_interest_fen=0,
        overdue_fee_fen=0,
        overdue_premium_fen=0,
        overdue_fen=0,
        outstanding_fen=20_000,
        credit_fen=0,
        missed_instalments=0,
        delinquent_since=None,
        dpd=0,
        bucket=BUCKET["M0"],
        next_due_date=D(2026, 2, 15),
        next_change_date=D(2026, 2, 16),
    )


def test_partial_payment_pays_fee_then_interest_under_the_default_order() -> None:
    result = as_of(D(2026, 1, 20), [Payment(D(2026, 1, 15), 1_000)])

    # 1_000 pays the 300 fee and 700 of the 1_500 interest.
    assert overdue_components(result) == {"principal": 8_000, "interest": 800, "fee": 0, "premium": 200}
    assert (result.overdue_fen, result.outstanding_fen) == (9_000, 29_000)
    assert (result.dpd, result.missed_instalments, result.bucket.code) == (5, 1, "M1-1")


def test_the_allocation_order_decides_which_components_stay_overdue() -> None:
    payments = [Payment(D(2026, 1, 15), 9_000)]

    default_order = as_of(D(2026, 1, 20), payments)
    principal_first = as_of(D(2026, 1, 20), payments, rules=Rules(allocation_order=PRINCIPAL_FIRST))

    # fee 300 + interest 1_500 + principal 7_200 = 9_000
    assert overdue_components(default_order) == {"principal": 800, "interest": 0, "fee": 0, "premium": 200}
    # principal 8_000 + interest 1_000 = 9_000
    assert overdue_components(principal_first) == {
        "principal": 0,
        "interest": 500,
        "fee": 300,
        "premium": 200,
    }
    # The order moves money between components, never the totals or the DPD.
    assert dataclasses.replace(
        principal_first, overdue_principal_fen=800, overdue_interest_fen=0, overdue_fee_fen=0
    ) == (default_order)


def test_a_partial_payment_reaching_a_second_instalment() -> None:
    result = as_of(D(2026, 3, 20), [Payment(D(2026, 2, 10), 12_000)])

    # Instalment 1 paid; 2_000 left for instalment 2: fee 300, interest 1_500, principal 200.
    assert overdue_components(result) == {"principal": 15_800, "interest": 1_500, "fee": 300, "premium": 400}
    assert result.overdue_fen == 18_000
    assert result.delinquent_since == D(2026, 2, 15)
    assert (result.dpd, result.missed_instalments, result.bucket.code) == (33, 2, "M2")
    assert result.next_change_date == D(2026, 4, 16)  # 15 Feb + 60 days: M3


# --- Overpayment, prepayment, reversal --------------------------------------------------------


def test_overpayment_is_a_credit_carried_to_the_next_instalment() -> None:
    payments = [Payment(D(2026, 1, 10), 15_000)]

    before = as_of(D(2026, 1, 20), payments)
    after_second_due = as_of(D(2026, 2, 16), payments)

    assert (before.overdue_fen, before.credit_fen, before.outstanding_fen, before.dpd) == (
        0,
        5_000,
        15_000,
        0,
    )
    # The 5_000 credit pays instalment 2's fee 300, interest 1_500 and 3_200 of principal.
    assert overdue_components(after_second_due) == {
        "principal": 4_800,
        "interest": 0,
        "fee": 0,
        "premium": 200,
    }
    assert (after_second_due.overdue_fen, after_second_due.credit_fen) == (5_000, 0)
    assert after_second_due.delinquent_since == D(2026, 2, 15)
    assert (after_second_due.dpd, after_second_due.missed_instalments) == (1, 1)
    assert after_second_due.next_change_date == D(2026, 2, 26)


def test_a_fully_prepaid_loan_has_nothing_outstanding() -> None:
    payments = [Payment(D(2025, 12, 1), 35_000)]

    before_first_due = as_of(D(2026, 1, 5), payments)
    after_last_due = as_of(D(2026, 4, 1), payments)

    assert (before_first_due.outstanding_fen, before_first_due.credit_fen) == (0, 35_000)
    assert before_first_due.next_change_date == D(2026, 1, 16)
    assert after_last_due == Delinquency(
        business_date=D(2026, 4, 1),
        paid_fen=35_000,
        due_to_date_fen=30_000,
        overdue_principal_fen=0,
        overdue_interest_fen=0,
        overdue_fee_fen=0,
        overdue_premium_fen=0,
        overdue_fen=0,
        outstanding_fen=0,
        credit_fen=5_000,
        missed_instalments=0,
        delinquent_since=None,
        dpd=0,
        bucket=BUCKET["M0"],
        next_due_date=None,
        next_change_date=None,
    )


def test_a_payment_before_the_due_date_counts() -> None:
    result = as_of(D(2026, 1, 16), [Payment(D(2025, 12, 20), 10_000)])

    assert (result.paid_fen, result.overdue_fen, result.dpd) == (10_000, 0, 0)


def test_a_reversal_makes_the_account_delinquent_again_from_the_original_due_date() -> None:
    payments = [Payment(D(2026, 1, 15), 10_000), Payment(D(2026, 2, 1), -10_000)]

    before_reversal = as_of(D(2026, 1, 31), payments)
    after_reversal = as_of(D(2026, 2, 3), payments)

    assert (before_reversal.dpd, before_reversal.next_change_date) == (0, D(2026, 2, 1))
    assert (after_reversal.paid_fen, after_reversal.overdue_fen) == (0, 10_000)
    assert after_reversal.delinquent_since == D(2026, 1, 15)
    assert (after_reversal.dpd, after_reversal.bucket.code) == (19, "M1-2")
    assert after_reversal.next_change_date == D(2026, 2, 5)  # 15 Jan + 21 days: M1-3


def test_reversals_never_make_the_paid_amount_negative() -> None:
    result = as_of(D(2026, 1, 20), [Payment(D(2026, 1, 10), 5_000), Payment(D(2026, 1, 12), -8_000)])

    assert (result.paid_fen, result.overdue_fen, result.outstanding_fen, result.credit_fen) == (
        0,
        10_000,
        30_000,
        0,
    )


def test_payments_dated_after_the_business_date_are_ignored_until_then() -> None:
    result = as_of(D(2026, 1, 18), [Payment(D(2026, 1, 20), 10_000)])

    assert (result.paid_fen, result.overdue_fen, result.dpd) == (0, 10_000, 3)
    assert result.next_change_date == D(2026, 1, 20)


# --- Due dates: due on D, month ends, holidays, ordering --------------------------------------


def test_an_instalment_due_on_the_business_date_is_not_yet_overdue() -> None:
    result = as_of(D(2026, 1, 15))

    assert (result.due_to_date_fen, result.overdue_fen, result.dpd, result.missed_instalments) == (0, 0, 0, 0)
    assert (result.outstanding_fen, result.credit_fen) == (30_000, 0)
    assert (result.next_due_date, result.next_change_date) == (D(2026, 1, 15), D(2026, 1, 16))


MONTH_ENDS_2026 = (
    Instalment(1, D(2026, 1, 31), principal_fen=10_000),
    Instalment(2, D(2026, 2, 28), principal_fen=10_000),
    Instalment(3, D(2026, 3, 31), principal_fen=10_000),
)


def test_month_end_schedule() -> None:
    on_february_28 = as_of(D(2026, 2, 28), instalments=MONTH_ENDS_2026)
    on_march_1 = as_of(D(2026, 3, 1), instalments=MONTH_ENDS_2026)
    on_march_2 = as_of(D(2026, 3, 2), instalments=MONTH_ENDS_2026)

    assert (on_february_28.dpd, on_february_28.missed_instalments, on_february_28.bucket.code) == (
        28,
        1,
        "M1-3",
    )
    assert (on_february_28.next_due_date, on_february_28.next_change_date) == (D(2026, 2, 28), D(2026, 3, 1))
    assert (on_march_1.dpd, on_march_1.missed_instalments, on_march_1.bucket.code) == (29, 2, "M1-3")
    assert on_march_1.due_to_date_fen == 20_000
    assert (on_march_1.next_due_date, on_march_1.next_change_date) == (D(2026, 3, 31), D(2026, 3, 2))
    assert (on_march_2.dpd, on_march_2.bucket.code) == (30, "M2")


MONTH_ENDS_2028 = (
    Instalment(1, D(2028, 1, 31), principal_fen=10_000),
    Instalment(2, D(2028, 2, 29), principal_fen=10_000),
    Instalment(3, D(2028, 3, 31), principal_fen=10_000),
)


def test_leap_year_february_29() -> None:
    on_february_29 = as_of(D(2028, 2, 29), instalments=MONTH_ENDS_2028)
    on_march_1 = as_of(D(2028, 3, 1), instalments=MONTH_ENDS_2028)

    assert (on_february_29.dpd, on_february_29.missed_instalments, on_february_29.bucket.code) == (
        29,
        1,
        "M1-3",
    )
    assert (on_february_29.next_due_date, on_february_29.next_change_date) == (D(2028, 2, 29), D(2028, 3, 1))
    # One day more than in 2026 at the same calendar date.
    assert (on_march_1.dpd, on_march_1.missed_instalments, on_march_1.bucket.code) == (30, 2, "M2")
    assert on_march_1.next_change_date == D(2028, 3, 31)  # 31 Jan + 60 days, the same day as (a)


HOLIDAY_LOAN = (
    Instalment(1, D(2026, 10, 1), principal_fen=10_000),
    Instalment(2, D(2026, 11, 2), principal_fen=10_000),
)


def test_a_due_date_on_a_holiday_moves_to_the_next_working_day_when_shifting() -> None:
    shifted = Rules(shift_due_dates=True)

    on_october_8 = as_of(
        D(2026, 10, 8),
        instalments=HOLIDAY_LOAN,
        rules=shifted,
        next_working_day=national_day_next_working_day,
    )
    on_october_9 = as_of(
        D(2026, 10, 9),
        instalments=HOLIDAY_LOAN,
        rules=shifted,
        next_working_day=national_day_next_working_day,
    )

    assert (on_october_8.dpd, on_october_8.overdue_fen, on_october_8.due_to_date_fen) == (0, 0, 0)
    assert (on_october_8.next_due_date, on_october_8.next_change_date) == (D(2026, 10, 8), D(2026, 10, 9))
    assert (on_october_9.dpd, on_october_9.delinquent_since) == (1, D(2026, 10, 8))


def test_a_due_date_on_a_holiday_stays_when_not_shifting() -> None:
    result = as_of(D(2026, 10, 8), instalments=HOLIDAY_LOAN, next_working_day=national_day_next_working_day)

    assert (result.dpd, result.delinquent_since, result.bucket.code) == (7, D(2026, 10, 1), "M1-1")
    assert (result.next_due_date, result.next_change_date) == (D(2026, 11, 2), D(2026, 10, 12))


def test_weekend_next_working_day() -> None:
    friday, saturday, sunday, monday = (D(2026, 1, day) for day in (16, 17, 18, 19))

    assert [weekend_next_working_day(day) for day in (friday, saturday, sunday, monday)] == [
        friday,
        monday,
        monday,
        monday,
    ]


def test_instalments_are_ordered_by_effective_due_date_then_seq() -> None:
    # Seq 2 falls due on Saturday, before seq 1 on Monday; shifted, both fall due on Monday.
    # Given seq 2 first, so that only the seq tie-break can put seq 1 first.
    instalments = [
        Instalment(2, D(2026, 1, 17), principal_fen=5_000),
        Instalment(1, D(2026, 1, 19), fee_fen=300),
    ]
    payments = [Payment(D(2026, 1, 10), 300)]

    unshifted = as_of(D(2026, 1, 20), payments, instalments=instalments)
    shifted = as_of(D(2026, 1, 20), payments, instalments=instalments, rules=Rules(shift_due_dates=True))

    # Unshifted, seq 2 comes first and takes the 300.
    assert (unshifted.overdue_principal_fen, unshifted.overdue_fee_fen) == (4_700, 300)
    assert (unshifted.delinquent_since, unshifted.dpd, unshifted.missed_instalments) == (D(2026, 1, 17), 3, 2)
    # Shifted, the tie on Monday goes to seq 1, whose fee the 300 pays in full.
    assert (shifted.overdue_principal_fen, shifted.overdue_fee_fen) == (5_000, 0)
    assert (shifted.delinquent_since, shifted.dpd, shifted.missed_instalments) == (D(2026, 1, 19), 1, 1)


def test_the_order_instalments_are_given_in_does_not_matter() -> None:
    payments = [Payment(D(2026, 1, 15), 12_345)]

    assert as_of(D(2026, 3, 20), payments, instalments=LOAN[::-1]) == as_of(D(2026, 3, 20), payments)


# --- Tolerance -------------------------------------------------------------------------------


def test_overdue_below_the_tolerance_is_not_delinquent_but_still_shown() -> None:
    result = as_of(D(2026, 1, 20), [Payment(D(2026, 1, 15), 9_500)], rules=Rules(tolerance_fen=1_000))

    assert (result.overdue_fen, result.overdue_principal_fen, result.overdue_premium_fen) == (500, 300, 200)
    assert (result.dpd, result.missed_instalments, result.delinquent_since) == (0, 0, None)
    assert result.bucket == BUCKET["M0"]
    assert result.next_change_date == D(2026, 2, 16)  # no bucket boundary while current


def test_overdue_exactly_at_the_tolerance_is_delinquent() -> None:
    result = as_of(D(2026, 1, 20), [Payment(D(2026, 1, 15), 9_000)], rules=Rules(tolerance_fen=1_000))

    assert (result.overdue_fen, result.dpd, result.missed_instalments) == (1_000, 5, 1)
    assert result.delinquent_since == D(2026, 1, 15)


def test_tolerance_zero_makes_one_fen_delinquent() -> None:
    result = as_of(D(2026, 1, 20), [Payment(D(2026, 1, 15), 9_999)], rules=Rules(tolerance_fen=0))

    assert (result.overdue_fen, result.overdue_premium_fen, result.dpd) == (1, 1, 5)


def test_an_old_shortfall_within_tolerance_does_not_set_delinquent_since() -> None:
    # 500 short on instalment 1 (below the tolerance), nothing paid on instalment 2.
    result = as_of(D(2026, 2, 20), [Payment(D(2026, 1, 15), 9_500)], rules=Rules(tolerance_fen=1_000))

    assert result.overdue_fen == 10_500
    assert (result.delinquent_since, result.dpd, result.missed_instalments) == (D(2026, 2, 15), 5, 1)


# --- Buckets ---------------------------------------------------------------------------------

BOUNDARIES = [
    (0, "M0"),
    (1, "M1-1"),
    (10, "M1-1"),
    (11, "M1-2"),
    (20, "M1-2"),
    (21, "M1-3"),
    (29, "M1-3"),
    (30, "M2"),
    (59, "M2"),
    (60, "M3"),
    (89, "M3"),
    (90, "M4+"),
    (400, "M4+"),
]


@pytest.mark.parametrize(("dpd", "code"), BOUNDARIES)
def test_bucket_boundaries(dpd: int, code: str) -> None:
    assert bucket_for(DEFAULT_LADDER, dpd).code == code


@pytest.mark.parametrize(("dpd", "code"), BOUNDARIES)
def test_bucket_boundaries_of_an_unpaid_instalment(dpd: int, code: str) -> None:
    due_date = D(2025, 1, 1)

    result = as_of(
        due_date + dt.timedelta(days=dpd), instalments=[Instalment(1, due_date, principal_fen=100)]
    )

    assert (result.dpd, result.bucket.code) == (dpd, code)


def test_a_ladder_with_a_gap_keeps_the_bucket_below_the_gap() -> None:
    result = as_of(
        D(2026, 2, 15), instalments=[Instalment(1, D(2026, 1, 1), principal_fen=100)], ladder=GAPPED_LADDER
    )

    assert (result.dpd, result.bucket.code) == (45, "X1")
    assert result.next_change_date == D(2026, 3, 3)  # 1 Jan + 61 days
    assert [bucket_for(GAPPED_LADDER, dpd).code for dpd in (0, 1, 30, 31, 60, 61)] == [
        "C",
        "X1",
        "X1",
        "X1",
        "X1",
        "X3",
    ]


@pytest.mark.parametrize(
    "ladder",
    [
        (),
        (Bucket("A", "A", 1, None),),
        (Bucket("A", "A", 0, 9), Bucket("B", "B", 0, None)),
        (Bucket("A", "A", 0, 9), Bucket("Z", "Z", -1, None)),
    ],
    ids=["empty", "no-bucket-at-0", "two-buckets-at-0", "negative-min-dpd"],
)
def test_an_invalid_ladder_is_refused(ladder: tuple[Bucket, ...]) -> None:
    with pytest.raises(ValueError):
        bucket_for(ladder, 0)
    with pytest.raises(ValueError):
        as_of(D(2026, 1, 16), ladder=ladder)


def test_a_negative_dpd_has_no_bucket() -> None:
    with pytest.raises(ValueError):
        bucket_for(DEFAULT_LADDER, -1)


# --- next_change_date --------------------------------------------------------------------------


def test_next_change_is_the_day_after_the_next_due_date() -> None:
    result = as_of(D(2026, 1, 16), [Payment(D(2026, 1, 15), 10_000)])

    assert result.next_change_date == D(2026, 2, 16)


def test_next_change_is_the_next_bucket_boundary_when_that_comes_first() -> None:
    result = as_of(D(2026, 1, 16))

    assert result.next_change_date == D(2026, 1, 26)


def test_next_change_is_a_payment_dated_later_when_that_comes_first() -> None:
    payment = as_of(D(2026, 1, 16), [Payment(D(2026, 1, 20), 10_000)])
    reversal = as_of(D(2026, 1, 16), [Payment(D(2026, 1, 15), 10_000), Payment(D(2026, 1, 30), -10_000)])

    assert payment.next_change_date == D(2026, 1, 20)
    assert reversal.next_change_date == D(2026, 1, 30)


def test_no_next_change_once_all_is_due_and_the_last_bucket_is_reached() -> None:
    result = as_of(D(2026, 6, 1), instalments=[Instalment(1, D(2026, 1, 1), principal_fen=100)])

    assert (result.dpd, result.bucket.code, result.next_due_date, result.next_change_date) == (
        151,
        "M4+",
        None,
        None,
    )


# --- Validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order",
    [
        ("fee", "interest", "principal"),
        ("fee", "fee", "principal", "premium"),
        ("fee", "interest", "principal", "penalty"),
        ("fee", "interest", "principal", "premium", "premium"),
    ],
)
def test_an_allocation_order_that_is_not_a_permutation_is_refused(order: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="allocation_order"):
        as_of(D(2026, 1, 16), rules=Rules(allocation_order=order))


def test_a_negative_amount_due_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        as_of(D(2026, 1, 16), instalments=[Instalment(1, D(2026, 1, 1), principal_fen=100, fee_fen=-1)])


# --- Properties ------------------------------------------------------------------------------

DAYS = st.dates(min_value=D(2026, 1, 1), max_value=D(2026, 12, 31))


@st.composite
def instalment_lists(draw: st.DrawFn) -> list[Instalment]:
    dues = st.integers(min_value=0, max_value=5_000)
    rows = draw(st.lists(st.tuples(DAYS, dues, dues, dues, dues), max_size=6))
    return [
        Instalment(seq, due_date, p, i, f, pr) for seq, (due_date, p, i, f, pr) in enumerate(rows, start=1)
    ]


@st.composite
def ladders(draw: st.DrawFn) -> tuple[Bucket, ...]:
    starts = sorted(draw(st.sets(st.integers(min_value=1, max_value=120), max_size=6)))
    return (Bucket("B0", "B0", 0, None), *(Bucket(f"B{start}", f"B{start}", start, None) for start in starts))


RULES = st.builds(
    Rules,
    tolerance_fen=st.integers(min_value=0, max_value=3_000),
    shift_due_dates=st.booleans(),
    allocation_order=st.permutations(COMPONENTS).map(tuple),
)


@st.composite
def accounts(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of `delinquency_as_of` for a random account and business date."""
    return {
        "business_date": draw(DAYS),
        "instalments": draw(instalment_lists()),
        "payments": draw(st.lists(st.builds(Payment, DAYS, st.integers(-20_000, 30_000)), max_size=5)),
        "rules": draw(RULES),
        "ladder": draw(st.one_of(st.just(DEFAULT_LADDER), st.just(GAPPED_LADDER), ladders())),
        "next_working_day": weekend_next_working_day,
    }


@given(accounts())
def test_the_results_are_consistent(account: dict[str, Any]) -> None:
    result = delinquency_as_of(**account)

    assert sum(overdue_components(result).values()) == result.overdue_fen
    assert result.overdue_fen == max(result.due_to_date_fen - result.paid_fen, 0)
    assert min(result.overdue_fen, result.credit_fen) == 0
    assert result.outstanding_fen >= result.overdue_fen
    assert (result.delinquent_since is None) == (result.dpd == 0) == (result.missed_instalments == 0)
    assert result.bucket == bucket_for(account["ladder"], result.dpd)
    assert result.next_change_date is None or result.next_change_date > account["business_date"]


def _paid_to_date(account: dict[str, Any]) -> int:
    """The signed sum of payments up to the business date (before the floor at 0)."""
    return sum(p.amount_fen for p in account["payments"] if p.paid_on <= account["business_date"])


@given(accounts())
def test_paying_exactly_the_amount_due_to_date_clears_delinquency(account: dict[str, Any]) -> None:
    due_to_date = delinquency_as_of(**account).due_to_date_fen
    top_up = Payment(account["business_date"], due_to_date - _paid_to_date(account))

    result = delinquency_as_of(**{**account, "payments": [*account["payments"], top_up]})

    assert (result.paid_fen, result.overdue_fen, result.credit_fen) == (due_to_date, 0, 0)
    assert (result.dpd, result.missed_instalments, result.delinquent_since) == (0, 0, None)
    assert result.bucket.min_dpd == 0


@given(accounts(), st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=50_000))
def test_paying_more_never_raises_dpd(account: dict[str, Any], days_before: int, extra_fen: int) -> None:
    before = delinquency_as_of(**account)
    extra = Payment(account["business_date"] - dt.timedelta(days=days_before), extra_fen)

    after = delinquency_as_of(**{**account, "payments": [*account["payments"], extra]})

    assert after.dpd <= before.dpd
    assert after.overdue_fen <= before.overdue_fen


@given(accounts(), st.data())
def test_nothing_but_dpd_changes_before_the_next_change_date(
    account: dict[str, Any], data: st.DataObject
) -> None:
    before = delinquency_as_of(**account)
    business_date = account["business_date"]
    if before.next_change_date is None:
        days_later = data.draw(st.integers(min_value=1, max_value=400), label="days later")
    else:
        gap = (before.next_change_date - business_date).days
        assume(gap > 1)  # a day strictly between D and next_change_date must exist
        days_later = data.draw(st.integers(min_value=1, max_value=gap - 1), label="days later")
    later_date = business_date + dt.timedelta(days=days_later)

    later = delinquency_as_of(**{**account, "business_date": later_date})

    grown_dpd = before.dpd + days_later if before.delinquent_since is not None else 0
    assert later == dataclasses.replace(before, business_date=later_date, dpd=grown_dpd)
