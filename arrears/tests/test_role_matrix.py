"""Every role × every page and API endpoint: allowed, 403 or 404 — and lists hold only the
objects of the user's scope. The table below is the matrix of docs/security.md."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client

from arrears.accounts.models import Agency, Role, User
from arrears.accounts.services import token_create
from arrears.cases.models import Case
from arrears.compliance.models import Decision
from arrears.compliance.packs import US_REGF, params_as_json
from arrears.delinquency.models import EodRun
from arrears.portfolio.models import Account, ImportBatch
from arrears.tests.factories import (
    AccountFactory,
    AgencyFactory,
    CaseFactory,
    ContactPointFactory,
    CreditorFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = [
    "admin",
    "supervisor",
    "team_leader",
    "collector",
    "field_collector",
    "qa",
    "compliance_officer",
    "agency_user",
    "creditor_viewer",
]


@dataclass
class World:
    users: dict[str, User]
    cases: dict[str, Case]  # by label
    batch: ImportBatch


@pytest.fixture
def world(db: None) -> World:
    east, west = TeamFactory(code="EAST"), TeamFactory(code="WEST")
    agency: Agency = AgencyFactory(code="AG1")
    other_product = ProductFactory(creditor=CreditorFactory(code="OTHER", name="他行"), code="LOAN")
    users = {
        "admin": UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True),
        "supervisor": UserFactory(username="sam", role=Role.SUPERVISOR),
        "team_leader": UserFactory(username="tina", role=Role.TEAM_LEADER, team=east),
        "collector": UserFactory(username="alice", role=Role.COLLECTOR, team=east),
        "field_collector": UserFactory(username="fiona", role=Role.FIELD_COLLECTOR, team=west),
        "qa": UserFactory(username="quinn", role=Role.QA),
        "compliance_officer": UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER),
        "agency_user": UserFactory(username="agnes", role=Role.AGENCY_USER, agency=agency),
        "creditor_viewer": UserFactory(username="cv", role=Role.CREDITOR_VIEWER, creditor_code="OTHER"),
    }
    bob = UserFactory(username="bob", role=Role.COLLECTOR, team=west)
    cases = {
        "alice": CaseFactory(
            account=AccountFactory(account_no="A-ALICE"), assigned_collector=users["collector"], team=east
        ),
        "bob": CaseFactory(account=AccountFactory(account_no="A-BOB"), assigned_collector=bob, team=west),
        "fiona": CaseFactory(
            account=AccountFactory(account_no="A-FIONA"),
            assigned_collector=users["field_collector"],
            team=west,
        ),
        "agency": CaseFactory(account=AccountFactory(account_no="A-AGENCY"), agency=agency),
        "other": CaseFactory(account=AccountFactory(account_no="A-OTHER", product=other_product)),
    }
    batch = ImportBatch.objects.create(
        creditor=other_product.creditor, kind="accounts", filename="a.csv", status="done"
    )
    return World(users=users, cases=cases, batch=batch)


# Which cases each role sees (by label); accounts follow their cases.
VISIBLE = {
    "admin": {"alice", "bob", "fiona", "agency", "other"},
    "supervisor": {"alice", "bob", "fiona", "agency", "other"},
    "qa": {"alice", "bob", "fiona", "agency", "other"},
    "compliance_officer": {"alice", "bob", "fiona", "agency", "other"},
    "team_leader": {"alice"},
    "collector": {"alice"},
    "field_collector": {"fiona"},
    "agency_user": {"agency"},
    "creditor_viewer": {"other"},
}
MANAGERS = {"admin", "supervisor"}
# Who works a queue ("next case"), and who reads the SLA report (a team leader: their team's).
QUEUE_ROLES = {"collector", "field_collector"}
SLA_ROLES = {"admin", "supervisor", "team_leader"}


def expected_pages(role: str) -> dict[str, int]:
    """Status of each page for a role; '{x}' stands for the object of case x."""
    expectations = {"/": 200, "/accounts/": 200, "/cases/": 200}
    for label in ("alice", "bob", "fiona", "agency", "other"):
        seen = label in VISIBLE[role]
        expectations[f"/cases/{{{label}}}/"] = 200 if seen else 404
        expectations[f"/accounts/{{{label}:account}}/"] = 200 if seen else 404
        # The case page's htmx parts: the searched history and the live contact statuses.
        expectations[f"/cases/{{{label}}}/history/"] = 200 if seen else 404
        expectations[f"/cases/{{{label}}}/statuses/"] = 200 if seen else 404
    managers = role in MANAGERS
    expectations["/imports/"] = 200 if managers else 403
    expectations["/imports/{batch}/"] = 200 if managers else 403
    expectations["/imports/{batch}/errors.csv"] = 200 if managers else 403
    expectations["/eod/"] = 200 if managers else 403
    expectations["/cases/queue/"] = 200 if role in QUEUE_ROLES else 403
    expectations["/cases/sla/"] = 200 if role in SLA_ROLES else 403
    pack_readers = role in {"admin", "compliance_officer"}
    expectations["/compliance/packs/"] = 200 if pack_readers else 403
    expectations["/compliance/packs/cn-house/"] = 200 if pack_readers else 403
    expectations["/compliance/decisions/"] = (
        200 if role in {"admin", "compliance_officer", "supervisor"} else 403
    )
    return expectations


def _url(template: str, world: World) -> str:
    def fill(match: re.Match[str]) -> str:
        label, _, what = match.group(1).partition(":")
        if label == "batch":
            return str(world.batch.pk)
        case = world.cases[label]
        return str(case.account_id if what == "account" else case.pk)

    return re.sub(r"\{([a-z:]+)\}", fill, template)


@pytest.mark.parametrize("role", ROLES)
def test_pages(client: Client, world: World, role: str) -> None:
    client.force_login(world.users[role])
    for template, status in expected_pages(role).items():
        response = client.get(_url(template, world))
        assert response.status_code == status, (role, template, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_lists_hold_only_objects_in_scope(client: Client, world: World, role: str) -> None:
    client.force_login(world.users[role])
    shown = {
        label
        for label, case in world.cases.items()
        if f"/cases/{case.pk}/" in client.get("/cases/").content.decode()
    }
    assert shown == VISIBLE[role]
    page = client.get("/accounts/").content.decode()
    assert {label for label, case in world.cases.items() if case.account.account_no in page} == VISIBLE[role]

    headers = _bearer(world.users[role], role)
    api_cases = {item["id"] for item in client.get("/api/v1/cases", headers=headers).json()["items"]}
    assert api_cases == {world.cases[label].pk for label in VISIBLE[role]}
    api_accounts = {item["id"] for item in client.get("/api/v1/accounts", headers=headers).json()["items"]}
    assert api_accounts == {world.cases[label].account_id for label in VISIBLE[role]}


def _bearer(user: User, name: str) -> dict[str, str]:
    _, secret = token_create(name=f"t-{name}", user=user)
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("role", ROLES)
def test_api_endpoints(client: Client, world: World, role: str) -> None:
    headers = _bearer(world.users[role], role)
    for label, case in world.cases.items():
        seen = label in VISIBLE[role]
        assert client.get(f"/api/v1/cases/{case.pk}", headers=headers).status_code == (200 if seen else 404)
        assert client.get(f"/api/v1/accounts/{case.account_id}", headers=headers).status_code == (
            200 if seen else 404
        )
    managers = role in MANAGERS
    import_status = client.get(f"/api/v1/imports/{world.batch.pk}", headers=headers).status_code
    assert import_status == (200 if managers else 404), (role, import_status)

    runs_before = EodRun.objects.count()
    created = client.post(
        "/api/v1/eod/runs", {"date": "2026-03-01"}, content_type="application/json", headers=headers
    )
    assert created.status_code == (202 if managers else 403), (role, created.status_code)
    assert EodRun.objects.count() == runs_before + (1 if managers else 0)

    target = world.cases["alice"]
    assigned = client.post(
        f"/api/v1/cases/{target.pk}/assignment",
        {"collector": "alice"},
        content_type="application/json",
        headers=headers,
    )
    expected = 200 if role in MANAGERS | {"team_leader"} else 403
    assert assigned.status_code == expected, (role, assigned.status_code)

    queue = client.get("/api/v1/queue", headers=headers)
    assert queue.status_code == (200 if role in QUEUE_ROLES else 403), (role, queue.status_code)
    if role in QUEUE_ROLES:
        assert {item["case_id"] for item in queue.json()["items"]} == {
            world.cases[label].pk for label in VISIBLE[role]
        }
    claimed_before = Case.objects.filter(claimed_by__isnull=False).count()
    taken = client.post("/api/v1/queue/next", headers=headers)
    assert taken.status_code == (200 if role in QUEUE_ROLES else 403), (role, taken.status_code)
    if role in QUEUE_ROLES:
        assert taken.json()["case_id"] in {world.cases[label].pk for label in VISIBLE[role]}
    else:
        assert Case.objects.filter(claimed_by__isnull=False).count() == claimed_before

    # The guard: asking about a case and reading its decisions follow the case's scope.
    for label, case in world.cases.items():
        seen = label in VISIBLE[role]
        point = ContactPointFactory(customer=case.customer, value=f"139{case.pk:08d}")
        before = Decision.objects.count()
        checked = client.post(
            "/api/v1/compliance/check",
            {
                "case_id": case.pk,
                "channel": "call",
                "contact_point_id": point.pk,
                "at": "2026-03-10T10:00:00+08:00",
            },
            content_type="application/json",
            headers=headers,
        )
        assert checked.status_code == (200 if seen else 404), (role, label, checked.status_code)
        assert Decision.objects.count() == before + (1 if seen else 0)
        listed = client.get(f"/api/v1/cases/{case.pk}/decisions", headers=headers)
        assert listed.status_code == (200 if seen else 404), (role, label)
    assert client.get("/api/v1/compliance/packs", headers=headers).status_code == 200
    assert client.get("/api/v1/creditors/OTHER/policy-packs", headers=headers).status_code == 200
    chose = client.put(
        "/api/v1/creditors/OTHER/policy-packs",
        {"packs": ["cn-house"]},
        content_type="application/json",
        headers=headers,
    )
    assert chose.status_code == (200 if role in {"admin", "compliance_officer"} else 403), (
        role,
        chose.status_code,
    )
    edited = client.put(
        "/api/v1/compliance/packs/us-regf",
        {"params": params_as_json(US_REGF.params)},
        content_type="application/json",
        headers=headers,
    )
    assert edited.status_code == (200 if role == "admin" else 403), (role, edited.status_code)

    # The schema is the same for everyone and names no objects.
    assert client.get("/api/v1/openapi.json", headers=headers).status_code == 200


# Who may log work on a case they see: its collector, its team's leader, managers; QA, the
# compliance officer and the creditor's viewer only read.
WORKERS = MANAGERS | {"team_leader", "collector"}


@pytest.mark.usefixtures("action_codes")
@pytest.mark.parametrize("role", ROLES)
def test_work_endpoints(client: Client, world: World, role: str) -> None:
    from arrears.cases.models import Activity, CaseHold
    from arrears.tests.factories import ContactPointFactory

    target = world.cases["alice"]
    point = ContactPointFactory(customer=target.customer)
    headers = _bearer(world.users[role], role)
    expected = (201 if role in WORKERS else 403) if "alice" in VISIBLE[role] else 404
    logged = client.post(
        f"/api/v1/cases/{target.pk}/activities",
        {
            "channel": "call",
            "contact_point_id": point.pk,
            "direction": "outbound",
            "started_at": "2026-11-20T10:00:00+08:00",
            "connected": False,
            "right_party": False,
            "action_code": "NA",
        },
        content_type="application/json",
        headers=headers,
    )
    assert logged.status_code == expected, (role, logged.status_code, logged.content)
    held = client.post(
        f"/api/v1/cases/{target.pk}/holds",
        {"kind": "complaint", "reason": "客户投诉"},
        content_type="application/json",
        headers=headers,
    )
    assert held.status_code == expected, (role, held.status_code)
    written = 1 if expected == 201 else 0
    assert (Activity.objects.count(), CaseHold.objects.count()) == (written, written)


@pytest.mark.usefixtures("action_codes")
@pytest.mark.parametrize("role", ROLES)
def test_case_page_forms(client: Client, world: World, role: str) -> None:
    """The case page's forms (htmx) follow the same matrix as the work endpoints; a worker
    gets the changed panels back (200)."""
    from arrears.cases.models import Activity, CaseHold
    from arrears.tests.factories import ContactPointFactory

    target = world.cases["alice"]
    point = ContactPointFactory(customer=target.customer)
    client.force_login(world.users[role])
    expected = (200 if role in WORKERS else 403) if "alice" in VISIBLE[role] else 404
    logged = client.post(
        f"/cases/{target.pk}/activities/",
        {
            "channel": "call",
            "contact_point": point.pk,
            "direction": "outbound",
            "started_at": "2026-11-20T10:00",
            "action_code": "NA",
        },
    )
    assert logged.status_code == expected, (role, logged.status_code)
    held = client.post(f"/cases/{target.pk}/holds/", {"kind": "complaint", "reason": "客户投诉"})
    assert held.status_code == expected, (role, held.status_code)
    protected = client.post(f"/cases/{target.pk}/protection/", {"protected_reason": "illness"})
    assert protected.status_code == expected, (role, protected.status_code)
    written = 1 if expected == 200 else 0
    assert (Activity.objects.count(), CaseHold.objects.count()) == (written, written)
    target.customer.refresh_from_db()
    assert target.customer.protected_reason == ("illness" if written else "")


def test_anonymous_gets_nothing(client: Client, world: World) -> None:
    pages = ("/", "/accounts/", "/cases/", f"/cases/{world.cases['alice'].pk}/", "/imports/", "/eod/")
    for path in (*pages, "/cases/queue/", "/cases/sla/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    for path in (
        "/api/v1/cases",
        "/api/v1/accounts",
        f"/api/v1/cases/{world.cases['alice'].pk}",
        "/api/v1/queue",
    ):
        assert client.get(path).status_code == 401, path
    assert client.post("/api/v1/queue/next").status_code == 401
    assert client.post("/cases/queue/next/").status_code == 302


def test_django_admin_is_for_admins_only(client: Client, world: World) -> None:
    for role, user in world.users.items():
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == (200 if role == "admin" else 302), role
    assert Account.objects.count() == 5  # and looking changed nothing


def test_the_matrix_lists_every_role(world: World) -> None:
    assert set(ROLES) == set(Role.values)


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_offers_the_queue_and_the_sla_page_to_who_may_open_them(
    client: Client, world: World, role: str
) -> None:
    client.force_login(world.users[role])
    menu = client.get("/").content.decode()
    offers_queue, offers_sla = 'href="/cases/queue/"' in menu, 'href="/cases/sla/"' in menu
    assert offers_queue == (role in {"collector", "field_collector"})
    assert offers_sla == (role in {"admin", "supervisor", "team_leader"})
    # Each link the menu offers opens, and the pages refuse the others.
    assert client.get("/cases/queue/").status_code == (200 if offers_queue else 403)
    assert client.get("/cases/sla/").status_code == (200 if offers_sla else 403)
