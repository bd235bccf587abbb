"""The collector's work queue, "next case", and the SLA monitor's reads and batch refresh.

Priority (highest first; a case may collect several reasons, and the page shows them all):

==========================================  =======  ==========================================
reason                                      points   when
==========================================  =======  ==========================================
承诺今日到期 / promise due                   1000     an open promise falls due before the end of
                                                     today (local), or is already past due
回电到期 HH:MM / callback or task due         900     an open task on the case is due within the
                                                     next `TASK_LEAD` (or overdue)
SLA 已超期 / follow-up overdue                700     `Case.followup_due_at` has passed
新案期限已过 / new-case deadline missed        600     first contact, contact-data check or two
                                                     effective follow-ups (seed 001) not met and
                                                     their last working day is over
SLA 今日到期 / follow-up due today             500     `followup_due_at` is before the end of today
新案期限今日到期 / new-case deadline today     400     one of those deadlines is today
新案 / never worked                           300     no activity recorded yet
bucket                                      10–40    M1 10, M2 20, M3 30, M3+ 35, M4+ 40
逾期金额 / amount overdue                       —     ties are broken by the overdue amount, then id
==========================================  =======  ==========================================

Cases on an active hold (a `CaseHold` of the case not released, a deceased or jail hold on any
case of the same customer, or status on_hold) sink to the bottom of the list, marked "停催",
and "next case" never hands them out: the guard would refuse every contact anyway.

The score is computed in SQL, in one statement (`_QUEUE_SQL`), over the collector's open cases
(partial index `case_queue_idx`, assigned_collector_id WHERE status <> 'closed') and their
team's shared queue (partial index `case_team_pool_idx`, team_id WHERE unassigned and open),
reading the case's earliest open promise and task and whether it has an active hold from the
case row itself (`promise_due_at`, `task_due_at`, `hold_active`: kept by triggers on promises,
tasks and holds, migration 0007_queue_facts), with one index probe per case for the overdue
amount (`accountstate_overdue_idx`, index-only) and person-wide holds read once by
`hold_person_active_idx`. "Next case" runs
that ranking for the first `CLAIM_BATCH` claimable cases and then
``SELECT … FOR UPDATE SKIP LOCKED LIMIT 1`` over them by primary key (`_LOCK_SQL`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from arrears.accounts.models import Role, User
from arrears.cases.models import Activity, Case, CaseEvent, CaseEventKind, CaseStatus
from arrears.cases.selectors import Viewer, case_scope_filter
from arrears.compliance import sla
from arrears.core.models import CalendarDay
from arrears.core.templatetags.arrears_tags import yuan
from arrears.portfolio.models import ContactKind, ContactPoint

QUEUE_ROLES = (Role.COLLECTOR, Role.FIELD_COLLECTOR)
SLA_REPORT_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.TEAM_LEADER)

# A task counts as due this long before its time, so the collector is ready for the callback.
TASK_LEAD = dt.timedelta(minutes=15)
# "Next case" leases the case for this long; meanwhile nobody else is handed it.
CLAIM_LEASE = dt.timedelta(minutes=20)
# A case worked this recently is not handed out again, unless a promise or callback is due now.
RECENTLY_WORKED = dt.timedelta(minutes=30)
# The contact-data check and the two effective follow-ups are looked at for cases opened in
# this many days; older cases are past those deadlines, met or missed, for good.
NEW_CASE_WINDOW = dt.timedelta(days=30)
QUEUE_PAGE_SIZE = 50

PHONE_KINDS = (ContactKind.MOBILE, ContactKind.HOME, ContactKind.WORK)
BUCKET_WEIGHTS: Mapping[str, int] = {"M1": 10, "M2": 20, "M3": 30, "M3+": 35, "M4+": 40}

W_PROMISE = 1000
W_TASK = 900
W_SLA_OVERDUE = 700
W_NEW_CASE_MISSED = 600
W_SLA_DUE_TODAY = 500
W_NEW_CASE_DUE_TODAY = 400
W_NEVER_WORKED = 300


class QueueRefused(Exception):
    """The user has no work queue (only collectors and field collectors work one)."""


def user_has_queue(user: Viewer) -> bool:
    return isinstance(user, User) and user.is_active and user.role in QUEUE_ROLES


def user_sees_sla_report(user: Viewer) -> bool:
    return (
        isinstance(user, User)
        and user.is_active
        and user.role in SLA_REPORT_ROLES
        and (user.role != Role.TEAM_LEADER or user.team_id is not None)
    )


# --- working-day cut-offs ------------------------------------------------------------------------


def calendar_is_working(*, around: dt.date, days: int = 60) -> sla.IsWorkingDay:
    """Whether a day is a working day, from the calendar table for `days` either side of
    `around` (one query) and the weekend rule outside it or where the table has no row."""
    rows = dict(
        CalendarDay.objects.filter(
            day__gte=around - dt.timedelta(days=days), day__lte=around + dt.timedelta(days=days)
        ).values_list("day", "is_working")
    )

    def is_working(day: dt.date) -> bool:
        known = rows.get(day)
        return sla.weekend_rule(day) if known is None else known

    return is_working


@dataclasses.dataclass(frozen=True)
class DeadlineCutoffs:
    """For each new-case deadline, the latest opening date whose deadline is today or earlier
    (`due`) and earlier than today (`missed`): one date comparison per case in SQL."""

    first_hand_due: dt.date
    first_hand_missed: dt.date
    later_hand_due: dt.date
    later_hand_missed: dt.date
    check_due: dt.date
    check_missed: dt.date
    followups_due: dt.date
    followups_missed: dt.date
    window_start: dt.date

    def params(self) -> dict[str, dt.date]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def deadline_cutoffs(*, today: dt.date, is_working: sla.IsWorkingDay) -> DeadlineCutoffs:
    yesterday = today - sla.ONE_DAY

    def pair(days: int) -> tuple[dt.date, dt.date]:
        return (
            sla.latest_start_due_by(day=today, working_days=days, is_working=is_working),
            sla.latest_start_due_by(day=yesterday, working_days=days, is_working=is_working),
        )

    first_due, first_missed = pair(sla.FIRST_CONTACT_WORKING_DAYS_FIRST_HAND)
    later_due, later_missed = pair(sla.FIRST_CONTACT_WORKING_DAYS_LATER_HAND)
    check_due, check_missed = pair(sla.CONTACT_CHECK_WORKING_DAYS)
    followups_due, followups_missed = pair(sla.EFFECTIVE_FOLLOWUPS_WORKING_DAYS)
    return DeadlineCutoffs(
        first_hand_due=first_due,
        first_hand_missed=first_missed,
        later_hand_due=later_due,
        later_hand_missed=later_missed,
        check_due=check_due,
        check_missed=check_missed,
        followups_due=followups_due,
        followups_missed=followups_missed,
        window_start=today - NEW_CASE_WINDOW,
    )


# --- the queue -----------------------------------------------------------------------------------

_BUCKET_WEIGHT_SQL = (
    "CASE r.bucket_group "
    + " ".join(f"WHEN '{group}' THEN {weight}" for group, weight in BUCKET_WEIGHTS.items())
    + " ELSE 0 END"
)

# The ranking: every candidate's facts (`r`, each computed once: OFFSET 0 keeps them from being
# inlined again into the score), its points, one sort, the first `{tail}` rows; only those rows
# are then joined to their account and customer for display. `{candidates}` chooses the cases
# and `{inner_filter}` narrows them for "next case". Deadline states: 2 missed, 1 due today, 0.
_QUEUE_SQL = """
SELECT q.*,
       (SELECT t.kind FROM cases_task t
         WHERE t.case_id = q.id AND t.done_at IS NULL AND t.due_at = q.task_due_at LIMIT 1) AS task_kind{extra_columns}
  FROM (
    SELECT r.*,
           CASE WHEN r.promise_due_at IS NOT NULL THEN {w_promise} ELSE 0 END
           + CASE WHEN r.task_due_at IS NOT NULL THEN {w_task} ELSE 0 END
           + CASE WHEN r.followup_due_at <= %(now)s THEN {w_sla_overdue}
                  WHEN r.followup_due_at <= %(end_of_today)s THEN {w_sla_today} ELSE 0 END
           + CASE greatest(r.first_contact, r.contact_check, r.followups)
                  WHEN 2 THEN {w_new_missed} WHEN 1 THEN {w_new_today} ELSE 0 END
           + CASE WHEN r.last_activity_at IS NULL THEN {w_never} ELSE 0 END
           + {bucket} AS points
      FROM (
        SELECT c.id, c.account_id, c.customer_id, c.assigned_collector_id IS NULL AS from_pool, c.bucket_group,
               c.last_activity_at, c.followup_due_at, c.claimed_by_id, c.claimed_until,
               (SELECT s.overdue_fen FROM delinquency_accountstate s WHERE s.account_id = c.account_id) AS overdue_fen,
               -- The earliest open promise and task and whether a hold is active, stored on the
               -- case by triggers (migration 0007_queue_facts): no probe per candidate.
               CASE WHEN c.promise_due_at < %(end_of_today)s THEN c.promise_due_at END AS promise_due_at,
               CASE WHEN c.task_due_at <= %(task_horizon)s THEN c.task_due_at END AS task_due_at,
               c.status = 'on_hold'
               OR c.hold_active
               -- Deceased and jail holds stop every case of the person; there are few, so the
               -- customers holding them are read once per statement (a hashed subplan).
               OR c.customer_id IN (SELECT o.customer_id FROM cases_casehold h JOIN cases_case o ON o.id = h.case_id
                                     WHERE h.released_at IS NULL AND h.kind IN ('deceased', 'jail')) AS held,
               CASE WHEN c.last_activity_at IS NOT NULL OR c.opened_on IS NULL
                         OR c.opened_on > %(first_hand_due)s THEN 0
                    WHEN EXISTS (SELECT 1 FROM cases_case e WHERE e.account_id = c.account_id AND e.id < c.id)
                         THEN CASE WHEN c.opened_on <= %(later_hand_missed)s THEN 2
                                   WHEN c.opened_on <= %(later_hand_due)s THEN 1 ELSE 0 END
                    WHEN c.opened_on <= %(first_hand_missed)s THEN 2 ELSE 1 END AS first_contact,
               CASE WHEN c.opened_on IS NULL OR c.opened_on < %(window_start)s OR c.opened_on > %(check_due)s THEN 0
                    WHEN c.last_activity_at IS NULL OR EXISTS (
                        SELECT 1 FROM portfolio_contactpoint cp
                         WHERE cp.customer_id = c.customer_id AND cp.kind IN ('mobile', 'home', 'work')
                           AND cp.is_valid AND NOT cp.do_not_contact
                           AND NOT EXISTS (SELECT 1 FROM cases_activity a
                                            WHERE a.case_id = c.id AND a.contact_point_id = cp.id))
                         THEN CASE WHEN c.opened_on <= %(check_missed)s THEN 2 ELSE 1 END
                    ELSE 0 END AS contact_check,
               CASE WHEN c.opened_on IS NULL OR c.opened_on < %(window_start)s
                         OR c.opened_on > %(followups_due)s THEN 0
                    WHEN c.last_activity_at IS NULL
                      OR (SELECT count(*) FROM cases_activity a
                           WHERE a.case_id = c.id AND a.connected) < %(followups)s
                         THEN CASE WHEN c.opened_on <= %(followups_missed)s THEN 2 ELSE 1 END
                    ELSE 0 END AS followups
          FROM cases_case c
         WHERE c.status <> 'closed' AND ({candidates})
        OFFSET 0
      ) r
     WHERE true {inner_filter}
     ORDER BY r.held, points DESC, r.overdue_fen DESC NULLS LAST, r.id
     {tail}
  ) q{extra_joins}
 ORDER BY q.held, q.points DESC, q.overdue_fen DESC NULLS LAST, q.id
