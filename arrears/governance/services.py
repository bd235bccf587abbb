"""Writes of data governance: legal holds, policy changes, and the retention run.

The retention run applies each enabled policy set-based: one ``UPDATE … WHERE`` or
``DELETE … WHERE`` per data class, with ``NOT EXISTS`` over active legal holds, in one
transaction per class that also records the class's counts on the `RetentionRun` row and
writes an `Event`. The only loop over rows is unlinking files, which SQL cannot do.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from arrears.core import crypto
from arrears.core.fields import blind_index_of, column_context
from arrears.core.services import event_record
from arrears.governance.models import (
    DEFAULT_RETENTION_DAYS,
    SUPPORTED_ACTIONS,
    DataClass,
    LegalHold,
    RetentionPolicy,
    RetentionRun,
    RunState,
)
from arrears.portfolio.models import Account, ContactPoint, Customer, ImportBatch
from arrears.portfolio.services import stored_file_remove

# What anonymised personal data is replaced with: a customer's name, and the texts of messages.
# The rows stay (accounts and payments are money history and point at them); only what
# identifies the person goes.
ANONYMISED_NAME = "已匿名"
ANONYMISED_ID_NUMBER = "*" * 18
# Contact values must stay unique per customer, kind and owner (contact_point_unique), so
# the placeholder carries the row's own id.
ANONYMISED_CONTACT_PREFIX = "已匿名#"

# One retention run at a time per data class (transaction-level, released at commit).
ADVISORY_LOCK_KEY = 0x7265_7465_6E74  # "retent"


class GovernanceError(Exception):
    """A legal hold or policy change that cannot be made as asked."""


# --- legal holds ---------------------------------------------------------------------------


@transaction.atomic
def legal_hold_place(
    *, reason: str, actor: Any, customer: Customer | None = None, account: Account | None = None
) -> LegalHold:
    """Put a customer, or one account, under legal hold. Not idempotent: each call is a hold."""
    if (customer is None) == (account is None):
        raise GovernanceError("a legal hold is placed on exactly one customer or one account")
    reason = reason.strip()
    if not reason:
        raise GovernanceError("a legal hold needs a reason")
    if not getattr(actor, "pk", None):
        raise GovernanceError("a legal hold is placed by a user")
    hold = LegalHold.objects.create(customer=customer, account=account, reason=reason, placed_by=actor)
    event_record(
        kind="legal_hold.placed",
        subject=hold,
        actor=actor,
        data={"customer_id": hold.customer_id, "account_id": hold.account_id, "reason": reason},
    )
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: Any) -> LegalHold:
    """Release an active hold. Claimed with a conditional UPDATE: releasing twice is refused."""
    if not getattr(actor, "pk", None):
        raise GovernanceError("a legal hold is released by a user")
    now = timezone.now()
    released = LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=now, released_by=actor
    )
    if released != 1:
        raise GovernanceError(f"legal hold #{hold.pk} is already released")
    hold.released_at, hold.released_by = now, actor
    event_record(
        kind="legal_hold.released",
        subject=hold,
        actor=actor,
        data={"customer_id": hold.customer_id, "account_id": hold.account_id},
    )
    return hold


# --- policies ------------------------------------------------------------------------------

MINIMUM_RETENTION_DAYS = 30

DEFAULT_POLICY_NOTES: dict[str, str] = {
    DataClass.PERSONAL_DATA_AFTER_CLOSURE: "客户全部账户结清或核销且最后一个案件结案满期限后匿名化;保留账户与还款记录",
    DataClass.IMPORT_FILES: "删除媒体目录中的导入原始文件;保留导入批次记录",
    DataClass.IMPORT_ROW_ERRORS: "删除导入错误行(含原始个人信息)",
    DataClass.ACTIVITIES_RECORDINGS: "删除期限前的催收记录(含备注与录音编号)及其合规判定;承诺金额保留",
    DataClass.MESSAGES: "已结束发送的短信、邮件、信函及收到的回复:正文、标题和变量匿名化;发送记录保留",
}


def retention_policy_defaults_ensure() -> int:
    """Create the policy of every data class that has none, with the defaults (five years).

    Safe to re-run: existing policies, edited or not, are left alone. Returns how many were made.
    """
    before = RetentionPolicy.objects.count()
    RetentionPolicy.objects.bulk_create(
        [
            RetentionPolicy(
                data_class=data_class,
                enabled=True,
                days=DEFAULT_RETENTION_DAYS,
                action=SUPPORTED_ACTIONS[data_class],
                note=DEFAULT_POLICY_NOTES[data_class],
            )
            for data_class in DataClass.values
        ],
        ignore_conflicts=True,
    )
    return RetentionPolicy.objects.count() - before


@transaction.atomic
def retention_policy_update(
    *, policy: RetentionPolicy, enabled: bool, days: int, action: str, note: str, actor: Any
) -> RetentionPolicy:
    """Change a policy and record before and after. The data class itself never changes."""
    if action != SUPPORTED_ACTIONS[policy.data_class]:
        raise GovernanceError(f"{policy.data_class} supports only {SUPPORTED_ACTIONS[policy.data_class]}")
    if days < MINIMUM_RETENTION_DAYS:
        raise GovernanceError(f"retention is at least {MINIMUM_RETENTION_DAYS} days")
    before = RetentionPolicy.objects.select_for_update().get(pk=policy.pk)
    changes = {
        name: [getattr(before, name), value]
        for name, value in (("enabled", enabled), ("days", days), ("action", action), ("note", note))
        if getattr(before, name) != value
    }
    policy.enabled, policy.days, policy.action, policy.note = enabled, days, action, note
    policy.save(update_fields=["enabled", "days", "action", "note", "updated_at"])
    if changes:
        event_record(
            kind="retention_policy.updated",
            subject=policy,
            actor=actor,
            data={"data_class": policy.data_class, "changes": changes},
        )
    return policy


# --- the retention run -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClassResult:
    """What one data class did (or, in a dry run, would do).

    `affected`: customers anonymised, files removed, or rows deleted; `skipped_for_hold`: how
    many of the same unit were due but kept for an active legal hold; `counts`: details.
    """

    data_class: str
    enabled: bool
    days: int
    action: str
    cutoff: dt.date | None
    affected: int = 0
    skipped_for_hold: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "days": self.days,
            "action": self.action,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "affected": self.affected,
            "skipped_for_hold": self.skipped_for_hold,
            "counts": self.counts,
            "note": self.note,
        }


@dataclass(frozen=True)
class RetentionReport:
    today: dt.date
    dry_run: bool
    run_id: int | None
    classes: tuple[ClassResult, ...]

    def result(self, data_class: str) -> ClassResult:
        return next(result for result in self.classes if result.data_class == data_class)


def retention_run(*, today: dt.date, dry_run: bool) -> RetentionReport:
    """Apply every enabled retention policy as of `today`.

    Invariants: rows under an active legal hold are never touched (counted as skipped);
    customers are anonymised, never deleted; the audit trail is never touched. Each data class
    is one transaction (its changes, its counts on the run row, its event), so a crash leaves
    finished classes done and recorded and the rest untouched. Safe to re-run: a second run
    finds nothing left to do (already anonymised customers, blanked paths and deleted rows no
    longer match). A dry run executes the very same statements and rolls each class back,
    unlinks no file and writes no run row or event, so its counts are the real run's counts.
    """
    policies = {policy.data_class: policy for policy in RetentionPolicy.objects.all()}
    run = None if dry_run else RetentionRun.objects.create(today=today)
    results: list[ClassResult] = []
    try:
        for data_class in DataClass.values:
            policy = policies.get(data_class)
            if policy is None or not policy.enabled:
                results.append(
                    ClassResult(
                        data_class=data_class,
                        enabled=False,
                        days=policy.days if policy else 0,
                        action=policy.action if policy else SUPPORTED_ACTIONS[data_class],
                        cutoff=None,
                        note="disabled",
                    )
                )
                continue
            results.append(_apply_class(run=run, policy=policy, today=today, dry_run=dry_run))
    except Exception as exc:
        if run is not None:
            RetentionRun.objects.filter(pk=run.pk).update(
                state=RunState.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
            )
        raise
    if run is not None:
        with transaction.atomic():
            run.state, run.finished_at = RunState.DONE, timezone.now()
            run.save(update_fields=["state", "finished_at"])
            event_record(
                kind="retention.run_done",
                subject=run,
                data={
                    "today": today.isoformat(),
                    "affected": {result.data_class: result.affected for result in results},
                    "skipped_for_hold": {result.data_class: result.skipped_for_hold for result in results},
                },
            )
    return RetentionReport(
        today=today, dry_run=dry_run, run_id=run.pk if run else None, classes=tuple(results)
    )


def _apply_class(
    *, run: RetentionRun | None, policy: RetentionPolicy, today: dt.date, dry_run: bool
) -> ClassResult:
    cutoff = today - dt.timedelta(days=policy.days)
    handler = _HANDLERS[policy.data_class]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        affected, skipped, counts, note = handler(cutoff, dry_run)
        result = ClassResult(
            data_class=policy.data_class,
            enabled=True,
            days=policy.days,
            action=policy.action,
            cutoff=cutoff,
            affected=affected,
            skipped_for_hold=skipped,
            counts=counts,
            note=note,
        )
        if dry_run:
            transaction.set_rollback(True)
        elif run is not None:
            run.results[policy.data_class] = result.as_json()
            run.save(update_fields=["results"])
            event_record(
                kind="retention.applied",
                subject=run,
                data={"data_class": policy.data_class, **result.as_json()},
            )
    return result


def _start_of_local_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _fetch_counts(sql: str, params: dict[str, Any]) -> tuple[int, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(int(value or 0) for value in row)


# A customer is under hold when a hold names them or any of their accounts.
CUSTOMER_HELD = """
    EXISTS (SELECT 1 FROM governance_legalhold h
             WHERE h.released_at IS NULL
               AND (h.customer_id = c.id
                    OR h.account_id IN (SELECT a.id FROM portfolio_account a WHERE a.customer_id = c.id)))
