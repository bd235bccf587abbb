"""The simulator writes valid, consistent, reproducible creditor files; the importer loads them whole."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from arrears.accounts.models import Role, User
from arrears.cases.models import Activity, Case, CaseStatus
from arrears.comms.models import Message
from arrears.delinquency.models import AccountState, EodRun
from arrears.demo import DEMO_PASSWORD, build_demo, demo_delinquent_accounts
from arrears.portfolio.importing import rows as row_parsers
from arrears.portfolio.importing.fields import id_check_digit, parse_id_number, parse_phones
from arrears.portfolio.importing.headers import resolve_headers
from arrears.portfolio.importing.reader import open_file
from arrears.portfolio.models import Account, Customer, ImportBatch, Instalment, Payment
from arrears.portfolio.schedule import equal_instalments
from arrears.portfolio.services import creditor_add, import_file, product_add
from arrears.simulator import files as sim
from arrears.simulator.behaviour import Ledger, dpd_on

ACCOUNTS = 400
# A fixed simulated today, so that the files (and the numbers below) do not change with the date.
AS_OF = date(2026, 11, 23)
LAST_MOMENT = datetime(2026, 11, 22, 23, 59, 59)


def read_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def parse_account(headers: Any, cells: list[Any], creditor: str = "X") -> dict[str, Any]:
    """The importer's parse of one accounts row, by staging column name (raises RowRejected)."""
    parsed: tuple[Any, ...] = row_parsers.parse_account_row(headers, cells, creditor_code=creditor)
    if len(parsed) == 2 and isinstance(parsed[0], tuple):  # the (account, contacts) form
        parsed = parsed[0]
    return dict(zip(row_parsers.ACCOUNT_COLUMNS[1:], parsed, strict=False))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("book")
    paths = {kind: folder / f"{kind}.csv" for kind in ("accounts", "schedule", "payments")}
    sim.write_accounts_csv(
        paths["accounts"], creditor="SIMBANK", products=["CASHLOAN", "CARD"], count=ACCOUNTS, as_of=AS_OF
    )
    sim.write_schedule_csv(paths["schedule"], creditor="SIMBANK", count_accounts=ACCOUNTS, as_of=AS_OF)
    sim.write_payments_csv(paths["payments"], creditor="SIMBANK", accounts=ACCOUNTS, as_of=AS_OF)
    return paths


# --- single values ------------------------------------------------------------------------------


def test_id_numbers_pass_the_importer_and_carry_a_real_region_and_birth_date(book: dict[str, Path]) -> None:
    regions = {region[0] for region in sim._REGIONS}
    for row in read_rows(book["accounts"]):
        number = row["身份证号"]
        assert parse_id_number(number) == number
        assert number[:6] in regions
        assert (
            date(1965, 1, 1)
            <= date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            <= date(2002, 12, 31)
        )


def test_check_digit_agrees_with_the_importer() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        body = "".join(str(rng.randrange(10)) for _ in range(17))
        assert sim.id_check_digit(body) == id_check_digit(body)
    assert sim.id_check_digit("11010519880314123") == "7"  # the format page's sample, 110105198803141237


def test_phone_numbers_pass_the_importer_and_phonenumbers(book: dict[str, Path]) -> None:
    for row in read_rows(book["accounts"]):
        mobiles = parse_phones(row["手机"], mobile_only=True)
        assert mobiles and len(mobiles) == len(row["手机"].split(","))
        for column in ("家庭电话", "单位电话"):
            if row[column]:
                assert parse_phones(row[column]) == [row[column]]
        contacts = [row[f"联系人{n}电话"] for n in range(1, 5) if row[f"联系人{n}电话"]]
        assert 2 <= len(contacts) <= 4
        for number in [*mobiles, *contacts, row["家庭电话"], row["单位电话"]]:
            if number:
                assert phonenumbers.is_valid_number(phonenumbers.parse(number, "CN")), number
        for number in contacts:
            assert parse_phones(number, mobile_only=True) == [number]