"""

# The claim's statement is cheap per row but has many parts: should its estimated cost ever
# pass jit_above_cost, compiling it would take longer than running it.
_STATEMENT_SETTINGS = "SET LOCAL jit = off"

_OWN = "c.assigned_collector_id = %(user)s"
# The team's shared queue: open cases of the team nobody has been given (not agency cases).
_POOL = "c.team_id = %(team)s AND c.assigned_collector_id IS NULL AND c.agency_id IS NULL"
# "Next case": not held, not leased, not worked in the last half hour unless something is due now.
_CLAIMABLE_INNER = """
   AND NOT r.held
   AND (r.claimed_until IS NULL OR r.claimed_until <= %(now)s)
   AND (r.last_activity_at IS NULL OR r.last_activity_at < %(recent)s
        OR r.task_due_at IS NOT NULL OR r.promise_due_at <= %(task_horizon)s)
"""
# The same on the row being locked: if another claim changed it after this statement's snapshot,
# PostgreSQL re-evaluates these against the new row version before locking it.
# The lock: the first of the ranked cases nobody holds, re-checked on the row itself — if
# another claim changed it after the ranking, it no longer qualifies and is passed over.
_LOCK_SQL = """
SELECT c.id FROM cases_case c
 WHERE c.id = ANY(%(ids)s) AND c.status <> 'closed' AND ({candidates})
   AND (c.claimed_until IS NULL OR c.claimed_until <= %(now)s)
   AND (c.last_activity_at IS NULL OR c.last_activity_at < %(recent)s OR c.id = ANY(%(due_now)s))
 ORDER BY array_position(%(ids)s, c.id)
 LIMIT 1
 FOR UPDATE SKIP LOCKED