"""

# Closed more than N days ago: every account closed or written off and unchanged since the
# cutoff (the import stamps `updated_at` when it closes an account or loads a payment), and
# no case open or closed on or after the cutoff. Not yet anonymised, so a re-run finds nothing.
CUSTOMER_DUE = """
    EXISTS (SELECT 1 FROM portfolio_account a WHERE a.customer_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM portfolio_account a
                     WHERE a.customer_id = c.id
                       AND (a.status NOT IN ('closed', 'written_off') OR a.updated_at >= %(cutoff_at)s))
    AND NOT EXISTS (SELECT 1 FROM cases_case k
                     WHERE k.customer_id = c.id
                       AND (k.status <> 'closed'
                            OR coalesce(k.closed_on, (k.closed_at AT TIME ZONE %(tz)s)::date) IS NULL
                            OR coalesce(k.closed_on, (k.closed_at AT TIME ZONE %(tz)s)::date) >= %(cutoff)s))
    AND (c.name <> %(name)s OR c.id_number_hash <> %(id_number_hash)s OR c.employer <> ''
         OR EXISTS (SELECT 1 FROM portfolio_contactpoint p
                     WHERE p.customer_id = c.id
                       AND (p.value_hash <> %(contact_hash_prefix)s::text || p.id::text OR p.owner_name <> '')))
