"""Writes to cases: the lifecycle the end-of-day batch drives, assignment, assignment rules.

The batch works set-based. `cases_follow_delinquency` reads a *signals* table the caller
fills (one row per account it recomputed) and opens, escalates and closes cases with one
statement each, each statement writing its case events in the same statement (a
data-modifying CTE), inside the caller's transaction. Re-running with the same signals
changes nothing: every statement only touches cases whose state differs from the signal.

The signals table has the columns
``account_id, customer_id, product_id, ladder_id, delinquent (bool), dpd, bucket_code,
bucket_group, bucket_rank (the bucket's min DPD), case_open_dpd, overdue_fen``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role, Team, User
from arrears.cases.models import AssignmentRule, Case, CaseEvent, CaseEventKind, CaseStatus
from arrears.portfolio.models import Product

# The team a rule gives a product's bucket group; product-specific rules win over catch-alls.
_RULE_TEAM = """
    coalesce(
        (SELECT r.team_id FROM cases_assignmentrule r WHERE r.product_id = {product} AND r.bucket_group = {group}),
        (SELECT r.team_id FROM cases_assignmentrule r WHERE r.product_id IS NULL AND r.bucket_group = {group}))
"""


@dataclass(frozen=True)
class LifecycleCounts:
    opened: int
    escalated: int
    deescalated: int
    closed: int

    @property
    def total(self) -> int:
        return self.opened + self.escalated + self.deescalated + self.closed


def cases_follow_delinquency(*, business_date: dt.date, signals_table: str) -> LifecycleCounts:
    """Close cured cases as paid, move open cases to their account's bucket, open new cases.

    A case opens when the account's DPD reaches its product's `case_open_dpd` and it has no
    open case (a cured account that falls behind again gets a new case). When a case rolls
    forward into a bucket group whose rule names another team, it is released (collector and
    team cleared) for `cases_assign_unassigned` to give to that team; rolling back never
    moves it. Safe to re-run.
    """
    params = {"d": business_date}
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH closed AS (
                UPDATE cases_case c
                   SET status = 'closed', close_reason = 'paid', closed_on = %(d)s, closed_at = now()
                  FROM {signals_table} s
                 WHERE s.account_id = c.account_id AND c.status <> 'closed' AND NOT s.delinquent
             RETURNING c.id, c.bucket_code, s.overdue_fen
            )
            INSERT INTO cases_caseevent (case_id, kind, business_date, from_value, to_value, data, created_at)
            SELECT id, 'closed', %(d)s, bucket_code, 'paid',
                   jsonb_build_object('reason', 'paid', 'overdue_fen', overdue_fen), now()
              FROM closed
            """,
            params,
        )
        closed = cur.rowcount
        cur.execute(
            f"""
            WITH target AS (
                SELECT c.id, c.bucket_code AS old_code, s.bucket_code AS new_code, s.bucket_group AS new_group,
                       coalesce(old.min_dpd, -1) AS old_rank, s.bucket_rank AS new_rank, s.dpd, s.overdue_fen,
                       -- Only a roll forward moves a case to another team: a case that rolls back
                       -- (a partial payment) stays with the collector working it.
                       c.agency_id IS NULL AND new_team.id IS NOT NULL AND s.bucket_rank > coalesce(old.min_dpd, -1)
                           AND new_team.id IS DISTINCT FROM c.team_id AS releases
                  FROM cases_case c
                  JOIN {signals_table} s ON s.account_id = c.account_id
                  LEFT JOIN portfolio_bucket old ON old.ladder_id = s.ladder_id AND old.code = c.bucket_code
                  LEFT JOIN LATERAL (SELECT {_RULE_TEAM.format(product="s.product_id", group="s.bucket_group")} AS id) new_team ON true
                 WHERE c.status <> 'closed' AND s.delinquent AND c.bucket_code IS DISTINCT FROM s.bucket_code
            ), moved AS (
                UPDATE cases_case c
                   SET bucket_code = t.new_code, bucket_group = t.new_group,
                       assigned_collector_id = CASE WHEN t.releases THEN NULL ELSE c.assigned_collector_id END,
                       team_id = CASE WHEN t.releases THEN NULL ELSE c.team_id END
                  FROM target t
                 WHERE c.id = t.id
             RETURNING c.id
            )
            INSERT INTO cases_caseevent (case_id, kind, business_date, from_value, to_value, data, created_at)
            SELECT t.id, CASE WHEN t.new_rank > t.old_rank THEN 'escalated' ELSE 'deescalated' END,
                   %(d)s, t.old_code, t.new_code,
                   jsonb_build_object('dpd', t.dpd, 'overdue_fen', t.overdue_fen, 'released', t.releases), now()
              FROM target t JOIN moved m ON m.id = t.id
            RETURNING kind
            """,
            params,
        )
        kinds = [row[0] for row in cur.fetchall()]
        # The accounts to open a case for, with their previous case, probed per account by
        # index (LATERAL) before anything is inserted: no plan can then scan the cases table
        # once per new case, whatever its (possibly stale) statistics say.
        cur.execute(
            f"""
            DROP TABLE IF EXISTS case_openings;
            CREATE TEMP TABLE case_openings ON COMMIT DROP AS
            SELECT s.account_id, s.customer_id, s.bucket_code, s.bucket_group, s.dpd, s.overdue_fen,
                   earlier.last_id AS previous_case_id
              FROM {signals_table} s
              LEFT JOIN LATERAL (
                  SELECT max(c.id) AS last_id, bool_or(c.status <> 'closed') AS has_open
                    FROM cases_case c WHERE c.account_id = s.account_id
              ) earlier ON true
             WHERE s.delinquent AND s.dpd >= s.case_open_dpd AND NOT coalesce(earlier.has_open, false);
            CREATE UNIQUE INDEX ON case_openings (account_id);
            ANALYZE case_openings;
            """,
            params,
        )
        cur.execute(
            """
            WITH opened AS (
                INSERT INTO cases_case (account_id, customer_id, status, bucket_code, bucket_group,
                                        opened_on, opened_at, close_reason)
                SELECT o.account_id, o.customer_id, 'new', o.bucket_code, o.bucket_group, %(d)s, now(), ''
                  FROM case_openings o
                 ORDER BY o.account_id
             RETURNING id, account_id
            )
            INSERT INTO cases_caseevent (case_id, kind, business_date, from_value, to_value, data, created_at)
            SELECT n.id, 'opened', %(d)s, '', o.bucket_code,
                   jsonb_build_object('dpd', o.dpd, 'overdue_fen', o.overdue_fen, 'previous_case_id', o.previous_case_id),
                   now()
              FROM opened n JOIN case_openings o ON o.account_id = n.account_id
            """,
            params,
        )
        opened = cur.rowcount
    return LifecycleCounts(
        opened=opened,
        escalated=kinds.count(CaseEventKind.ESCALATED),
        deescalated=kinds.count(CaseEventKind.DEESCALATED),
        closed=closed,
    )


