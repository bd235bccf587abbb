"""XSS and spreadsheet-formula hardening (issue #6 part 7): hostile text in every free-text field
that reaches a page is shown as text, never run; exports never hand a spreadsheet a formula.

Each payload goes into every field at once, once written with factories and once through a real
creditor file (`import_file`). Every page that shows those fields is parsed: no element may carry
an event-handler attribute or a `javascript:` link, every <script> is an external file of ours,
and the payload must be readable as text (so it was escaped, not dropped).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from openpyxl import load_workbook

from arrears.accounts.models import Role, User
from arrears.audit.models import AuditAction, AuditEntry, AuditObject
from arrears.cases.models import Case, CaseEvent, CaseEventKind
from arrears.portfolio.models import Account, ContactPoint, ImportBatch, ImportRowError
from arrears.portfolio.services import creditor_add, import_file, product_add
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CreditorFactory,
    CustomerFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{ 7*7 }}{% debug %}",
    "</textarea><svg onload=alert(1)>",
    '=HYPERLINK("http://evil.example/","x")',
]
FORMULA = '=HYPERLINK("http://evil.example/","x")'
# Markup that would only be in a page if a payload was emitted unescaped.
RAW_MARKERS = ("<script>alert", "<img src=x", "<svg onload", "</textarea><")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-delete"}


class _PageScan(HTMLParser):
    """Every tag with its attributes, the text of inline scripts, and all readable text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.inline_script = ""
        self.readable: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self.readable.extend(value for _, value in attrs if value)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_script += data.strip()
        self.readable.append(data)


def assert_inert(html: str, payload: str, where: str) -> None:
    """The page runs nothing it was given, and shows the payload as text."""
    for marker in RAW_MARKERS:
        assert marker not in html, (where, marker)
    scan = _PageScan()
    scan.feed(html)
    scan.close()
    for tag, attrs in scan.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (where, tag, name)
            if name in URL_ATTRIBUTES and value:
                assert not value.strip().lower().startswith("javascript:"), (where, tag, name, value)
        if tag == "script":
            assert dict(attrs).get("src", "").startswith("/static/"), (where, attrs)
    assert scan.inline_script == "", where
    assert any(payload in text for text in scan.readable), (where, "payload not shown as text")


@dataclass
class Planted:
    account: Account
    case: Case
    contact: ContactPoint
    batch: ImportBatch


def _plant(payload: str) -> Planted:
    """Every free-text field the pages show, holding the payload (cut to the column's length)."""
    creditor = CreditorFactory(code="XSS", name=payload)
    product = ProductFactory(creditor=creditor, code="LOAN", name=payload)
    customer = CustomerFactory(creditor=creditor, customer_no=payload, name=payload, employer=payload)
    contact = ContactPointFactory(
        customer=customer,
        kind="email",
        owner_role="spouse",
        owner_name=payload,
        label=payload[:20],
        value=payload,
    )
    account = AccountFactory(product=product, customer=customer, account_no=payload)
    case = CaseFactory(account=account)
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.ASSIGNED,
        from_value=payload,
        to_value=payload,
        data={"dpd": payload, "overdue_fen": payload, "note": payload},
    )
    batch = ImportBatch.objects.create(
        creditor=creditor, kind="accounts", filename=payload, status="done", rows_read=1, rows_rejected=1
    )
    ImportRowError.objects.create(
        batch=batch,
        row_number=2,
        column=payload,
        value=payload,
        code="unknown_product",
        params={"value": payload},
    )
    AuditEntry.objects.create(
        actor_name=payload,
        action=AuditAction.STATE_CHANGE,
        object_type=AuditObject.CUSTOMER,
        object_id=payload[:64],
        summary=payload,
        purpose=payload,
        request_id=payload[:64],
        path="/" + payload,
    )
    return Planted(account=account, case=case, contact=contact, batch=batch)


@pytest.fixture
def root(db: None) -> User:
    return UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)


def _pages(planted: Planted) -> dict[str, str]:
    return {
        "home": "/",
        "account list": "/accounts/",
        "account page": f"/accounts/{planted.account.pk}/",
        "case list": "/cases/",
        "case page": f"/cases/{planted.case.pk}/",
        "import page": "/imports/",
        "import detail": f"/imports/{planted.batch.pk}/",
        "audit page": "/audit/",
    }


def _assert_pages_inert(client: Client, planted: Planted, payload: str) -> None:
    for where, url in _pages(planted).items():
        response = client.get(url)
        assert response.status_code == 200, (where, response.status_code)
        assert_inert(response.content.decode(), payload, where)
    # htmx partials render the same rows without the page around them.
    for url in ("/accounts/", "/cases/"):
        partial = client.get(url, headers={"HX-Request": "true"})
        assert partial.status_code == 200
        assert_inert(partial.content.decode(), payload, f"partial {url}")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_factory_written_payloads_render_as_text(client: Client, root: User, payload: str) -> None:
    planted = _plant(payload)
    client.force_login(root)

    _assert_pages_inert(client, planted, payload)

    revealed = client.post(f"/reveal/contact-points/{planted.contact.pk}/", {"purpose": "verify_identity"})
    assert revealed.status_code == 200
    assert_inert(revealed.content.decode(), payload, "revealed contact")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_filter_values_are_reflected_as_text(client: Client, root: User, payload: str) -> None:
    client.force_login(root)
    for url, params in (
        ("/accounts/", {"account_no": payload}),
        ("/cases/", {"bucket": payload, "assignee": payload}),
        ("/audit/", {"actor": payload, "q": payload}),
    ):
        response = client.get(url, params)
        assert response.status_code == 200, url
        assert_inert(response.content.decode(), payload, url)


