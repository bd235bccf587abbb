"""Who sees which accounts and customers: one persona per scope (issue #2 §5)."""

from __future__ import annotations

import pytest

from arrears.cases.selectors import accounts_visible_to, cases_visible_to, customers_visible_to
from arrears.conftest import Book

EXPECTED = {
    "alice": {"A-ALICE"},
    "bob": {"A-BOB"},
    "tina": {"A-ALICE"},
    "agnes": {"A-AGENCY"},
    "sam": {"A-ALICE", "A-BOB", "A-AGENCY", "A-NOBODY"},
    "root": {"A-ALICE", "A-BOB", "A-AGENCY", "A-NOBODY"},
}


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_each_persona_sees_exactly_their_accounts(book: Book, persona: str) -> None:
    user = getattr(book, persona)

    visible = set(accounts_visible_to(user).values_list("account_no", flat=True))

    assert visible == EXPECTED[persona]


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_customers_and_cases_follow_the_same_scope(book: Book, persona: str) -> None:
    user = getattr(book, persona)

    customers = set(customers_visible_to(user).values_list("accounts__account_no", flat=True))
    cases = set(cases_visible_to(user).values_list("account__account_no", flat=True))

    assert customers == EXPECTED[persona]
    assert cases == EXPECTED[persona]


def test_a_collector_loses_sight_when_the_case_is_reassigned(book: Book) -> None:
    book.case_alice.assigned_collector = book.bob
    book.case_alice.save()

    assert set(accounts_visible_to(book.alice).values_list("account_no", flat=True)) == set()
    assert set(accounts_visible_to(book.bob).values_list("account_no", flat=True)) == {"A-ALICE", "A-BOB"}


def test_inactive_users_see_nothing(book: Book) -> None:
    book.sam.is_active = False
    book.sam.save()

    assert accounts_visible_to(book.sam).count() == 0
