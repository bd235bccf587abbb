"""Statement-level triggers that queue the accounts whose delinquency inputs changed.

Set-based (transition tables): a COPY or bulk upsert of a million payments costs one
INSERT … SELECT DISTINCT, not a million trigger calls. Whoever writes — an import, an admin,
a script — the end-of-day batch learns which accounts to recompute.
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION delinquency_dirty_by_account_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delinquency_dirtyaccount (account_id, created_at)
    SELECT DISTINCT account_id, now() FROM changed_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION delinquency_dirty_new_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delinquency_dirtyaccount (account_id, created_at)
    SELECT id, now() FROM changed_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION delinquency_dirty_changed_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delinquency_dirtyaccount (account_id, created_at)
    SELECT n.id, now()
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (n.product_id, n.principal_fen, n.term, n.instalment_fen, n.first_due_date,
            n.schedule_source, n.status)
           IS DISTINCT FROM
           (o.product_id, o.principal_fen, o.term, o.instalment_fen, o.first_due_date,
            o.schedule_source, o.status);
    RETURN NULL;
END $$;

CREATE FUNCTION delinquency_dirty_changed_products() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delinquency_dirtyaccount (account_id, created_at)
    SELECT a.id, now()
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      JOIN portfolio_account a ON a.product_id = n.id
     WHERE (n.ladder_id, n.tolerance_fen, n.due_date_shift, n.allocation_order, n.case_open_dpd)
           IS DISTINCT FROM
           (o.ladder_id, o.tolerance_fen, o.due_date_shift, o.allocation_order, o.case_open_dpd);
    RETURN NULL;
END $$;

CREATE FUNCTION delinquency_dirty_by_ladder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delinquency_dirtyaccount (account_id, created_at)
    SELECT a.id, now()
      FROM portfolio_account a JOIN portfolio_product p ON p.id = a.product_id
     WHERE p.ladder_id IN (SELECT ladder_id FROM changed_rows);
    RETURN NULL;
END $$;
"""

TRIGGERS = []
for table, function in (
    ("portfolio_payment", "delinquency_dirty_by_account_id"),
    ("portfolio_instalment", "delinquency_dirty_by_account_id"),
    ("portfolio_bucket", "delinquency_dirty_by_ladder"),
):
    for event, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        TRIGGERS.append(
            f"CREATE TRIGGER {table}_dirty_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {transition} TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
TRIGGERS += [
    "CREATE TRIGGER portfolio_account_dirty_insert AFTER INSERT ON portfolio_account "
    "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION delinquency_dirty_new_accounts();",
    "CREATE TRIGGER portfolio_account_dirty_update AFTER UPDATE ON portfolio_account "
    "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION delinquency_dirty_changed_accounts();",
    "CREATE TRIGGER portfolio_product_dirty_update AFTER UPDATE ON portfolio_product "
    "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION delinquency_dirty_changed_products();",
]

DROP = """
DROP FUNCTION IF EXISTS delinquency_dirty_by_account_id() CASCADE;
DROP FUNCTION IF EXISTS delinquency_dirty_new_accounts() CASCADE;
DROP FUNCTION IF EXISTS delinquency_dirty_changed_accounts() CASCADE;
DROP FUNCTION IF EXISTS delinquency_dirty_changed_products() CASCADE;
DROP FUNCTION IF EXISTS delinquency_dirty_by_ladder() CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("delinquency", "0001_initial"),
        ("portfolio", "0004_product_delinquency_rules"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + "\n".join(TRIGGERS), DROP)]