def cases_assign_unassigned(*, business_date: dt.date) -> int:
    """Give every open case without a collector to a collector of the team its rule names.

    Round-robin among the team's active collectors in id order, continuing where the
    previous assignment in that team stopped (`TeamRotation`), so work spreads evenly across
    days. Cases placed with an agency, and cases whose bucket has no rule or whose team has no
    active collector, stay unassigned (supervisors see them). Safe to re-run.
    """
    params: dict[str, Any] = {"d": business_date, "collector": str(Role.COLLECTOR)}
    with connection.cursor() as cur:
        cur.execute(
            f"""
            DROP TABLE IF EXISTS assign_picks;
            CREATE TEMP TABLE assign_picks ON COMMIT DROP AS
            WITH waiting AS (
                SELECT c.id, c.assigned_at IS NOT NULL AS was_assigned,
                       {_RULE_TEAM.format(product="a.product_id", group="c.bucket_group")} AS team_id
                  FROM cases_case c
                  JOIN portfolio_account a ON a.id = c.account_id
                 WHERE c.assigned_collector_id IS NULL AND c.status <> 'closed' AND c.agency_id IS NULL
            ), collectors AS (
                SELECT u.team_id, u.id AS user_id,
                       row_number() OVER (PARTITION BY u.team_id ORDER BY u.id) - 1 AS position,
                       count(*) OVER (PARTITION BY u.team_id) AS team_size
                  FROM accounts_user u
                 WHERE u.role = %(collector)s AND u.is_active AND u.team_id IS NOT NULL
            ), numbered AS (
                SELECT w.*, row_number() OVER (PARTITION BY w.team_id ORDER BY w.id) - 1 AS k
                  FROM waiting w WHERE w.team_id IS NOT NULL
            )
            SELECT n.id AS case_id, n.team_id, n.was_assigned, c.user_id
              FROM numbered n
              LEFT JOIN cases_teamrotation r ON r.team_id = n.team_id
              JOIN collectors c ON c.team_id = n.team_id
                               AND c.position = (coalesce(r.next_position, 0) + n.k) %% c.team_size
            """,
            params,
        )
        cur.execute(
            """
            WITH assigned AS (
                UPDATE cases_case c
                   SET assigned_collector_id = p.user_id, team_id = p.team_id, assigned_at = now()
                  FROM assign_picks p
                 WHERE c.id = p.case_id
             RETURNING c.id
            )
            INSERT INTO cases_caseevent (case_id, kind, business_date, from_value, to_value, data, created_at)
            SELECT p.case_id, CASE WHEN p.was_assigned THEN 'reassigned' ELSE 'assigned' END, %(d)s,
                   '', u.username, jsonb_build_object('team_id', p.team_id, 'collector_id', p.user_id), now()
              FROM assign_picks p JOIN assigned a ON a.id = p.case_id JOIN accounts_user u ON u.id = p.user_id
            """,
            params,
        )
        assigned = cur.rowcount
        cur.execute(
            """
            INSERT INTO cases_teamrotation (team_id, next_position)
            SELECT team_id, count(*) FROM assign_picks GROUP BY team_id
            ON CONFLICT (team_id) DO UPDATE
               SET next_position = cases_teamrotation.next_position + excluded.next_position
            """
        )
        cur.execute("DROP TABLE assign_picks")
    return assigned


