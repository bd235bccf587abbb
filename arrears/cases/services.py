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
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role, Team, User
from arrears.cases.models import (
    ActionCode,
    ActionCodeCategory,
    Activity,
    AssignmentRule,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseHold,
    CaseStatus,
    Channel,
    Direction,
    HoldKind,
    Promise,
    PromiseKind,
    PromiseStatus,
    Task,
    TaskKind,
)
from arrears.compliance.sla import followup_due_at
from arrears.core.services import event_record
from arrears.core.sql import prepared_cursor
from arrears.core.zones import zone_or_default
from arrears.delinquency.models import AccountState
from arrears.portfolio.models import (
    ContactPoint,
    Customer,
    ImportKind,
    ImportStatus,
    Product,
    ProtectedReason,
)

DEFAULT_ZONE = "Asia/Shanghai"

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


# --- the collector's work: activities, promises, tasks, holds, contact facts ------------------
#
# Every write below runs in one transaction with its CaseEvent. Outbound contacts are put to
# the compliance guard first; a denial stores the decision and a CONTACT_DENIED event (in
# their own transaction, so the evidence survives) and raises `ContactRefused` — nothing
# else is written.


class WorkRefused(ValueError):
    """Bad input for a work service; `message` is translated and names what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ContactRefused(Exception):
    """The guard denied the contact; `decision` is the stored decision with its reasons."""

    def __init__(self, decision: Any) -> None:
        super().__init__("contact denied by the compliance guard")
        self.decision = decision


WORKING_ROLES = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.TEAM_LEADER,
    Role.COLLECTOR,
    Role.FIELD_COLLECTOR,
    Role.AGENCY_USER,
)
# A promise is for a near date: within 2 days in M1 (seed 000), a month at most otherwise.
PROMISE_MAX_DAYS = {"M1": 2}
PROMISE_MAX_DAYS_DEFAULT = 31
# How far ahead of the clock an activity's time may be (a slow clock on a phone), not more.
FUTURE_SLACK = dt.timedelta(minutes=10)
# Follow-up on a promise one hour before it falls due (seed 000, appendix).
PROMISE_FOLLOWUP_LEAD = dt.timedelta(hours=1)
NOTES_MAX = 4000
DURATION_MAX_S = 24 * 3600
# Action codes whose logging also places a hold, or marks the customer protected.
CODE_HOLDS = {
    "DISPUTE": HoldKind.DISPUTE,
    "COMPLAINT": HoldKind.COMPLAINT,
    "DECEASED": HoldKind.DECEASED,
    "JAIL": HoldKind.JAIL,
}


def user_can_work(user: Any, case: Case) -> bool:
    """Whether the user may log work on the case (scope is checked by the caller's selector:
    this only says whether the role writes at all and, for collectors, whether it is theirs)."""
    if not isinstance(user, User) or not user.is_active or user.role not in WORKING_ROLES:
        return False
    if user.role in (Role.COLLECTOR, Role.FIELD_COLLECTOR):
        return case.assigned_collector_id == user.pk or case.claimed_by_id == user.pk
    if user.role == Role.TEAM_LEADER:
        return case.team_id is not None and case.team_id == user.team_id
    if user.role == Role.AGENCY_USER:
        return case.agency_id is not None and case.agency_id == user.agency_id
    return True


def _case_event(
    case: Case, kind: str, actor: Any, *, to_value: str = "", from_value: str = "", **data: Any
) -> None:
    CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        from_value=from_value[:100],
        to_value=to_value[:100],
        data=data,
    )


def _aware(value: dt.datetime | None, field: str) -> dt.datetime:
    if value is None:
        raise WorkRefused(field, _("请填写时间。"))
    if value.tzinfo is None or value.utcoffset() is None:
        raise WorkRefused(field, _("时间必须带时区（例如 +08:00）。"))
    return value


def _zone(case: Case) -> ZoneInfo:
    return zone_or_default(case.customer.time_zone)


def _activity_checks(
    *,
    case: Case,
    channel: str,
    contact_point: ContactPoint | None,
    direction: str,
    started_at: dt.datetime,
    connected: bool,
    right_party: bool,
    code: ActionCode | None,
    notes: str,
    recording_ref: str,
    duration_s: int | None,
    now: dt.datetime,
) -> ActionCode:
    if channel not in Channel.values:
        raise WorkRefused("channel", _("渠道必须是 电话、短信、邮件、信函 或 外访 之一。"))
    if direction not in Direction.values:
        raise WorkRefused("direction", _("方向必须是呼出或呼入。"))
    if started_at > now + FUTURE_SLACK:
        raise WorkRefused("started_at", _("不能记录未来时间的联系；请填写实际联系时间。"))
    if code is None:
        raise WorkRefused("action_code", _("行动码不存在或已停用。"))
    if code.system_only:
        raise WorkRefused("action_code", _("行动码 {code} 由系统设置，不能手工记录。").format(code=code.code))
    if contact_point is None:
        raise WorkRefused("contact_point_id", _("请选择联系方式。"))
    if contact_point.customer_id != case.customer_id:
        raise WorkRefused("contact_point_id", _("该联系方式不属于本案客户。"))
    if right_party and not connected:
        raise WorkRefused("right_party", _("未接通就不能是本人接听；请核对“接通”。"))
    if code.implies_connected and not connected:
        raise WorkRefused(
            "connected", _("行动码 {code} 表示已接通；请勾选“接通”或换一个行动码。").format(code=code.code)
        )
    if len(notes) > NOTES_MAX:
        raise WorkRefused("notes", _("备注最多 {n} 字。").format(n=NOTES_MAX))
    if len(recording_ref) > 200:
        raise WorkRefused("recording_ref", _("录音编号最多 200 字符。"))
    if duration_s is not None and not 0 <= duration_s <= DURATION_MAX_S:
        raise WorkRefused("duration_s", _("通话时长必须在 0 到 86400 秒之间。"))
    if case.status == CaseStatus.CLOSED:
        raise WorkRefused("case", _("案件已结案，不能再记录催收。"))
    return code


def activity_log(
    *,
    case: Case,
    actor: Any,
    channel: str,
    contact_point: ContactPoint | None,
    direction: str,
    started_at: dt.datetime,
    connected: bool,
    right_party: bool,
    action_code: str,
    notes: str = "",
    recording_ref: str = "",
    duration_s: int | None = None,
    promise_amount_fen: int | None = None,
    promise_due_at: dt.datetime | None = None,
    callback_at: dt.datetime | None = None,
    visitors: int | None = None,
    now: dt.datetime | None = None,
) -> Activity:
    """Log one contact or attempt. Outbound ones are checked by the guard at their own time
    (notes included); inbound ones have their notes screened by the text rules. A PTP/PTP2
    code makes a promise; WN invalidates the number; DISPUTE/COMPLAINT/DECEASED/JAIL place
    the hold; HARDSHIP protects the customer; a callback time makes a task."""
    from arrears.compliance.inputs import Visit
    from arrears.compliance.models import DecisionPurpose
    from arrears.compliance.services import TEXT_RULES, GuardError, guard_check

    now = now or timezone.now()
    started_at = _aware(started_at, "started_at")
    notes = (notes or "").strip()
    recording_ref = (recording_ref or "").strip()
    code = _activity_checks(
        case=case,
        channel=channel,
        contact_point=contact_point,
        direction=direction,
        started_at=started_at,
        connected=connected,
        right_party=right_party,
        code=_action_code_active((action_code or "").strip().upper()),
        notes=notes,
        recording_ref=recording_ref,
        duration_s=duration_s,
        now=now,
    )
    assert contact_point is not None
    if code.category == ActionCodeCategory.PROMISE:
        _promise_checks(case=case, amount_fen=promise_amount_fen, due_at=promise_due_at, now=now)
    if callback_at is not None:
        _aware(callback_at, "callback_at")
        if callback_at <= now:
            raise WorkRefused("callback_at", _("回电时间必须在将来。"))
    outbound = direction == Direction.OUTBOUND
    visit = None
    if channel == Channel.VISIT:
        # A visit counts as recorded when its recording is referenced (H14/C6): the reference
        # is the evidence, a tick box would not be.
        visit = Visit(visitors=visitors or 0, recording_device=bool(recording_ref))
    with transaction.atomic():
        # The debtor's row is locked before the guard reads: contacts with one debtor are
        # judged one at a time, so two collectors (or a collector and a dialer) cannot both
        # pass a daily cap that has room for one more contact (H3, C2, C3, U1 count per case,
        # debtor and number). A denial commits its decision and event; nothing else is written.
        with prepared_cursor() as cursor:
            cursor.execute(_LOCK_DEBTOR_SQL, [case.customer_id])
        try:
            decision = guard_check(
                case=case,
                channel=channel,
                contact_point=contact_point,
                at=started_at,
                purpose=DecisionPurpose.ACTIVITY,
                asked_by=actor,
                notes=notes,
                visit=visit,
                only_rules=None if outbound else TEXT_RULES,
            )
        except GuardError as error:
            raise WorkRefused("started_at", str(error)) from error
        if decision.allowed:
            activity = _activity_write(
                case=case,
                actor=actor,
                code=code,
                decision=decision if outbound else None,
                contact_point=contact_point,
                channel=channel,
                direction=direction,
                started_at=started_at,
                connected=connected,
                right_party=right_party,
                notes=notes,
                recording_ref=recording_ref,
                duration_s=duration_s,
                promise_amount_fen=promise_amount_fen,
                promise_due_at=promise_due_at,
                callback_at=callback_at,
                now=now,
            )
        else:
            _case_event(
                case,
                CaseEventKind.CONTACT_DENIED,
                actor,
                to_value=",".join(sorted({v["rule"] for v in decision.result["violations"]})),
                decision_id=decision.pk,
                channel=channel,
                contact_point_id=contact_point.pk,
                at=started_at.isoformat(),
            )
    if not decision.allowed:
        raise ContactRefused(decision)
    return activity


def _action_code_active(code: str) -> ActionCode | None:
    with prepared_cursor() as cursor:
        cursor.execute(_ACTION_CODE_SQL, [code])
        row = cursor.fetchone()
    return None if row is None else ActionCode.from_db(connection.alias, _ACTION_CODE_FIELDS, row)


_ACTION_CODE_FIELDS = [field.attname for field in ActionCode._meta.concrete_fields]
_ACTION_CODE_SQL = (
    f"SELECT {', '.join(_ACTION_CODE_FIELDS)} FROM {ActionCode._meta.db_table} WHERE code = %s AND active"
)
_LOCK_DEBTOR_SQL = f"SELECT id FROM {Customer._meta.db_table} WHERE id = %s FOR UPDATE"

# The writes of an allowed activity are written by hand: through the ORM (a locking read with
# its joins, three save()s) they cost more Python than the rest of the request together. One
# statement locks the case row and reads what its follow-up time depends on (bucket, opening,
# last activity, the debtor's zone, the balance the end-of-day batch computed), inserts the
# activity and inserts its case event; the follow-up time is computed from the locked row
# (`compliance.sla.followup_due_at`) and written by a second statement.
_ACTIVITY_WRITE_SQL = f"""
WITH locked AS (
    SELECT c.id, c.customer_id, c.status, c.bucket_group, c.opened_at, c.last_activity_at, cu.time_zone,
           (SELECT s.outstanding_fen FROM {AccountState._meta.db_table} s WHERE s.account_id = c.account_id)
               AS balance_fen
      FROM {Case._meta.db_table} c JOIN {Customer._meta.db_table} cu ON cu.id = c.customer_id
     WHERE c.id = %(case)s
       FOR UPDATE OF c
), activity AS (
    INSERT INTO {Activity._meta.db_table} (case_id, customer_id, contact_point_id, channel, direction, started_at,
                                connected, right_party, action_code_id, notes, recording_ref, duration_s,
                                actor_id, decision_id, created_at)
    SELECT id, customer_id, %(point)s::bigint, %(channel)s, %(direction)s, %(started_at)s::timestamptz,
           %(connected)s::boolean, %(right_party)s::boolean, %(code)s, %(notes)s, %(recording_ref)s,
           %(duration_s)s::integer, %(actor)s::bigint, %(decision)s::bigint, %(created_at)s::timestamptz
      FROM locked
 RETURNING id
), event AS (
    INSERT INTO {CaseEvent._meta.db_table} (case_id, kind, actor_id, from_value, to_value, data, created_at)
    SELECT %(case)s::bigint, %(event_kind)s, %(actor)s::bigint, '', %(event_to)s,
           %(event_data)s::jsonb || jsonb_build_object('activity_id', a.id), %(created_at)s::timestamptz
      FROM activity a
)
SELECT a.id, l.customer_id, l.status, l.bucket_group, l.opened_at, l.last_activity_at, l.time_zone, l.balance_fen
  FROM locked l, activity a
