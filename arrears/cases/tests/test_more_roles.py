"""Scope of the roles beyond the four personas: field collector, QA, compliance, creditor viewer."""

from __future__ import annotations

import pytest

from arrears.accounts.models import Role
from arrears.accounts.services import AccountsError, user_create
from arrears.cases.selectors import accounts_visible_to, cases_visible_to, customers_visible_to
from arrears.conftest import Book
from arrears.tests.factories import AccountFactory, CreditorFactory, ProductFactory, UserFactory


@pytest.mark.parametrize("role", [Role.QA, Role.COMPLIANCE_OFFICER])
def test_oversight_roles_see_every_case(book: Book, role: str) -> None:
    viewer = UserFactory(username=f"x-{role}", role=role)

    assert set(cases_visible_to(viewer)) == {
        book.case_alice,
        book.case_bob,
        book.case_agency,
        book.case_unassigned,
    }


def test_a_field_collector_sees_only_their_own_cases(book: Book) -> None:
    field = UserFactory(username="fiona", role=Role.FIELD_COLLECTOR)
    book.case_bob.assigned_collector = field
    book.case_bob.save()

    assert list(cases_visible_to(field)) == [book.case_bob]
    assert list(accounts_visible_to(field)) == [book.case_bob.account]


def test_a_creditor_viewer_sees_that_creditors_whole_book_and_nothing_else(book: Book) -> None:
    other = ProductFactory(creditor=CreditorFactory(code="OTHER", name="他行"), code="LOAN")
    theirs = AccountFactory(product=other, account_no="O-1")  # no case: still the creditor's book
    viewer = user_create(username="cv", role=Role.CREDITOR_VIEWER, creditor_code="OTHER")

    assert list(accounts_visible_to(viewer)) == [theirs]
    assert list(customers_visible_to(viewer)) == [theirs.customer]
    assert list(cases_visible_to(viewer)) == []


def test_a_creditor_viewer_needs_a_creditor(db: None) -> None:
    with pytest.raises(AccountsError, match="--creditor"):
        user_create(username="cv", role=Role.CREDITOR_VIEWER)
