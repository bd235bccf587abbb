"""Make the audit table append-only in the database itself.

One statement-level trigger refuses UPDATE, DELETE and TRUNCATE, for every database user
including superusers and the table's owner (the embedded server runs as a superuser, to whom a
REVOKE means nothing). The REVOKE from PUBLIC is for deployments where the application
connects as a role that does not own the table. PostgreSQL skips ordinary triggers only in a
session with ``session_replication_role = replica``, which only a superuser may set; the test
suite's flush uses that (see arrears/conftest.py and docs/security.md).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_entry_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditentry is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit entries can only be inserted (see docs/security.md).';
END
$$;

CREATE TRIGGER audit_entry_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change();

CREATE TRIGGER audit_entry_no_truncate
    BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditentry FROM PUBLIC;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_entry_no_update_delete ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
