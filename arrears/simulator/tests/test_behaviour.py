"""The behaviour model is deterministic, never pays more than is scheduled, and gives a book that
measures like a real one (roll rates, self-cure, 30+ balance share) by the engine's definitions."""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arrears.simulator import behaviour
from arrears.simulator import files as sim
from arrears.simulator.behaviour import CalibrationReport, Ledger, calibration_report, dpd_on, month_ends

AS_OF = date(2026, 11, 23)
LAST_DAY = AS_OF - timedelta(days=1)
BOOK = 4000  # accounts: enough for stable roll rates, small enough for a few seconds


@pytest.fixture(scope="module", params=[1, 2], ids=["seed1", "seed2"])
def report(request: pytest.FixtureRequest) -> CalibrationReport:
    """The calibration report of a book generated with one of the demo's seeds."""
    return calibration_report(sim.ledgers(count=BOOK, seed=request.param, as_of=AS_OF), as_of=AS_OF)


# --- calibration ------------------------------------------------------------------------------


def test_about_four_percent_of_the_balance_is_30_plus_days_past_due(report: CalibrationReport) -> None:
    assert report.accounts == BOOK
    assert 0.025 <= report.share_30_plus <= 0.06


def test_a_quarter_of_month_end_m1_rolls_to_m2_and_later_rolls_are_higher(report: CalibrationReport) -> None:
    m1_m2 = report.rate("M1", "M2")
    m2_m3 = report.rate("M2", "M3")
    m3_m4 = report.rate("M3", "M4+")
    assert 0.15 <= m1_m2 <= 0.35
    assert m2_m3 > m1_m2
    assert 0.35 <= m2_m3 <= 0.65
    assert 0.55 <= m3_m4 <= 0.92
    # Nearly all current accounts stay current (or are repaid); defaulted ones stay defaulted.
    assert report.rate("M0", "M0") + report.rate("M0", "closed") > 0.95
    assert report.rate("M4+", "M4+") > 0.9
    # Each row is a distribution over where the accounts went.
    for source in behaviour.GROUPS:
        row = sum(report.rate(source, target) for target in (*behaviour.GROUPS, behaviour.CLOSED))
        assert row == pytest.approx(1.0)


def test_about_half_of_the_entries_to_m1_self_cure(report: CalibrationReport) -> None:
    assert report.m1_entries > 300
    assert 0.35 <= report.self_cure_share <= 0.65


def test_the_book_has_every_kind_of_payment(report: CalibrationReport) -> None:
    assert report.payments > 5 * BOOK
    assert 0 < report.reversals < 0.02 * report.payments
    assert report.partial_payments > 0.002 * report.payments
    assert report.paid_before_due > 0.1 * report.payments
    assert 0.01 * BOOK < report.early_payoffs < 0.15 * BOOK


def test_the_book_grows_over_the_year_and_has_every_bucket_at_every_month_end(
    report: CalibrationReport,
) -> None:
    assert report.month_ends == tuple(month_ends(LAST_DAY))
    opened = [sum(report.month_end_counts[end].values()) for end in report.month_ends]
    assert opened == sorted(opened)
    assert BOOK * 0.4 < opened[0] < opened[-1] < BOOK
    for end in report.month_ends:
        assert all(report.month_end_counts[end].get(group, 0) > 0 for group in behaviour.GROUPS), end


def test_the_report_prints_the_figures(report: CalibrationReport) -> None:
    text = report.format()

    assert f"{report.share_30_plus:.2%}" in text
    assert f"{report.self_cure_share:.1%}" in text
    assert text.count("\n") > 20


def test_command_line_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert behaviour.main(["--accounts", "300", "--seed", "1", "--as-of", AS_OF.isoformat()]) == 0

    out = capsys.readouterr().out
    expected = calibration_report(sim.ledgers(count=300, seed=1, as_of=AS_OF), as_of=AS_OF)
    assert out == expected.format() + "\n"


# --- determinism and the files ------------------------------------------------------------------


