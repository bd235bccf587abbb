"""Writes of the reminder desk: recording the outcome of a pre-due reminder call (seed 003).

Outcomes (stored in `ReminderCall.outcome` as ``code`` or ``code:note``, at most 200 chars):

- 已存款 ``deposited`` — the customer says the money is in: done, not called again;
- 答应存款 ``promised`` — will deposit: done for the reminder window; if the money has not
  arrived by the due date the call comes back for the due date's final check
  (`reminder_selectors`, seed: "还款日当天要对所有未存款客户做最后的存款确定");
- 未接通 ``no_answer`` — not reached: the attempt is an event, but the call stays open
  (``done_at`` stays empty) so it is tried again, that day or the next ("直到已存好了为止");
  the last attempt's outcome is kept in `outcome` so the desk can say "上次未接通";
- 号码错误 ``wrong_number`` — done: calling the number again is pointless; the account
  still comes back on the due date if unpaid, and collection takes over after it;
- 其他 ``other`` — done, with a note (required).

Every recording writes one event (kind ``comms.reminder_call``) in the same transaction. A
call that is already done is refused, except on its due date when the desk shows it again
for the final check; a call whose due date has passed is refused too (it is collection's now).

Every outcome means a call was placed (未接通 too: the phone rang), so every recording first
asks the compliance guard about that call: at its time (`now`), channel call, to the number
the desk shows (`reminder_selectors.reminder_mobile`; a customer without one cannot have been
called from the desk, so nothing can be recorded). The decision is stored (purpose
``activity``, as a call logged on a case; without a case, as the outbox's pre-due SMS). A
denial commits the decision and a ``comms.reminder_contact_denied`` event — the evidence
survives the refusal, as the case page's ``contact_denied`` does — writes nothing else and
raises `ValidationError` on ``outcome`` with the reasons and the next allowed time. An
allowed call's event names its decision (``decision``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role, User
from arrears.comms.models import ReminderCall
from arrears.comms.reminder_selectors import (
    LOCAL_ZONE,
    OUTCOME_CHOICES,
    Outcome,
    guard_status,
    local_day_bounds,
    reminder_mobile,
    reminder_stand_in_case,
)
from arrears.compliance.inputs import Channel
from arrears.compliance.models import DecisionPurpose
from arrears.compliance.services import decisions_store, guard_check
from arrears.core.services import event_record
from arrears.core.zones import zone_or_default
from arrears.portfolio.models import Customer

# Who works the desk. Reminders are for accounts without a case, assigned to no collector: the
# desk is run by supervisors and team leaders (and admins), not by every collector.
REMINDER_DESK_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.TEAM_LEADER})

# Outcomes that leave the call open for another try.
KEEPS_OPEN = frozenset({Outcome.NO_ANSWER})
OUTCOME_MAX = 200
NOTE_MAX = OUTCOME_MAX - len(Outcome.WRONG_NUMBER) - 1

EVENT_KIND = "comms.reminder_call"
DENIED_EVENT_KIND = "comms.reminder_contact_denied"


def user_can_work_reminders(user: Any) -> bool:
    return isinstance(user, User) and user.is_active and user.role in REMINDER_DESK_ROLES


def reminder_call_done(
    *,
    reminder: ReminderCall,
    actor: User,
    outcome: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> ReminderCall:
    """Record one call's outcome; returns the updated call. Raises `PermissionDenied` for a
    role off the desk and `ValidationError` (keyed by field) for a bad outcome or note, a call
    the desk no longer offers, a customer without a mobile, or a call the guard denies (then
    the decision and a denial event are committed, nothing else). Not idempotent: each
    allowed call is one more recorded attempt."""
    if not user_can_work_reminders(actor):
        raise PermissionDenied
    now = now or timezone.now()
    note = " ".join(note.split())
    codes = {code for code, _label in OUTCOME_CHOICES}
    if outcome not in codes:
        raise ValidationError({"outcome": _("通话结果：请选择一个有效的结果。")})
    if outcome == Outcome.OTHER and not note:
        raise ValidationError({"note": _("备注：结果为“其他”时请写明情况。")})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("备注：最多 %(max)d 个字。") % {"max": NOTE_MAX}})
    today = now.astimezone(LOCAL_ZONE).date()
    start, _end = local_day_bounds(today)
    with transaction.atomic():
        locked = (
            ReminderCall.objects.select_for_update(of=("self",))
            .select_related("account__customer")
            .get(pk=reminder.pk)
        )
        if today > locked.due_date:
            raise ValidationError({"outcome": _("通话结果：还款日已过，这条提醒已结束。")})
        if locked.done_at is not None and not (today == locked.due_date and locked.done_at < start):
            raise ValidationError({"outcome": _("通话结果：这条提醒已处理。")})
        customer = locked.account.customer
        # The debtor's row is locked before the guard reads, as `activity_log` does: contacts
        # with one debtor are judged one at a time.
        list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
        mobile = reminder_mobile(customer_id=customer.pk)
        if mobile is None:
            raise ValidationError({"outcome": _("通话结果：客户没有本人手机，无法记录提醒电话。")})
        decision = guard_check(
            case=reminder_stand_in_case(locked.account),
            channel=Channel.CALL,
            contact_point=mobile,
            at=now,
            purpose=DecisionPurpose.ACTIVITY,
            asked_by=actor,
            store=False,
        )
        decision.case = None  # the stand-in case is not a row
        decisions_store(rows=[decision])
        if decision.allowed:
            _record(locked, actor=actor, outcome=outcome, note=note, decision_id=decision.pk, now=now)
        else:
            event_record(
                kind=DENIED_EVENT_KIND,
                subject=locked,
                actor=actor,
                data={
                    "account_id": locked.account_id,
                    "due_date": locked.due_date.isoformat(),
                    "outcome": outcome,
                    "decision": decision.pk,
                    "channel": str(Channel.CALL),
                    "contact_point_id": mobile.pk,
                    "at": now.isoformat(),
                    "rules": sorted({str(v["rule"]) for v in decision.result["violations"]}),
                },
            )
    if not decision.allowed:
        # Raised after the commit: the decision and its denial event are the evidence.
        raise ValidationError({"outcome": _denial_text(decision, zone=zone_or_default(customer.time_zone))})
    return locked


def _record(
    locked: ReminderCall, *, actor: User, outcome: str, note: str, decision_id: int, now: dt.datetime
) -> None:
    """The writes of an allowed call, inside `reminder_call_done`'s transaction."""
    stored = f"{outcome}:{note}" if note else outcome
    closes = outcome not in KEEPS_OPEN
    previous = {
        "outcome": locked.outcome,
        "done_at": locked.done_at.isoformat() if locked.done_at else None,
    }
    locked.outcome = stored[:OUTCOME_MAX]
    if closes:
        locked.done_at = now
        locked.done_by = actor
    locked.save(update_fields=["outcome", "done_at", "done_by"])
    event_record(
        kind=EVENT_KIND,
        subject=locked,
        actor=actor,
        data={
            "account_id": locked.account_id,
            "due_date": locked.due_date.isoformat(),
            "outcome": outcome,
            "note": note,
            "closed": closes,
            "previous": previous,
            "decision": decision_id,
        },
    )


def _denial_text(decision: Any, *, zone: ZoneInfo) -> str:
    """The guard's refusal in the reader's language: its reasons and when calling may resume."""
    status = guard_status(decision, zone)
    reasons = _("；").join(status.reasons)
    if status.next_allowed_at is None:
        return _("通话结果：合规检查不允许此次通话：%(reasons)s。不会自动解除。") % {"reasons": reasons}
    return _("通话结果：合规检查不允许此次通话：%(reasons)s。最早可联系：%(time)s（客户当地时间）。") % {
        "reasons": reasons,
        "time": status.next_allowed_at.strftime("%Y-%m-%d %H:%M"),
    }