"""

# Values are encrypted at rest, so SQL cannot tell an anonymised one by its text: an anonymised
# contact point's blind index is this marker and its id (unique, as the contact point's
# uniqueness needs; it matches no lookup), an anonymised customer's is the index of the marker.
ANONYMISED_CONTACT_HASH_PREFIX = "anonymised:"


def _personal_data(cutoff: dt.date, dry_run: bool) -> tuple[int, int, dict[str, int], str]:
    params: dict[str, Any] = {
        "cutoff": cutoff,
        "cutoff_at": _start_of_local_day(cutoff),
        "tz": settings.TIME_ZONE,
        "name": ANONYMISED_NAME,
        "id_number_hash": blind_index_of(Customer, "id_number", ANONYMISED_ID_NUMBER),
        "contact_hash_prefix": ANONYMISED_CONTACT_HASH_PREFIX,
    }
    (skipped,) = _fetch_counts(
        f"SELECT count(*) FROM portfolio_customer c WHERE {CUSTOMER_DUE} AND {CUSTOMER_HELD}", params
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH target AS (
                SELECT c.id FROM portfolio_customer c
                 WHERE {CUSTOMER_DUE} AND NOT {CUSTOMER_HELD}
                   FOR UPDATE OF c
            ), contacts AS (
                UPDATE portfolio_contactpoint p
                   SET value_hash = %(contact_hash_prefix)s::text || p.id::text, owner_name = ''
                  FROM target t
                 WHERE p.customer_id = t.id
                   AND (p.value_hash <> %(contact_hash_prefix)s::text || p.id::text OR p.owner_name <> '')
                RETURNING p.id
            ), customers AS (
                UPDATE portfolio_customer c
                   SET name = %(name)s, id_number_hash = %(id_number_hash)s, employer = '', updated_at = now()
                  FROM target t
                 WHERE c.id = t.id
                RETURNING c.id
            )
            SELECT (SELECT coalesce(array_agg(id), '{{}}') FROM customers),
                   (SELECT coalesce(array_agg(id), '{{}}') FROM contacts)
            """,
            params,
        )
        customer_ids, contact_ids = cursor.fetchone()
        # The marker values themselves, each encrypted with its own nonce (the same transaction).
        ring = crypto.keyring()
        id_context = column_context(Customer, Customer._meta.get_field("id_number"))
        value_context = column_context(ContactPoint, ContactPoint._meta.get_field("value"))
        cursor.execute(
            """UPDATE portfolio_customer c SET id_number = v.sealed
                 FROM unnest(%s::bigint[], %s::text[]) AS v(id, sealed) WHERE c.id = v.id""",
            [customer_ids, [ring.encrypt(ANONYMISED_ID_NUMBER, context=id_context) for _ in customer_ids]],
        )
        cursor.execute(
            """UPDATE portfolio_contactpoint p SET value = v.sealed
                 FROM unnest(%s::bigint[], %s::text[]) AS v(id, sealed) WHERE p.id = v.id""",
            [
                contact_ids,
                [
                    ring.encrypt(f"{ANONYMISED_CONTACT_PREFIX}{point_id}", context=value_context)
                    for point_id in contact_ids
                ],
            ],
        )
    customers, contact_points = len(customer_ids), len(contact_ids)
    return customers, skipped, {"customers": customers, "contact_points": contact_points}, ""