def test_the_same_seed_and_date_give_the_same_history() -> None:
    first = [sim.history(7, n, as_of=AS_OF) for n in range(1, 200)]
    again = [sim.history(7, n, as_of=AS_OF) for n in range(1, 200)]
    other = [sim.history(8, n, as_of=AS_OF) for n in range(1, 200)]

    assert first == again
    assert first != other
    # A later as_of moves the whole book in time (the loans open as long before it).
    later = sim.history(7, 5, as_of=AS_OF + timedelta(days=30))
    assert later.loan.open_date == first[4].loan.open_date + timedelta(days=30)


def test_the_report_reads_the_same_book_as_the_files(tmp_path: Path) -> None:
    count = 250
    sim.write_schedule_csv(tmp_path / "s.csv", creditor="X", count_accounts=count, seed=3, as_of=AS_OF)
    sim.write_payments_csv(tmp_path / "p.csv", creditor="X", accounts=count, seed=3, as_of=AS_OF)
    dues: dict[str, list[tuple[date, int]]] = {}
    with (tmp_path / "s.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            total = Decimal(row["应还本金"]) + Decimal(row["应还利息"]) + Decimal(row["应还费用"])
            dues.setdefault(row["账号"], []).append((date.fromisoformat(row["应还日"]), int(total * 100)))
    paid: dict[str, list[tuple[date, int]]] = {}
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            paid.setdefault(row["账号"], []).append(
                (datetime.fromisoformat(row["还款时间"]).date(), int(Decimal(row["还款金额"]) * 100))
            )
    from_files = [
        Ledger(
            sim.loan(3, n, as_of=AS_OF).open_date,
            dues[sim.account_no("X", n)],
            paid.get(sim.account_no("X", n), []),
        )
        for n in range(1, count + 1)
    ]

    assert from_files == list(sim.ledgers(count=count, seed=3, as_of=AS_OF))
    assert calibration_report(from_files, as_of=AS_OF) == calibration_report(
        sim.ledgers(count=count, seed=3, as_of=AS_OF), as_of=AS_OF
    )


def test_payments_never_exceed_the_schedule_and_reversals_follow_their_payment() -> None:
    end = datetime.combine(LAST_DAY, datetime.max.time())
    for n in range(1, 1500):
        item = sim.history(1, n, as_of=AS_OF)
        total = sum(amount for _day, amount in item.loan.dues())
        running = 0
        times = [txn.paid_at for txn in item.payments]
        assert times == sorted(times)
        for j, txn in enumerate(item.payments):
            assert item.loan.open_date < txn.paid_at.date() and txn.paid_at <= end
            assert txn.channel in behaviour.CHANNELS
            if txn.reversal_of is None:
                assert txn.amount_fen > 0
            else:
                assert txn.reversal_of < j
                original = item.payments[txn.reversal_of]
                assert original.amount_fen == -txn.amount_fen and original.reversal_of is None
            running += txn.amount_fen
            assert 0 <= running <= total


def test_bad_customers_stay_bad_and_share_their_risk_across_accounts() -> None:
    behind: Counter[str] = Counter()
    seasoned: Counter[str] = Counter()
    for n in range(1, 6000):
        item = sim.history(1, n, as_of=AS_OF)
        if item.loan.open_date > AS_OF - timedelta(days=150):
            continue  # too young to have missed much
        seasoned[item.loan.tier.name] += 1
        behind[item.loan.tier.name] += dpd_on(item.ledger(), LAST_DAY) >= 30
        if sim.customer_number(1, n) != n:  # a second account: the customer's tier
            assert item.loan.tier == sim.loan(1, n - 1, as_of=AS_OF).tier
    assert behind["A"] / seasoned["A"] < 0.01
    assert behind["E"] / seasoned["E"] > 0.8
    assert behind["A"] / seasoned["A"] < behind["B"] / seasoned["B"] < behind["C"] / seasoned["C"]
    assert behind["C"] / seasoned["C"] < behind["D"] / seasoned["D"] < behind["E"] / seasoned["E"]


def test_tiers_are_drawn_in_their_shares() -> None:
    rng = random.Random(1)
    drawn = Counter(behaviour.tier_for(rng.random()).name for _ in range(50_000))
    assert sum(tier.share for tier in behaviour.PARAMS.tiers) == pytest.approx(1.0)
    for tier in behaviour.PARAMS.tiers:
        assert drawn[tier.name] / 50_000 == pytest.approx(tier.share, abs=0.01)


# --- the engine's definitions -------------------------------------------------------------------


def ledger(payments: list[tuple[str, int]]) -> Ledger:
    """Three instalments of 100 yuan due on the 10th of Jan, Feb and Mar 2026."""
    dues = [(date(2026, month, 10), 10_000) for month in (1, 2, 3)]
    return Ledger(date(2025, 12, 10), dues, [(date.fromisoformat(day), fen) for day, fen in payments])


def test_an_instalment_due_today_is_not_overdue_until_tomorrow() -> None:
    book = ledger([])

    assert dpd_on(book, date(2026, 1, 10)) == 0
    assert dpd_on(book, date(2026, 1, 11)) == 1
    assert dpd_on(book, date(2026, 2, 10)) == 31
    assert dpd_on(book, date(2026, 3, 11)) == 60


def test_payments_count_on_their_day_and_pay_the_oldest_instalment_first() -> None:
    book = ledger([("2026-01-15", 10_000), ("2026-02-20", 15_000)])

    assert dpd_on(book, date(2026, 1, 14)) == 4
    assert dpd_on(book, date(2026, 1, 15)) == 0
    assert dpd_on(book, date(2026, 2, 19)) == 9
    # Half of the March instalment paid ahead: nothing is overdue until it falls due.
    assert dpd_on(book, date(2026, 2, 20)) == 0
    assert dpd_on(book, date(2026, 3, 11)) == 1


def test_overdue_below_the_tolerance_does_not_count() -> None:
    book = ledger([("2026-01-10", 9_001)])

    assert dpd_on(book, date(2026, 1, 20)) == 0  # 9.99 yuan short, tolerance 10 yuan
    assert dpd_on(book, date(2026, 1, 20), tolerance_fen=0) == 10
    assert dpd_on(ledger([("2026-01-10", 9_000)]), date(2026, 1, 20)) == 10  # exactly 10 yuan counts


def test_a_reversal_puts_the_account_back_in_arrears() -> None:
    book = ledger([("2026-01-10", 10_000), ("2026-01-12", -10_000), ("2026-01-16", 10_000)])

    assert [dpd_on(book, date(2026, 1, day)) for day in (11, 12, 15, 16)] == [0, 2, 5, 0]


def test_month_ends_are_the_last_twelve_before_the_last_day() -> None:
    assert month_ends(date(2026, 11, 22))[::11] == [date(2025, 11, 30), date(2026, 10, 31)]
    assert month_ends(date(2026, 10, 31), 3) == [date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)]
    assert month_ends(date(2026, 3, 1), 2) == [date(2026, 1, 31), date(2026, 2, 28)]


