"""Indexes for the work queue and "next case" (arrears/cases/queue.py); one of them on the
delinquency state, which the queue reads for the overdue amount.

Partial indexes over the open cases only, so a collector's queue never wades through their
closed history, and the team's shared queue (open, unassigned cases of a team) is found
without scanning the team's assigned cases. No index names `followup_due_at`,
`last_activity_at` or the lease columns: logging an activity and claiming a case update
those, and an index on any of them would make each such update rewrite every index of the
row instead of being a HOT update. Plain SQL with no model state: the models keep their own
`Meta.indexes`, and these can move there later without a rebuild (same names).
"""

from django.db import migrations

CREATE = [
    (
        "case_queue_idx",
        "CREATE INDEX IF NOT EXISTS case_queue_idx ON cases_case (assigned_collector_id) WHERE status <> 'closed'",
    ),
    (
        "case_team_pool_idx",
        "CREATE INDEX IF NOT EXISTS case_team_pool_idx ON cases_case (team_id)"
        " WHERE assigned_collector_id IS NULL AND status <> 'closed'",
    ),
    # Active deceased and jail holds: they stop every case of the person, and the queue reads
    # them once per ranking (a handful of rows, not the whole hold index).
    (
        "hold_person_active_idx",
        "CREATE INDEX IF NOT EXISTS hold_person_active_idx ON cases_casehold (case_id)"
        " WHERE released_at IS NULL AND kind IN ('deceased', 'jail')",
    ),
    # The overdue amount, the queue's last tie-breaker, from the index alone (index-only scan):
    # one probe per candidate that never touches the state table's heap.
    (
        "accountstate_overdue_idx",
        "CREATE INDEX IF NOT EXISTS accountstate_overdue_idx ON delinquency_accountstate (account_id)"
        " INCLUDE (overdue_fen)",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_default_action_codes"), ("delinquency", "0004_calendar_dirty_trigger")]

    operations = [
        migrations.RunSQL(sql=create, reverse_sql=f"DROP INDEX IF EXISTS {name}") for name, create in CREATE
    ]
