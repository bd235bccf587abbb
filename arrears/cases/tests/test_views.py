"""The case pages: the list with its filters and scoping, and one case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from arrears.cases.models import CaseEvent, CaseEventKind, CaseStatus, CloseReason
from arrears.conftest import Book
from arrears.delinquency.models import AccountState, EodRun, RunMode, RunState
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CreditorFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

BUSINESS_DATE = dt.date(2026, 4, 10)


@pytest.fixture(autouse=True)
def _reset_language():
    """Requests activate their language in this thread and nothing resets it."""
    yield
    translation.deactivate()


def _text(response) -> str:
    return response.content.decode()


def _listed(response) -> list[str]:
    return [line.case.account.account_no for line in response.context["page"].lines]


def _done_run(day: dt.date = BUSINESS_DATE) -> EodRun:
    return EodRun.objects.create(business_date=day, mode=RunMode.INCREMENTAL, state=RunState.DONE)


def _state(
    account, *, dpd: int | None, bucket: str = "M1-1", group: str = "M1", overdue: int = 0
) -> AccountState:
    """A state `dpd` days past due on BUSINESS_DATE (None: current)."""
    since = BUSINESS_DATE - dt.timedelta(days=dpd) if dpd is not None else None
    return AccountState.objects.create(
        account=account,
        as_of=BUSINESS_DATE,
        delinquent_since=since,
        bucket_code=bucket,
        bucket_group=group,
        overdue_fen=overdue,
        overdue_principal_fen=overdue,
    )


# --- scoping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("alice", ["A-ALICE"]),
        ("bob", ["A-BOB"]),
        ("tina", ["A-ALICE"]),
        ("agnes", ["A-AGENCY"]),
        ("sam", ["A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]),
        ("root", ["A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]),
    ],
)
def test_case_list_shows_exactly_the_users_scope(client, book: Book, persona, visible):
    client.force_login(getattr(book, persona))

    response = client.get("/cases/")

    assert response.status_code == 200
    assert _listed(response) == visible
    html = _text(response)
    for account_no in {"A-ALICE", "A-BOB", "A-AGENCY", "A-NOBODY"} - set(visible):
        assert account_no not in html


def test_case_list_requires_login(client, book: Book):
    response = client.get("/cases/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/cases/")


@pytest.mark.parametrize(
    ("persona", "case_name", "status"),
    [
        ("alice", "case_alice", 200),
        ("alice", "case_bob", 404),
        ("bob", "case_alice", 404),
        ("tina", "case_alice", 200),
        ("tina", "case_bob", 404),
        ("agnes", "case_agency", 200),
        ("agnes", "case_alice", 404),
        ("sam", "case_unassigned", 200),
        ("sam", "case_bob", 200),
    ],
)
def test_case_page_is_404_out_of_scope(client, book: Book, persona, case_name, status):
    case = getattr(book, case_name)
    client.force_login(getattr(book, persona))

    response = client.get(f"/cases/{case.pk}/")

    assert response.status_code == status
    if status == 404:
        assert case.account.account_no not in _text(response)
        assert "页面不存在" in _text(response)


def test_a_missing_case_is_404(client, book: Book):
    client.force_login(book.sam)

    assert client.get("/cases/987654321/").status_code == 404


# --- list rows and filters -------------------------------------------------------------------


def test_case_list_rows_show_bucket_dpd_overdue_and_assignee(client, book: Book):
    _done_run()
    case = book.case_alice
    case.bucket_code, case.bucket_group, case.status = "M1-3", "M1", CaseStatus.IN_PROGRESS
    case.opened_on = dt.date(2026, 3, 16)
    case.save()
    _state(case.account, dpd=26, bucket="M1-3", overdue=106_350)
    client.force_login(book.sam)

    response = client.get("/cases/")

    html = _text(response)
    assert f'<td><a class="fw-semibold" href="/cases/{case.pk}/">#{case.pk}</a></td>' in html
    assert (
        "<td>A-ALICE</td>\n            <td>张三</td>\n            <td>示范银行</td>\n            <td>现金贷</td>\n"
        '            <td>M1-3</td>\n            <td class="text-end num">26</td>\n'
        '            <td class="text-end num">1,063.50</td>\n            <td>alice</td>\n'
        '            <td><span class="badge text-bg-primary">跟进中</span></td>\n            <td>2026-03-16</td>'
    ) in html
    # Without a state the row says so instead of showing zeros.
    assert (
        '<td class="text-end num">—</td>\n            <td class="text-end num">—</td>\n'
        '            <td><span class="text-body-secondary">未分配</span></td>'
    ) in html
    assert "逾期天数按业务日期 2026-04-10 计算" in html


def _dpd_book(book: Book) -> dict[int, str]:
    """Cases 0, 1, 29, 30 and 31 days past due (plus one with no state yet)."""
    _done_run()
    _state(book.case_alice.account, dpd=None, bucket="M0", group="M0")
    _state(book.case_bob.account, dpd=1, bucket="M1-1")
    _state(book.case_agency.account, dpd=29, bucket="M1-3")
    names = {0: "A-ALICE", 1: "A-BOB", 29: "A-AGENCY"}
    for dpd, bucket, group in [(30, "M2", "M2"), (31, "M2", "M2")]:
        case = CaseFactory(
            account=AccountFactory(account_no=f"D-{dpd}"), bucket_code=bucket, bucket_group=group
        )
        _state(case.account, dpd=dpd, bucket=bucket, group=group)
        names[dpd] = f"D-{dpd}"
    return names


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"dpd_min": "30"}, ["D-31", "D-30"]),
        ({"dpd_min": "1", "dpd_max": "29"}, ["A-AGENCY", "A-BOB"]),
        ({"dpd_min": "29", "dpd_max": "30"}, ["D-30", "A-AGENCY"]),
        ({"dpd_max": "1"}, ["A-BOB", "A-ALICE"]),
        ({"dpd_min": "0", "dpd_max": "0"}, ["A-ALICE"]),
        ({"dpd_min": "31", "dpd_max": "31"}, ["D-31"]),
        ({"dpd_min": "32"}, []),
    ],
)
def test_dpd_range_includes_both_boundaries(client, book: Book, params, expected):
    _dpd_book(book)
    client.force_login(book.sam)

    response = client.get("/cases/", params)

    assert _listed(response) == expected


def test_dpd_filter_before_the_first_run_matches_nothing(client, book: Book):
    client.force_login(book.sam)

    response = client.get("/cases/", {"dpd_min": "0"})

    assert _listed(response) == []
    assert "没有符合条件的案件" in _text(response)


def test_bucket_filter_matches_a_group_or_a_code(client, book: Book):
    for case, code, group in [
        (book.case_alice, "M1-1", "M1"),
        (book.case_bob, "M1-3", "M1"),
        (book.case_agency, "M2", "M2"),
    ]:
        case.bucket_code, case.bucket_group = code, group
        case.save()
    client.force_login(book.sam)

    by_group = client.get("/cases/", {"bucket": "M1"})
    by_code = client.get("/cases/", {"bucket": "M1-3"})

    assert _listed(by_group) == ["A-BOB", "A-ALICE"]
    assert _listed(by_code) == ["A-BOB"]
    assert '<option value="M1" selected>M1</option>' in _text(by_group)
    assert '<option value="M1-3">　M1-3</option>' in _text(by_group)


def test_assignee_filter_by_collector_and_unassigned(client, book: Book):
    client.force_login(book.sam)

    unassigned = client.get("/cases/", {"assignee": "unassigned"})
    bobs = client.get("/cases/", {"assignee": str(book.bob.pk)})

    # The agency's case has no collector either: it is the agency's to work.
    assert _listed(unassigned) == ["A-NOBODY", "A-AGENCY"]
    assert _listed(bobs) == ["A-BOB"]
    html = _text(bobs)
    assert f'<option value="{book.bob.pk}" selected>bob</option>' in html
    assert f'<option value="{book.alice.pk}">alice</option>' in html


def test_team_leader_can_pick_only_her_team_collectors(client, book: Book):
    client.force_login(book.tina)

    response = client.get("/cases/", {"assignee": str(book.bob.pk)})

    assert f'<option value="{book.alice.pk}">alice</option>' in _text(response)
    assert "选择一个有效的选项" in _text(response)
    assert response.context["page"] is None


def test_status_creditor_and_product_filters(client, book: Book):
    other = ProductFactory(
        creditor=CreditorFactory(code="OTHER", name="另一银行"), code="CARD", name="信用卡"
    )
    CaseFactory(account=AccountFactory(account_no="A-OTHER", product=other), status=CaseStatus.CLOSED)
    client.force_login(book.sam)

    closed = client.get("/cases/", {"status": "closed"})
    by_creditor = client.get("/cases/", {"creditor": other.creditor_id})
    by_product = client.get("/cases/", {"product": book.case_alice.account.product_id})

    assert _listed(closed) == ["A-OTHER"]
    assert _listed(by_creditor) == ["A-OTHER"]
    assert _listed(by_product) == ["A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dpd_min": "-1"}, "<li>逾期天数从：确保该值大于或等于0。</li>"),
        ({"dpd_min": "10", "dpd_max": "5"}, "<li>逾期天数的下限不能大于上限</li>"),
        ({"bucket": "M9"}, "<li>账龄：选择一个有效的选项。 M9 不在可用的选项中。</li>"),
        ({"status": "lost"}, "<li>案件状态：选择一个有效的选项。 lost 不在可用的选项中。</li>"),
    ],
)
def test_bad_filters_show_an_error_and_no_rows(client, book: Book, params, message):
    client.force_login(book.sam)

    response = client.get("/cases/", params)

    html = _text(response)
    assert "筛选条件有误，请修改后重新查询" in html
    assert message in html
    assert response.context["page"] is None


def test_keyset_pagination_keeps_the_filters(client, book: Book):
    extra = [
        CaseFactory(account=AccountFactory(account_no=f"P-{n:02d}"), bucket_group="M2") for n in range(51)
    ]
    client.force_login(book.sam)

    first = client.get("/cases/", {"bucket": "M2"})

    before = first.context["page"].next_before_id
    assert before == extra[1].pk
    assert f'href="/cases/?bucket=M2&amp;before={before}"' in _text(first)
    second = client.get("/cases/", {"bucket": "M2", "before": before})
    assert _listed(second) == ["P-00"]
    assert second.context["page"].next_before_id is None


def test_htmx_request_gets_only_the_results(client, book: Book):
    client.force_login(book.sam)

    response = client.get("/cases/", {"status": "new"}, headers={"HX-Request": "true"})

    assert _text(response).lstrip().startswith('<div id="case-results">')
    assert "HX-Request" in response["Vary"]


def test_case_list_query_count_is_pinned(client, book: Book, django_assert_num_queries):
    _done_run()
    for n in range(30):
        case = CaseFactory(account=AccountFactory(account_no=f"Q-{n:02d}"), assigned_collector=book.alice)
        _state(case.account, dpd=n)
    client.force_login(book.sam)

    # session, user, business date, bucket choices, assignee choices, creditor and product
    # options, the page of cases (with accounts, customers, assignees and states joined).
    # + the session's second-factor check (its first request) and the session save (idle timeout: savepoint, update, release).
    with django_assert_num_queries(12):
        response = client.get("/cases/", {"dpd_min": "1"})

    assert len(response.context["page"].lines) == 29


# --- case page -------------------------------------------------------------------------------


def test_case_page_shows_account_delinquency_assignee_contacts_and_events(client, book: Book):
    _done_run()
    case = book.case_alice
    case.bucket_code, case.bucket_group, case.opened_on = "M1-3", "M1", dt.date(2026, 3, 16)
    case.save()
    _state(case.account, dpd=26, bucket="M1-3", overdue=106_350)
    ContactPointFactory(customer=case.customer, kind="mobile", owner_role="self", value="13812345678")
    ContactPointFactory(
        customer=case.customer,
        kind="mobile",
        owner_role="spouse",
        owner_name="李四",
        value="13900001111",
        do_not_contact=True,
        do_not_contact_reason="本人要求",
        do_not_contact_since=dt.date(2026, 3, 1),
    )
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.OPENED,
        business_date=dt.date(2026, 3, 16),
        to_value="M1-1",
        data={"dpd": 1, "overdue_fen": 50_000},
    )
    CaseEvent.objects.create(
        case=case, kind=CaseEventKind.ASSIGNED, business_date=dt.date(2026, 3, 16), to_value="alice"
    )
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.ESCALATED,
        business_date=dt.date(2026, 4, 5),
        from_value="M1-2",
        to_value="M1-3",
        data={"dpd": 21, "overdue_fen": 106_350},
        actor=book.sam,
    )
    client.force_login(book.alice)

    response = client.get(f"/cases/{case.pk}/")

    html = _text(response)
    assert f'<h1 class="h4 mb-0" data-testid="case-title">案件 #{case.pk}</h1>' in html
    assert f'<a href="/accounts/{case.account_id}/">A-ALICE</a>' in html
    assert '<dd class="col-sm-3" data-testid="case-bucket">M1-3</dd>' in html
    assert '<dd class="col-7" data-testid="assignee">alice</dd>' in html
    assert '<dd class="col-7" data-testid="team">东区</dd>' in html
    assert '<dd class="col-7" data-testid="agency">—</dd>' in html
    assert '<dd class="col-sm-3 num fw-semibold" data-testid="dpd">26</dd>' in html
    assert '<dd class="col-sm-3 num fw-semibold" data-testid="overdue">1,063.50</dd>' in html
    # Contact points are masked as on the account page.
    assert '<td class="font-monospace">138****5678</td>' in html
    assert '<td class="font-monospace">139****1111</td>' in html
    assert "13812345678" not in html
    assert (
        '<span class="badge text-bg-danger">勿扰</span> <span class="small">本人要求（自 2026-03-01 起）</span>'
        in html
    )
    # Events newest first, with the batch or the person who acted.
    assert [e.kind for e in response.context["case"].events.all()] == ["escalated", "assigned", "opened"]
    assert "<td>账龄上升</td>\n          <td>M1-2 → M1-3</td>" in html
    assert "逾期 21 天" in html
    assert "逾期金额 1,063.50 元" in html
    assert "<td>sam</td>" in html
    assert "<td>日终批处理</td>" in html
    assert html.index("账龄上升") < html.index("<td>分案</td>") < html.index("<td>开案</td>")


def test_a_closed_case_shows_its_reason(client, book: Book):
    case = book.case_bob
    case.status, case.closed_on, case.close_reason = CaseStatus.CLOSED, dt.date(2026, 4, 9), CloseReason.PAID
    case.save()
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.CLOSED,
        business_date=dt.date(2026, 4, 9),
        from_value="M2",
        to_value="paid",
    )
    client.force_login(book.bob)

    html = _text(client.get(f"/cases/{case.pk}/"))

    assert '<span class="badge text-bg-secondary">已结案</span>' in html
    assert '<dd class="col-sm-3" data-testid="case-closed">2026-04-09 已还清</dd>' in html
    assert "<td>M2 → 已还清</td>" in html
    assert "尚未运行日终批处理" in html


def test_case_page_query_count_is_pinned(client, book: Book, django_assert_num_queries):
    _done_run()
    case = book.case_alice
    _state(case.account, dpd=3)
    for n in range(5):
        ContactPointFactory(customer=case.customer, value=f"1380000000{n}")
        CaseEvent.objects.create(case=case, kind=CaseEventKind.ASSIGNED, to_value="alice", actor=book.sam)
    client.force_login(book.alice)

    # session, user, the second-factor check (first request), case (with account, customer,
    # assignee), contact points, events, state; the workspace: contact points for the live
    # status, the guard's reads (one round trip of seven statements, shared by every point),
    # activities, open promises, open tasks, holds, recent decisions; the forms' choices
    # (contact points, action codes); the session save (savepoint, update, release).
    with django_assert_num_queries(19):
        client.get(f"/cases/{case.pk}/")

    # More contact points and more history cost no more queries (the second request skips
    # only the session's second-factor check).
    for n in range(5, 10):
        ContactPointFactory(customer=case.customer, value=f"1380000000{n}")
        CaseEvent.objects.create(case=case, kind=CaseEventKind.ASSIGNED, to_value="alice", actor=book.sam)
    with django_assert_num_queries(18):
        client.get(f"/cases/{case.pk}/")


def test_case_pages_in_english(client, book: Book):
    client.force_login(book.sam)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    listing = _text(client.get("/cases/"))
    page = _text(client.get(f"/cases/{book.case_alice.pk}/"))

    assert '<h1 class="h4 mb-0">Cases</h1>' in listing
    assert '<th scope="col" class="text-end">Days past due</th>' in listing
    assert '<option value="unassigned">Unassigned</option>' in listing
    assert '<span class="badge text-bg-info">New</span>' in listing
    assert f'<h1 class="h4 mb-0" data-testid="case-title">Case #{book.case_alice.pk}</h1>' in page
    assert '<div class="card-header fw-semibold" id="events-title">Case history</div>' in page