def test_self_cure_and_rolls_are_counted_as_defined() -> None:
    as_of = date(2026, 6, 1)
    cured = ledger([("2026-01-10", 10_000), ("2026-02-17", 10_000), ("2026-03-10", 10_000)])
    rolled = ledger([("2026-04-20", 20_000)])

    result = calibration_report([cured, rolled], as_of=as_of)

    # cured: 7 days late in February (a self-cure), then repaid. rolled: nothing until 20 April,
    # then two instalments, which leaves March's oldest unpaid (51 DPD at the end of April).
    assert (result.m1_entries, result.m1_self_cured) == (2, 1)
    counts = {end: result.month_end_counts[end] for end in result.month_ends[-5:]}
    assert counts == {
        date(2026, 1, 31): {"M0": 1, "M1": 1},
        date(2026, 2, 28): {"M0": 1, "M2": 1},
        date(2026, 3, 31): {"closed": 1, "M3": 1},
        date(2026, 4, 30): {"closed": 1, "M2": 1},
        date(2026, 5, 31): {"closed": 1, "M3": 1},
    }
    # M0 → M0, M1 from December to January, M0 → M0 to February, M0 → closed to March: each
    # month pair counts once in the mean.
    assert result.rate("M0", "M0") == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert result.rate("M0", "M1") == pytest.approx(1 / 2 / 3)
    assert result.rate("M0", "closed") == pytest.approx(1 / 3)
    assert result.rate("M1", "M2") == result.rate("M2", "M3") == result.rate("M3", "M2") == 1.0
    assert result.balance_fen == result.balance_30_plus_fen == 10_000