# A batch is under hold when it brought in data of an account under hold (directly, or
# through its customer): the file is the evidence of what the creditor sent.
BATCH_HELD = """
    EXISTS (SELECT 1 FROM governance_legalhold h
              JOIN portfolio_account a ON h.account_id = a.id OR h.customer_id = a.customer_id
             WHERE h.released_at IS NULL
               AND (EXISTS (SELECT 1 FROM portfolio_accountchange ac WHERE ac.batch_id = b.id AND ac.account_id = a.id)
                    OR EXISTS (SELECT 1 FROM portfolio_payment y WHERE y.batch_id = b.id AND y.account_id = a.id)))
"""

# A queued or running import still needs its file, however old the batch.
FILE_DUE = """
    b.stored_path <> '' AND b.created_at < %(cutoff_at)s AND b.status NOT IN ('pending', 'running')
"""


def _import_files(cutoff: dt.date, dry_run: bool) -> tuple[int, int, dict[str, int], str]:
    params = {"cutoff_at": _start_of_local_day(cutoff)}
    (skipped,) = _fetch_counts(
        f"SELECT count(*) FROM portfolio_importbatch b WHERE {FILE_DUE} AND {BATCH_HELD}", params
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH target AS (
                SELECT b.id, b.stored_path FROM portfolio_importbatch b
                 WHERE {FILE_DUE} AND NOT {BATCH_HELD}
                   FOR UPDATE OF b
            )
            UPDATE portfolio_importbatch b SET stored_path = ''
              FROM target t
             WHERE b.id = t.id
            RETURNING b.id, t.stored_path
            """,
            params,
        )
        blanked = cursor.fetchall()
    # Files go inside the transaction: if the commit then failed, the rows would still name
    # the missing files and the next run would blank them (unlinking a missing file is a no-op).
    removed = _remove_files(blanked, dry_run=dry_run)
    counts = {"batches": len(blanked), "files_removed": removed, "files_missing": len(blanked) - removed}
    return len(blanked), skipped, counts, ""


def _remove_files(rows: list[tuple[int, str]], *, dry_run: bool) -> int:
    media_root = Path(settings.MEDIA_ROOT).resolve()
    removed = 0
    for batch_id, stored_path in rows:
        path = Path(stored_path).resolve()
        if not path.is_relative_to(media_root):
            # Never unlink outside the media folder, whatever a row says.
            continue
        if path.is_file():
            removed += 1
            if not dry_run:
                stored_file_remove(batch=ImportBatch(pk=batch_id, stored_path=str(path)))
    return removed


ROW_ERRORS_DUE = """
    e.batch_id IN (SELECT b.id FROM portfolio_importbatch b WHERE b.created_at < %(cutoff_at)s)
"""
ROW_ERRORS_HELD = f"""
    e.batch_id IN (SELECT b.id FROM portfolio_importbatch b WHERE b.created_at < %(cutoff_at)s AND {BATCH_HELD})
"""


def _import_row_errors(cutoff: dt.date, dry_run: bool) -> tuple[int, int, dict[str, int], str]:
    params = {"cutoff_at": _start_of_local_day(cutoff)}
    (skipped,) = _fetch_counts(
        f"SELECT count(*) FROM portfolio_importrowerror e WHERE {ROW_ERRORS_HELD}", params
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM portfolio_importrowerror e WHERE {ROW_ERRORS_DUE} AND NOT ({ROW_ERRORS_HELD})",
            params,
        )
        deleted = cursor.rowcount
    return deleted, skipped, {"rows": deleted}, ""


# An activity is held when a legal hold names its customer or its case's account.
ACTIVITY_HELD = """
    EXISTS (SELECT 1 FROM governance_legalhold h JOIN cases_case k ON k.id = x.case_id
             WHERE h.released_at IS NULL AND (h.customer_id = x.customer_id OR h.account_id = k.account_id))
"""
# A guard decision is held through its case (decisions of a purged case have no case left).
DECISION_HELD = """
    EXISTS (SELECT 1 FROM governance_legalhold h JOIN cases_case k ON k.id = d.case_id
             WHERE h.released_at IS NULL AND (h.customer_id = k.customer_id OR h.account_id = k.account_id))
"""


def _activities_recordings(cutoff: dt.date, dry_run: bool) -> tuple[int, int, dict[str, int], str]:
    """Activities (notes, recording references) started before the cutoff are deleted, and
    the guard's decisions asked before it that no kept activity points at (their inputs
    carry the notes). Promises keep their amounts; their link to the activity is cleared.
    The recordings themselves live in the telephony system: its retention follows the
    references this removes."""
    params = {"cutoff_at": _start_of_local_day(cutoff)}
    (skipped,) = _fetch_counts(
        f"SELECT count(*) FROM cases_activity x WHERE x.started_at < %(cutoff_at)s AND {ACTIVITY_HELD}",
        params,
    )
    with connection.cursor() as cursor:
        # Promises outlive the activity that made them (the foreign key has no ON DELETE).
        cursor.execute(
            f"""
            UPDATE cases_promise SET activity_id = NULL
             WHERE activity_id IN (SELECT x.id FROM cases_activity x
                                    WHERE x.started_at < %(cutoff_at)s AND NOT ({ACTIVITY_HELD}))
            """,
            params,
        )
        cursor.execute(
            f"""
            WITH gone AS (
                DELETE FROM cases_activity x
                 WHERE x.started_at < %(cutoff_at)s AND NOT ({ACTIVITY_HELD})
             RETURNING x.id, (x.recording_ref <> '') AS recorded
            )
            SELECT count(*), count(*) FILTER (WHERE recorded) FROM gone
            """,
            params,
        )
        activities, recordings = cursor.fetchone()
        cursor.execute(
            f"""
            DELETE FROM compliance_decision d
             WHERE d.at < %(cutoff_at)s
               AND NOT EXISTS (SELECT 1 FROM cases_activity x WHERE x.decision_id = d.id)
               AND NOT ({DECISION_HELD})
            """,
            params,
        )
        decisions = cursor.rowcount
    counts = {"activities": activities, "recording_refs": recordings, "decisions": decisions}
    return activities, skipped, counts, ""


# Messages are read as tables, not models: governance may not import the communications app
# (pyproject.toml, import-linter), as the book does not know the outbox either.
#
# An outbox message is due once its sending is over (a queued or sending row still needs its
# text) and it was sent, or made if never sent, before the cutoff; not yet anonymised, so a
# re-run finds nothing. Repeated in the UPDATE so that a row a sender re-queued meanwhile is
# left alone (PostgreSQL re-checks the UPDATE's own conditions on the newest row version).
MESSAGE_DUE = """
    m.state IN ('sent', 'delivered', 'failed', 'blocked', 'cancelled')
    AND coalesce(m.sent_at, m.created_at) < %(cutoff_at)s
    AND (m.body <> %(marker)s OR m.subject <> %(marker)s OR m.variables <> '{}'::jsonb)
