"""Exports, state-changing requests, logins and logouts each leave one entry."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY

from arrears.accounts.models import ApiToken
from arrears.accounts.selectors import token_hash
from arrears.audit.models import AuditAction, AuditEntry
from arrears.audit.origin import client_ip
from arrears.conftest import PASSWORD, Book
from arrears.portfolio.models import ImportBatch, ImportStatus

pytestmark = pytest.mark.django_db


def _batch(book: Book) -> ImportBatch:
    return ImportBatch.objects.create(
        creditor=book.case_alice.account.creditor,
        kind="accounts",
        filename="accounts.csv",
        status=ImportStatus.DONE,
    )


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_error_report_download_writes_an_export_entry(client, book: Book, suffix):
    batch = _batch(book)
    client.force_login(book.sam)

    response = client.get(f"/imports/{batch.pk}/errors.{suffix}", REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 200
    [entry] = AuditEntry.objects.filter(action=AuditAction.EXPORT)
    assert (entry.actor, entry.object_type, entry.object_id, entry.ip) == (
        book.sam,
        "import_batch",
        str(batch.pk),
        "192.0.2.7",
    )
    assert entry.summary == f"导出导入错误明细 {suffix.upper()}：批次 #{batch.pk} accounts.csv"


def test_refused_download_writes_nothing(client, book: Book):
    batch = _batch(book)
    client.force_login(book.alice)

    assert client.get(f"/imports/{batch.pk}/errors.csv").status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 0


def test_successful_post_writes_a_state_change_entry_with_method_path_status_and_ip(client, book: Book):
    client.force_login(book.sam)

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    [entry] = AuditEntry.objects.filter(action=AuditAction.STATE_CHANGE)
    assert (entry.actor, entry.actor_name, entry.method, entry.path, entry.status_code, entry.ip) == (
        book.sam,
        "sam",
        "POST",
        "/i18n/setlang/",
        302,
        "203.0.113.9",
    )
    assert entry.summary == "POST /i18n/setlang/ → 302"


def test_refused_post_and_get_write_no_state_change(client, book: Book):
    client.force_login(book.alice)

    assert client.post("/imports/", {}).status_code == 403
    assert client.get("/cases/").status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.STATE_CHANGE).count() == 0


def test_anonymous_post_writes_nothing(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert AuditEntry.objects.count() == 0


def test_forwarded_for_is_used_only_when_the_proxy_is_trusted(client, book: Book, settings):
    client.force_login(book.sam)
    headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4, 10.0.0.1"}

    client.post("/i18n/setlang/", {"language": "en"}, **headers)
    settings.ARREARS_TRUST_X_FORWARDED_FOR = True
    client.post("/i18n/setlang/", {"language": "en"}, **headers)

    ips = list(
        AuditEntry.objects.filter(action=AuditAction.STATE_CHANGE).order_by("id").values_list("ip", flat=True)
    )
    assert ips == ["10.0.0.1", "198.51.100.4"]


def test_client_ip_drops_what_is_not_an_address():
    assert client_ip({"REMOTE_ADDR": "not-an-ip"}, trust_forwarded_for=False) is None
    assert (
        client_ip({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "<script>"}, trust_forwarded_for=True)
        is None
    )
    assert client_ip({"REMOTE_ADDR": "::1"}, trust_forwarded_for=False) == "::1"


def test_login_and_logout_are_recorded_once_each(client, book: Book):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 302
    assert SESSION_KEY in client.session

    client.post("/logout/", REMOTE_ADDR="10.9.8.7")

    entries = list(AuditEntry.objects.order_by("id").values_list("action", "actor_name", "ip", "path"))
    assert entries == [
        ("login", "alice", "10.9.8.7", "/login/"),
        ("logout", "alice", "10.9.8.7", "/logout/"),
    ]


def test_failed_login_writes_nothing(client, book: Book):
    client.post("/login/", {"username": "alice", "password": "wrong"})

    assert AuditEntry.objects.count() == 0


def test_api_write_with_a_token_is_recorded_under_the_token_name(client, book: Book):
    ApiToken.objects.create(
        name="core-banking", user=book.sam, prefix="abc", secret_hash=token_hash("s3cret")
    )

    response = client.post(
        f"/api/v1/cases/{book.case_unassigned.pk}/assignment",
        {"collector": "alice"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer s3cret",
        REMOTE_ADDR="10.2.2.2",
    )

    assert response.status_code == 200
    [entry] = AuditEntry.objects.filter(action=AuditAction.STATE_CHANGE)
    assert (entry.actor, entry.actor_name, entry.ip, entry.status_code) == (
        book.sam,
        "token:core-banking",
        "10.2.2.2",
        200,
    )
