"""The creditor-file import through the service, on a real PostgreSQL (issue #2 §4, "Bad input")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from arrears.portfolio.importing import loader
from arrears.portfolio.importing.messages import render_message
from arrears.portfolio.models import (
    Account,
    AccountChange,
    ContactPoint,
    Customer,
    ImportBatch,
    ImportRowError,
    Instalment,
    Payment,
)
from arrears.portfolio.services import creditor_add, import_file, product_add

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "formats" / "samples"

HEADER = (
    "委托方,账号,产品,客户号,姓名,身份证号,手机,家庭电话,单位电话,邮箱,家庭地址,单位名称,本金,放款日,期数,"
    "首期还款日,联系人1姓名,联系人1关系,联系人1电话,联系人2姓名,联系人2关系,联系人2电话"
)
ROW_ZHANG = (
    "DEMOBANK,DB2026000001,CASHLOAN,C1001,张三,110105198803141237,18260181590,010-62345678,,"
    "zhangsan@example.com,北京市海淀区中关村大街1号,北京某科技有限公司,30000.00,2026-01-15,12,2026-02-15,"
    "李四,配偶,15016613186,王五,同事,13913909960"
)
ROW_CHEN = (
    "DEMOBANK,DB2026000002,CASHLOAN,C1002,陈晓梅,440304199208072340,15082462819,,0755-86001234,,"
    "深圳市南山区科技园,,8000.00,2026-03-01,6,2026-04-01,陈建华,父母,18821993518,刘芳,朋友,13909378657"
)


@pytest.fixture
def creditor(db: None) -> None:
    creditor_add(code="DEMOBANK", name="示范银行")
    product_add(code="CASHLOAN", creditor_code="DEMOBANK", name="现金贷")
    product_add(code="CARD", creditor_code="DEMOBANK", name="信用卡", kind="card")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path: Path, kind: str = "accounts") -> ImportBatch:
    return import_file(creditor_code="DEMOBANK", kind=kind, path=path)


def errors_of(batch: ImportBatch) -> list[tuple[int, str, str, str]]:
    return [
        (e.row_number, e.column, e.value, e.code)
        for e in ImportRowError.objects.filter(batch=batch).order_by("row_number", "id")
    ]


def assert_nothing_loaded() -> None:
    assert Account.objects.count() == 0
    assert Customer.objects.count() == 0
    assert ContactPoint.objects.count() == 0
    assert AccountChange.objects.count() == 0


# --- the happy path -----------------------------------------------------------------------------


def test_sample_accounts_file_loads_every_row_with_its_contacts(creditor: None) -> None:
    batch = run(SAMPLES / "accounts-sample.csv")

    assert (batch.status, batch.encoding, batch.file_format) == ("done", "UTF-8", "csv")
    assert (batch.rows_read, batch.rows_loaded, batch.rows_inserted, batch.rows_rejected) == (3, 3, 3, 0)
    account = Account.objects.get(account_no="DB2026000001")
    assert account.principal_fen == 3_000_000
    assert account.term == 12
    assert account.first_due_date == dt.date(2026, 2, 15)
    assert account.total_due_fen == 3_000_000
    assert account.customer.name == "张三"
    assert account.customer.id_number == "110105198803141237"
    contacts = set(account.customer.contact_points.values_list("kind", "owner_role", "owner_name", "value"))
    assert contacts == {
        ("mobile", "self", "张三", "18260181590"),
        ("home", "self", "张三", "010-62345678"),
        ("email", "self", "张三", "zhangsan@example.com"),
        ("address", "self", "张三", "北京市海淀区中关村大街1号"),
        ("mobile", "spouse", "李四", "15016613186"),
        ("mobile", "colleague", "王五", "13913909960"),
    }
    assert list(AccountChange.objects.filter(account=account).values_list("kind", flat=True)) == ["created"]


def test_the_same_file_twice_changes_nothing(creditor: None) -> None:
    run(SAMPLES / "accounts-sample.csv")
    before = (
        list(Account.objects.order_by("id").values()),
        list(ContactPoint.objects.order_by("id").values()),
        AccountChange.objects.count(),
    )

    again = run(SAMPLES / "accounts-sample.csv")

    assert (again.rows_loaded, again.rows_inserted, again.rows_updated, again.rows_unchanged) == (3, 0, 0, 3)
    after = (
        list(Account.objects.order_by("id").values()),
        list(ContactPoint.objects.order_by("id").values()),
        AccountChange.objects.count(),
    )
    assert after == before


def test_a_changed_row_updates_the_account_and_records_old_and_new(creditor: None, tmp_path: Path) -> None:
    run(write(tmp_path, "a.csv", f"{HEADER}\n{ROW_ZHANG}\n{ROW_CHEN}\n"))
    changed = ROW_ZHANG.replace("30000.00,2026-01-15,12", "36000.00,2026-01-15,24")

    batch = run(write(tmp_path, "b.csv", f"{HEADER}\n{changed}\n{ROW_CHEN}\n"))

    assert (batch.rows_inserted, batch.rows_updated, batch.rows_unchanged) == (0, 1, 1)
    account = Account.objects.get(account_no="DB2026000001")
    assert (account.principal_fen, account.term) == (3_600_000, 24)
    change = AccountChange.objects.get(account=account, kind="updated")
    assert change.batch_id == batch.pk
    assert change.changes == {"principal_fen": [3_000_000, 3_600_000], "term": [12, 24]}


def test_gbk_file_with_english_headers_and_full_width_values(creditor: None, tmp_path: Path) -> None:
    header = (
        "Creditor,Account No,Product,Customer ID,Name,ID Number,Mobile,Principal,Open Date,Term,First Due Date,"
        "contact1_name,contact1_relation,contact1_phone,contact2_name,contact2_relation,contact2_phone"
    )
    row = (
        "ＤＥＭＯＢＡＮＫ,ＤＢ００１,cashloan,Ｃ１,欧阳明,310115197501223451,１９５４ ３２３１ ９４８,"
        '"１，２３４．５０",2026/1/5,１２,20260205,欧阳丽,兄弟姐妹,19574911862,赵刚,亲属,+86 182-7601-8955'
    )

    batch = run(write(tmp_path, "gbk.csv", f"{header}\r\n{row}\r\n", encoding="gbk"))

    assert (batch.status, batch.encoding, batch.rows_loaded, batch.rows_rejected) == ("done", "GB18030", 1, 0)
    account = Account.objects.get(account_no="DB001")
    assert (account.principal_fen, account.open_date, account.term) == (123_450, dt.date(2026, 1, 5), 12)
    assert account.customer.name == "欧阳明"
    assert set(account.customer.contact_points.values_list("value", flat=True)) == {
        "19543231948",
        "19574911862",
        "18276018955",
    }


def test_utf8_bom_file_is_read_as_utf8(creditor: None, tmp_path: Path) -> None:
    batch = run(write(tmp_path, "bom.csv", f"\ufeff{HEADER}\n{ROW_ZHANG}\n"))

    assert (batch.status, batch.encoding, batch.rows_loaded) == ("done", "UTF-8-BOM", 1)


def test_xlsx_with_date_cells_and_a_formula_error(creditor: None, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    good = ROW_ZHANG.split(",")
    good[12], good[13], good[14], good[15] = 30000.5, dt.datetime(2026, 1, 15), 12, dt.datetime(2026, 2, 15)
    sheet.append(good)
    bad = ROW_CHEN.split(",")
    bad[12] = "#DIV/0!"
    sheet.append(bad)
    path = tmp_path / "book.xlsx"
    workbook.save(path)

    batch = run(path)

    assert (batch.status, batch.file_format, batch.rows_loaded, batch.rows_rejected) == ("done", "xlsx", 1, 1)
    assert Account.objects.get().principal_fen == 3_000_050
    assert errors_of(batch) == [(3, "本金", "#DIV/0!", "formula_error")]


# --- bad input: structural problems load nothing ------------------------------------------------


def test_zero_byte_file_is_refused(creditor: None, tmp_path: Path) -> None:
    batch = run(write(tmp_path, "empty.csv", ""))

    assert (batch.status, batch.error_code) == ("failed", "empty_file")
    assert "0 字节" in render_message(batch.error_code, batch.error_params)
    assert_nothing_loaded()


def test_undecodable_file_is_refused_not_guessed(creditor: None, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(f"{HEADER}\n{ROW_ZHANG}\n".encode("utf-16"))

    batch = run(path)

    assert (batch.status, batch.error_code) == ("failed", "undecodable")
    assert_nothing_loaded()


def test_utf8_file_with_gbk_bytes_late_in_the_file_loads_nothing(creditor: None, tmp_path: Path) -> None:
    good = f"{HEADER}\n{ROW_ZHANG}\n".encode()
    path = tmp_path / "mixed.csv"
    gbk_row = ROW_CHEN.replace("陈晓梅", "").encode() + "陈晓梅".encode("gbk") + b"\n"
    path.write_bytes(good + gbk_row)

    batch = run(path)

    # The file showed UTF-8 Chinese first, so the GBK bytes are damage, not a reason to re-read it as GBK.
    assert (batch.status, batch.error_code, batch.error_params) == (
        "failed",
        "bad_encoding_at",
        {"row": 3, "encoding": "UTF-8"},
    )
    assert_nothing_loaded()


def test_missing_required_column_loads_nothing_and_names_it(creditor: None, tmp_path: Path) -> None:
    header = HEADER.replace("身份证号,", "")
    row = ROW_ZHANG.replace("110105198803141237,", "")

    batch = run(write(tmp_path, "noid.csv", f"{header}\n{row}\n"))

    assert (batch.status, batch.error_code) == ("failed", "missing_columns")
    assert "身份证号" in render_message(batch.error_code, batch.error_params)
    assert_nothing_loaded()


def test_csv_with_a_nul_byte_loads_nothing(creditor: None, tmp_path: Path) -> None:
    batch = run(write(tmp_path, "nul.csv", f"{HEADER}\n{ROW_ZHANG}\n{ROW_CHEN[:20]}\x00{ROW_CHEN[20:]}\n"))

    assert (batch.status, batch.error_code, batch.error_params) == ("failed", "nul_byte", {"row": 3})
    assert_nothing_loaded()


def test_header_only_file_loads_nothing(creditor: None, tmp_path: Path) -> None:
    batch = run(write(tmp_path, "header.csv", f"{HEADER}\n"))

    assert (batch.status, batch.error_code) == ("failed", "no_rows")


def test_a_failure_inside_the_load_leaves_no_half_written_state(
    creditor: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = loader._save_errors

    def explode(*args: object, **kwargs: object) -> int:
        original(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_save_errors", explode)

    with pytest.raises(RuntimeError):
        run(write(tmp_path, "a.csv", f"{HEADER}\n{ROW_ZHANG}\n{ROW_CHEN}\n"))

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.error_code) == ("failed", "internal_error")
    assert ImportRowError.objects.count() == 0
    assert_nothing_loaded()


# --- bad input: row problems reject only their row -------------------------------------------------


def test_each_bad_row_is_reported_and_the_good_rows_load(creditor: None, tmp_path: Path) -> None:
    rows = [
        ROW_ZHANG,
        ROW_CHEN.replace("440304199208072340", "440304199208072341"),  # row 3: check digit
        ROW_CHEN.replace("DB2026000002", "DB3").replace("8000.00", '"1,2,3"'),  # row 4: amount
        ROW_CHEN.replace("DB2026000002", "DB4").replace("2026-03-01", "2026-02-30"),  # row 5: date
        ROW_CHEN.replace("DB2026000002", "DB5").replace("15082462819", "123"),  # row 6: phone
        ROW_ZHANG.replace("C1001", "C1001"),  # row 7: duplicate of row 2
        ROW_CHEN.replace("DB2026000002", "DB7").replace("CASHLOAN", "NOPE"),  # row 8: product
        ROW_CHEN.replace("DB2026000002", "DB8").replace("DEMOBANK", "OTHER"),  # row 9: creditor
    ]

    batch = run(write(tmp_path, "bad.csv", HEADER + "\n" + "\n".join(rows) + "\n"))

    assert (batch.status, batch.rows_read, batch.rows_loaded, batch.rows_rejected) == ("done", 8, 1, 7)
    assert errors_of(batch) == [
        (3, "身份证号", "440304199208072341", "bad_id_check_digit"),
        (4, "本金", "1,2,3", "bad_thousands"),
        (5, "放款日", "2026-02-30", "impossible_date"),
        (6, "手机", "123", "bad_mobile"),
        (7, "账号", "DB2026000001", "duplicate_in_file"),
        (8, "产品", "NOPE", "unknown_product"),
        (9, "委托方", "OTHER", "wrong_creditor"),
    ]
    assert list(Account.objects.values_list("account_no", flat=True)) == ["DB2026000001"]
    check_digit = ImportRowError.objects.get(batch=batch, row_number=3)
    assert render_message(check_digit.code, check_digit.params) == (
        "身份证号校验位错误（最后一位是 1，应为 0），请核对身份证号是否抄错"
    )


def test_a_row_with_fewer_than_two_contacts_is_rejected(creditor: None, tmp_path: Path) -> None:
    row = ROW_ZHANG.replace("王五,同事,13913909960", ",,")

    batch = run(write(tmp_path, "one.csv", f"{HEADER}\n{row}\n"))

    assert errors_of(batch) == [(2, "联系人", "", "too_few_contacts")]
    assert Account.objects.count() == 0


# --- schedule and payments -------------------------------------------------------------------


def test_schedule_file_replaces_the_generated_schedule(creditor: None, tmp_path: Path) -> None:
    run(SAMPLES / "accounts-sample.csv")
    text = (
        "账号,期次,应还日,应还本金,应还利息,应还费用,应还保费\n"
        "DB2026000002,1,2026-04-01,1333.33,66.67,0,0\n"
        "DB2026000002,2,2026-05-01,1333.33,66.67,0,0\n"
        "DB2026000002,2,2026-05-01,1333.33,66.67,0,0\n"
        "NOSUCH,1,2026-04-01,100,0,0,0\n"
    )

    batch = run(write(tmp_path, "s.csv", text), kind="schedule")

    assert (batch.rows_loaded, batch.rows_inserted, batch.rows_rejected) == (2, 2, 2)
    assert [code for *_, code in errors_of(batch)] == ["duplicate_in_file", "unknown_account"]
    account = Account.objects.get(account_no="DB2026000002")
    assert account.schedule_source == "file"
    assert account.total_due_fen == 280_000
    assert list(Instalment.objects.filter(account=account).values_list("seq", "interest_due_fen")) == [
        (1, 6667),
        (2, 6667),
    ]
    again = run(write(tmp_path, "s2.csv", text), kind="schedule")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    assert AccountChange.objects.filter(account=account, kind="schedule").count() == 1


def test_payments_same_txn_is_one_payment_and_reversals_link(creditor: None, tmp_path: Path) -> None:
    run(SAMPLES / "accounts-sample.csv")
    text = (
        "账号,流水号,还款时间,还款金额,渠道,冲正原流水号\n"
        "DB2026000001,P1,2026-02-15 09:12:00,2722.50,代扣,\n"
        "DB2026000001,P1,2026-02-15 09:12:00,2722.50,代扣,\n"
        "DB2026000001,P2,2026-03-15 09:00:00,100.00,银行转账,\n"
        "DB2026000001,R2,2026-03-16 10:00:00,-100.00,银行转账,P2\n"
        "DB2026000001,R3,2026-03-16 10:00:00,-10.00,银行转账,\n"
        "DB9,P9,2026-03-15 09:00:00,100.00,代扣,\n"
    )

    batch = run(write(tmp_path, "p.csv", text), kind="payments")

    assert (batch.rows_read, batch.rows_inserted, batch.rows_rejected) == (6, 3, 2)
    assert [(row, code) for row, _, _, code in errors_of(batch)] == [
        (6, "reversal_without_original"),
        (7, "unknown_account"),
    ]
    reversal = Payment.objects.get(txn_id="R2")
    assert (reversal.amount_fen, reversal.reversal_of.txn_id if reversal.reversal_of else None) == (
        -10_000,
        "P2",
    )
    assert Payment.objects.get(txn_id="P1").paid_at == dt.datetime(2026, 2, 15, 1, 12, tzinfo=dt.UTC)
    assert Account.objects.get(account_no="DB2026000001").paid_fen == 272_250

    conflicting = "账号,流水号,还款时间,还款金额,渠道\nDB2026000001,P1,2026-02-15 09:12:00,9.99,代扣\n"
    second = run(write(tmp_path, "p2.csv", conflicting), kind="payments")
    assert errors_of(second) == [(2, "流水号", "P1", "txn_conflict")]
    assert Payment.objects.count() == 3


def test_worker_processes_parse_big_files_with_the_same_result(
    creditor: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "CHUNK_ROWS", 1)
    monkeypatch.setenv("ARREARS_IMPORT_WORKERS", "2")
    bad = ROW_CHEN.replace("DB2026000002", "DB3").replace("2026-03-01", "2026-02-30")

    batch = run(write(tmp_path, "a.csv", f"{HEADER}\n{ROW_ZHANG}\n{bad}\n{ROW_CHEN}\n"))

    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (3, 2, 1)
    assert errors_of(batch) == [(3, "放款日", "2026-02-30", "impossible_date")]
    assert ContactPoint.objects.filter(customer__customer_no="C1002").count() == 5


def test_tabs_newlines_and_backslashes_survive_the_copy(creditor: None, tmp_path: Path) -> None:
    row = ROW_ZHANG.replace("北京某科技有限公司", '"北京\\某\t科技"').replace(
        "北京市海淀区中关村大街1号", '"北京市海淀区\n中关村大街1号"'
    )

    batch = run(write(tmp_path, "esc.csv", f"{HEADER}\n{row}\n{ROW_CHEN}\n"))

    assert (batch.rows_loaded, batch.rows_rejected) == (2, 0)
    assert Customer.objects.get(customer_no="C1001").employer == "北京\\某\t科技"
    assert (
        ContactPoint.objects.get(kind="address", customer__customer_no="C1001").value
        == "北京市海淀区\n中关村大街1号"
    )
    # The record after the multi-line one loads too.
    assert Account.objects.get(account_no="DB2026000002").principal_fen == 800_000