"""
_CASE_FOLLOWUP_SQL = (
    f"UPDATE {Case._meta.db_table} SET status = %s, last_activity_at = %s, followup_due_at = %s WHERE id = %s"
)


def _activity_write(
    *,
    case: Case,
    actor: Any,
    code: ActionCode,
    decision: Any,
    contact_point: ContactPoint,
    channel: str,
    direction: str,
    started_at: dt.datetime,
    connected: bool,
    right_party: bool,
    notes: str,
    recording_ref: str,
    duration_s: int | None,
    promise_amount_fen: int | None,
    promise_due_at: dt.datetime | None,
    callback_at: dt.datetime | None,
    now: dt.datetime,
) -> Activity:
    """The writes of an allowed activity, inside `activity_log`'s transaction."""
    actor_row = actor if getattr(actor, "pk", None) else None
    created_at = timezone.now()
    with prepared_cursor() as cursor:
        cursor.execute(
            _ACTIVITY_WRITE_SQL,
            {
                "case": case.pk,
                "point": contact_point.pk,
                "channel": channel,
                "direction": direction,
                "started_at": started_at,
                "connected": connected,
                "right_party": right_party,
                "code": code.code,
                "notes": notes,
                "recording_ref": recording_ref,
                "duration_s": duration_s,
                "actor": actor_row.pk if actor_row is not None else None,
                "decision": decision.pk if decision is not None else None,
                "created_at": created_at,
                "event_kind": CaseEventKind.ACTIVITY,
                "event_to": code.code[:100],
                "event_data": json.dumps(
                    {
                        "channel": channel,
                        "direction": direction,
                        "connected": connected,
                        "right_party": right_party,
                    }
                ),
            },
        )
        row = cursor.fetchone()
        if row is None:
            raise Case.DoesNotExist(f"case {case.pk} is gone")
        (
            activity_id,
            customer_id,
            status,
            bucket_group,
            opened_at,
            last_activity_at,
            time_zone,
            balance_fen,
        ) = row
        # Move the last activity and the SLA due time forward (never back: a call logged late
        # for yesterday does not undo today's); the first activity puts a new case in progress.
        latest = max(filter(None, [last_activity_at, started_at]))
        due = followup_due_at(
            bucket_group=bucket_group,
            balance_fen=balance_fen,
            last_activity_at=latest,
            opened_at=opened_at,
            zone=zone_or_default(time_zone),
        )
        status = CaseStatus.IN_PROGRESS if status == CaseStatus.NEW else status
        cursor.execute(_CASE_FOLLOWUP_SQL, [status, latest, due, case.pk])
    activity = Activity(
        pk=activity_id,
        case=case,
        customer_id=customer_id,
        contact_point=contact_point,
        channel=channel,
        direction=direction,
        started_at=started_at,
        connected=connected,
        right_party=right_party,
        action_code=code,
        notes=notes,
        recording_ref=recording_ref,
        duration_s=duration_s,
        actor=actor_row,
        decision=decision,
        created_at=created_at,
    )
    activity._state.adding = False
    activity._state.db = connection.alias
    # The caller's instance follows what was written, no re-read.
    case.status, case.last_activity_at, case.followup_due_at = status, latest, due
    if not _code_has_effects(code, callback_at):
        return activity
    # What some codes do besides (a promise, a wrong number, a hold, protection, a callback)
    # reads the case as locked, with its customer.
    locked = Case.objects.select_related("customer").get(pk=case.pk)
    if code.category == ActionCodeCategory.PROMISE:
        assert promise_amount_fen is not None and promise_due_at is not None
        promise_make(
            case=locked,
            actor=actor,
            amount_fen=promise_amount_fen,
            due_at=promise_due_at,
            activity=activity,
            now=now,
        )
    if code.code == "WN":
        contact_point_update(point=contact_point, actor=actor, valid=False, reason=_("错号（行动码 WN）"))
    if code.code in CODE_HOLDS:
        hold_place(case=locked, actor=actor, kind=CODE_HOLDS[code.code], reason=notes or code.label)
    if code.code == "HARDSHIP" and not locked.customer.protected_reason:
        customer_update(customer=locked.customer, actor=actor, protected_reason=ProtectedReason.HARDSHIP)
    if callback_at is not None:
        task_create(case=locked, actor=actor, kind=TaskKind.CALLBACK, due_at=callback_at, note=notes[:500])
    # hold_place keeps `locked.status`.
    case.status = locked.status
    return activity