"""
# How many ranked cases one lock attempt considers; a busy shared queue may need another round.
CLAIM_BATCH = 20
CLAIM_ROUNDS = 5

_PAGE_COLUMNS = ", a.account_no, cu.name AS customer_name, u.username AS collector"
_PAGE_JOINS = """
  JOIN cases_case c ON c.id = q.id
  JOIN portfolio_account a ON a.id = q.account_id
  JOIN portfolio_customer cu ON cu.id = q.customer_id
  LEFT JOIN accounts_user u ON u.id = c.assigned_collector_id"""


def _queue_sql(
    *,
    candidates: str,
    claim: bool = False,
    tail: str = "",
    extra_columns: str = "",
    extra_joins: str = "",
) -> str:
    return _QUEUE_SQL.format(
        candidates=candidates,
        inner_filter=_CLAIMABLE_INNER if claim else "",
        extra_columns=extra_columns,
        extra_joins=extra_joins,
        tail=tail,
        w_promise=W_PROMISE,
        w_task=W_TASK,
        w_sla_overdue=W_SLA_OVERDUE,
        w_sla_today=W_SLA_DUE_TODAY,
        w_new_missed=W_NEW_CASE_MISSED,
        w_new_today=W_NEW_CASE_DUE_TODAY,
        w_never=W_NEVER_WORKED,
        bucket=_BUCKET_WEIGHT_SQL,
    )


@dataclasses.dataclass(frozen=True)
class Reason:
    """Why a case is where it is in the queue: a stable code for the API, a sentence for people."""

    code: str
    text: str


@dataclasses.dataclass(frozen=True)
class QueueRow:
    case_id: int
    from_pool: bool
    bucket_group: str
    points: int
    held: bool
    overdue_fen: int | None
    followup_due_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    claimed_by_id: int | None
    claimed_until: dt.datetime | None
    reasons: list[Reason]
    # Filled for the page: what a collector needs to recognise the case.
    account_no: str = ""
    customer_name: str = ""
    collector: str = ""
    # A promise or task is due now: "next case" hands it out even if it was just worked.
    due_now: bool = False

    def claimed_by_other(self, *, user: User, now: dt.datetime) -> bool:
        return (
            self.claimed_by_id is not None
            and self.claimed_by_id != user.pk
            and self.claimed_until is not None
            and self.claimed_until > now
        )


def _local_day_bounds(now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime]:
    local = timezone.localtime(now)
    today = local.date()
    zone = local.tzinfo
    start = dt.datetime.combine(today, dt.time(0), zone)
    end = dt.datetime.combine(today + sla.ONE_DAY, dt.time(0), zone)
    return today, start, end


# The day's deadline cut-offs, kept for a minute per process: every claim needs them and they
# change only when the day does or an admin edits the calendar (seen within the minute).
CUTOFFS_TTL_S = 60.0
_cutoffs_cache: dict[dt.date, tuple[float, DeadlineCutoffs]] = {}


def cutoffs_cache_clear() -> None:
    _cutoffs_cache.clear()


def _cutoffs_for(today: dt.date) -> DeadlineCutoffs:
    cached = _cutoffs_cache.get(today)
    if cached is not None and time.monotonic() - cached[0] < CUTOFFS_TTL_S:
        return cached[1]
    cutoffs = deadline_cutoffs(today=today, is_working=calendar_is_working(around=today))
    _cutoffs_cache.clear()
    _cutoffs_cache[today] = (time.monotonic(), cutoffs)
    return cutoffs


def _params(*, user: User, now: dt.datetime) -> dict[str, Any]:
    today, _start, end_of_today = _local_day_bounds(now)
    cutoffs = _cutoffs_for(today)
    return {
        "user": user.pk,
        "team": user.team_id,
        "now": now,
        "end_of_today": end_of_today,
        "task_horizon": now + TASK_LEAD,
        "recent": now - RECENTLY_WORKED,
        "followups": sla.EFFECTIVE_FOLLOWUPS,
        **cutoffs.params(),
    }


_TASK_REASONS = {
    "callback": gettext_lazy("回电到期 {time}"),
    "promise_followup": gettext_lazy("承诺跟进 {time}"),
    "followup": gettext_lazy("跟进任务到期 {time}"),
}


def _reasons(record: Mapping[str, Any], *, now: dt.datetime) -> list[Reason]:
    today, _start, end_of_today = _local_day_bounds(now)
    reasons: list[Reason] = []
    if record["held"]:
        reasons.append(Reason("on_hold", _("停催，不派发")))
    if record["promise_due_at"] is not None:
        due = timezone.localtime(record["promise_due_at"])
        if due.date() == today:
            reasons.append(Reason("promise_due", _("承诺今日到期 {time}").format(time=due.strftime("%H:%M"))))
        else:
            reasons.append(
                Reason("promise_due", _("承诺已过期 {date}").format(date=due.strftime("%m-%d %H:%M")))
            )
    if record["task_due_at"] is not None:
        due = timezone.localtime(record["task_due_at"])
        time = due.strftime("%H:%M") if due.date() == today else due.strftime("%m-%d %H:%M")
        template = _TASK_REASONS.get(record["task_kind"], _TASK_REASONS["followup"])
        reasons.append(Reason("task_due", str(template).format(time=time)))
    followup_due = record["followup_due_at"]
    if followup_due is not None and followup_due <= now:
        reasons.append(Reason("sla_overdue", _("SLA 已超期")))
    elif followup_due is not None and followup_due <= end_of_today:
        reasons.append(Reason("sla_due_today", _("SLA 今日到期")))
    deadline_texts = (
        ("first_contact", _("首次联系已超期"), _("首次联系今日到期")),
        ("contact_check", _("联系方式核查已超期"), _("联系方式核查今日到期")),
        ("followups", _("两次有效跟进已超期"), _("两次有效跟进今日到期")),
    )
    for code, missed, due_today in deadline_texts:
        if record[code] == 2:
            reasons.append(Reason(f"{code}_missed", missed))
        elif record[code] == 1:
            reasons.append(Reason(f"{code}_due_today", due_today))
    if record["last_activity_at"] is None:
        reasons.append(Reason("new_case", _("新案")))
    if record["bucket_group"]:
        reasons.append(Reason("bucket", record["bucket_group"]))
    if record["overdue_fen"]:
        reasons.append(
            Reason("overdue_amount", _("逾期金额 ¥{amount}").format(amount=yuan(record["overdue_fen"])))
        )
    if record["from_pool"]:
        reasons.append(Reason("team_queue", _("组内公共队列")))
    return reasons


def _records(cursor: Any) -> list[dict[str, Any]]:
    names = [column.name for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _due_now(record: Mapping[str, Any], *, now: dt.datetime) -> bool:
    promise_due = record["promise_due_at"]
    return record["task_due_at"] is not None or (promise_due is not None and promise_due <= now + TASK_LEAD)


def _rows(cursor: Any, *, now: dt.datetime) -> list[QueueRow]:
    return [_row(record, now=now) for record in _records(cursor)]


def _row(record: Mapping[str, Any], *, now: dt.datetime) -> QueueRow:
    return QueueRow(
        case_id=record["id"],
        from_pool=record["from_pool"],
        bucket_group=record["bucket_group"],
        points=record["points"],
        held=record["held"],
        overdue_fen=record["overdue_fen"],
        followup_due_at=record["followup_due_at"],
        last_activity_at=record["last_activity_at"],
        claimed_by_id=record["claimed_by_id"],
        claimed_until=record["claimed_until"],
        reasons=_reasons(record, now=now),
        account_no=record.get("account_no", ""),
        customer_name=record.get("customer_name", ""),
        collector=record.get("collector") or "",
        due_now=_due_now(record, now=now),
    )


def queue_for_collector(
    *,
    user: Viewer,
    now: dt.datetime | None = None,
    limit: int = QUEUE_PAGE_SIZE,
    include_team_queue: bool = True,
) -> list[QueueRow]:
    """The collector's open cases (and their team's shared queue), highest priority first, each
    with the reasons for its place. Empty for anyone without a queue.

    One statement (`_QUEUE_SQL`): the candidates by case_queue_idx and case_team_pool_idx, the
    state, account number and customer name joined only for the rows shown.
    """
    if not user_has_queue(user):
        return []
    assert isinstance(user, User)
    now = now or timezone.now()
    candidates = _OWN
    if include_team_queue and user.team_id is not None:
        candidates = f"{_OWN} OR ({_POOL})"
    statement = _queue_sql(
        candidates=candidates,
        tail="LIMIT %(limit)s",
        extra_columns=_PAGE_COLUMNS,
        extra_joins=_PAGE_JOINS,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, {**_params(user=user, now=now), "limit": limit})
        return _rows(cursor, now=now)


def _claim_statement(*, user: User, now: dt.datetime) -> tuple[str, str, dict[str, Any]]:
    """The claim's ranking and lock statements and their parameters (the benchmark EXPLAINs them)."""
    candidates = f"{_OWN} OR ({_POOL})" if user.team_id is not None else _OWN
    ranking = _queue_sql(candidates=candidates, claim=True, tail="LIMIT %(batch)s OFFSET %(skip)s")
    return ranking, _LOCK_SQL.format(candidates=candidates), _params(user=user, now=now)


