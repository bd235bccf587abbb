"""Random but seeded books for engine tests, and the pure arithmetic's answer for each account."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass, field

from arrears.core.models import CalendarDay
from arrears.core.services import calendar_fill
from arrears.delinquency import arithmetic
from arrears.portfolio.models import Account, DueDateShift, Instalment, Payment, Product, ScheduleSource
from arrears.portfolio.schedule import equal_instalments
from arrears.tests.factories import AccountFactory, CreditorFactory, CustomerFactory, ProductFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

# (code, tolerance, shift, allocation order, case opens at DPD)
PRODUCT_RULES = (
    ("PLAIN", 1000, False, ["fee", "interest", "principal", "premium"], 1),
    ("SHIFTED", 0, True, ["principal", "interest", "fee", "premium"], 1),
    ("TOLERANT", 5000, False, ["premium", "fee", "principal", "interest"], 30),
    ("LATECASE", 100, True, ["interest", "principal", "premium", "fee"], 15),
)


@dataclass
class RandomBook:
    products: dict[str, Product]
    accounts: list[Account] = field(default_factory=list)


def ensure_calendar() -> None:
    """The working calendar is seeded by a data migration, but a transactional test's flush
    empties every table; put the years the tests use back when they are missing."""
    if not CalendarDay.objects.filter(day=dt.date(2026, 10, 1)).exists():
        calendar_fill(first_year=2024, last_year=2029)


def make_products() -> dict[str, Product]:
    ensure_calendar()
    creditor = CreditorFactory(code="RND", name="随机银行")
    products = {}
    for code, tolerance, shift, order, open_dpd in PRODUCT_RULES:
        products[code] = ProductFactory(
            creditor=creditor,
            code=code,
            tolerance_fen=tolerance,
            due_date_shift=DueDateShift.NEXT_WORKING_DAY if shift else DueDateShift.NONE,
            allocation_order=order,
            case_open_dpd=open_dpd,
        )
    return products


def arithmetic_month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _random_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _local_time(rng: random.Random, day: dt.date) -> dt.datetime:
    # Near midnight on purpose: the day a payment counts for is its local (Shanghai) date.
    hour, minute = rng.choice([(0, 5), (0, 30), (9, 0), (15, 45), (23, 40), (23, 59)])
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def add_random_accounts(
    rng: random.Random, products: dict[str, Product], count: int, *, last_payment_day: dt.date
) -> list[Account]:
    """Accounts with derived or file schedules and payments of every kind (partial, ahead, reversed, future)."""
    accounts = []
    customer = CustomerFactory(creditor=next(iter(products.values())).creditor)
    for n in range(count):
        product = rng.choice(list(products.values()))
        term = rng.choice([1, 3, 6, 12, 12, 24])
        first_due = _random_day(rng, dt.date(2025, 1, 1), dt.date(2026, 9, 30))
        if rng.random() < 0.3:
            # Month ends, so schedules clamp (31 Jan → 28/29 Feb → 31 Mar).
            first_due = arithmetic_month_end(first_due)
        principal = rng.randint(term * 100, 5_000_000)
        generated = rng.random() < 0.6
        instalment_fen = None
        if generated and rng.random() < 0.5:
            instalment_fen = principal // term + rng.randint(0, 20_000)
        account = AccountFactory(
            product=product,
            customer=customer,
            account_no=f"R{n:05d}",
            principal_fen=principal,
            term=term,
            first_due_date=first_due,
            instalment_fen=instalment_fen,
            schedule_source=ScheduleSource.GENERATED if generated else ScheduleSource.FILE,
        )
        if generated:
            dues = [
                (item.seq, item.due_date, item.total_due_fen)
                for item in equal_instalments(
                    principal_fen=principal,
                    term=term,
                    first_due_date=first_due,
                    instalment_fen=instalment_fen,
                )
            ]
        else:
            dues = []
            rows = []
            for seq in range(1, term + 1):
                due = first_due + dt.timedelta(days=30 * (seq - 1) + rng.choice([0, 0, 0, 1, -1]))
                parts = [rng.choice([0, rng.randint(1, 200_000)]) for _ in range(4)]
                if not any(parts):
                    parts[0] = 50_000
                rows.append(
                    Instalment(
                        account=account,
                        seq=seq,
                        due_date=due,
                        principal_due_fen=parts[0],
                        interest_due_fen=parts[1],
                        fee_due_fen=parts[2],
                        premium_due_fen=parts[3],
                    )
                )
                dues.append((seq, due, sum(parts)))
            Instalment.objects.bulk_create(rows)
        _add_payments(rng, account, dues, last_payment_day=last_payment_day)
        accounts.append(account)
    return accounts


def _add_payments(
    rng: random.Random, account: Account, dues: list[tuple[int, dt.date, int]], *, last_payment_day: dt.date
) -> None:
    style = rng.choice(["none", "on_time", "late", "partial", "ahead", "stops", "overpays", "short"])
    # Short by exactly the tolerance (delinquent) or by one fen less (not): the boundary itself.
    shortfall = max(account.product.tolerance_fen, 1) - rng.choice([0, 1])
    payments: list[Payment] = []
    txn = 0

    def pay(day: dt.date, amount: int) -> None:
        nonlocal txn
        txn += 1
        payments.append(
            Payment(
                creditor_id=account.creditor_id,
                account=account,
                txn_id=f"{account.account_no}-{txn}",
                paid_at=_local_time(rng, day),
                amount_fen=amount,
            )
        )

    stop_after = rng.randint(0, len(dues))
    for seq, due, total in dues:
        if style == "none" or due > last_payment_day + dt.timedelta(days=40):
            break
        if style == "on_time":
            pay(due, total)
        elif style == "late":
            pay(due + dt.timedelta(days=rng.choice([1, 5, 12, 35, 70])), total)
        elif style == "partial":
            pay(due + dt.timedelta(days=rng.randint(-3, 20)), max(total - rng.randint(1, 3000), 1))
        elif style == "ahead":
            pay(due - dt.timedelta(days=rng.randint(1, 20)), total)
        elif style == "stops" and seq <= stop_after:
            pay(due, total)
        elif style == "short":
            pay(due, total - shortfall if seq == 1 and total > shortfall else total)
        elif style == "overpays":
            pay(due, total + rng.randint(1, 50_000))
    Payment.objects.bulk_create(payments)
    if payments and rng.random() < 0.25:
        original = rng.choice(payments)
        Payment.objects.create(
            creditor_id=account.creditor_id,
            account=account,
            txn_id=f"{account.account_no}-rev",
            paid_at=original.paid_at + dt.timedelta(days=rng.randint(0, 15)),
            amount_fen=-original.amount_fen,
            reversal_of=original,
        )


def next_working_day_from_table() -> dict[dt.date, dt.date]:
    return dict(CalendarDay.objects.values_list("day", "next_working_day"))


def expected_state(
    account: Account, business_date: dt.date, calendar: dict[dt.date, dt.date]
) -> dict[str, object]:
    """What the pure arithmetic says, shaped like a row of `delinquency_accountstate`."""
    product = account.product
    if account.schedule_source == ScheduleSource.GENERATED:
        instalments = [
            arithmetic.Instalment(
                seq=item.seq,
                due_date=item.due_date,
                principal_fen=item.principal_due_fen,
                interest_fen=item.interest_due_fen,
            )
            for item in equal_instalments(
                principal_fen=account.principal_fen,
                term=account.term,
                first_due_date=account.first_due_date,
                instalment_fen=account.instalment_fen,
            )
        ]
    else:
        instalments = [
            arithmetic.Instalment(
                seq=row.seq,
                due_date=row.due_date,
                principal_fen=row.principal_due_fen,
                interest_fen=row.interest_due_fen,
                fee_fen=row.fee_due_fen,
                premium_fen=row.premium_due_fen,
            )
            for row in account.instalments.all()
        ]
    payments = [
        arithmetic.Payment(paid_on=row.paid_at.astimezone(SHANGHAI).date(), amount_fen=row.amount_fen)
        for row in account.payments.all()
    ]
    ladder = [
        arithmetic.Bucket(code=b.code, group=b.group, min_dpd=b.min_dpd, max_dpd=b.max_dpd)
        for b in product.ladder.buckets.all()
    ]
    result = arithmetic.delinquency_as_of(
        business_date=business_date,
        instalments=instalments,
        payments=payments,
        rules=arithmetic.Rules(
            tolerance_fen=product.tolerance_fen,
            shift_due_dates=product.due_date_shift == DueDateShift.NEXT_WORKING_DAY,
            allocation_order=tuple(product.allocation_order),
        ),
        ladder=ladder,
        next_working_day=lambda day: calendar.get(day, day),
    )
    next_change = result.next_change_date
    if result.delinquent_since is not None and result.dpd < product.case_open_dpd:
        # The engine also wakes an account up on the day its product opens a case.
        opening = result.delinquent_since + dt.timedelta(days=product.case_open_dpd)
        next_change = opening if next_change is None else min(next_change, opening)
    return {
        "paid_fen": result.paid_fen,
        "due_to_date_fen": result.due_to_date_fen,
        "overdue_principal_fen": result.overdue_principal_fen,
        "overdue_interest_fen": result.overdue_interest_fen,
        "overdue_fee_fen": result.overdue_fee_fen,
        "overdue_premium_fen": result.overdue_premium_fen,
        "overdue_fen": result.overdue_fen,
        "outstanding_fen": result.outstanding_fen,
        "credit_fen": result.credit_fen,
        "missed_instalments": result.missed_instalments,
        "delinquent_since": result.delinquent_since,
        "bucket_code": result.bucket.code,
        "bucket_group": result.bucket.group,
        "next_due_date": result.next_due_date,
        "next_change_date": next_change,
    }
