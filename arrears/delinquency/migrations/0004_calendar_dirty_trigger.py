"""Editing working days changes shifted due dates: queue the accounts of products that shift."""

from django.db import migrations

SQL = """
CREATE FUNCTION delinquency_dirty_by_calendar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.day = n.day
                WHERE n.next_working_day IS DISTINCT FROM o.next_working_day) THEN
        INSERT INTO delinquency_dirtyaccount (account_id, created_at)
        SELECT a.id, now()
          FROM portfolio_account a JOIN portfolio_product p ON p.id = a.product_id
         WHERE p.due_date_shift = 'next_working_day';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER core_calendarday_dirty_update AFTER UPDATE ON core_calendarday
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION delinquency_dirty_by_calendar();
"""

DROP = "DROP FUNCTION IF EXISTS delinquency_dirty_by_calendar() CASCADE;"


class Migration(migrations.Migration):
    dependencies = [
        ("delinquency", "0003_step_state"),
        ("core", "0003_fill_calendar"),
    ]

    operations = [migrations.RunSQL(SQL, DROP)]