IMPORT_HEADER = (
    "委托方,账号,产品,客户号,姓名,身份证号,手机,家庭电话,单位电话,邮箱,家庭地址,单位名称,本金,放款日,期数,"
    "首期还款日,联系人1姓名,联系人1关系,联系人1电话,联系人2姓名,联系人2关系,联系人2电话"
)


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _creditor_file(tmp_path: Path, payload: str, filename: str) -> Path:
    """One good row carrying the payload in every free-text column, and one row rejected for
    the payload in its principal (a row error whose value is the payload)."""
    good = [
        "XSS", payload, "LOAN", payload, payload, "110105198803141237", "18260181590", "", "",
        "", payload, payload, "30000.00", "2026-01-15", "12", "2026-02-15",
        payload, "配偶", "15016613186", payload, "同事", "13913909960",
    ]  # fmt: skip
    bad = [*good]
    bad[1], bad[3], bad[12] = "XSS-2", "C-2", payload
    path = tmp_path / filename
    path.write_text(IMPORT_HEADER + "\n" + _csv_line(good) + _csv_line(bad), encoding="utf-8")
    return path


# A file name cannot hold "/"; these are the payloads a file system accepts as a name.
FILE_NAMES = {
    "<script>alert(1)</script>": "<img src=x onerror=alert(1)>.csv",
    '"><img src=x onerror=alert(1)>': '"><img src=x onerror=alert(1)>.csv',
    "javascript:alert(1)": "javascript:alert(1).csv",
    "{{ 7*7 }}{% debug %}": "{{ 7*7 }}.csv",
    "</textarea><svg onload=alert(1)>": "<svg onload=alert(1)>.csv",
    '=HYPERLINK("http://evil.example/","x")': "=HYPERLINK(1).csv",
}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_imported_payloads_render_as_text(client: Client, root: User, tmp_path: Path, payload: str) -> None:
    creditor_add(code="XSS", name=payload)
    product_add(code="LOAN", creditor_code="XSS", name=payload)
    batch = import_file(
        creditor_code="XSS", kind="accounts", path=_creditor_file(tmp_path, payload, FILE_NAMES[payload])
    )
    assert (batch.status, batch.rows_loaded, batch.rows_rejected) == ("done", 1, 1)
    assert batch.filename == FILE_NAMES[payload]
    account = Account.objects.select_related("customer").get(creditor__code="XSS")
    assert (account.account_no, account.customer.name, account.customer.employer) == (
        payload,
        payload,
        payload,
    )
    assert set(
        account.customer.contact_points.exclude(owner_role="self").values_list("owner_name", flat=True)
    ) == {payload}
    error = batch.row_errors.get()
    assert (error.column, error.value) == ("本金", payload)
    client.force_login(root)

    for where, url in {
        "home": "/",
        "account list": "/accounts/",
        "account page": f"/accounts/{account.pk}/",
        "import page": "/imports/",
        "import detail": f"/imports/{batch.pk}/",
    }.items():
        response = client.get(url)
        assert response.status_code == 200, where
        html = response.content.decode()
        assert_inert(html, payload, where)
        if where.startswith("import"):
            assert_inert(html, FILE_NAMES[payload], where)


def _csv_cells(response: object) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize(
    "value",
    [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"],
)
def test_error_report_csv_neutralises_formulas(client: Client, root: User, value: str) -> None:
    planted = _plant("x")
    ImportRowError.objects.filter(batch=planted.batch).update(column=value, value=value)
    client.force_login(root)

    rows = _csv_cells(client.get(f"/imports/{planted.batch.pk}/errors.csv"))

    assert rows[1][:3] == ["2", "'" + value, "'" + value]


def test_error_report_csv_leaves_plain_numbers_alone(client: Client, root: User) -> None:
    planted = _plant("x")
    ImportRowError.objects.filter(batch=planted.batch).update(value="-100.00")
    client.force_login(root)

    rows = _csv_cells(client.get(f"/imports/{planted.batch.pk}/errors.csv"))

    assert rows[1][2] == "-100.00"


def test_error_report_xlsx_stores_formulas_as_text(client: Client, root: User) -> None:
    planted = _plant(FORMULA)
    client.force_login(root)

    response = client.get(f"/imports/{planted.batch.pk}/errors.xlsx")

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet is not None
    cells = [sheet.cell(row=2, column=col) for col in (2, 3)]
    # A string cell, not a formula cell: Excel shows the text and never evaluates it.
    assert [(cell.data_type, cell.value) for cell in cells] == [("s", FORMULA), ("s", FORMULA)]


def test_audit_csv_neutralises_formulas(client: Client, root: User) -> None:
    AuditEntry.objects.create(
        actor_name=FORMULA, action=AuditAction.EXPORT, summary=FORMULA, purpose="@cmd", request_id="+1+1"
    )
    client.force_login(root)

    rows = _csv_cells(client.get("/audit/export.csv", {"actor": FORMULA}))

    assert len(rows) == 2
    row = rows[1]
    assert (row[1], row[5], row[6], row[11]) == ("'" + FORMULA, "'" + FORMULA, "'@cmd", "'+1+1")
