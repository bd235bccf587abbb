"""Indexes for the work queue and "next case" (arrears/cases/queue.py).

Partial indexes over the open cases only, so a collector's queue never wades through their
closed history, and the team's shared queue (open, unassigned cases of a team) is found
without scanning the team's assigned cases; and the open cases still without a follow-up due
time, for the end-of-day batch. Plain SQL with no model state: the models keep
their own `Meta.indexes`, and these can move there later without a rebuild (same names).
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
    # The batch gives open cases without a follow-up due time one (cases_refresh_followup_due).
    (
        "case_followup_missing_idx",
        "CREATE INDEX IF NOT EXISTS case_followup_missing_idx ON cases_case (id)"
        " WHERE followup_due_at IS NULL AND status <> 'closed'",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_default_action_codes")]

    operations = [
        migrations.RunSQL(sql=create, reverse_sql=f"DROP INDEX IF EXISTS {name}") for name, create in CREATE
    ]