def test_every_mobile_prefix_and_area_code_makes_valid_numbers() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        mobile = sim._mobile(rng)
        assert phonenumbers.is_valid_number(phonenumbers.parse(mobile, "CN")), mobile
    for region in sim._REGIONS:
        for _ in range(30):
            landline = sim._landline(rng, region)
            assert parse_phones(landline) == [landline]


# --- files --------------------------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    def write_all(folder: Path, seed: int, as_of: date = AS_OF) -> list[str]:
        sim.write_accounts_csv(
            folder / "a.csv", creditor="X", products=["P"], count=150, seed=seed, as_of=as_of
        )
        sim.write_schedule_csv(folder / "s.csv", creditor="X", count_accounts=50, seed=seed, as_of=as_of)
        sim.write_payments_csv(
            folder / "p.csv", creditor="X", count=400, accounts=150, seed=seed, as_of=as_of
        )
        sim.write_payments_csv(folder / "n.csv", creditor="X", accounts=150, seed=seed, as_of=as_of)
        sim.write_accounts_xlsx(
            folder / "a.xlsx", creditor="X", products=["P"], count=5, seed=seed, as_of=as_of
        )
        return [sha256(folder / name) for name in ("a.csv", "s.csv", "p.csv", "n.csv")]

    first = write_all(tmp_path / "one", seed=5)
    second = write_all(tmp_path / "two", seed=5)
    other = write_all(tmp_path / "three", seed=6)
    later = write_all(tmp_path / "four", seed=5, as_of=AS_OF + timedelta(days=1))

    assert first == second
    assert all(a != b for a, b in zip(first, other, strict=True))
    assert all(a != b for a, b in zip(first, later, strict=True))


def test_a_window_of_accounts_is_the_same_accounts(tmp_path: Path) -> None:
    sim.write_accounts_csv(tmp_path / "all.csv", creditor="X", products=["P"], count=60, as_of=AS_OF)
    sim.write_accounts_csv(
        tmp_path / "part.csv", creditor="X", products=["P"], count=20, start=31, as_of=AS_OF
    )
    sim.write_payments_csv(tmp_path / "all-p.csv", creditor="X", accounts=60, as_of=AS_OF)
    sim.write_payments_csv(tmp_path / "part-p.csv", creditor="X", accounts=20, start=31, as_of=AS_OF)

    assert read_rows(tmp_path / "part.csv") == read_rows(tmp_path / "all.csv")[30:50]
    window = {sim.account_no("X", n) for n in range(31, 51)}
    assert read_rows(tmp_path / "part-p.csv") == [
        row for row in read_rows(tmp_path / "all-p.csv") if row["账号"] in window
    ]


def test_gbk_and_english_headers_hold_the_same_rows(tmp_path: Path) -> None:
    sim.write_accounts_csv(tmp_path / "zh.csv", creditor="X", products=["P"], count=300, as_of=AS_OF)
    sim.write_accounts_csv(
        tmp_path / "en.csv",
        creditor="X",
        products=["P"],
        count=300,
        as_of=AS_OF,
        encoding="gbk",
        english_headers=True,
    )

    with pytest.raises(UnicodeDecodeError):
        (tmp_path / "en.csv").read_bytes().decode("utf-8")
    chinese = read_rows(tmp_path / "zh.csv")
    english = read_rows(tmp_path / "en.csv", encoding="gbk")
    assert [list(row.values()) for row in chinese] == [list(row.values()) for row in english]
    assert list(english[0])[:3] == ["creditor", "account_no", "product"]
    opened = open_file(tmp_path / "en.csv", original_name="en.csv")
    try:
        assert opened.encoding == "GB18030"
        headers = resolve_headers("accounts", opened.header)
        for _number, cells in opened.rows:
            parse_account(headers, cells)
    finally:
        opened.close()


