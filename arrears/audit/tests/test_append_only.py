"""The audit table refuses UPDATE, DELETE and TRUNCATE in the database, whoever asks."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from arrears.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def _entry() -> AuditEntry:
    return AuditEntry.objects.create(actor_name="alice", action=AuditAction.EXPORT, summary="原始摘要")


def test_orm_update_is_refused_and_the_row_is_unchanged():
    entry = _entry()

    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(summary="改过的摘要")

    assert AuditEntry.objects.get(pk=entry.pk).summary == "原始摘要"


def test_orm_delete_is_refused_and_the_row_stays():
    entry = _entry()

    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()

    assert AuditEntry.objects.filter(pk=entry.pk).count() == 1


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_auditentry SET actor_name = 'mallory'", "UPDATE"),
        ("DELETE FROM audit_auditentry", "DELETE"),
        ("TRUNCATE audit_auditentry", "TRUNCATE"),
    ],
)
def test_raw_sql_as_superuser_is_refused_too(statement, operation):
    entry = _entry()

    with (
        pytest.raises(DatabaseError, match=f"append-only: {operation}"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # Run the insert's deferred foreign-key check now: TRUNCATE refuses pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)

    assert AuditEntry.objects.get(pk=entry.pk).actor_name == "alice"


def test_inserting_still_works():
    _entry()
    _entry()

    assert AuditEntry.objects.filter(summary="原始摘要").count() == 2


def test_update_and_delete_are_revoked_from_public():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE table_name = 'audit_auditentry' AND grantee = 'PUBLIC'"
        )
        assert cursor.fetchall() == []


def test_unmasking_without_a_purpose_is_refused_by_the_database():
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.create(actor_name="alice", action=AuditAction.READ_UNMASKED, purpose="")

    assert AuditEntry.objects.filter(action=AuditAction.READ_UNMASKED).count() == 0
