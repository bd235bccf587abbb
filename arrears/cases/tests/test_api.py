"""The cases API: scoping per persona, filters, keyset pages, and one case with its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from arrears.accounts.services import token_create
from arrears.cases.models import CaseEvent, CaseEventKind, CaseStatus
from arrears.conftest import Book
from arrears.delinquency.models import AccountState, EodRun, RunMode, RunState
from arrears.tests.factories import AccountFactory, CaseFactory, ContactPointFactory

BUSINESS_DATE = dt.date(2026, 4, 10)


def bearer(user: Any, name: str) -> dict[str, str]:
    _, secret = token_create(name=name, user=user)
    return {"Authorization": f"Bearer {secret}"}


def _done_run() -> None:
    EodRun.objects.create(business_date=BUSINESS_DATE, mode=RunMode.INCREMENTAL, state=RunState.DONE)


def _state(account, *, dpd: int | None, bucket: str = "M1-1", group: str = "M1", overdue: int = 0) -> None:
    since = BUSINESS_DATE - dt.timedelta(days=dpd) if dpd is not None else None
    AccountState.objects.create(
        account=account,
        as_of=BUSINESS_DATE,
        delinquent_since=since,
        bucket_code=bucket,
        bucket_group=group,
        overdue_fen=overdue,
        overdue_interest_fen=overdue,
    )


def _account_nos(response) -> list[str]:
    return [row["account_no"] for row in response.json()["items"]]


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
def test_a_token_lists_exactly_its_users_cases(
    client: Client, book: Book, persona: str, visible: list[str]
) -> None:
    response = client.get("/api/v1/cases", headers=bearer(getattr(book, persona), f"t-{persona}"))

    assert response.status_code == 200
    assert _account_nos(response) == visible


def test_no_token_is_refused(client: Client, book: Book) -> None:
    assert client.get("/api/v1/cases").status_code == 401
    assert client.get(f"/api/v1/cases/{book.case_alice.pk}").status_code == 401


@pytest.mark.parametrize(
    ("persona", "case_name", "status"),
    [
        ("alice", "case_alice", 200),
        ("alice", "case_bob", 404),
        ("bob", "case_alice", 404),
        ("tina", "case_alice", 200),
        ("tina", "case_bob", 404),
        ("agnes", "case_agency", 200),
        ("agnes", "case_unassigned", 404),
        ("sam", "case_unassigned", 200),
    ],
)
def test_a_case_out_of_scope_is_404_like_a_missing_one(
    client: Client, book: Book, persona: str, case_name: str, status: int
) -> None:
    headers = bearer(getattr(book, persona), f"t-{persona}")

    response = client.get(f"/api/v1/cases/{getattr(book, case_name).pk}", headers=headers)
    missing = client.get("/api/v1/cases/987654321", headers=headers)

    assert response.status_code == status
    if status == 404:
        assert response.json() == missing.json() == {"detail": "no such case"}


def test_case_rows_carry_bucket_dpd_overdue_and_assignee(client: Client, book: Book) -> None:
    _done_run()
    case = book.case_alice
    case.bucket_code, case.bucket_group, case.status, case.opened_on = (
        "M1-3",
        "M1",
        "in_progress",
        dt.date(2026, 3, 16),
    )
    case.save()
    _state(case.account, dpd=26, bucket="M1-3", overdue=106_350)

    body = client.get("/api/v1/cases?limit=1&status=in_progress", headers=bearer(book.sam, "t-sam")).json()

    assert body == {
        "business_date": "2026-04-10",
        "items": [
            {
                "id": case.pk,
                "account_id": case.account_id,
                "account_no": "A-ALICE",
                "creditor": "DEMOBANK",
                "product": "CASHLOAN",
                "customer_id": case.customer_id,
                "customer_name": "张三",
                "status": "in_progress",
                "bucket": "M1-3",
                "bucket_group": "M1",
                "days_past_due": 26,
                "overdue_fen": 106_350,
                "assigned_collector": "alice",
                "team": "EAST",
                "agency": None,
                "opened_on": "2026-03-16",
                "closed_on": None,
                "close_reason": "",
            }
        ],
        "next_before_id": None,
    }


def test_filters_match_the_page(client: Client, book: Book) -> None:
    _done_run()
    _state(book.case_alice.account, dpd=None, bucket="M0", group="M0")
    _state(book.case_bob.account, dpd=30, bucket="M2", group="M2")
    _state(book.case_agency.account, dpd=29, bucket="M1-3")
    book.case_bob.bucket_code, book.case_bob.bucket_group = "M2", "M2"
    book.case_bob.save()
    headers = bearer(book.sam, "t-sam")

    def listed(query: str) -> list[str]:
        return _account_nos(client.get(f"/api/v1/cases?{query}", headers=headers))

    assert listed("dpd_min=30") == ["A-BOB"]
    assert listed("dpd_min=29&dpd_max=29") == ["A-AGENCY"]
    assert listed("dpd_max=0") == ["A-ALICE"]
    assert listed("bucket=M2") == ["A-BOB"]
    assert listed("assignee=unassigned") == ["A-NOBODY", "A-AGENCY"]
    assert listed(f"assignee={book.alice.pk}") == ["A-ALICE"]
    assert listed("creditor=demobank&product=cashloan&status=new") == [
        "A-NOBODY",
        "A-AGENCY",
        "A-BOB",
        "A-ALICE",
    ]
    assert listed("creditor=NOPE") == []


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "dpd_min=-1", "assignee=somebody", "status=lost", "product=CASHLOAN"]
)
def test_bad_filters_are_422(client: Client, book: Book, query: str) -> None:
    response = client.get(f"/api/v1/cases?{query}", headers=bearer(book.sam, "t-sam"))

    assert response.status_code == 422


def test_keyset_pages(client: Client, book: Book) -> None:
    headers = bearer(book.sam, "t-sam")

    first = client.get("/api/v1/cases?limit=3", headers=headers).json()
    second = client.get(f"/api/v1/cases?limit=3&before_id={first['next_before_id']}", headers=headers).json()

    assert [row["account_no"] for row in first["items"]] == ["A-NOBODY", "A-AGENCY", "A-BOB"]
    assert first["next_before_id"] == book.case_bob.pk
    assert [row["account_no"] for row in second["items"]] == ["A-ALICE"]
    assert second["next_before_id"] is None


def test_case_list_query_count_does_not_grow_with_rows(
    client: Client, book: Book, django_assert_num_queries
) -> None:
    _done_run()
    for n in range(40):
        case = CaseFactory(account=AccountFactory(account_no=f"Q-{n:02d}"), assigned_collector=book.bob)
        _state(case.account, dpd=n)
    headers = bearer(book.sam, "t-sam")

    # token, token last-used update, business date, the page of cases.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/cases?limit=200", headers=headers)

    assert len(response.json()["items"]) == 44


def test_case_detail_has_delinquency_masked_contact_points_and_events_newest_first(
    client: Client, book: Book
) -> None:
    _done_run()
    case = book.case_alice
    _state(case.account, dpd=5, overdue=12_345)
    point = ContactPointFactory(customer=case.customer, kind="mobile", owner_role="self", value="13812345678")
    opened = CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.OPENED,
        business_date=dt.date(2026, 4, 6),
        to_value="M1-1",
        data={"dpd": 1},
    )
    assigned = CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.ASSIGNED,
        business_date=dt.date(2026, 4, 6),
        to_value="alice",
        actor=book.sam,
    )

    body = client.get(f"/api/v1/cases/{case.pk}", headers=bearer(book.alice, "t-alice")).json()

    assert (body["days_past_due"], body["overdue_fen"], body["status"]) == (5, 12_345, CaseStatus.NEW)
    assert body["delinquency"]["business_date"] == "2026-04-10"
    assert body["delinquency"]["days_past_due"] == 5
    assert body["delinquency"]["delinquent_since"] == "2026-04-05"
    assert body["delinquency"]["overdue_interest_fen"] == 12_345
    assert body["customer"] == {
        "id": case.customer_id,
        "customer_no": case.customer.customer_no,
        "name": "张三",
        "id_number_masked": "110105********1237",
    }
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
    assert [(e["id"], e["kind"], e["to_value"], e["actor"], e["data"]) for e in body["events"]] == [
        (assigned.pk, "assigned", "alice", "sam", {}),
        (opened.pk, "opened", "M1-1", None, {"dpd": 1}),
    ]


def test_case_without_state_has_null_delinquency(client: Client, book: Book) -> None:
    body = client.get(f"/api/v1/cases/{book.case_bob.pk}", headers=bearer(book.bob, "t-bob")).json()

    assert (body["delinquency"], body["days_past_due"], body["overdue_fen"]) == (None, None, None)
