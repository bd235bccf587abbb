"""The portfolio pages: account list and page, imports, error reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from arrears.conftest import Book
from arrears.portfolio.models import (
    AccountChange,
    ImportBatch,
    ImportRowError,
    ImportStatus,
)
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CreditorFactory,
    InstalmentFactory,
    PaymentFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reset_language():
    """Requests activate their language in this thread and nothing resets it: switch back to the
    default after each test, so a test that viewed pages in English cannot leak into the next."""
    yield
    translation.deactivate()


def _text(response) -> str:
    return response.content.decode()


def _listed_account_nos(response) -> list[str]:
    return [account.account_no for account in response.context["page"].accounts]


# --- account list -------------------------------------------------------------------------


def test_account_list_requires_login(client, book: Book):
    response = client.get("/accounts/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/accounts/"


def test_collector_sees_only_her_own_accounts(client, book: Book):
    client.force_login(book.alice)

    response = client.get("/accounts/")

    assert response.status_code == 200
    assert _listed_account_nos(response) == ["A-ALICE"]
    html = _text(response)
    assert "A-ALICE" in html
    assert "A-BOB" not in html
    assert "A-NOBODY" not in html


def test_supervisor_sees_every_account_newest_first_with_columns(client, book: Book):
    client.force_login(book.sam)

    response = client.get("/accounts/")

    assert _listed_account_nos(response) == ["A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]
    html = _text(response)
    account = book.case_alice.account
    assert f'<a class="fw-semibold" href="/accounts/{account.pk}/">A-ALICE</a>' in html
    assert "<td>张三</td>" in html
    assert "<td>示范银行</td>" in html
    assert "<td>现金贷</td>" in html
    assert '<td class="text-end num">12,000.00</td>' in html
    assert '<span class="badge text-bg-primary">正常</span>' in html
    assert "本页 4 个账户" in html
    assert "下一页" not in html


def test_account_list_filters_by_account_no_and_status(client, book: Book):
    client.force_login(book.sam)

    by_number = client.get("/accounts/", {"account_no": " A-BOB "})
    by_status = client.get("/accounts/", {"status": "closed"})

    assert _listed_account_nos(by_number) == ["A-BOB"]
    assert _listed_account_nos(by_status) == []
    assert "没有符合条件的账户" in _text(by_status)


def test_account_list_filters_by_creditor_and_product(client, book: Book):
    other_product = ProductFactory(
        creditor=CreditorFactory(code="OTHER", name="另一银行"), code="CARD", name="信用卡"
    )
    CaseFactory(account=AccountFactory(account_no="A-OTHER", product=other_product))
    client.force_login(book.sam)

    by_creditor = client.get("/accounts/", {"creditor": other_product.creditor_id})
    by_product = client.get("/accounts/", {"product": book.case_bob.account.product_id})

    assert _listed_account_nos(by_creditor) == ["A-OTHER"]
    assert _listed_account_nos(by_product) == ["A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"product": "abc"}, "<li>产品：选择一个有效的选项： 该选择不在可用的选项中。</li>"),
        ({"creditor": "999999999"}, "<li>委托方：选择一个有效的选项： 该选择不在可用的选项中。</li>"),
        ({"status": "lost"}, "<li>状态：选择一个有效的选项。 lost 不在可用的选项中。</li>"),
        ({"before": "-1"}, "<li>翻页位置：确保该值大于或等于1。</li>"),
    ],
)
def test_bad_filter_value_shows_form_error_and_no_rows(client, book: Book, params, message):
    client.force_login(book.sam)

    response = client.get("/accounts/", params)

    assert response.status_code == 200
    html = _text(response)
    assert "筛选条件有误，请修改后重新查询" in html
    assert message in html
    assert response.context["page"] is None
    assert "A-ALICE" not in html


def test_keyset_pagination_walks_to_the_next_page(client, book: Book):
    extra = [CaseFactory(account=AccountFactory(account_no=f"P-{n:02d}")).account for n in range(60)]
    client.force_login(book.sam)

    first = client.get("/accounts/")

    newest_first = [a.account_no for a in reversed(extra)]
    assert _listed_account_nos(first) == newest_first[:50]
    last_on_first_page = extra[10]
    assert first.context["page"].next_before_id == last_on_first_page.pk
    next_href = f"/accounts/?before={last_on_first_page.pk}"
    assert f'href="{next_href}"' in _text(first)

    second = client.get(next_href)

    assert _listed_account_nos(second) == [*newest_first[50:], "A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]
    assert second.context["page"].next_before_id is None
    html = _text(second)
    assert "下一页" not in html
    assert "第一页" in html


def test_next_page_link_keeps_the_filters(client, book: Book):
    for n in range(51):
        CaseFactory(account=AccountFactory(account_no=f"P-{n:02d}"))
    client.force_login(book.sam)

    response = client.get("/accounts/", {"status": "active"})

    before = response.context["page"].next_before_id
    assert f'href="/accounts/?status=active&amp;before={before}"' in _text(response)


def test_htmx_request_gets_only_the_results_partial(client, book: Book):
    client.force_login(book.sam)

    response = client.get("/accounts/", {"account_no": "A-BOB"}, headers={"HX-Request": "true"})

    html = _text(response)
    assert html.lstrip().startswith('<div id="account-results">')
    assert "<html" not in html
    assert "A-BOB" in html
    assert "HX-Request" in response["Vary"]


def test_account_list_query_count_is_pinned(client, book: Book, django_assert_max_num_queries):
    for n in range(30):
        CaseFactory(account=AccountFactory(account_no=f"Q-{n:02d}"))
    client.force_login(book.sam)
    product_id = book.case_alice.account.product_id

    # session, user, creditor + product validation, creditor + product options, the page itself.
    # + the session's second-factor check (its first request) and the session save (idle timeout: savepoint, update, release).
    with django_assert_max_num_queries(11):
        response = client.get(
            "/accounts/", {"product": product_id, "creditor": book.case_alice.account.creditor_id}
        )

    assert len(response.context["page"].accounts) == 34


def test_collector_list_query_count_does_not_grow_with_rows(
    client, book: Book, django_assert_max_num_queries
):
    for n in range(30):
        CaseFactory(account=AccountFactory(account_no=f"Q-{n:02d}"), assigned_collector=book.alice)
    client.force_login(book.alice)

    # + the session's second-factor check (its first request) and the session save (idle timeout: savepoint, update, release).
    with django_assert_max_num_queries(9):
        response = client.get("/accounts/")

    assert len(response.context["page"].accounts) == 31


# --- account page --------------------------------------------------------------------------


def test_collector_opens_her_account(client, book: Book):
    account = book.case_alice.account
    client.force_login(book.alice)

    response = client.get(f"/accounts/{account.pk}/")

    assert response.status_code == 200
    html = _text(response)
    assert '<h1 class="h4 mb-0" data-testid="account-no">A-ALICE</h1>' in html
    assert '<span class="text-body-secondary" data-testid="customer-name">张三</span>' in html


@pytest.mark.parametrize("whose", ["bob", "nonexistent"])
def test_out_of_scope_and_missing_accounts_are_both_404(client, book: Book, whose):
    account_id = book.case_bob.account_id if whose == "bob" else 987654321
    client.force_login(book.alice)

    response = client.get(f"/accounts/{account_id}/")

    assert response.status_code == 404
    assert "A-BOB" not in _text(response)
    assert "页面不存在" in _text(response)


def test_account_page_shows_every_section_with_masked_identifiers(client, book: Book):
    account = book.case_alice.account
    account.schedule_source = "file"  # the instalments below came from a schedule file
    account.save()
    customer = account.customer
    customer.employer = "某某科技有限公司"
    customer.save()
    ContactPointFactory(customer=customer, kind="mobile", owner_role="self", value="13812345678")
    ContactPointFactory(
        customer=customer,
        kind="mobile",
        owner_role="spouse",
        owner_name="李四",
        value="13900001111",
        is_valid=False,
        do_not_contact=True,
        do_not_contact_reason="本人要求",
        do_not_contact_since=dt.date(2026, 3, 1),
    )
    InstalmentFactory(
        account=account,
        seq=1,
        due_date=dt.date(2026, 2, 15),
        principal_due_fen=100_000,
        interest_due_fen=5_050,
        fee_due_fen=1_000,
        premium_due_fen=300,
    )
    original = PaymentFactory(
        account=account,
        txn_id="TXN-1",
        amount_fen=50_000,
        channel="银行转账",
        paid_at=dt.datetime(2026, 2, 15, 17, 30, tzinfo=dt.UTC),
    )
    PaymentFactory(
        account=account,
        txn_id="TXN-1R",
        amount_fen=-50_000,
        reversal_of=original,
        paid_at=dt.datetime(2026, 2, 16, 2, 0, tzinfo=dt.UTC),
    )
    batch = ImportBatch.objects.create(
        creditor=account.creditor, kind="accounts", filename="accounts-0301.csv"
    )
    AccountChange.objects.create(
        account=account, batch=batch, kind="updated", changes={"principal_fen": [1_000_000, 1_200_000]}
    )
    client.force_login(book.alice)

    html = _text(client.get(f"/accounts/{account.pk}/"))

    # Customer: the ID number is masked, never shown whole.
    assert '<dd class="col-7 font-monospace" data-testid="customer-id-number">110105********1237</dd>' in html
    assert "110105198803141237" not in html
    assert '<dd class="col-7">某某科技有限公司</dd>' in html
    # Contact points: masked numbers, validity, do-not-contact with its reason.
    assert '<td class="font-monospace">138****5678</td>' in html
    assert '<td class="font-monospace">139****1111</td>' in html
    assert "13812345678" not in html
    assert "<td>李四</td>" in html
    assert "<td>配偶</td>" in html
    assert '<span class="badge text-bg-secondary">无效</span>' in html
    assert '<span class="small">本人要求（自 2026-03-01 起）</span>' in html
    # Schedule with its totals.
    assert "<td>2026-02-15</td>" in html
    assert '<td class="text-end num">50.50</td>' in html
    assert '<td class="text-end num fw-semibold">1,063.50</td>' in html
    # Payments: times in Asia/Shanghai (UTC+8); a reversal is negative and names its original.
    assert '<td class="text-nowrap">2026-02-16 01:30</td>' in html
    assert '<td class="text-nowrap">2026-02-16 10:00</td>' in html
    assert '<td class="text-end num text-danger">-500.00</td>' in html
    assert "<td>银行转账</td>" in html
    assert '<td class="font-monospace">TXN-1</td>' in html
    # Import history: batch, kind, old → new in yuan.
    assert "accounts-0301.csv" in html
    assert "<td>更新</td>" in html
    assert '10,000.00</span> → <span class="fw-semibold">12,000.00</span>' in html


def test_account_page_query_count_is_pinned(client, book: Book, django_assert_max_num_queries):
    account = book.case_alice.account
    for n in range(5):
        ContactPointFactory(customer=account.customer, value=f"1380000000{n}")
        InstalmentFactory(account=account, seq=n + 1)
        PaymentFactory(account=account)
    client.force_login(book.sam)

    # session, user, account, contact points, instalments, payments, changes,
    # delinquency state with the business date, business date alone (no state yet), bucket history.
    # + the session's second-factor check (its first request) and the session save (idle timeout: savepoint, update, release).
    with django_assert_max_num_queries(14):
        response = client.get(f"/accounts/{account.pk}/")

    assert response.status_code == 200


# --- imports ---------------------------------------------------------------------------------


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.parametrize("persona", ["alice", "tina", "agnes"])
def test_non_importers_get_403_on_the_import_page(client, book: Book, persona):
    client.force_login(getattr(book, persona))

    response = client.get("/imports/")

    assert response.status_code == 403
    assert '<h1 class="h5">无权访问</h1>' in _text(response)


def test_collector_cannot_upload_and_nothing_is_stored(client, book: Book, media_root: Path):
    client.force_login(book.alice)
    creditor = book.case_alice.account.creditor

    response = client.post(
        "/imports/",
        {"creditor": creditor.pk, "kind": "accounts", "file": SimpleUploadedFile("a.csv", b"x,y\n1,2\n")},
    )

    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0
    assert not (media_root / "imports").exists()


def test_supervisor_sees_the_upload_form_and_recent_batches(client, book: Book):
    creditor = book.case_alice.account.creditor
    batch = ImportBatch.objects.create(
        creditor=creditor,
        kind="payments",
        filename="pay-0301.csv",
        status=ImportStatus.DONE,
        rows_read=10,
        rows_loaded=8,
        rows_rejected=2,
        created_by=book.sam,
    )
    client.force_login(book.sam)

    response = client.get("/imports/")

    assert response.status_code == 200
    html = _text(response)
    assert f'<option value="{creditor.pk}">DEMOBANK 示范银行</option>' in html
    assert '<option value="schedule">还款计划</option>' in html
    assert 'accept=".csv,.xlsx"' in html
    assert f'<a href="/imports/{batch.pk}/">#{batch.pk}</a>' in html
    assert "pay-0301.csv" in html
    assert '<span class="badge text-bg-success">完成</span>' in html
    assert '<td class="text-end num text-danger">2</td>' in html


def test_upload_stores_a_pending_batch_and_redirects_to_it(client, book: Book, media_root: Path):
    creditor = book.case_alice.account.creditor
    client.force_login(book.sam)
    content = "账号,本金\nACC1,100\n".encode()

    response = client.post(
        "/imports/",
        {"creditor": creditor.pk, "kind": "accounts", "file": SimpleUploadedFile("账户.csv", content)},
    )

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{batch.pk}/"
    assert (batch.creditor_id, batch.kind, batch.filename, batch.status) == (
        creditor.pk,
        "accounts",
        "账户.csv",
        "pending",
    )
    assert batch.created_by == book.sam
    assert batch.size_bytes == len(content)
    assert Path(batch.stored_path).read_bytes() == content
    assert Path(batch.stored_path).parent == media_root / "imports"


def test_upload_with_wrong_suffix_is_refused_and_nothing_is_stored(client, book: Book, media_root: Path):
    client.force_login(book.sam)

    response = client.post(
        "/imports/",
        {
            "creditor": book.case_alice.account.creditor_id,
            "kind": "accounts",
            "file": SimpleUploadedFile("accounts.pdf", b"%PDF"),
        },
    )

    assert response.status_code == 200
    assert "不支持的文件类型 .pdf，请上传 .csv 或 .xlsx 文件" in _text(response)
    assert ImportBatch.objects.count() == 0
    assert not (media_root / "imports").exists()


def _batch(book: Book, **fields) -> ImportBatch:
    defaults = {"creditor": book.case_alice.account.creditor, "kind": "accounts", "filename": "accounts.csv"}
    return ImportBatch.objects.create(**{**defaults, **fields})


def test_running_batch_page_polls_its_status_every_second(client, book: Book):
    batch = _batch(book, status=ImportStatus.RUNNING, rows_read=1234)
    client.force_login(book.sam)

    html = _text(client.get(f"/imports/{batch.pk}/"))

    assert f'hx-get="/imports/{batch.pk}/status/" hx-trigger="every 1s" hx-swap="outerHTML"' in html
    assert '<span class="badge text-bg-info" data-testid="import-status">导入中</span>' in html
    assert '<div class="stat-value-sm num">1,234</div>' in html
    assert 'data-testid="row-errors"' not in html


def test_status_partial_keeps_polling_while_pending(client, book: Book):
    batch = _batch(book, status=ImportStatus.PENDING)
    client.force_login(book.sam)

    response = client.get(f"/imports/{batch.pk}/status/", headers={"HX-Request": "true"})

    html = _text(response)
    assert html.lstrip().startswith('<section id="import-status"')
    assert 'hx-trigger="every 1s"' in html
    assert "HX-Refresh" not in response


def test_status_partial_stops_polling_and_reloads_once_done(client, book: Book):
    batch = _batch(book, status=ImportStatus.DONE, rows_read=3, rows_loaded=3, rows_inserted=3)
    client.force_login(book.sam)

    response = client.get(f"/imports/{batch.pk}/status/", headers={"HX-Request": "true"})

    assert "hx-trigger" not in _text(response)
    assert response["HX-Refresh"] == "true"


def test_done_batch_page_shows_counts_columns_and_row_errors(client, book: Book):
    batch = _batch(
        book,
        status=ImportStatus.DONE,
        file_format="csv",
        encoding="gb18030",
        rows_read=5,
        rows_loaded=3,
        rows_inserted=2,
        rows_updated=1,
        rows_unchanged=0,
        rows_rejected=2,
        ignored_columns=["备注", "客户经理"],
    )
    ImportRowError.objects.create(
        batch=batch,
        row_number=4,
        column="产品",
        value="NOPE",
        code="unknown_product",
        params={"value": "NOPE"},
    )
    ImportRowError.objects.create(batch=batch, row_number=2, column="本金", value="", code="required")
    client.force_login(book.sam)

    html = _text(client.get(f"/imports/{batch.pk}/"))

    assert "hx-trigger" not in html
    assert '<dd class="col-sm-9 col-xl-4" data-testid="batch-format">CSV / gb18030</dd>' in html
    assert '<span class="badge text-bg-light border me-1">备注</span>' in html
    assert '<span class="badge text-bg-light border me-1">客户经理</span>' in html
    for label, value in [
        ("读取行数", 5),
        ("导入行数", 3),
        ("新增", 2),
        ("更新", 1),
        ("未变化", 0),
        ("拒绝行数", 2),
    ]:
        assert f'<div class="stat-label">{label}</div><div class="stat-value-sm num">{value}</div>' in html
    # Ordered by row number, messages rendered in Chinese.
    assert html.index("此项为必填，请补充后重新导入") < html.index("产品 NOPE 不存在，请先在系统中添加该产品")
    assert f'href="/imports/{batch.pk}/errors.csv"' in html
    assert f'href="/imports/{batch.pk}/errors.xlsx"' in html


def test_failed_batch_shows_its_structural_error(client, book: Book):
    batch = _batch(
        book, status=ImportStatus.FAILED, error_code="unsupported_format", error_params={"suffix": ".pdf"}
    )
    client.force_login(book.sam)

    html = _text(client.get(f"/imports/{batch.pk}/"))

    assert '<span class="badge text-bg-danger" data-testid="import-status">失败</span>' in html
    assert "整个文件未导入" in html
    assert "不支持的文件类型 .pdf，请上传 .csv 或 .xlsx 文件" in html


def test_batch_page_shows_only_the_first_200_row_errors(client, book: Book):
    batch = _batch(book, status=ImportStatus.DONE, rows_read=250, rows_rejected=250)
    ImportRowError.objects.bulk_create(
        ImportRowError(batch=batch, row_number=n + 2, column="本金", value=str(n), code="required")
        for n in range(250)
    )
    client.force_login(book.sam)

    response = client.get(f"/imports/{batch.pk}/")

    assert len(response.context["row_errors"]) == 200
    assert response.context["row_errors"][-1]["row_number"] == 201
    assert "下表只显示前 200 条，完整列表请下载。" in _text(response)


@pytest.mark.parametrize("suffix", ["", "status/", "errors.csv", "errors.xlsx"])
def test_collector_gets_403_on_every_batch_url(client, book: Book, suffix):
    batch = _batch(book, status=ImportStatus.DONE)
    client.force_login(book.alice)

    assert client.get(f"/imports/{batch.pk}/{suffix}").status_code == 403


def test_missing_batch_is_404(client, book: Book):
    client.force_login(book.sam)

    assert client.get("/imports/987654321/").status_code == 404


def _errors_batch(book: Book) -> ImportBatch:
    batch = _batch(book, status=ImportStatus.DONE, rows_rejected=3)
    ImportRowError.objects.create(
        batch=batch,
        row_number=3,
        column="产品",
        value="NOPE",
        code="unknown_product",
        params={"value": "NOPE"},
    )
    ImportRowError.objects.create(batch=batch, row_number=2, column="本金", value="=1+1", code="required")
    ImportRowError.objects.create(batch=batch, row_number=5, column="金额", value="-100.00", code="required")
    return batch


def test_errors_csv_is_utf8_with_bom_and_lists_every_error(client, book: Book):
    batch = _errors_batch(book)
    client.force_login(book.sam)

    response = client.get(f"/imports/{batch.pk}/errors.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{batch.pk}-errors.csv"'
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [
        ["行号", "列", "值", "原因"],
        # A formula from the file is neutralised; a plain negative number is kept as it is.
        ["2", "本金", "'=1+1", "此项为必填，请补充后重新导入"],
        ["3", "产品", "NOPE", "产品 NOPE 不存在，请先在系统中添加该产品"],
        ["5", "金额", "-100.00", "此项为必填，请补充后重新导入"],
    ]


def test_errors_csv_follows_the_language(client, book: Book):
    batch = _errors_batch(book)
    client.force_login(book.sam)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    response = client.get(f"/imports/{batch.pk}/errors.csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Column", "Value", "Reason"]
    assert rows[2][3] == "Product NOPE does not exist; add the product to the system first"


def test_errors_xlsx_lists_every_error_as_text(client, book: Book):
    batch = _errors_batch(book)
    client.force_login(book.sam)

    response = client.get(f"/imports/{batch.pk}/errors.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"import-{batch.pk}-errors.xlsx" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    assert rows == [
        ["行号", "列", "值", "原因"],
        [2, "本金", "=1+1", "此项为必填，请补充后重新导入"],
        [3, "产品", "NOPE", "产品 NOPE 不存在，请先在系统中添加该产品"],
        [5, "金额", "-100.00", "此项为必填，请补充后重新导入"],
    ]
    assert workbook.active["C2"].data_type == "s"


def test_account_page_shows_the_generated_schedule_when_no_file_was_sent(client: Client, book: Book) -> None:
    client.force_login(book.alice)

    html = _text(client.get(f"/accounts/{book.case_alice.account_id}/"))

    # 12,000.00 over 12 months from 2026-02-15: 1,000.00 each, derived rather than stored.
    assert "<td>2026-02-15</td>" in html
    assert "<td>2027-01-15</td>" in html
    assert html.count('<td class="text-end num">12,000.00</td>') == 2  # footer: principal and total
