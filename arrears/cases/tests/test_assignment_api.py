"""POST /api/v1/cases/{id}/assignment: supervisors assign; team leaders within their team; others not."""

from __future__ import annotations

import pytest
from django.test import Client

from arrears.accounts.models import Role
from arrears.cases.models import Case, CaseEvent
from arrears.cases.tests.test_api import bearer
from arrears.conftest import Book
from arrears.tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def post(client: Client, case_id: int, collector: str, headers: dict[str, str]) -> object:
    return client.post(
        f"/api/v1/cases/{case_id}/assignment",
        {"collector": collector},
        content_type="application/json",
        headers=headers,
    )


def test_a_supervisor_gives_a_case_to_a_collector_and_it_is_recorded(client: Client, book: Book) -> None:
    response = post(client, book.case_unassigned.pk, "bob", bearer(book.sam, "t-sam"))

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["assigned_collector"], body["team"]) == (book.case_unassigned.pk, "bob", "WEST")
    case = Case.objects.get(pk=book.case_unassigned.pk)
    assert (case.assigned_collector, case.team) == (book.bob, book.bob.team)
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.actor, event.from_value, event.to_value) == ("assigned", book.sam, "", "bob")


def test_reassigning_records_from_whom(client: Client, book: Book) -> None:
    response = post(client, book.case_alice.pk, "bob", bearer(book.root, "t-root"))

    assert response.status_code == 200
    event = CaseEvent.objects.get(case=book.case_alice)
    assert (event.kind, event.from_value, event.to_value) == ("assigned", "alice", "bob")


def test_a_team_leader_assigns_within_the_team_only(client: Client, book: Book) -> None:
    amy = UserFactory(username="amy", role=Role.COLLECTOR, team=book.alice.team)
    headers = bearer(book.tina, "t-tina")

    assert post(client, book.case_alice.pk, "amy", headers).status_code == 200
    refused = post(client, book.case_alice.pk, "bob", headers)

    assert refused.status_code == 403 and refused.json()["code"] == "other_team"
    assert Case.objects.get(pk=book.case_alice.pk).assigned_collector == amy
    # A case of another team is not even visible to her.
    assert post(client, book.case_bob.pk, "amy", headers).status_code == 404


@pytest.mark.parametrize("persona", ["alice", "agnes"])
def test_collectors_and_agency_users_may_not_assign_and_nothing_changes(
    client: Client, book: Book, persona: str
) -> None:
    user = getattr(book, persona)
    response = post(client, book.case_unassigned.pk, "bob", bearer(user, f"t-{persona}"))

    assert response.status_code == 403
    assert Case.objects.get(pk=book.case_unassigned.pk).assigned_collector is None
    assert not CaseEvent.objects.exists()


@pytest.mark.parametrize(
    ("collector", "code"),
    [("nobody", "unknown_user"), ("tina", "not_a_collector"), ("gone", "not_a_collector")],
)
def test_only_active_collectors_can_be_given_cases(
    client: Client, book: Book, collector: str, code: str
) -> None:
    UserFactory(username="gone", role=Role.COLLECTOR, team=TeamFactory(code="X"), is_active=False)

    response = post(client, book.case_unassigned.pk, collector, bearer(book.sam, "t-sam"))

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert Case.objects.get(pk=book.case_unassigned.pk).assigned_collector is None


def test_a_closed_case_is_not_assigned(client: Client, book: Book) -> None:
    Case.objects.filter(pk=book.case_unassigned.pk).update(status="closed")

    response = post(client, book.case_unassigned.pk, "bob", bearer(book.sam, "t-sam"))

    assert (response.status_code, response.json()["code"]) == (422, "closed")
    assert not CaseEvent.objects.exists()