def _code_has_effects(code: ActionCode, callback_at: dt.datetime | None) -> bool:
    return (
        code.category == ActionCodeCategory.PROMISE
        or code.code in ("WN", "HARDSHIP")
        or code.code in CODE_HOLDS
        or callback_at is not None
    )


def _promise_checks(
    *, case: Case, amount_fen: int | None, due_at: dt.datetime | None, now: dt.datetime
) -> None:
    if amount_fen is None or amount_fen <= 0:
        raise WorkRefused("promise_amount_fen", _("请填写承诺金额（大于 0）。"))
    if amount_fen > 10**13:
        raise WorkRefused("promise_amount_fen", _("承诺金额过大，请核对。"))
    due_at = _aware(due_at, "promise_due_at")
    if due_at <= now:
        raise WorkRefused("promise_due_at", _("承诺时间已过，请填写将来的日期和时间。"))
    zone = _zone(case)
    days = PROMISE_MAX_DAYS.get(case.bucket_group, PROMISE_MAX_DAYS_DEFAULT)
    last_day = now.astimezone(zone).date() + dt.timedelta(days=days)
    if due_at.astimezone(zone).date() > last_day:
        raise WorkRefused(
            "promise_due_at",
            _("{bucket} 案件的承诺还款须在 {days} 天内（最晚 {last_day}）。").format(
                bucket=case.bucket_group or "-", days=days, last_day=last_day.isoformat()
            ),
        )


