"""SQL-injection hardening (issue #6 part 7): every filter, sort and paging parameter of every list
page and list endpoint, fed hostile values, answers 200 with no rows beyond the caller's scope (and
none at all for a text filter nothing matches) or a 4xx — never a 500 — and the tables survive."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from arrears.accounts.services import token_create
from arrears.audit.models import AuditAction, AuditEntry
from arrears.cases.models import Case
from arrears.conftest import Book
from arrears.portfolio.models import Account, ImportBatch, ImportRowError

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    "1; DROP TABLE portfolio_account",
    "1); DROP TABLE cases_case; --",
    "%' UNION SELECT id, account_no FROM portfolio_account --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "A" * 5000,
    "x\x00y",
    "\x00",
    "-1",
    "0",
    "1e9",
    "99999999999999999999999",
    "-99999999999999999999999",
    "１２",
    "0x10",
    "NaN",
    "[]",
    "null",
]

# Parameters that narrow by text or choice: nothing in the book matches a payload.
ACCOUNT_PAGE_FILTERS = ["creditor", "product", "status", "account_no"]
CASE_PAGE_FILTERS = ["bucket", "dpd_min", "dpd_max", "creditor", "product", "assignee", "status"]
AUDIT_FILTERS = ["actor", "action", "date_from", "date_to", "object_type", "q"]
ACCOUNT_API_FILTERS = ["creditor", "account_no", "status"]
CASE_API_FILTERS = ["bucket", "dpd_min", "dpd_max", "creditor", "assignee", "status"]


def _page_ids(kind: str) -> Callable[[str], set[int]]:
    pattern = re.compile(rf'href="/{kind}/(\d+)/"')
    return lambda html: {int(found) for found in pattern.findall(html)}


def _bearer(book: Book) -> dict[str, str]:
    _, secret = token_create(name="t-alice", user=book.alice)
    return {"Authorization": f"Bearer {secret}"}


def _counts() -> tuple[int, int, int, int, int]:
    return (
        Account.objects.count(),
        Case.objects.count(),
        ImportBatch.objects.count(),
        ImportRowError.objects.count(),
        AuditEntry.objects.count(),
    )


def _tables_intact(before: tuple[int, int, int, int, int]) -> None:
    assert _counts() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename IN "
            "('portfolio_account', 'cases_case', 'portfolio_importbatch', 'audit_auditentry')"
        )
        assert cursor.fetchone() == (4,)


def _probe_page(
    client: Client, url: str, param: str, *, in_scope: set[int], ids: Callable[[str], set[int]]
) -> None:
    for payload in PAYLOADS:
        response = client.get(url, {param: payload})
        where = (url, param, payload[:40])
        assert response.status_code == 200, where  # pages show an invalid filter as a form error
        shown = ids(response.content.decode())
        # A filter matches nothing hostile; "before" only pages within the scope.
        if param == "before":
            assert shown <= in_scope, where
        else:
            assert shown == set(), where


def _probe_api(
    client: Client, url: str, param: str, headers: dict[str, str], *, in_scope: set[int], narrows: bool
) -> None:
    for payload in PAYLOADS:
        response = client.get(url, {param: payload}, headers=headers)
        where = (url, param, payload[:40], response.status_code)
        assert response.status_code in (200, 400, 404, 422), where
        if response.status_code == 200:
            shown = {item["id"] for item in response.json()["items"]}
            assert shown == set() if narrows else shown <= in_scope, where


@pytest.mark.parametrize("param", [*ACCOUNT_PAGE_FILTERS, "before"])
def test_account_list_page(client: Client, book: Book, param: str) -> None:
    client.force_login(book.alice)
    before = _counts()
    _probe_page(client, "/accounts/", param, in_scope={book.case_alice.account_id}, ids=_page_ids("accounts"))
    _tables_intact(before)


@pytest.mark.parametrize("param", [*CASE_PAGE_FILTERS, "before"])
def test_case_list_page(client: Client, book: Book, param: str) -> None:
    client.force_login(book.alice)
    before = _counts()
    _probe_page(client, "/cases/", param, in_scope={book.case_alice.pk}, ids=_page_ids("cases"))
    _tables_intact(before)


def _audit_rows(html: str) -> int:
    body = re.search(r'data-testid="audit-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    # One <tr> per entry; the "no entries" row is a single colspan cell.
    return len(re.findall(r'<tr>\s*<td class="text-nowrap">', body.group(1))) if body else 0


@pytest.mark.parametrize("param", [*AUDIT_FILTERS, "before"])
def test_audit_page_and_export(client: Client, book: Book, param: str) -> None:
    AuditEntry.objects.create(actor_name="alice", action=AuditAction.LOGIN, summary="登录")
    client.force_login(book.root)
    before = _counts()
    for payload in PAYLOADS:
        page = client.get("/audit/", {param: payload})
        assert page.status_code == 200, (param, payload[:40])
        rows = _audit_rows(page.content.decode())
        # The trail is all in scope for its reader: "before" pages within it, filters match nothing.
        expected = rows <= AuditEntry.objects.count() if param == "before" else rows == 0
        assert expected, (param, payload[:40], rows)
    assert _counts() == before  # reading the page records nothing

    for payload in PAYLOADS:
        exported = client.get("/audit/export.csv", {param: payload})
        assert exported.status_code in (200, 400), (param, payload[:40])
        if exported.status_code == 200:
            lines = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
            # Only real entries (each export records itself first), each a real actor's.
            assert len(lines) - 1 <= AuditEntry.objects.count(), (param, payload[:40])
            assert {line[1] for line in lines[1:]} <= {"alice", "root"}, (param, payload[:40])
    # Each successful export recorded itself, and nothing else changed.
    exports = AuditEntry.objects.filter(action=AuditAction.EXPORT).count()
    assert _counts() == (*before[:4], before[4] + exports)


@pytest.mark.parametrize("param", [*ACCOUNT_API_FILTERS, "product", "before_id", "limit"])
def test_account_list_api(client: Client, book: Book, param: str) -> None:
    before = _counts()
    headers = _bearer(book)
    narrows = param in ACCOUNT_API_FILTERS
    _probe_api(
        client, "/api/v1/accounts", param, headers, in_scope={book.case_alice.account_id}, narrows=narrows
    )
    # The product filter needs a creditor: probe it with the real one as well.
    if param == "product":
        for payload in PAYLOADS:
            response = client.get(
                "/api/v1/accounts", {"creditor": "DEMOBANK", "product": payload}, headers=headers
            )
            assert response.status_code in (200, 422), payload[:40]
            if response.status_code == 200:
                assert response.json()["items"] == []
    _tables_intact(before)


@pytest.mark.parametrize("param", [*CASE_API_FILTERS, "product", "before_id", "limit"])
def test_case_list_api(client: Client, book: Book, param: str) -> None:
    before = _counts()
    headers = _bearer(book)
    narrows = param in CASE_API_FILTERS
    _probe_api(client, "/api/v1/cases", param, headers, in_scope={book.case_alice.pk}, narrows=narrows)
    if param == "product":
        for payload in PAYLOADS:
            response = client.get(
                "/api/v1/cases", {"creditor": "DEMOBANK", "product": payload}, headers=headers
            )
            assert response.status_code in (200, 422), payload[:40]
            if response.status_code == 200:
                assert response.json()["items"] == []
    _tables_intact(before)


@pytest.mark.parametrize("param", ["offset", "limit"])
def test_import_errors_paging(client: Client, book: Book, param: str) -> None:
    batch = ImportBatch.objects.create(
        creditor=book.case_alice.account.creditor, kind="accounts", filename="a.csv", status="done"
    )
    ImportRowError.objects.create(batch=batch, row_number=2, column="本金", value="x", code="bad_amount")
    _, secret = token_create(name="t-sam", user=book.sam)
    headers = {"Authorization": f"Bearer {secret}"}
    before = _counts()
    for payload in PAYLOADS:
        response = client.get(f"/api/v1/imports/{batch.pk}", {param: payload}, headers=headers)
        assert response.status_code in (200, 422), (param, payload[:40], response.status_code)
        if response.status_code == 200:
            body = response.json()
            assert body["errors_total"] == 1
            assert len(body["errors"]) <= 1
    _tables_intact(before)


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/abc/",
        "/accounts/1%20OR%201=1/",
        "/cases/-1/",
        "/cases/1;DROP%20TABLE%20cases_case/",
        "/imports/%27%20OR%201=1/",
        "/reveal/contact-points/abc/",
        "/accounts/99999999999999999999999/",
        "/cases/99999999999999999999999/",
        "/imports/99999999999999999999999/",
        "/reveal/contact-points/99999999999999999999999/",
        "/reveal/customers/99999999999999999999999/id-number/",
    ],
)
def test_non_numeric_and_huge_ids_on_pages(client: Client, book: Book, path: str) -> None:
    client.force_login(book.sam)
    before = _counts()
    assert client.get(path).status_code == 404
    _tables_intact(before)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/accounts/abc",
        "/api/v1/accounts/1%20OR%201=1",
        "/api/v1/cases/%27%20OR%201=1",
        "/api/v1/cases/-1",
        "/api/v1/imports/abc",
        "/api/v1/accounts/99999999999999999999999",
        "/api/v1/cases/99999999999999999999999",
        "/api/v1/imports/99999999999999999999999",
    ],
)
def test_non_numeric_and_huge_ids_on_the_api(client: Client, book: Book, path: str) -> None:
    before = _counts()
    _, secret = token_create(name="t-sam", user=book.sam)
    response = client.get(path, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code in (404, 422), (path, response.status_code)
    _tables_intact(before)


def test_nul_in_api_bodies_is_refused(client: Client, book: Book) -> None:
    _, secret = token_create(name="t-sam", user=book.sam)
    headers = {"Authorization": f"Bearer {secret}"}
    before = _counts()

    assigned = client.post(
        f"/api/v1/cases/{book.case_alice.pk}/assignment",
        {"collector": "bob\x00"},
        content_type="application/json",
        headers=headers,
    )
    uploaded = client.post(
        "/api/v1/imports",
        {"creditor": "DEMOBANK\x00", "kind": "accounts", "file": SimpleUploadedFile("a.csv", b"a,b\n")},
        headers=headers,
    )

    assert (assigned.status_code, uploaded.status_code) == (422, 422)
    book.case_alice.refresh_from_db()
    assert book.case_alice.assigned_collector == book.alice
    _tables_intact(before)
