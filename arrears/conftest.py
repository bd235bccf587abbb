"""Fixtures every test may use: fixed personas for permission tests (conventions: alice/bob…)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations

from arrears.accounts.models import Role, User
from arrears.cases.models import Case
from arrears.tests.factories import AccountFactory, AgencyFactory, CaseFactory, TeamFactory, UserFactory

# Playwright's sync API runs an event loop in the main thread; Django's ORM then refuses sync
# calls from that thread unless told it is safe (the tests, not the app, are async-aware here).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pass-Word-123"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Production hashing costs ~0.5 s a password; tests create many users and check none for strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _admin_second_factor_off(settings: Any) -> None:
    """Persona tests are about roles, and ``force_login`` cannot enter a TOTP code: admins need
    no second factor here. The second-factor tests (accounts/tests/test_security.py) turn it
    back on, and one asserts the production default is on."""
    settings.ARREARS_REQUIRE_ADMIN_2FA = False


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_trigger() -> Iterator[None]:
    """Transactional tests end with Django's flush, a TRUNCATE of every table, which the audit
    table's append-only trigger refuses. The flush runs in replica mode, the one way past
    ordinary triggers (superuser only; docs/security.md "Audit")."""
    original = PostgresOperations.sql_flush

    def sql_flush(self: PostgresOperations, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = original(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica;", *statements] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "sql_flush", sql_flush)
        yield


@dataclass
class Book:
    """A small book with one case per persona's scope.

    alice: collector in team EAST with case_alice; bob: collector in team WEST with case_bob;
    tina: team leader of EAST; agnes: agency user of agency AG1 which holds case_agency;
    sam: supervisor; root: admin. case_unassigned belongs to nobody.
    """

    alice: User
    bob: User
    tina: User
    agnes: User
    sam: User
    root: User
    case_alice: Case
    case_bob: Case
    case_agency: Case
    case_unassigned: Case


@pytest.fixture
def book(db: None) -> Book:
    east = TeamFactory(code="EAST", name="东区")
    west = TeamFactory(code="WEST", name="西区")
    agency = AgencyFactory(code="AG1", name="外包一")
    alice = UserFactory(username="alice", role=Role.COLLECTOR, team=east)
    bob = UserFactory(username="bob", role=Role.COLLECTOR, team=west)
    tina = UserFactory(username="tina", role=Role.TEAM_LEADER, team=east)
    agnes = UserFactory(username="agnes", role=Role.AGENCY_USER, agency=agency)
    sam = UserFactory(username="sam", role=Role.SUPERVISOR)
    root = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    return Book(
        alice=alice,
        bob=bob,
        tina=tina,
        agnes=agnes,
        sam=sam,
        root=root,
        case_alice=CaseFactory(
            account=AccountFactory(account_no="A-ALICE"), assigned_collector=alice, team=east
        ),
        case_bob=CaseFactory(account=AccountFactory(account_no="A-BOB"), assigned_collector=bob, team=west),
        case_agency=CaseFactory(account=AccountFactory(account_no="A-AGENCY"), agency=agency),
        case_unassigned=CaseFactory(account=AccountFactory(account_no="A-NOBODY")),
    )


@pytest.fixture
def action_codes(db: None) -> None:
    """The default action codes. Migrations load them, but a transactional test's flush
    empties the table for the tests after it."""
    from arrears.cases.action_codes import DEFAULT_ACTION_CODES
    from arrears.cases.models import ActionCode

    for order, item in enumerate(DEFAULT_ACTION_CODES):
        ActionCode.objects.update_or_create(
            code=item.code, defaults={**item._asdict(), "sort_order": (order + 1) * 10}
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failed test: a missing browser or database must not pass quietly."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        print(f"\nCI: {skipped} test(s) were skipped; in CI that is a failure.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