@transaction.atomic
def queue_claim_next(*, user: User, now: dt.datetime | None = None) -> QueueRow | None:
    """Lease the collector's highest-priority case to them, or None when nothing is left.

    Candidates: their own open cases and their team's shared queue, except cases on hold,
    cases leased to anyone (themselves included: "next" moves on) until `claimed_until`, and
    cases worked in the last `RECENTLY_WORKED` unless a promise or task is due now. The queue's
    ranking gives the first `CLAIM_BATCH` of them; then ``SELECT … FOR UPDATE SKIP LOCKED
    LIMIT 1`` over those, in rank order, locks the first one nobody else is claiming, re-checked
    on the row (a case another claim took since the ranking no longer qualifies). Two
    collectors claiming at once thus lock different rows and nobody is handed a case someone
    else just took. A shared-queue case becomes the collector's (an ASSIGNED event, as
    `case_assign` writes). Writes one case row and at most one event.
    """
    if not user_has_queue(user):
        raise QueueRefused(_("只有催收员和外访员有工作队列。"))
    now = now or timezone.now()
    ranking, lock, params = _claim_statement(user=user, now=now)
    rows: list[QueueRow] = []
    with connection.cursor() as cursor:
        # A lease is worth no disk flush: after a crash the last few claims are simply gone,
        # together with their assignment and its event (one transaction), never half of them.
        cursor.execute(f"{_STATEMENT_SETTINGS}; SET LOCAL synchronous_commit = off")
        for round_ in range(CLAIM_ROUNDS):
            cursor.execute(ranking, {**params, "batch": CLAIM_BATCH, "skip": round_ * CLAIM_BATCH})
            ranked = _records(cursor)
            if not ranked:
                break
            due_now = [record["id"] for record in ranked if _due_now(record, now=now)]
            cursor.execute(lock, {**params, "ids": [record["id"] for record in ranked], "due_now": due_now})
            locked = cursor.fetchone()
            if locked is not None:
                rows = [_row(record, now=now) for record in ranked if record["id"] == locked[0]]
                break
    if not rows:
        return None
    row = rows[0]
    changes: dict[str, Any] = {"claimed_by": user, "claimed_until": now + CLAIM_LEASE}
    if row.from_pool:
        was_assigned = Case.objects.filter(pk=row.case_id, assigned_at__isnull=False).exists()
        changes.update(assigned_collector=user, assigned_at=now)
        CaseEvent.objects.create(
            case_id=row.case_id,
            kind=CaseEventKind.REASSIGNED if was_assigned else CaseEventKind.ASSIGNED,
            actor=user,
            from_value="",
            to_value=user.username,
            data={"team_id": user.team_id, "collector_id": user.pk, "from_team_queue": True},
        )
    Case.objects.filter(pk=row.case_id).update(**changes)
    return dataclasses.replace(row, claimed_by_id=user.pk, claimed_until=now + CLAIM_LEASE)


