"""The daily periodic task, the `arrears retention run` command, and the admin pages."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from procrastinate.contrib.django import app

from arrears.accounts.models import Role
from arrears.cases.models import CaseStatus
from arrears.cli import main
from arrears.core.models import Event
from arrears.governance.models import DataClass, LegalHold, RetentionPolicy, RetentionRun
from arrears.governance.tasks import local_date, retention_daily
from arrears.portfolio.models import AccountStatus, Customer
from arrears.tests.factories import AccountFactory, CaseFactory, UserFactory


def test_the_daily_run_is_registered_for_three_in_the_morning_shanghai() -> None:
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}

    assert periodic["retention-daily"].cron == "0 19 * * *"
    assert periodic["retention-daily"].task.name == "governance.retention_daily"
    assert local_date(dt.datetime(2031, 12, 31, 19, 0, tzinfo=dt.UTC)) == dt.date(2032, 1, 1)


@pytest.mark.django_db
def test_the_daily_task_runs_retention_as_of_the_shanghai_date() -> None:
    retention_daily(int(dt.datetime(2031, 12, 31, 19, 0, tzinfo=dt.UTC).timestamp()))

    assert list(RetentionRun.objects.values_list("today", "state")) == [(dt.date(2032, 1, 1), "done")]


def old_closed_customer() -> Customer:
    account = AccountFactory(status=AccountStatus.CLOSED)
    CaseFactory(account=account, status=CaseStatus.CLOSED, closed_on=dt.date(2026, 6, 1))
    return account.customer


def out(*args: str) -> str:
    buffer = io.StringIO()
    call_command(*args, stdout=buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_the_command_prints_the_report(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    customer = old_closed_customer()

    dry = out("retention", "run", "--dry-run", "--today", "2032-01-01").splitlines()

    assert dry[0] == "retention as of 2032-01-01 (dry run: nothing changed)"
    assert dry[2].split() == [
        "personal_data_after_closure",
        "anonymise",
        "1826",
        "2027-01-01",
        "1",
        "0",
        "customers",
        "1,",
        "contact_points",
        "0",
    ]
    customer.refresh_from_db()
    assert customer.name == "张三"

    report = out("retention", "run", "--today", "2032-01-01").splitlines()

    run = RetentionRun.objects.get()
    assert report[0] == f"retention as of 2032-01-01 (run #{run.pk})"
    assert report[2].split()[4:6] == ["1", "0"]
    assert report[3].split()[:6] == ["import_files", "delete", "1826", "2027-01-01", "0", "0"]
    assert report[5].split()[:6] == ["activities_recordings", "delete", "1826", "2027-01-01", "0", "0"]
    assert report[6].split() == [
        "messages",
        "anonymise",
        "1826",
        "2027-01-01",
        "0",
        "0",
        "messages",
        "0,",
        "inbound_messages",
        "0",
    ]
    customer.refresh_from_db()
    assert customer.name == "已匿名"


def test_the_arrears_command_lists_retention(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    assert "retention run [--dry-run] [--today YYYY-MM-DD]" in capsys.readouterr().out


@pytest.fixture
def admin_client(db: None) -> tuple[Client, Any]:
    root = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    return client, root


def test_editing_a_policy_in_the_admin_writes_an_event(admin_client: tuple[Client, Any]) -> None:
    client, root = admin_client
    policy = RetentionPolicy.objects.get(data_class=DataClass.IMPORT_FILES)

    response = client.post(
        f"/admin/governance/retentionpolicy/{policy.pk}/change/",
        {"enabled": "on", "days": "1095", "action": "delete", "note": "三年"},
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.days, policy.note) == (1095, "三年")
    event = Event.objects.get(kind="retention_policy.updated")
    assert (event.actor, event.data["changes"]["days"]) == (root, [1826, 1095])


def test_an_unsupported_action_or_too_few_days_is_refused_in_the_admin(
    admin_client: tuple[Client, Any],
) -> None:
    client, _root = admin_client
    policy = RetentionPolicy.objects.get(data_class=DataClass.PERSONAL_DATA_AFTER_CLOSURE)

    response = client.post(
        f"/admin/governance/retentionpolicy/{policy.pk}/change/",
        {"enabled": "on", "days": "7", "action": "delete", "note": ""},
    )

    assert response.status_code == 200
    policy.refresh_from_db()
    assert (policy.days, policy.action) == (1826, "anonymise")
    assert not Event.objects.filter(kind="retention_policy.updated").exists()


def test_placing_and_releasing_a_hold_in_the_admin_goes_through_the_services(
    admin_client: tuple[Client, Any],
) -> None:
    client, root = admin_client
    account = AccountFactory()

    response = client.post(
        "/admin/governance/legalhold/add/", {"customer": "", "account": str(account.pk), "reason": "诉讼中"}
    )

    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.account, hold.placed_by, hold.is_active) == (account, root, True)
    assert Event.objects.filter(kind="legal_hold.placed", subject_id=hold.pk).count() == 1

    response = client.post(
        "/admin/governance/legalhold/",
        {"action": "release_holds", "_selected_action": [str(hold.pk)]},
    )

    assert response.status_code == 302
    hold.refresh_from_db()
    assert (hold.is_active, hold.released_by) == (False, root)
    assert Event.objects.filter(kind="legal_hold.released", subject_id=hold.pk).count() == 1


def test_a_hold_on_both_or_neither_is_refused_in_the_admin(admin_client: tuple[Client, Any]) -> None:
    client, _root = admin_client

    response = client.post("/admin/governance/legalhold/add/", {"customer": "", "account": "", "reason": "x"})

    assert response.status_code == 200
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize("page", ["retentionpolicy/", "legalhold/", "legalhold/add/", "retentionrun/"])
def test_the_admin_pages_render(admin_client: tuple[Client, Any], page: str) -> None:
    client, _root = admin_client

    assert client.get(f"/admin/governance/{page}").status_code == 200


@pytest.mark.django_db
def test_the_default_policies_are_seeded_once_and_edits_survive_reseeding() -> None:
    from arrears.governance.services import retention_policy_defaults_ensure

    RetentionPolicy.objects.filter(data_class=DataClass.IMPORT_FILES).update(days=1095)

    assert retention_policy_defaults_ensure() == 0
    assert sorted(RetentionPolicy.objects.values_list("data_class", "days", "action")) == [
        ("activities_recordings", 1826, "delete"),
        ("import_files", 1095, "delete"),
        ("import_row_errors", 1826, "delete"),
        ("messages", 1826, "anonymise"),
        ("personal_data_after_closure", 1826, "anonymise"),
    ]