def test_xlsx_accounts_parse_without_problems(tmp_path: Path) -> None:
    sim.write_accounts_xlsx(tmp_path / "a.xlsx", creditor="X", products=["P", "Q"], count=40, as_of=AS_OF)

    opened = open_file(tmp_path / "a.xlsx", original_name="a.xlsx")
    try:
        headers = resolve_headers("accounts", opened.header)
        parsed = [parse_account(headers, cells) for _n, cells in opened.rows]
    finally:
        opened.close()
    csv_path = tmp_path / "a.csv"
    sim.write_accounts_csv(csv_path, creditor="X", products=["P", "Q"], count=40, as_of=AS_OF)
    rows = read_rows(csv_path)
    assert [account["account_no"] for account in parsed] == [row["账号"] for row in rows]
    assert [account["principal_fen"] for account in parsed] == [
        int(Decimal(row["本金"]) * 100) for row in rows
    ]
    assert [account["open_date"] for account in parsed] == [date.fromisoformat(row["放款日"]) for row in rows]
    assert [account["id_number"] for account in parsed] == [row["身份证号"] for row in rows]


def test_accounts_have_realistic_values_and_some_customers_two_accounts(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    sim.write_accounts_csv(path, creditor="X", products=["P", "Q"], count=3000, as_of=AS_OF)
    rows = read_rows(path)

    assert [row["账号"] for row in rows[:2]] == ["X000000001", "X000000002"]
    per_customer = Counter(row["客户号"] for row in rows)
    assert max(per_customer.values()) == 2
    share = sum(1 for count in per_customer.values() if count == 2) / len(per_customer)
    assert 0.03 < share < 0.07
    people: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        people.setdefault(row["客户号"], set()).add((row["姓名"], row["身份证号"]))
        assert 3000 <= Decimal(row["本金"]) <= 200_000
        assert Decimal(row["本金"]).as_tuple().exponent == -2
        assert row["期数"] in {"6", "12", "24"}
        opened = date.fromisoformat(row["放款日"])
        assert AS_OF - timedelta(days=sim.OPEN_DAYS) <= opened < AS_OF
        assert date.fromisoformat(row["首期还款日"]) == sim.add_months(opened, 1)
        assert Decimal(row["每期应还"]) * int(row["期数"]) >= Decimal(row["本金"])
        assert row["产品"] in {"P", "Q"}
        assert 2 <= len(row["姓名"]) <= 3
    assert all(len(person) == 1 for person in people.values())
    assert {row["产品"] for row in rows} == {"P", "Q"}
    # Opened throughout the two years before as_of: every quarter has its share.
    quarters = Counter(
        (AS_OF - date.fromisoformat(row["放款日"])).days * 8 // (sim.OPEN_DAYS + 1) for row in rows
    )
    assert sorted(quarters) == list(range(8))
    assert min(quarters.values()) > 3000 / 8 * 0.8


def test_schedules_amortise_the_principal_of_the_same_accounts(book: dict[str, Path]) -> None:
    accounts = {row["账号"]: row for row in read_rows(book["accounts"])}
    by_account: dict[str, list[dict[str, str]]] = {}
    for row in read_rows(book["schedule"]):
        by_account.setdefault(row["账号"], []).append(row)

    assert list(by_account) == list(accounts)
    for number, instalments in by_account.items():
        account = accounts[number]
        assert [int(row["期次"]) for row in instalments] == list(range(1, int(account["期数"]) + 1))
        assert instalments[0]["应还日"] == account["首期还款日"]
        assert sum(Decimal(row["应还本金"]) for row in instalments) == Decimal(account["本金"])
        for row in instalments:
            assert Decimal(row["应还本金"]) > 0 and Decimal(row["应还利息"]) > 0
            # Every instalment totals 每期应还, as when the importer generates the schedule itself.
            assert Decimal(row["应还本金"]) + Decimal(row["应还利息"]) == Decimal(account["每期应还"])
        generated = equal_instalments(
            principal_fen=int(Decimal(account["本金"]) * 100),
            term=int(account["期数"]),
            first_due_date=date.fromisoformat(account["首期还款日"]),
            instalment_fen=int(Decimal(account["每期应还"]) * 100),
        )
        assert [(item.due_date.isoformat(), item.total_due_fen) for item in generated] == [
            (row["应还日"], int((Decimal(row["应还本金"]) + Decimal(row["应还利息"])) * 100))
            for row in instalments
        ]


def check_payments(path: Path, creditor: str, accounts: range) -> list[dict[str, str]]:
    """Unique ids, times between the loan's opening and the last day, known channels, reversals
    after the payment they reverse, and no account ever paying more than its whole schedule."""
    rows = read_rows(path)
    txns = {row["流水号"]: row for row in rows}
    assert len(txns) == len(rows)
    opened = {}
    scheduled = {}
    for n in accounts:
        terms = sim.loan(1, n, as_of=AS_OF)
        opened[sim.account_no(creditor, n)] = datetime.combine(terms.open_date, datetime.min.time())
        scheduled[sim.account_no(creditor, n)] = sum(p + i for _s, _d, p, i in terms.schedule())
    seen: set[str] = set()
    paid: Counter[str] = Counter()
    for row in rows:
        paid_at = datetime.strptime(row["还款时间"], "%Y-%m-%d %H:%M:%S")
        assert opened[row["账号"]] <= paid_at <= LAST_MOMENT
        amount = Decimal(row["还款金额"])
        assert row["渠道"] in {"代扣", "银行转账", "支付宝", "微信", "柜台"}
        if row["冲正原流水号"]:
            original = txns[row["冲正原流水号"]]
            assert original["流水号"] in seen
            assert (original["账号"], Decimal(original["还款金额"])) == (row["账号"], -amount)
            assert original["还款时间"] < row["还款时间"]
        else:
            assert amount > 0
        paid[row["账号"]] += int(amount * 100)
        assert paid[row["账号"]] <= scheduled[row["账号"]]
        seen.add(row["流水号"])
    return rows


@pytest.mark.parametrize(
    ("count", "accounts", "start"), [(1200, 400, 1), (150, 400, 1), (900, 100, 51), (5000, 100, 51)]
)
def test_payments_have_exactly_count_rows_and_consistent_reversals(
    tmp_path: Path, count: int, accounts: int, start: int
) -> None:
    path = tmp_path / "p.csv"
    written = sim.write_payments_csv(
        path, creditor="X", count=count, accounts=accounts, start=start, as_of=AS_OF
    )

    rows = check_payments(path, "X", range(start, start + accounts))
    assert written == len(rows) == count


def test_more_rows_than_natural_split_payments_without_changing_what_is_paid_each_day(
    tmp_path: Path,
) -> None:
    natural = sim.natural_payment_count(accounts=100, as_of=AS_OF)
    sim.write_payments_csv(tmp_path / "n.csv", creditor="X", accounts=100, as_of=AS_OF)
    sim.write_payments_csv(tmp_path / "s.csv", creditor="X", accounts=100, count=3 * natural, as_of=AS_OF)

    def paid_by_day(path: Path) -> Counter[tuple[str, str]]:
        totals: Counter[tuple[str, str]] = Counter()
        for row in read_rows(path):
            totals[(row["账号"], row["还款时间"][:10])] += int(Decimal(row["还款金额"]) * 100)
        return totals

    assert len(read_rows(tmp_path / "s.csv")) == 3 * natural
    assert paid_by_day(tmp_path / "s.csv") == paid_by_day(tmp_path / "n.csv")


def test_natural_payments_are_the_behaviour_and_leave_the_delinquent_accounts_behind(tmp_path: Path) -> None:
    count = sim.natural_payment_count(accounts=300, as_of=AS_OF)
    path = tmp_path / "p.csv"
    assert sim.write_payments_csv(path, creditor="X", accounts=300, as_of=AS_OF) == count
    assert (
        sim.write_payments_csv(tmp_path / "c.csv", creditor="X", accounts=300, count=count, as_of=AS_OF)
        == count
    )
    assert sha256(tmp_path / "c.csv") == sha256(path)
    rows = check_payments(path, "X", range(1, 301))

    reversals = sum(1 for row in rows if row["冲正原流水号"])
    assert 0 < reversals < 0.02 * len(rows)
    # The accounts in arrears, recomputed from the files alone, are the ones the simulator names.
    by_account: dict[str, list[tuple[date, int]]] = {}
    for row in rows:
        by_account.setdefault(row["账号"], []).append(
            (date.fromisoformat(row["还款时间"][:10]), int(Decimal(row["还款金额"]) * 100))
        )
    behind = set()
    for n in range(1, 301):
        terms = sim.loan(1, n, as_of=AS_OF)
        number = sim.account_no("X", n)
        ledger = Ledger(terms.open_date, terms.dues(), by_account.get(number, []))
        if dpd_on(ledger, AS_OF - timedelta(days=1)) >= 1:
            behind.add(number)
    delinquent = set(sim.delinquent_account_numbers(creditor="X", count=300, as_of=AS_OF))
    assert delinquent == behind
    assert 0.01 < len(delinquent) / 300 < 0.15


# --- through the importer -----------------------------------------------------------------------


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.django_db
def test_generated_book_imports_with_no_rejected_row(media: None, book: dict[str, Path]) -> None:
    creditor_add(code="SIMBANK", name="模拟银行")
    product_add(code="CASHLOAN", creditor_code="SIMBANK", name="现金贷")
    product_add(code="CARD", creditor_code="SIMBANK", name="信用卡", kind="card")
    accounts_rows = read_rows(book["accounts"])
    schedule_rows = read_rows(book["schedule"])
    payment_rows = read_rows(book["payments"])

    batches = {
        kind: import_file(creditor_code="SIMBANK", kind=kind, path=book[kind])
        for kind in ("accounts", "schedule", "payments")
    }

    for kind, expected in (
        ("accounts", accounts_rows),
        ("schedule", schedule_rows),
        ("payments", payment_rows),
    ):
        batch = batches[kind]
        assert (batch.status, batch.rows_rejected, batch.rows_loaded) == ("done", 0, len(expected)), kind
    assert Account.objects.count() == ACCOUNTS
    assert Customer.objects.count() == len({row["客户号"] for row in accounts_rows})
    assert Instalment.objects.count() == len(schedule_rows)
    assert Payment.objects.count() == len(payment_rows)
    assert Payment.objects.filter(amount_fen__lt=0, reversal_of__isnull=False).count() == sum(
        1 for row in payment_rows if row["冲正原流水号"]
    )

    again = import_file(creditor_code="SIMBANK", kind="accounts", path=book["accounts"])
    assert (again.rows_rejected, again.rows_inserted, again.rows_updated) == (0, 0, 0)


@pytest.mark.django_db
def test_build_demo_creates_users_book_history_and_cases_and_can_run_again(
    media: None, tmp_path: Path, settings: Any
) -> None:
    settings.ARREARS_OUTBOX_DIR = tmp_path / "outbox"
    settings.ARREARS_LETTERS_DIR = tmp_path / "letters"
    out = io.StringIO()
    today = dt.date(2026, 11, 23)

    logins = build_demo(accounts=200, out=out, directory=tmp_path / "demo", history_days=40, today=today)

    assert logins == [
        ("admin", "admin"),
        ("sam", "supervisor"),
        ("tina", "team_leader"),
        ("alice", "collector"),
        ("amy", "collector"),
        ("bob", "collector"),
        ("agnes", "agency_user"),
        ("cora", "compliance_officer"),
        ("fiona", "field_collector"),
        ("felix", "field_collector"),
    ]
    users = {user.username: user for user in User.objects.select_related("team", "agency")}
    assert all(users[name].check_password(DEMO_PASSWORD) for name, _role in logins)
    assert (users["tina"].team.code, users["alice"].team.code, users["amy"].team.code) == ("EAST",) * 3
    assert (users["bob"].team.code, users["agnes"].agency.code, users["admin"].role) == (
        "WEST",
        "AG1",
        Role.ADMIN,
    )
    assert Account.objects.filter(creditor__code="DEMOBANK").count() == 150
    assert Account.objects.filter(creditor__code="HUIMIN").count() == 50
    assert (
        ImportBatch.objects.filter(rows_rejected=0, status="done").count() == ImportBatch.objects.count() == 6
    )

    # One batch run per day of the history, ending yesterday.
    runs = EodRun.objects.filter(state="done").order_by("business_date")
    assert [run.business_date for run in runs] == [
        dt.date(2026, 10, 14) + dt.timedelta(days=n) for n in range(40)
    ]
    # The batch and the simulator agree on who is in arrears, and each of them has one open case.
    wanted = set(demo_delinquent_accounts(200, today))
    assert 2 <= len(wanted) <= 40
    delinquent = set(
        AccountState.objects.filter(delinquent_since__isnull=False).values_list(
            "account__creditor__code", "account__account_no"
        )
    )
    assert delinquent == wanted
    open_cases = Case.objects.exclude(status=CaseStatus.CLOSED)
    assert set(open_cases.values_list("account__creditor__code", "account__account_no")) == wanted
    assert open_cases.count() == len(wanted)
    owners = set(open_cases.values_list("bucket_group", "team__code", "assigned_collector__username"))
    assert owners <= {
        ("M1", "EAST", "alice"),
        ("M1", "EAST", "amy"),
        ("M2", "WEST", "bob"),
        ("M3", "WEST", "bob"),
        ("M4+", "WEST", "bob"),
    }
    assert "end of day 2026-11-22" in out.getvalue()
    # The collectors' recent work went through the guard: every outbound call has its decision.
    activities = Activity.objects.all()
    assert activities.exists(), out.getvalue()
    assert not activities.filter(decision__isnull=True).exists()
    assert set(activities.values_list("decision__allowed", flat=True)) == {True}
    logged = activities.count()
    # The last two days of the cadence went out through the file gateway, each file a sent message.
    sent = Message.objects.filter(state="sent", channel="sms")
    assert sent.exists(), out.getvalue()
    assert {path.name for path in (tmp_path / "outbox" / "sms").iterdir()} == {
        f"{pk:012d}.json" for pk in sent.values_list("pk", flat=True)
    }
    assert not Message.objects.filter(source="cadence", state__in=["failed"]).exists()
    messages = Message.objects.count()

    again = io.StringIO()
    written = {path.name: path.stat().st_mtime_ns for path in (tmp_path / "demo").glob("*.csv")}
    assert (
        build_demo(accounts=200, out=again, directory=tmp_path / "demo", history_days=40, today=today)
        == logins
    )

    assert User.objects.count() == 10
    assert Message.objects.count() == messages
    assert "communications: messages already sent" in again.getvalue()
    assert ImportBatch.objects.count() == 6
    assert EodRun.objects.count() == 40
    assert "demobank-150-2026-11-23 files already imported" in again.getvalue()
    assert {path.name: path.stat().st_mtime_ns for path in (tmp_path / "demo").glob("*.csv")} == written
    assert "already run up to 2026-11-22" in again.getvalue()
    assert "workspace: activities already logged" in again.getvalue()
    assert Activity.objects.count() == logged


@pytest.mark.django_db
def test_generated_xlsx_and_gbk_english_files_import_with_no_rejected_row(
    media: None, tmp_path: Path
) -> None:
    creditor_add(code="X", name="某银行")
    product_add(code="P", creditor_code="X")
    sim.write_accounts_xlsx(tmp_path / "a.xlsx", creditor="X", products=["P"], count=30, as_of=AS_OF)
    sim.write_accounts_csv(
        tmp_path / "b.csv",
        creditor="X",
        products=["P"],
        count=30,
        start=31,
        as_of=AS_OF,
        encoding="gbk",
        english_headers=True,
    )
    sim.write_payments_csv(
        tmp_path / "p.csv",
        creditor="X",
        count=90,
        accounts=60,
        as_of=AS_OF,
        encoding="gbk",
        english_headers=True,
    )

    xlsx = import_file(creditor_code="X", kind="accounts", path=tmp_path / "a.xlsx")
    gbk = import_file(creditor_code="X", kind="accounts", path=tmp_path / "b.csv")
    payments = import_file(creditor_code="X", kind="payments", path=tmp_path / "p.csv")

    assert (xlsx.status, xlsx.file_format, xlsx.rows_loaded, xlsx.rows_rejected) == ("done", "xlsx", 30, 0)
    assert (gbk.status, gbk.encoding, gbk.rows_loaded, gbk.rows_rejected) == ("done", "GB18030", 30, 0)
    assert (payments.status, payments.rows_loaded, payments.rows_rejected) == ("done", 90, 0)
    assert Account.objects.filter(creditor__code="X").count() == 60
