"""The work queue's per-case facts, stored on the case (arrears/cases/queue.py).

Three columns of `cases_case` that the queue's ranking used to compute per candidate with a
subquery each, now read from the row itself:

- `promise_due_at`: the earliest due time of the case's open promises (NULL: none);
- `task_due_at`: the earliest due time of the case's open tasks (NULL: none);
- `hold_active`: the case has a hold not released (its own holds only: deceased and jail holds
  on another case of the same person are still read by the ranking, once per statement).

They are kept by statement-level triggers (transition tables) on promises, tasks and holds, in
the same transaction as the change, whoever writes — the services, the end-of-day settlement's
single UPDATE, an admin, a script, a test's own rows: one UPDATE per statement, touching only
the cases whose fact changed. The facts are not time-dependent (the ranking compares them with
now), so nothing needs refreshing when the clock moves.

Plain SQL with no model state, like 0006: the ORM never loads or saves these columns, so a
`case.save()` of an instance read before a promise was made cannot put back a stale value.
None of them is indexed, so the triggers' updates stay HOT. The backfill fills them for the
existing rows.
"""

from django.db import migrations

COLUMNS = """
ALTER TABLE cases_case
    ADD COLUMN promise_due_at timestamp with time zone,
    ADD COLUMN task_due_at timestamp with time zone,
    ADD COLUMN hold_active boolean NOT NULL DEFAULT false;
"""

# One function per fact; each recomputes the fact for the cases of the changed rows and writes
# only those cases whose stored value differs.
FUNCTIONS = """
CREATE FUNCTION cases_promise_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases_case c SET promise_due_at = f.due
      FROM (SELECT d.case_id,
                   (SELECT min(p.due_at) FROM cases_promise p
                     WHERE p.case_id = d.case_id AND p.status = 'open') AS due
              FROM (SELECT DISTINCT case_id FROM changed_rows) d) f
     WHERE c.id = f.case_id AND c.promise_due_at IS DISTINCT FROM f.due;
    RETURN NULL;
END $$;

CREATE FUNCTION cases_task_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases_case c SET task_due_at = f.due
      FROM (SELECT d.case_id,
                   (SELECT min(t.due_at) FROM cases_task t
                     WHERE t.case_id = d.case_id AND t.done_at IS NULL) AS due
              FROM (SELECT DISTINCT case_id FROM changed_rows) d) f
     WHERE c.id = f.case_id AND c.task_due_at IS DISTINCT FROM f.due;
    RETURN NULL;
END $$;

CREATE FUNCTION cases_hold_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases_case c SET hold_active = f.held
      FROM (SELECT d.case_id,
                   EXISTS (SELECT 1 FROM cases_casehold h
                            WHERE h.case_id = d.case_id AND h.released_at IS NULL) AS held
              FROM (SELECT DISTINCT case_id FROM changed_rows) d) f
     WHERE c.id = f.case_id AND c.hold_active IS DISTINCT FROM f.held;
    RETURN NULL;
END $$;
"""

TABLES = (
    ("cases_promise", "cases_promise_facts"),
    ("cases_task", "cases_task_facts"),
    ("cases_casehold", "cases_hold_facts"),
)

TRIGGERS = [
    f"CREATE TRIGGER {table}_queue_{event.lower()} AFTER {event} ON {table} "
    f"REFERENCING {transition} TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
    for table, function in TABLES
    # A row never moves to another case (case_id is not updated), so an update's new rows name
    # every case it touched.
    for event, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
]

BACKFILL = """
UPDATE cases_case c SET promise_due_at = p.due
  FROM (SELECT case_id, min(due_at) AS due FROM cases_promise WHERE status = 'open' GROUP BY case_id) p
 WHERE c.id = p.case_id;
UPDATE cases_case c SET task_due_at = t.due
  FROM (SELECT case_id, min(due_at) AS due FROM cases_task WHERE done_at IS NULL GROUP BY case_id) t
 WHERE c.id = t.case_id;
UPDATE cases_case c SET hold_active = true
 WHERE c.id IN (SELECT case_id FROM cases_casehold WHERE released_at IS NULL);
"""

DROP = """
DROP FUNCTION IF EXISTS cases_promise_facts() CASCADE;
DROP FUNCTION IF EXISTS cases_task_facts() CASCADE;
DROP FUNCTION IF EXISTS cases_hold_facts() CASCADE;
ALTER TABLE cases_case DROP COLUMN IF EXISTS promise_due_at, DROP COLUMN IF EXISTS task_due_at,
    DROP COLUMN IF EXISTS hold_active;
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_queue_indexes")]

    operations = [migrations.RunSQL(COLUMNS + FUNCTIONS + "\n".join(TRIGGERS) + BACKFILL, DROP)]
