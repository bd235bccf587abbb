"""Delinquency on the pages: the account page, the home page's book and roll rates, the runs page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from arrears.conftest import Book
from arrears.delinquency.models import (
    AccountState,
    BookByBucket,
    BucketTransition,
    EodRun,
    EodStep,
    RollRate,
    RunMode,
    RunState,
)
from arrears.delinquency.selectors import days_past_due, roll_rate_percent

pytestmark = pytest.mark.django_db

BUSINESS_DATE = dt.date(2026, 4, 10)


@pytest.fixture(autouse=True)
def _reset_language():
    """Requests activate their language in this thread and nothing resets it."""
    yield
    translation.deactivate()


def _text(response) -> str:
    return response.content.decode()


def _run(day: dt.date, state: str = RunState.DONE, **fields) -> EodRun:
    return EodRun.objects.create(business_date=day, mode=RunMode.INCREMENTAL, state=state, **fields)


def _alice_state(book: Book, **fields) -> AccountState:
    """A-ALICE 26 days past due on BUSINESS_DATE, last recomputed five days before it."""
    values = {
        "as_of": dt.date(2026, 4, 5),
        "overdue_principal_fen": 100_000,
        "overdue_interest_fen": 5_050,
        "overdue_fee_fen": 1_000,
        "overdue_premium_fen": 300,
        "overdue_fen": 106_350,
        "outstanding_fen": 1_150_000,
        "credit_fen": 0,
        "missed_instalments": 2,
        "delinquent_since": dt.date(2026, 3, 15),
        "bucket_code": "M1-3",
        "bucket_group": "M1",
        "next_due_date": dt.date(2026, 4, 15),
        **fields,
    }
    return AccountState.objects.create(account=book.case_alice.account, **values)


# --- pure pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "shown"),
    [(None, 0), (dt.date(2026, 4, 10), 0), (dt.date(2026, 4, 9), 1), (dt.date(2026, 1, 10), 90)],
)
def test_days_past_due_counts_from_delinquent_since(since, shown):
    assert days_past_due(delinquent_since=since, business_date=BUSINESS_DATE) == shown


@pytest.mark.parametrize(
    ("moved", "base", "rate"),
    [(1, 3, Decimal("33.33")), (2, 3, Decimal("66.67")), (3, 3, Decimal("100.00")), (0, 0, Decimal("0.00"))],
)
def test_roll_rate_is_a_percentage_with_two_decimals(moved, base, rate):
    assert roll_rate_percent(moved=moved, base=base) == rate


# --- account page ----------------------------------------------------------------------------


def test_account_page_shows_delinquency_as_of_the_business_date(client, book: Book):
    _run(dt.date(2026, 4, 9))
    _run(BUSINESS_DATE)
    _run(dt.date(2026, 4, 11), state=RunState.FAILED)  # not completed: not the business date
    _alice_state(book)
    client.force_login(book.alice)

    html = _text(client.get(f"/accounts/{book.case_alice.account_id}/"))

    assert (
        '<span class="small text-body-secondary" data-testid="business-date">业务日期 2026-04-10</span>'
        in html
    )
    # 2026-04-10 − 2026-03-15 = 26 days, although the state was last written on 2026-04-05.
    assert '<dd class="col-sm-3 num fw-semibold" data-testid="dpd">26</dd>' in html
    assert (
        '<dd class="col-sm-3" data-testid="bucket"><span class="badge text-bg-danger">M1-3</span> '
        '<span class="small text-body-secondary">M1</span></dd>'
    ) in html
    assert '<dd class="col-sm-3 num fw-semibold" data-testid="overdue">1,063.50</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="overdue-principal">1,000.00</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="overdue-interest">50.50</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="overdue-fee">10.00</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="overdue-premium">3.00</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="state-outstanding">11,500.00</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="credit">0.00</dd>' in html
    assert '<dd class="col-sm-3 num" data-testid="missed">2</dd>' in html
    assert '<dd class="col-sm-3" data-testid="next-due">2026-04-15</dd>' in html
    assert '<dd class="col-sm-3" data-testid="delinquent-since">2026-03-15</dd>' in html


def test_account_page_lists_bucket_history_newest_first(client, book: Book):
    _run(BUSINESS_DATE)
    account = book.case_alice.account
    _alice_state(book)
    for day, old, new, dpd, overdue in [
        (dt.date(2026, 3, 16), "M0", "M1-1", 1, 50_000),
        (dt.date(2026, 4, 5), "M1-2", "M1-3", 21, 106_350),
        (dt.date(2026, 3, 26), "M1-1", "M1-2", 11, 50_000),
    ]:
        BucketTransition.objects.create(
            account=account,
            business_date=day,
            from_code=old,
            from_group=old[:2],
            to_code=new,
            to_group=new[:2],
            dpd=dpd,
            overdue_fen=overdue,
        )
    BucketTransition.objects.create(  # another account's history stays off this page
        account=book.case_bob.account,
        business_date=dt.date(2026, 4, 1),
        from_code="M2",
        from_group="M2",
        to_code="M3",
        to_group="M3",
        dpd=60,
        overdue_fen=1,
    )
    client.force_login(book.alice)

    response = client.get(f"/accounts/{account.pk}/")

    moves = response.context["bucket_history"]
    assert [(m.business_date, m.from_code, m.to_code) for m in moves] == [
        (dt.date(2026, 4, 5), "M1-2", "M1-3"),
        (dt.date(2026, 3, 26), "M1-1", "M1-2"),
        (dt.date(2026, 3, 16), "M0", "M1-1"),
    ]
    html = _text(response)
    assert (
        '<td>2026-04-05</td>\n          <td>M1-2</td>\n          <td class="fw-semibold">M1-3</td>\n'
        '          <td class="text-end num">21</td>\n          <td class="text-end num">1,063.50</td>'
    ) in html
    assert "没有账龄变动" not in html


def test_account_page_before_the_first_run_says_so(client, book: Book):
    client.force_login(book.alice)

    html = _text(client.get(f"/accounts/{book.case_alice.account_id}/"))

    assert '<p class="text-body-secondary mb-0" data-testid="no-eod">尚未运行日终批处理</p>' in html
    assert "没有账龄变动" in html


def test_account_not_yet_computed_says_so(client, book: Book):
    _run(BUSINESS_DATE)
    client.force_login(book.alice)

    html = _text(client.get(f"/accounts/{book.case_alice.account_id}/"))

    assert '<p class="text-body-secondary mb-0" data-testid="no-state">该账户尚未经日终批处理计算</p>' in html


def test_account_page_in_english(client, book: Book):
    _run(BUSINESS_DATE)
    _alice_state(book)
    client.force_login(book.alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    html = _text(client.get(f"/accounts/{book.case_alice.account_id}/"))

    assert '<span class="fw-semibold" id="delinquency-title">Delinquency</span>' in html
    assert "Business date 2026-04-10" in html
    assert '<dt class="col-sm-3">Days past due</dt>' in html
    assert '<dt class="col-sm-3">Overdue (CNY)</dt>' in html
    assert '<div class="card-header fw-semibold" id="bucket-history-title">Bucket history</div>' in html


# --- home page -------------------------------------------------------------------------------


def _book_rows() -> None:
    earlier = dt.date(2026, 4, 9)
    for day in (earlier, BUSINESS_DATE):
        _run(day)
    rows = [
        ("M2", "M2", 1, 300_000, 120_000),
        ("M0", "M0", 7, 7_000_000, 0),
        ("M1-1", "M1", 2, 2_000_000, 150_050),
    ]
    for code, group, accounts, outstanding, overdue in rows:
        BookByBucket.objects.create(
            business_date=BUSINESS_DATE,
            bucket_code=code,
            bucket_group=group,
            accounts=accounts,
            outstanding_fen=outstanding,
            overdue_fen=overdue,
        )
    # The day before: must not be mixed in.
    BookByBucket.objects.create(
        business_date=earlier,
        bucket_code="M0",
        bucket_group="M0",
        accounts=99,
        outstanding_fen=1,
        overdue_fen=1,
    )


def _roll(month_end: dt.date, moves: list[tuple[str, str, int, int]]) -> None:
    for source, target, accounts, balance in moves:
        RollRate.objects.create(
            month_end=month_end, from_group=source, to_group=target, accounts=accounts, balance_fen=balance
        )


def test_supervisor_home_shows_the_book_by_bucket_of_the_latest_run(client, book: Book):
    _book_rows()
    client.force_login(book.sam)

    response = client.get("/")

    lines = response.context["book"].lines
    assert [(line.bucket_code, line.accounts) for line in lines] == [("M0", 7), ("M1-1", 2), ("M2", 1)]
    html = _text(response)
    assert "业务日期 2026-04-10" in html
    assert (
        '<tr data-testid="bucket-M1-1">\n          <td class="fw-semibold">M1-1</td>\n          <td>M1</td>\n'
        '          <td class="text-end num">2</td>\n          <td class="text-end num">20,000.00</td>\n'
        '          <td class="text-end num">1,500.50</td>'
    ) in html
    assert (
        '<tr class="fw-semibold" data-testid="bucket-total">\n          <td colspan="2">合计</td>\n'
        '          <td class="text-end num">10</td>\n          <td class="text-end num">93,000.00</td>\n'
        '          <td class="text-end num">2,700.50</td>'
    ) in html


def test_home_shows_roll_rate_matrices_of_the_last_three_month_ends(client, book: Book):
    _book_rows()
    _roll(dt.date(2025, 12, 31), [("M0", "M0", 1, 1)])
    _roll(dt.date(2026, 1, 31), [("M0", "M0", 1, 1)])
    _roll(dt.date(2026, 2, 28), [("M0", "M0", 1, 1)])
    _roll(
        dt.date(2026, 3, 31),
        [
            ("M1", "M2", 1, 300_000),
            ("M0", "M0", 8, 8_000_000),
            ("M1", "M0", 1, 1_000_000),
            ("M0", "M1", 2, 2_000_000),
            ("M1", "M1", 1, 1_000_000),
        ],
    )
    client.force_login(book.sam)

    response = client.get("/")

    matrices = response.context["roll_rates"]
    assert [m.month_end for m in matrices] == [
        dt.date(2026, 3, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 1, 31),
    ]
    march = matrices[0]
    assert march.to_groups == ["M0", "M1", "M2"]
    assert [(row.from_group, row.accounts) for row in march.rows] == [("M0", 10), ("M1", 3)]
    assert [cell.rate if cell else None for cell in march.rows[0].cells] == [
        Decimal("80.00"),
        Decimal("20.00"),
        None,
    ]
    assert [cell.rate for cell in march.rows[1].cells if cell] == [Decimal("33.33")] * 3
    html = _text(response)
    assert "2026-02-28 → 2026-03-31" in html
    assert (
        '<th scope="row">M0</th>\n          <td class="text-end num">10</td>\n          \n'
        '          <td class="text-end num" title="余额 80,000.00 元">80.00%<div class="small text-body-secondary">8</div></td>\n'
        "          \n"
        '          <td class="text-end num" title="余额 20,000.00 元">20.00%<div class="small text-body-secondary">2</div></td>\n'
        "          \n"
        '          <td class="text-end text-body-secondary">—</td>'
    ) in html
    assert 'data-testid="roll-2025-12-31"' not in html


def test_home_before_the_first_run_shows_empty_states(client, book: Book):
    client.force_login(book.sam)

    html = _text(client.get("/"))

    assert '<div class="card-body text-body-secondary" data-testid="no-eod">尚未运行日终批处理</div>' in html
    assert "暂无迁徙率：至少需要两个连续月末的日终批处理" in html


def test_collector_home_sums_only_her_accounts_and_has_no_roll_rates(client, book: Book):
    _book_rows()
    _roll(dt.date(2026, 3, 31), [("M0", "M0", 8, 8_000_000)])
    _alice_state(book)
    AccountState.objects.create(
        account=book.case_bob.account,
        as_of=BUSINESS_DATE,
        outstanding_fen=5,
        overdue_fen=5,
        bucket_code="M2",
        bucket_group="M2",
        delinquent_since=dt.date(2026, 3, 1),
    )
    client.force_login(book.alice)

    response = client.get("/")

    assert [
        (line.bucket_code, line.bucket_group, line.accounts, line.outstanding_fen, line.overdue_fen)
        for line in response.context["book"].lines
    ] == [("M1-3", "M1", 1, 1_150_000, 106_350)]
    html = _text(response)
    assert 'data-testid="roll-rates"' not in html
    assert "迁徙率" not in html


def test_home_in_english_translates_the_book(client, book: Book):
    _book_rows()
    client.force_login(book.sam)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    html = _text(client.get("/"))

    assert '<span class="fw-semibold" id="book-title">Book by bucket</span>' in html
    assert '<span class="fw-semibold" id="roll-rates-title">Roll rates</span>' in html
    assert "No roll rates yet: they need end-of-day runs on two consecutive month ends" in html
    assert '<a class="nav-link" href="/cases/">Cases</a>' in html
    assert '<a class="nav-link" href="/eod/">End of day</a>' in html


# --- end-of-day runs page ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "tina", "agnes"])
def test_only_supervisors_and_admins_reach_the_runs_page(client, book: Book, persona):
    client.force_login(getattr(book, persona))

    page = client.get("/eod/")
    post = client.post("/eod/", {"business_date": "2026-04-11"})
    partial = client.get("/eod/runs/")

    assert (page.status_code, post.status_code, partial.status_code) == (403, 403, 403)
    assert EodRun.objects.count() == 0
    assert 'href="/eod/"' not in _text(client.get("/"))


def test_runs_page_lists_runs_with_their_steps(client, book: Book):
    done = _run(BUSINESS_DATE, accounts=1234, requested_by=book.sam)
    EodStep.objects.create(run=done, name="collect", rows=1234, ms=15)
    EodStep.objects.create(run=done, name="compute", rows=1234, ms=2500)
    failed = _run(dt.date(2026, 4, 11), state=RunState.FAILED, error="InjectedFault: before:compute")
    client.force_login(book.root)

    response = client.get("/eod/")

    html = _text(response)
    assert '<span class="text-body-secondary small" data-testid="business-date">' in html
    assert "最近完成的业务日期：2026-04-10" in html
    # The form suggests the day after the last completed run.
    assert 'name="business_date" value="2026-04-11"' in html
    assert (
        '<div><span title="collect">确定待算账户</span> <span class="num">1,234</span> / <span class="num">15 ms</span></div>'
        in html
    )
    assert (
        '<div><span title="compute">计算逾期</span> <span class="num">1,234</span> / <span class="num">2,500 ms</span></div>'
        in html
    )
    assert '<td class="text-end num">1,234</td>' in html
    assert '<span class="badge text-bg-success">完成</span>' in html
    assert '<span class="badge text-bg-danger">失败</span>' in html
    assert '<div class="text-danger text-break">InjectedFault: before:compute</div>' in html
    assert html.index(f'data-testid="eod-run-{failed.pk}"') < html.index(f'data-testid="eod-run-{done.pk}"')
    assert 'hx-trigger="every 2s"' not in html  # nothing left to change


@time_machine.travel(dt.datetime(2026, 4, 12, 9, 0, tzinfo=dt.UTC), tick=False)
def test_runs_page_before_any_run_suggests_yesterday(client, book: Book):
    client.force_login(book.sam)

    html = _text(client.get("/eod/"))

    assert 'name="business_date" value="2026-04-11"' in html
    assert "还没有运行记录" in html


def test_supervisor_queues_a_run_from_the_page(client, book: Book):
    _run(BUSINESS_DATE)
    client.force_login(book.sam)

    response = client.post("/eod/", {"business_date": "2026-04-11", "full": "on"}, follow=True)

    queued = EodRun.objects.get(state=RunState.QUEUED)
    assert (queued.business_date, queued.mode, queued.requested_by) == (
        dt.date(2026, 4, 11),
        "full",
        book.sam,
    )
    assert response.redirect_chain == [("/eod/", 302)]
    html = _text(response)
    assert f"已提交 2026-04-11 的日终批处理（#{queued.pk}），正在排队" in html
    assert '<span class="badge text-bg-light">排队中</span>' in html
    assert 'hx-get="/eod/runs/" hx-trigger="every 2s" hx-swap="outerHTML"' in html


def test_a_back_dated_run_is_refused_with_the_reason_and_nothing_is_queued(client, book: Book):
    _run(BUSINESS_DATE)
    client.force_login(book.sam)

    response = client.post("/eod/", {"business_date": "2026-04-01"})

    assert response.status_code == 200
    assert (
        "<div>业务日期 2026-04-01 早于最近一次完成的日终批处理日期 2026-04-10，已拒绝。"
        "如确需重算历史，请使用 --rebuild-from 指定重建起始日期。</div>"
    ) in _text(response)
    assert list(EodRun.objects.values_list("business_date", "state")) == [(BUSINESS_DATE, "done")]


def test_runs_partial_polls_while_a_run_is_queued(client, book: Book):
    _run(BUSINESS_DATE, state=RunState.QUEUED)
    client.force_login(book.sam)

    html = _text(client.get("/eod/runs/", headers={"HX-Request": "true"}))

    assert html.lstrip().startswith('<section id="eod-runs"')
    assert 'hx-trigger="every 2s"' in html


def test_runs_page_query_count_is_pinned(client, book: Book, django_assert_num_queries):
    for n in range(5):
        run = _run(dt.date(2026, 4, 1) + dt.timedelta(days=n), requested_by=book.sam)
        for name in ("collect", "compute", "book"):
            EodStep.objects.create(run=run, name=name, rows=n, ms=n)
    client.force_login(book.sam)

    # session, user, business date, runs with their requesters, steps.
    # + the session's second-factor check (its first request) and the session save (idle timeout: savepoint, update, release).
    with django_assert_num_queries(9):
        client.get("/eod/")