# --- the SLA monitor: the batch's refresh ------------------------------------------------------------


def _interval_sql(*, group: str, balance: str) -> str:
    """`sla.followup_interval_days` as a SQL expression (NULL: no minimum for the bucket)."""
    base = (
        "CASE "
        + " ".join(f"WHEN {group} = '{g}' THEN {days}" for g, days in sla.FOLLOWUP_DAYS.items())
        + " END"
    )
    return (
        f"CASE WHEN {balance} > 0 AND {balance} < {sla.SMALL_BALANCE_FEN} "
        f"THEN greatest({base}, {sla.SMALL_BALANCE_DAYS}) ELSE {base} END"
    )


# `sla.followup_due_at` in SQL: the end of the debtor's local day `interval` days after the last
# activity (or the opening). The balance is the account's outstanding balance (剩余金额, seed 001).
FOLLOWUP_DUE_SQL = (
    "((((coalesce(c.last_activity_at, c.opened_at) AT TIME ZONE cu.time_zone)::date"
    " + ({interval}) + 1)::timestamp) AT TIME ZONE cu.time_zone)"
).format(interval=_interval_sql(group="c.bucket_group", balance="s.outstanding_fen"))


def cases_refresh_followup_due(*, signals_table: str | None = None) -> int:
    """Set `Case.followup_due_at` from the case's bucket, balance, last activity and the debtor's
    time zone, set-based, for the open cases of the accounts in `signals_table` (the batch's
    recomputed accounts — bucket moves, openings, balance changes — probed by case_account_idx;
    a full run lists every account, which also fills cases that never had a due time), or for
    every open case without a table. Only rows whose value changes are written, so a re-run (a
    restarted step) writes nothing. Returns the rows changed.
    """
    scope = "" if signals_table is None else f"AND c.account_id IN (SELECT account_id FROM {signals_table})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE cases_case c
               SET followup_due_at = {FOLLOWUP_DUE_SQL}
              FROM portfolio_customer cu, delinquency_accountstate s
             WHERE cu.id = c.customer_id AND s.account_id = c.account_id
               AND c.status <> 'closed' {scope}
               AND c.followup_due_at IS DISTINCT FROM {FOLLOWUP_DUE_SQL}
            """
        )
        return int(cursor.rowcount)


# --- the SLA monitor: per case and per collector --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CaseSla:
    """A case's SLAs now: the follow-up frequency and the three new-case deadlines."""

    followup_due_at: dt.datetime | None
    followup_state: str  # overdue | due_today | ok | none
    first_hand: bool
    deadlines: tuple[sla.Deadline, ...]