@transaction.atomic
def assignment_rule_set(*, bucket_group: str, team: Team, product: Product | None = None) -> AssignmentRule:
    """Say which team works `product`'s (or, without a product, every product's) cases in a bucket group."""
    rule, _created = AssignmentRule.objects.update_or_create(
        product=product, bucket_group=bucket_group, defaults={"team": team}
    )
    return rule


class AssignmentRefused(Exception):
    """Why a hand assignment is refused: `code` for the API, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


ASSIGNABLE_ROLES = (Role.COLLECTOR, Role.FIELD_COLLECTOR)


def user_can_assign(user: Any) -> bool:
    return (
        isinstance(user, User)
        and user.is_active
        and user.role in (Role.ADMIN, Role.SUPERVISOR, Role.TEAM_LEADER)
    )


@transaction.atomic
def case_assign(*, case: Case, collector: User, actor: Any = None) -> Case:
    """Give one open case to a collector (and their team), recording who did it.

    Admins and supervisors may assign any case to any active collector; a team leader only
    within their own team. The caller has already checked the case is in the actor's scope.
    """
    if actor is not None:
        if not user_can_assign(actor):
            raise AssignmentRefused("forbidden", _("只有主管、管理员或组长可以分案。"))
        if actor.role == Role.TEAM_LEADER and collector.team_id != actor.team_id:
            raise AssignmentRefused("other_team", _("组长只能把案件分给本组的催收员。"))
    if not collector.is_active or collector.role not in ASSIGNABLE_ROLES:
        raise AssignmentRefused(
            "not_a_collector", _("{name} 不是在岗的催收员或外访员。").format(name=collector.username)
        )
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if locked.status == CaseStatus.CLOSED:
        raise AssignmentRefused("closed", _("案件已结案，不能再分案。"))
    previous = locked.assigned_collector
    if previous == collector:
        return locked  # already theirs: nothing changes, no event
    was_assigned = locked.assigned_at is not None
    locked.assigned_collector = collector
    locked.team = collector.team
    locked.assigned_at = timezone.now()
    locked.save(update_fields=["assigned_collector", "team", "assigned_at"])
    CaseEvent.objects.create(
        case=locked,
        kind=CaseEventKind.REASSIGNED if was_assigned else CaseEventKind.ASSIGNED,
        actor=actor if getattr(actor, "pk", None) else None,
        from_value=previous.username if previous else "",
        to_value=collector.username,
        data={"team_id": collector.team_id, "collector_id": collector.pk, "by_hand": True},
    )
    return locked