"""
# A message names its customer and its account: a hold on either keeps it.
MESSAGE_HELD = """
    EXISTS (SELECT 1 FROM governance_legalhold h
             WHERE h.released_at IS NULL AND (h.customer_id = m.customer_id OR h.account_id = m.account_id))
"""
INBOUND_DUE = """
    i.received_at < %(cutoff_at)s AND i.text <> %(marker)s
"""
# A reply belongs to no account, only to the customers whose contact points sent it: a hold on
# such a customer or on any of their accounts keeps it (the reply may be about the held account).
# A reply matched to no contact point has no customer, so no hold.
INBOUND_HELD = """
    EXISTS (SELECT 1 FROM comms_inboundmessage_contact_points ip
              JOIN portfolio_contactpoint p ON p.id = ip.contactpoint_id
              JOIN governance_legalhold h
                ON h.released_at IS NULL
               AND (h.customer_id = p.customer_id
                    OR h.account_id IN (SELECT a.id FROM portfolio_account a WHERE a.customer_id = p.customer_id))
             WHERE ip.inboundmessage_id = i.id)
"""


def _messages(cutoff: dt.date, dry_run: bool) -> tuple[int, int, dict[str, int], str]:
    """The rendered texts of finished outbox messages (the debtor's name and amounts are in
    the body, subject and variables) and the texts of replies received before the cutoff
    become the anonymised marker. The rows stay: state, times, channel, template version and
    provider ids remain the record of what was sent when. One statement per table, which
    also counts what was due but held."""
    params: dict[str, Any] = {"cutoff_at": _start_of_local_day(cutoff), "marker": ANONYMISED_NAME}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due AS (
                SELECT m.id, {MESSAGE_HELD} AS held FROM comms_message m WHERE {MESSAGE_DUE}
            ), done AS (
                UPDATE comms_message m
                   SET body = %(marker)s, subject = %(marker)s, variables = '{{}}'::jsonb
                  FROM due
                 WHERE m.id = due.id AND NOT due.held AND {MESSAGE_DUE}
                RETURNING m.id
            )
            SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM due WHERE held)
            """,
            params,
        )
        messages, messages_held = cursor.fetchone()
        cursor.execute(
            f"""
            WITH due AS (
                SELECT i.id, {INBOUND_HELD} AS held FROM comms_inboundmessage i WHERE {INBOUND_DUE}
            ), done AS (
                UPDATE comms_inboundmessage i SET text = %(marker)s
                  FROM due
                 WHERE i.id = due.id AND NOT due.held AND {INBOUND_DUE}
                RETURNING i.id
            )
            SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM due WHERE held)
            """,
            params,
        )
        inbound, inbound_held = cursor.fetchone()
    counts = {"messages": messages, "inbound_messages": inbound}
    return messages + inbound, messages_held + inbound_held, counts, ""


_HANDLERS: dict[str, Callable[[dt.date, bool], tuple[int, int, dict[str, int], str]]] = {
    DataClass.PERSONAL_DATA_AFTER_CLOSURE: _personal_data,
    DataClass.IMPORT_FILES: _import_files,
    DataClass.IMPORT_ROW_ERRORS: _import_row_errors,
    DataClass.ACTIVITIES_RECORDINGS: _activities_recordings,
    DataClass.MESSAGES: _messages,
}