def _followup_state(due: dt.datetime | None, *, now: dt.datetime) -> str:
    if due is None:
        return "none"
    _today, _start, end_of_today = _local_day_bounds(now)
    if due <= now:
        return "overdue"
    return "due_today" if due <= end_of_today else "ok"


def case_sla(*, case: Case, now: dt.datetime | None = None) -> CaseSla:
    """The SLA picture of one case (the SLA page's breaches; the case page may show it too).

    First contact: the first activity. Contact-data check: every valid phone of the debtor and
    their contacts (not do-not-contact) tried at least once on this case — met when the last of
    them was first tried (with no such phone, by the first activity). Effective follow-ups: the
    second connected activity. Uses activity_case_idx. A few queries; not for lists.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    zone = ZoneInfo(case.customer.time_zone or "Asia/Shanghai")
    first_hand = not Case.objects.filter(account_id=case.account_id, pk__lt=case.pk).exists()
    activities = list(
        Activity.objects.filter(case=case)
        .order_by("started_at", "id")
        .values_list("started_at", "contact_point_id", "connected")
    )
    first_contact_at = activities[0][0] if activities else None
    connected = [started for started, _point, was_connected in activities if was_connected]
    followups_at = (
        connected[sla.EFFECTIVE_FOLLOWUPS - 1] if len(connected) >= sla.EFFECTIVE_FOLLOWUPS else None
    )
    phones = set(
        ContactPoint.objects.filter(
            customer_id=case.customer_id, kind__in=PHONE_KINDS, is_valid=True, do_not_contact=False
        ).values_list("pk", flat=True)
    )
    first_try: dict[int, dt.datetime] = {}
    for started, point, _connected in activities:
        if point in phones and point not in first_try:
            first_try[point] = started
    if not phones:
        check_at = first_contact_at
    elif set(first_try) == phones:
        check_at = max(first_try.values())
    else:
        check_at = None
    deadlines: tuple[sla.Deadline, ...] = ()
    if case.opened_on is not None:
        deadlines = sla.new_case_deadlines(
            opened_on=case.opened_on,
            first_hand=first_hand,
            first_contact_at=first_contact_at,
            contact_check_at=check_at,
            effective_followups_at=followups_at,
            today=today,
            zone=zone,
            is_working=calendar_is_working(around=case.opened_on),
        )
    return CaseSla(
        followup_due_at=case.followup_due_at,
        followup_state=_followup_state(case.followup_due_at, now=now),
        first_hand=first_hand,
        deadlines=deadlines,
    )


@dataclasses.dataclass(frozen=True)
class SlaLine:
    """One collector's (or the unassigned part of a team's) SLA figures today."""

    collector_id: int | None
    collector: str
    team_id: int | None
    team: str
    open_cases: int
    worked_today: int
    due_today: int
    overdue: int
    first_contact_missed: int
    new_case_missed: int


@dataclasses.dataclass(frozen=True)
class SlaReport:
    today: dt.date
    lines: list[SlaLine]
    teams: list[SlaLine]
    total: SlaLine
    breaches: list[QueueRow]


def _first_contact_missed(cutoffs: DeadlineCutoffs) -> Q:
    earlier = Case.objects.filter(account_id=OuterRef("account_id"), pk__lt=OuterRef("pk"))
    return Q(last_activity_at__isnull=True, opened_on__isnull=False) & (
        (~Exists(earlier) & Q(opened_on__lte=cutoffs.first_hand_missed))
        | (Exists(earlier) & Q(opened_on__lte=cutoffs.later_hand_missed))
    )


def _new_case_missed(cutoffs: DeadlineCutoffs) -> Q:
    """The contact-data check or the two effective follow-ups missed, for cases opened in the
    window (their deadlines are over; the activity counts only run for those few cases)."""
    connected = Activity.objects.filter(case_id=OuterRef("pk"), connected=True)
    untried_phone = ContactPoint.objects.filter(
        customer_id=OuterRef("customer_id"), kind__in=PHONE_KINDS, is_valid=True, do_not_contact=False
    ).exclude(
        Exists(Activity.objects.filter(case_id=OuterRef(OuterRef("pk")), contact_point_id=OuterRef("pk")))
    )
    second_connected = Exists(connected.order_by().values("case_id")[1:2])
    in_window = Q(opened_on__gte=cutoffs.window_start)
    check_missed = Q(opened_on__lte=cutoffs.check_missed) & (
        Q(last_activity_at__isnull=True) | Exists(untried_phone)
    )
    followups_missed = Q(opened_on__lte=cutoffs.followups_missed) & ~second_connected
    return in_window & (check_missed | followups_missed)


def sla_report(*, user: Viewer, now: dt.datetime | None = None, breaches: int = 100) -> SlaReport | None:
    """Today's SLA figures per collector and per team in the user's scope (supervisors and
    admins: everyone; a team leader: their team), and the cases in breach (follow-up overdue or
    first contact missed), most overdue first. None for anyone else.

    One grouped query over the open cases in scope (case_team_idx for a team leader, a scan of
    the open cases for a supervisor) and one for the breaches.
    """
    if not user_sees_sla_report(user):
        return None
    now = now or timezone.now()
    today, start_of_today, end_of_today = _local_day_bounds(now)
    cutoffs = deadline_cutoffs(today=today, is_working=calendar_is_working(around=today))
    scope = case_scope_filter(user)
    cases = Case.objects.exclude(status=CaseStatus.CLOSED)
    if scope is not None:
        cases = cases.filter(scope)
    first_missed = _first_contact_missed(cutoffs)
    grouped = (
        cases.values("assigned_collector_id", "assigned_collector__username", "team_id", "team__name")
        .annotate(
            open_cases=Count("id"),
            worked_today=Count("id", filter=Q(last_activity_at__gte=start_of_today)),
            due_today=Count("id", filter=Q(followup_due_at__gt=now, followup_due_at__lte=end_of_today)),
            overdue=Count("id", filter=Q(followup_due_at__lte=now)),
            first_contact_missed=Count("id", filter=first_missed),
            new_case_missed=Count("id", filter=_new_case_missed(cutoffs)),
        )
        .order_by("team__name", "assigned_collector__username")
    )
    lines = [
        SlaLine(
            collector_id=row["assigned_collector_id"],
            collector=row["assigned_collector__username"] or _("未分配"),
            team_id=row["team_id"],
            team=row["team__name"] or _("无组"),
            open_cases=row["open_cases"],
            worked_today=row["worked_today"],
            due_today=row["due_today"],
            overdue=row["overdue"],
            first_contact_missed=row["first_contact_missed"],
            new_case_missed=row["new_case_missed"],
        )
        for row in grouped
    ]
    teams: dict[int | None, SlaLine] = {}
    for line in lines:
        teams[line.team_id] = _add(teams.get(line.team_id), line, collector="", collector_id=None)
    total = _sum(lines, team=_("合计"))
    breach_ids = list(
        cases.filter(Q(followup_due_at__lte=now) | first_missed)
        .order_by("followup_due_at", "id")
        .values_list("id", flat=True)[:breaches]
    )
    return SlaReport(
        today=today,
        lines=lines,
        teams=list(teams.values()),
        total=total,
        breaches=_rows_for_ids(breach_ids, now=now, cutoffs=cutoffs),
    )


_COUNTS = ("open_cases", "worked_today", "due_today", "overdue", "first_contact_missed", "new_case_missed")


def _add(into: SlaLine | None, line: SlaLine, *, collector: str, collector_id: int | None) -> SlaLine:
    if into is None:
        return dataclasses.replace(line, collector=collector, collector_id=collector_id)
    return dataclasses.replace(into, **{name: getattr(into, name) + getattr(line, name) for name in _COUNTS})


def _sum(lines: Iterable[SlaLine], *, team: str) -> SlaLine:
    total = SlaLine(None, "", None, team, 0, 0, 0, 0, 0, 0)
    for line in lines:
        total = dataclasses.replace(
            total, **{name: getattr(total, name) + getattr(line, name) for name in _COUNTS}
        )
    return total


def _rows_for_ids(case_ids: list[int], *, now: dt.datetime, cutoffs: DeadlineCutoffs) -> list[QueueRow]:
    """The queue's view (points and reasons) of given cases, in the queue's order."""
    if not case_ids:
        return []
    _today, _start, end_of_today = _local_day_bounds(now)
    ranked = _queue_sql(
        candidates="c.id = ANY(%(ids)s)", extra_columns=_PAGE_COLUMNS, extra_joins=_PAGE_JOINS
    )
    statement = f"SELECT * FROM ({ranked}) breach ORDER BY followup_due_at NULLS LAST, id"
    params = {
        "ids": case_ids,
        "user": None,
        "team": None,
        "now": now,
        "end_of_today": end_of_today,
        "task_horizon": now + TASK_LEAD,
        "recent": now - RECENTLY_WORKED,
        "followups": sla.EFFECTIVE_FOLLOWUPS,
        **cutoffs.params(),
    }
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return _rows(cursor, now=now)