@transaction.atomic
def promise_make(
    *,
    case: Case,
    actor: Any,
    amount_fen: int,
    due_at: dt.datetime,
    activity: Activity | None = None,
    now: dt.datetime | None = None,
) -> Promise:
    """Record a promise to pay. A case that was promised before gets a PTP2 (跟票); a promise
    still open is superseded (cancelled). A follow-up task is due one hour before."""
    now = now or timezone.now()
    _promise_checks(case=case, amount_fen=amount_fen, due_at=due_at, now=now)
    if case.status == CaseStatus.CLOSED:
        raise WorkRefused("case", _("案件已结案，不能再记录承诺。"))
    earlier = Promise.objects.select_for_update().filter(case=case).exclude(status=PromiseStatus.CANCELLED)
    kind = PromiseKind.PTP2 if earlier.exists() else PromiseKind.PTP
    for open_promise in earlier.filter(status=PromiseStatus.OPEN):
        open_promise.status = PromiseStatus.CANCELLED
        open_promise.resolved_at = now
        open_promise.save(update_fields=["status", "resolved_at"])
        Task.objects.filter(promise=open_promise, done_at__isnull=True).update(done_at=now)
        _case_event(
            case, CaseEventKind.PROMISE_CANCELLED, actor, to_value="superseded", promise_id=open_promise.pk
        )
    promise = Promise.objects.create(
        case=case,
        activity=activity,
        kind=kind,
        amount_fen=amount_fen,
        due_at=due_at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _case_event(
        case,
        CaseEventKind.PROMISE_MADE,
        actor,
        to_value=kind,
        promise_id=promise.pk,
        amount_fen=amount_fen,
        due_at=due_at.isoformat(),
    )
    followup_at = max(due_at - PROMISE_FOLLOWUP_LEAD, now)
    Task.objects.create(
        case=case,
        kind=TaskKind.PROMISE_FOLLOWUP,
        due_at=followup_at,
        assigned_to=case.assigned_collector,
        promise=promise,
        note=_("承诺还款 {amount} 元将于 {due} 到期").format(
            amount=f"{amount_fen / 100:,.2f}", due=due_at.astimezone(_zone(case)).strftime("%Y-%m-%d %H:%M")
        ),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return promise


@dataclass(frozen=True)
class PromiseCounts:
    kept: int
    partial: int
    broken: int


# Payments after a promise was made count towards it (reversals subtract). Kept when they
# cover the amount, at any time before the batch looks; when the due time has passed
# unpaid: broken, or partial when something was paid.
_SETTLE_SQL = """
WITH paid AS (
    SELECT p.id, coalesce(sum(pay.amount_fen), 0) AS paid_fen
    FROM cases_promise p
    JOIN cases_case c ON c.id = p.case_id
    LEFT JOIN portfolio_payment pay ON pay.account_id = c.account_id AND pay.paid_at >= p.created_at
        AND pay.paid_at <= %(now)s
    WHERE p.status = 'open' {scope}
    GROUP BY p.id
), verdict AS (
    SELECT p.id, p.case_id, paid.paid_fen,
           CASE WHEN paid.paid_fen >= p.amount_fen THEN 'kept'
                WHEN p.due_at < %(now)s AND paid.paid_fen > 0 THEN 'partial'
                WHEN p.due_at < %(now)s THEN 'broken' END AS status
    FROM cases_promise p JOIN paid ON paid.id = p.id
), settled AS (
    UPDATE cases_promise p SET status = v.status, paid_fen = v.paid_fen, resolved_at = %(now)s
    FROM verdict v WHERE v.id = p.id AND v.status IS NOT NULL
    RETURNING p.id, p.case_id, p.status, p.paid_fen, p.amount_fen
), done AS (
    UPDATE cases_task t SET done_at = %(now)s FROM settled s
    WHERE t.promise_id = s.id AND t.done_at IS NULL AND s.status = 'kept'
), events AS (
    INSERT INTO cases_caseevent (case_id, kind, business_date, from_value, to_value, data, created_at)
    SELECT s.case_id,
           CASE s.status WHEN 'kept' THEN 'promise_kept' WHEN 'partial' THEN 'promise_partial'
                ELSE 'promise_broken' END,
           %(business_date)s, 'open',
           CASE s.status WHEN 'kept' THEN 'KP' ELSE 'BP' END,
           jsonb_build_object('promise_id', s.id, 'paid_fen', s.paid_fen, 'amount_fen', s.amount_fen),
           %(now)s
    FROM settled s
)
SELECT status, count(*) FROM settled GROUP BY status
"""


def promises_settle(
    *,
    now: dt.datetime | None = None,
    account_ids_from_batch: int | None = None,
    business_date: dt.date | None = None,
) -> PromiseCounts:
    """Set open promises kept (KP), partial or broken (BP) from the payments up to `now`,
    set-based.

    Called by the end-of-day batch (with `now` at the end of its business date), every ten
    minutes by the worker, and after a payments file is loaded (then only for the accounts in
    that batch). Safe to re-run: only open promises change, once.
    """
    now = now or timezone.now()
    scope = ""
    day = business_date or now.astimezone(ZoneInfo(DEFAULT_ZONE)).date()
    params: dict[str, Any] = {"now": now, "business_date": day}
    if account_ids_from_batch is not None:
        scope = "AND c.account_id IN (SELECT account_id FROM portfolio_payment WHERE batch_id = %(batch)s)"
        params["batch"] = account_ids_from_batch
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_SETTLE_SQL.format(scope=scope), params)
        counts = dict(cur.fetchall())
    return PromiseCounts(
        kept=counts.get("kept", 0), partial=counts.get("partial", 0), broken=counts.get("broken", 0)
    )


@transaction.atomic
def task_create(*, case: Case, actor: Any, kind: str, due_at: dt.datetime, note: str = "") -> Task:
    if kind not in TaskKind.values:
        raise WorkRefused("kind", _("任务类型不正确。"))
    due_at = _aware(due_at, "due_at")
    if len(note) > 500:
        raise WorkRefused("note", _("任务说明最多 500 字。"))
    task = Task.objects.create(
        case=case,
        kind=kind,
        due_at=due_at,
        assigned_to=case.assigned_collector or (actor if getattr(actor, "pk", None) else None),
        note=note,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _case_event(
        case, CaseEventKind.TASK_CREATED, actor, to_value=kind, task_id=task.pk, due_at=due_at.isoformat()
    )
    return task


@transaction.atomic
def task_done(*, task: Task, actor: Any) -> Task:
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.done_at is not None:
        return locked
    locked.done_at = timezone.now()
    locked.done_by = actor if getattr(actor, "pk", None) else None
    locked.save(update_fields=["done_at", "done_by"])
    _case_event(locked.case, CaseEventKind.TASK_DONE, actor, to_value=locked.kind, task_id=locked.pk)
    return locked


@transaction.atomic
def hold_place(*, case: Case, actor: Any, kind: str, reason: str) -> CaseHold:
    """Stop collection on the case (and, for DECEASED/JAIL, on every case of the customer,
    which the guard reads). Placing a hold that is already active returns it unchanged."""
    if kind not in HoldKind.values:
        raise WorkRefused("kind", _("停催类型不正确。"))
    reason = (reason or "").strip()
    if not reason:
        raise WorkRefused("reason", _("请填写停催原因。"))
    if len(reason) > 500:
        raise WorkRefused("reason", _("停催原因最多 500 字。"))
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if locked.status == CaseStatus.CLOSED:
        raise WorkRefused("case", _("案件已结案。"))
    existing = CaseHold.objects.filter(case=locked, kind=kind, released_at__isnull=True).first()
    if existing is not None:
        return existing
    hold = CaseHold.objects.create(
        case=locked, kind=kind, reason=reason, placed_by=actor if getattr(actor, "pk", None) else None
    )
    if locked.status != CaseStatus.ON_HOLD:
        previous = locked.status
        locked.status = CaseStatus.ON_HOLD
        locked.save(update_fields=["status"])
    else:
        previous = locked.status
    _case_event(
        locked,
        CaseEventKind.HOLD_PLACED,
        actor,
        from_value=previous,
        to_value=kind,
        hold_id=hold.pk,
        reason=reason,
    )
    case.status = locked.status
    return hold


@transaction.atomic
def hold_release(*, hold: CaseHold, actor: Any, note: str = "") -> CaseHold:
    locked = CaseHold.objects.select_for_update().select_related("case").get(pk=hold.pk)
    if locked.released_at is not None:
        raise WorkRefused("hold", _("该停催已解除。"))
    locked.released_at = timezone.now()
    locked.released_by = actor if getattr(actor, "pk", None) else None
    locked.release_note = (note or "").strip()[:500]
    locked.save(update_fields=["released_at", "released_by", "release_note"])
    case = Case.objects.select_for_update().get(pk=locked.case_id)
    still_held = CaseHold.objects.filter(case=case, released_at__isnull=True).exists()
    if not still_held and case.status == CaseStatus.ON_HOLD:
        case.status = CaseStatus.IN_PROGRESS
        case.save(update_fields=["status"])
    _case_event(
        case,
        CaseEventKind.HOLD_RELEASED,
        actor,
        from_value=locked.kind,
        to_value=case.status,
        hold_id=locked.pk,
        note=locked.release_note,
    )
    return locked


def _cases_of_customer(customer_id: int) -> list[Case]:
    return list(Case.objects.filter(customer_id=customer_id).exclude(status=CaseStatus.CLOSED).order_by("pk"))


@transaction.atomic
def contact_point_update(
    *,
    point: ContactPoint,
    actor: Any,
    do_not_contact: bool | None = None,
    reason: str = "",
    valid: bool | None = None,
) -> ContactPoint:
    """Mark a contact point do-not-contact (a third party who refused, an opt-out) or invalid
    (a wrong number), or undo either. Each change is an event on the customer's open cases."""
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise WorkRefused("reason", _("原因最多 200 字。"))
    if do_not_contact is None and valid is None:
        raise WorkRefused("do_not_contact", _("请指明要修改“勿扰”或“有效”。"))
    locked = ContactPoint.objects.select_for_update().get(pk=point.pk)
    before = {"do_not_contact": locked.do_not_contact, "valid": locked.is_valid}
    fields = []
    if do_not_contact is not None and do_not_contact != locked.do_not_contact:
        if do_not_contact and not reason:
            raise WorkRefused("reason", _("标记勿扰须填写原因（例如：第三方拒绝、已退订）。"))
        locked.do_not_contact = do_not_contact
        locked.do_not_contact_reason = reason if do_not_contact else ""
        locked.do_not_contact_since = timezone.localdate() if do_not_contact else None
        fields += ["do_not_contact", "do_not_contact_reason", "do_not_contact_since"]
    if valid is not None and valid != locked.is_valid:
        locked.is_valid = valid
        fields.append("is_valid")
    if not fields:
        return locked
    locked.save(update_fields=fields)
    after = {"do_not_contact": locked.do_not_contact, "valid": locked.is_valid}
    for case in _cases_of_customer(locked.customer_id):
        _case_event(
            case,
            CaseEventKind.CONTACT_POINT_CHANGED,
            actor,
            to_value=reason,
            contact_point_id=locked.pk,
            before=before,
            after=after,
        )
    event_record(
        kind="portfolio.contact_point_changed",
        subject=locked,
        actor=actor,
        data={"before": before, "after": after, "reason": reason},
    )
    point.do_not_contact, point.is_valid = locked.do_not_contact, locked.is_valid
    point.do_not_contact_reason, point.do_not_contact_since = (
        locked.do_not_contact_reason,
        locked.do_not_contact_since,
    )
    return locked


def contact_point_opt_out(*, point: ContactPoint, channel: str, actor: Any) -> bool:
    """Record that the owner of this point opted out of one written channel (a 退订 / STOP
    reply). Only that channel stops; a call to the number is judged as before. Returns
    whether anything changed (a second opt-out changes nothing). Events as for any change."""
    if channel not in (Channel.SMS, Channel.EMAIL):
        raise WorkRefused("channel", _("只能退订短信或邮件。"))
    locked = ContactPoint.objects.select_for_update().get(pk=point.pk)
    if channel in locked.opted_out_channels:
        return False
    before = sorted(locked.opted_out_channels)
    locked.opted_out_channels = sorted({*locked.opted_out_channels, channel})
    locked.save(update_fields=["opted_out_channels"])
    for case in _cases_of_customer(locked.customer_id):
        _case_event(
            case,
            CaseEventKind.CONTACT_POINT_CHANGED,
            actor,
            to_value=f"opt_out:{channel}",
            contact_point_id=locked.pk,
            before={"opted_out_channels": before},
            after={"opted_out_channels": locked.opted_out_channels},
        )
    event_record(
        kind="portfolio.contact_point_opted_out",
        subject=locked,
        actor=actor,
        data={"channel": channel, "before": before, "after": locked.opted_out_channels},
    )
    point.opted_out_channels = locked.opted_out_channels
    return True


STOP_FLAGS = ("cease_requested", "attorney_represented", "employer_prohibits_contact")


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: Any,
    protected_reason: str | None = None,
    time_zone: str | None = None,
    stops: dict[str, bool] | None = None,
) -> Customer:
    """Set or clear the customer's protection (H4), their time zone (contact rules) and the
    Regulation F stops (U4: cease requested, attorney, employer prohibits work contact)."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    before: dict[str, Any] = {"protected_reason": locked.protected_reason, "time_zone": locked.time_zone}
    before.update({flag: getattr(locked, flag) for flag in STOP_FLAGS})
    for flag, value in (stops or {}).items():
        if flag not in STOP_FLAGS:
            raise WorkRefused(flag, _("未知的停止联系标记。"))
        setattr(locked, flag, bool(value))
    if protected_reason is not None:
        if protected_reason and protected_reason not in ProtectedReason.values:
            raise WorkRefused(
                "protected_reason", _("保护原因必须是：重病、孕期、家庭困难、残疾、高龄 之一，或留空取消。")
            )
        locked.protected_reason = protected_reason
        locked.protected_since = timezone.localdate() if protected_reason else None
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise WorkRefused(
                "timezone",
                _("时区 {zone} 不存在；请用 IANA 名称，例如 Asia/Shanghai。").format(zone=time_zone),
            ) from error
        # The end-of-day SQL converts times with PostgreSQL's own zone database: a name it
        # does not know would fail the batch, so it must know it too.
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_timezone_names WHERE name = %s", [time_zone])
            known_to_database = cur.fetchone() is not None
        if "/" not in time_zone or not known_to_database:
            raise WorkRefused(
                "timezone",
                _("时区 {zone} 不存在；请用 IANA 名称，例如 Asia/Shanghai。").format(zone=time_zone),
            )
        locked.time_zone = time_zone
    after: dict[str, Any] = {"protected_reason": locked.protected_reason, "time_zone": locked.time_zone}
    after.update({flag: getattr(locked, flag) for flag in STOP_FLAGS})
    if after == before:
        return locked
    locked.save(update_fields=["protected_reason", "protected_since", "time_zone", "updated_at", *STOP_FLAGS])
    for case in _cases_of_customer(locked.pk):
        _case_event(
            case,
            CaseEventKind.CUSTOMER_CHANGED,
            actor,
            to_value=locked.protected_reason,
            before=before,
            after=after,
        )
    event_record(
        kind="portfolio.customer_changed",
        subject=locked,
        actor=actor,
        data={"before": before, "after": after},
    )
    for field in ("protected_reason", "protected_since", "time_zone", *STOP_FLAGS):
        setattr(customer, field, getattr(locked, field))
    return locked


def promises_settle_after_import(*, batch: Any) -> PromiseCounts | None:
    """After a payments file is loaded, settle the promises of the accounts it paid, at once
    rather than at the next end of day (a kept promise leaves the queue the same hour)."""
    if batch is None or batch.kind != ImportKind.PAYMENTS or batch.status != ImportStatus.DONE:
        return None
    return promises_settle(account_ids_from_batch=batch.pk)


def action_codes_ensure_defaults() -> int:
    """Create any default action code that is missing (admins' edits to existing ones are
    kept). Returns how many were created. Safe to re-run."""
    from arrears.cases.action_codes import DEFAULT_ACTION_CODES

    created = 0
    for order, item in enumerate(DEFAULT_ACTION_CODES):
        _, made = ActionCode.objects.get_or_create(
            code=item.code, defaults={**item._asdict(), "sort_order": (order + 1) * 10}
        )
        created += made
    return created


@dataclass(frozen=True)
class SentMessage:
    """A written message the outbox sent on a case (for its activity history)."""

    case_id: int
    customer_id: int
    contact_point_id: int
    channel: str
    sent_at: dt.datetime
    notes: str
    decision_id: int | None


def sent_messages_record(*, messages: list[SentMessage]) -> list[int]:
    """Log messages the outbox sent as system activities (code SENT), one statement for all.

    They are the case's communications in its history; they are not a collector's
    follow-up, so the SLA's last activity is not moved. Returns the new activity ids in the
    order given. Runs inside the sender's transaction.
    """
    if not messages:
        return []
    rows = Activity.objects.bulk_create(
        [
            Activity(
                case_id=item.case_id,
                customer_id=item.customer_id,
                contact_point_id=item.contact_point_id,
                channel=item.channel,
                direction=Direction.OUTBOUND,
                started_at=item.sent_at,
                connected=False,
                right_party=False,
                action_code_id="SENT",
                notes=item.notes[:NOTES_MAX],
                decision_id=item.decision_id,
            )
            for item in messages
        ]
    )
    return [row.pk for row in rows]
