"""The JSON API: token auth, scoping, imports over real HTTP, and a valid OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client
from openapi_spec_validator import validate

from arrears.accounts.services import token_create, token_create_for_role
from arrears.conftest import Book
from arrears.portfolio.models import Account, ImportBatch
from arrears.portfolio.services import creditor_add, product_add
from arrears.tests.worker import run_queued_jobs

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "formats" / "samples"


def bearer(user: Any, name: str) -> dict[str, str]:
    _, secret = token_create(name=name, user=user)
    return {"Authorization": f"Bearer {secret}"}


def test_openapi_document_is_valid_and_lists_the_endpoints(client: Client, db: None) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert {
        "/api/v1/imports",
        "/api/v1/imports/{batch_id}",
        "/api/v1/accounts",
        "/api/v1/accounts/{account_id}",
    } <= set(spec["paths"])


def test_no_token_or_a_wrong_token_is_refused(client: Client, book: Book) -> None:
    assert client.get("/api/v1/accounts").status_code == 401
    assert client.get("/api/v1/accounts", headers={"Authorization": "Bearer arr_wrong"}).status_code == 401


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("alice", ["A-ALICE"]),
        ("bob", ["A-BOB"]),
        ("tina", ["A-ALICE"]),
        ("agnes", ["A-AGENCY"]),
        ("sam", ["A-NOBODY", "A-AGENCY", "A-BOB", "A-ALICE"]),
    ],
)
def test_a_token_sees_exactly_its_users_scope(
    client: Client, book: Book, persona: str, visible: list[str]
) -> None:
    headers = bearer(getattr(book, persona), f"t-{persona}")

    response = client.get("/api/v1/accounts", headers=headers)

    assert response.status_code == 200
    assert [row["account_no"] for row in response.json()["items"]] == visible


def test_an_account_out_of_scope_is_404_like_a_missing_one(client: Client, book: Book) -> None:
    headers = bearer(book.alice, "t-alice")

    own = client.get(f"/api/v1/accounts/{book.case_alice.account_id}", headers=headers)
    other = client.get(f"/api/v1/accounts/{book.case_bob.account_id}", headers=headers)
    missing = client.get("/api/v1/accounts/999999999", headers=headers)

    assert own.status_code == 200
    assert own.json()["account_no"] == "A-ALICE"
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == missing.json() == {"detail": "no such account"}


def test_account_detail_has_balances_schedule_and_masked_contact_points(client: Client, book: Book) -> None:
    account = book.case_alice.account
    point = account.customer.contact_points.create(kind="mobile", owner_role="self", value="13812345678")
    headers = bearer(book.alice, "t-alice")

    body = client.get(f"/api/v1/accounts/{account.pk}", headers=headers).json()

    assert body["principal_fen"] == 1_200_000
    assert body["customer"]["id_number_masked"] == "110105********1237"
    assert body["contact_points"] == [
        {
            "id": point.pk,
            "kind": "mobile",
            "owner_role": "self",
            "owner_name": "",
            "label": "",
            "value_masked": "138****5678",
            "is_valid": True,
            "do_not_contact": False,
            "do_not_contact_reason": "",
            "do_not_contact_since": None,
        }
    ]
    assert len(body["schedule"]) == 12
    assert body["schedule"][0] == {
        "seq": 1,
        "due_date": "2026-02-15",
        "principal_due_fen": 100_000,
        "interest_due_fen": 0,
        "fee_due_fen": 0,
        "premium_due_fen": 0,
        "total_due_fen": 100_000,
    }


def test_filters_and_keyset_pages(client: Client, book: Book) -> None:
    headers = bearer(book.sam, "t-sam")

    first = client.get("/api/v1/accounts?limit=3", headers=headers).json()
    second = client.get(
        f"/api/v1/accounts?limit=3&before_id={first['next_before_id']}", headers=headers
    ).json()
    by_number = client.get("/api/v1/accounts?creditor=demobank&account_no=A-BOB", headers=headers).json()
    bad_limit = client.get("/api/v1/accounts?limit=0", headers=headers)
    bad_status = client.get("/api/v1/accounts?status=nonsense", headers=headers)

    assert [r["account_no"] for r in first["items"]] == ["A-NOBODY", "A-AGENCY", "A-BOB"]
    assert [r["account_no"] for r in second["items"]] == ["A-ALICE"]
    assert second["next_before_id"] is None
    assert [r["account_no"] for r in by_number["items"]] == ["A-BOB"]
    assert (bad_limit.status_code, bad_status.status_code) == (422, 422)


def test_a_collector_may_not_upload_files(client: Client, book: Book) -> None:
    headers = bearer(book.alice, "t-alice")

    with (SAMPLES / "accounts-sample.csv").open("rb") as handle:
        response = client.post(
            "/api/v1/imports", {"creditor": "DEMOBANK", "kind": "accounts", "file": handle}, headers=headers
        )

    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_upload_with_an_unknown_creditor_is_a_clear_400(client: Client, book: Book) -> None:
    headers = bearer(book.sam, "t-sam")

    with (SAMPLES / "accounts-sample.csv").open("rb") as handle:
        response = client.post(
            "/api/v1/imports", {"creditor": "NOPE", "kind": "accounts", "file": handle}, headers=headers
        )

    assert (response.status_code, response.json()) == (400, {"detail": "unknown creditor 'NOPE'"})
    assert ImportBatch.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_import_over_real_http_is_queued_then_run_by_the_worker(live_server: Any) -> None:
    creditor_add(code="DEMOBANK", name="示范银行")
    product_add(code="CASHLOAN", creditor_code="DEMOBANK")
    product_add(code="CARD", creditor_code="DEMOBANK")
    _, secret = token_create_for_role(name="loader", role="supervisor")
    auth = {"Authorization": f"Bearer {secret}"}

    with (SAMPLES / "accounts-sample.csv").open("rb") as handle:
        created = httpx.post(
            f"{live_server.url}/api/v1/imports",
            data={"creditor": "DEMOBANK", "kind": "accounts"},
            files={"file": ("accounts-sample.csv", handle, "text/csv")},
            headers=auth,
        )
    assert created.status_code == 202
    batch_id = created.json()["id"]
    assert created.json()["status"] == "pending"

    run_queued_jobs()

    status = httpx.get(f"{live_server.url}/api/v1/imports/{batch_id}", headers=auth).json()
    assert (status["status"], status["rows_loaded"], status["rows_inserted"], status["errors"]) == (
        "done",
        3,
        3,
        [],
    )
    assert Account.objects.count() == 3
