"""IDOR hardening (issue #6 part 7): each persona walks a range of ids around the real ones on
every addressable page and endpoint. Only objects in the persona's scope answer 200; another
scope's object looks exactly like a missing one (404), and actions the role may never take are
403 whatever the id. Nothing the probes touch changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db.models import Model
from django.test import Client

from arrears.accounts.models import User
from arrears.accounts.services import token_create
from arrears.audit.models import AuditEntry
from arrears.cases.models import Case, CaseEvent
from arrears.conftest import Book
from arrears.delinquency.models import EodRun, RunMode, RunState
from arrears.portfolio.models import Account, ContactPoint, Customer, ImportBatch, ImportRowError
from arrears.tests.factories import ContactPointFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "tina", "agnes"]
# The persona's cases in `book` (tina leads alice's team); accounts, customers and contact
# points follow the cases.
SCOPE = {
    "alice": {"case_alice"},
    "bob": {"case_bob"},
    "tina": {"case_alice"},
    "agnes": {"case_agency"},
}
MAY_UNMASK = {"alice", "bob", "tina"}  # agency users never see full values (docs/security.md)
MARGIN = 3


@dataclass
class Ids:
    cases: set[int]
    accounts: set[int]
    customers: set[int]
    contact_points: set[int]


def _scope(book: Book, persona: str) -> Ids:
    cases = [getattr(book, label) for label in SCOPE[persona]]
    return Ids(
        cases={case.pk for case in cases},
        accounts={case.account_id for case in cases},
        customers={case.customer_id for case in cases},
        contact_points=set(
            ContactPoint.objects.filter(customer_id__in=[case.customer_id for case in cases]).values_list(
                "pk", flat=True
            )
        ),
    )


def _around(model: type[Model]) -> range:
    """Every real id of the table and a few on either side (missing ones, 0 included)."""
    ids = list(model._default_manager.values_list("pk", flat=True))
    return range(max(min(ids) - MARGIN, 0), max(ids) + MARGIN + 1)


@pytest.fixture
def book_with_more(book: Book) -> Book:
    """Contact points for every customer, two import batches with row errors, two end-of-day runs."""
    for case in (book.case_alice, book.case_bob, book.case_agency, book.case_unassigned):
        ContactPointFactory.create_batch(2, customer=case.customer)
    creditor = book.case_alice.account.creditor
    for name in ("a.csv", "b.csv"):
        batch = ImportBatch.objects.create(creditor=creditor, kind="accounts", filename=name, status="done")
        ImportRowError.objects.create(batch=batch, row_number=2, column="本金", value="x", code="bad_amount")
    for day in (1, 2):
        EodRun.objects.create(business_date=dt.date(2026, 3, day), mode=RunMode.FULL, state=RunState.DONE)
    return book


def _state() -> tuple[object, ...]:
    """What a probe must not change: case ownership and status, events, batches, runs, contacts."""
    return (
        sorted(Case.objects.values_list("pk", "assigned_collector_id", "team_id", "agency_id", "status")),
        CaseEvent.objects.count(),
        ImportBatch.objects.count(),
        EodRun.objects.count(),
        sorted(ContactPoint.objects.values_list("pk", "value", "customer_id")),
    )


def _user(book: Book, persona: str) -> User:
    user: User = getattr(book, persona)
    return user


@pytest.mark.parametrize("persona", PERSONAS)
def test_pages(client: Client, book_with_more: Book, persona: str) -> None:
    book = book_with_more
    client.force_login(_user(book, persona))
    scope = _scope(book, persona)
    before, audit_before = _state(), AuditEntry.objects.count()

    for case_id in _around(Case):
        expected = 200 if case_id in scope.cases else 404
        assert client.get(f"/cases/{case_id}/").status_code == expected, case_id
    for account_id in _around(Account):
        expected = 200 if account_id in scope.accounts else 404
        assert client.get(f"/accounts/{account_id}/").status_code == expected, account_id
    for batch_id in _around(ImportBatch):
        for suffix in ("", "status/", "errors.csv", "errors.xlsx"):
            # The role is refused before the id is looked up: every id answers the same.
            assert client.get(f"/imports/{batch_id}/{suffix}").status_code == 403, (batch_id, suffix)
    for path in ("/imports/", "/eod/", "/eod/runs/", "/audit/", "/audit/export.csv"):
        assert client.get(path).status_code == 403, path

    assert _state() == before
    assert AuditEntry.objects.count() == audit_before  # a refused export records nothing


@pytest.mark.parametrize("persona", PERSONAS)
def test_reveal_endpoints(client: Client, book_with_more: Book, persona: str) -> None:
    book = book_with_more
    client.force_login(_user(book, persona))
    scope = _scope(book, persona)
    before, audit_before = _state(), AuditEntry.objects.count()
    purpose = {"purpose": "verify_identity"}

    shown = 0
    for point_id in _around(ContactPoint):
        url = f"/reveal/contact-points/{point_id}/"
        in_scope = persona in MAY_UNMASK and point_id in scope.contact_points
        denied = 404 if persona in MAY_UNMASK else 403
        assert client.get(url).status_code == (200 if in_scope else denied), point_id
        response = client.post(url, purpose)
        assert response.status_code == (200 if in_scope else denied), point_id
        if in_scope:
            shown += 1
            assert ContactPoint.objects.get(pk=point_id).value in response.content.decode()
    for customer_id in _around(Customer):
        url = f"/reveal/customers/{customer_id}/id-number/"
        in_scope = persona in MAY_UNMASK and customer_id in scope.customers
        denied = 404 if persona in MAY_UNMASK else 403
        assert client.post(url, purpose).status_code == (200 if in_scope else denied), customer_id
        shown += in_scope

    assert shown == (len(scope.contact_points) + len(scope.customers) if persona in MAY_UNMASK else 0)
    # One entry per value shown; a refusal or a 404 writes nothing.
    assert AuditEntry.objects.count() == audit_before + shown
    assert _state() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_api(client: Client, book_with_more: Book, persona: str) -> None:
    book = book_with_more
    user = _user(book, persona)
    _, secret = token_create(name=f"t-{persona}", user=user)
    headers = {"Authorization": f"Bearer {secret}"}
    scope = _scope(book, persona)
    before = _state()

    for case_id in _around(Case):
        response = client.get(f"/api/v1/cases/{case_id}", headers=headers)
        assert response.status_code == (200 if case_id in scope.cases else 404), case_id
        if response.status_code == 200:
            # The case's contact points are those of its own customer, masked.
            assert {point["id"] for point in response.json()["contact_points"]} <= scope.contact_points
    for account_id in _around(Account):
        response = client.get(f"/api/v1/accounts/{account_id}", headers=headers)
        assert response.status_code == (200 if account_id in scope.accounts else 404), account_id
    for batch_id in _around(ImportBatch):
        assert client.get(f"/api/v1/imports/{batch_id}", headers=headers).status_code == 404, batch_id
    for run_id in _around(EodRun):
        assert client.get(f"/api/v1/eod/runs/{run_id}", headers=headers).status_code == 403, run_id

    # Assignment: only the team leader may assign, and only inside the team; another scope's
    # case (or a missing one) is a 404 for her, a 403 for everyone else.
    for case_id in _around(Case):
        if case_id in scope.cases:
            continue
        response = client.post(
            f"/api/v1/cases/{case_id}/assignment",
            {"collector": "alice"},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == (404 if persona == "tina" else 403), case_id

    assert _state() == before
