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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role, User
from arrears.comms.models import ReminderCall
from arrears.comms.reminder_selectors import LOCAL_ZONE, OUTCOME_CHOICES, Outcome, local_day_bounds
from arrears.core.services import event_record

# Who works the desk. Reminders are for accounts without a case, assigned to no collector: the
# desk is run by supervisors and team leaders (and admins), not by every collector.
REMINDER_DESK_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.TEAM_LEADER})

# Outcomes that leave the call open for another try.
KEEPS_OPEN = frozenset({Outcome.NO_ANSWER})
OUTCOME_MAX = 200
NOTE_MAX = OUTCOME_MAX - len(Outcome.WRONG_NUMBER) - 1

EVENT_KIND = "comms.reminder_call"


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
    role off the desk and `ValidationError` (keyed by field) for a bad outcome or note."""
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
        locked = ReminderCall.objects.select_for_update().get(pk=reminder.pk)
        if today > locked.due_date:
            raise ValidationError({"outcome": _("通话结果：还款日已过，这条提醒已结束。")})
        if locked.done_at is not None and not (today == locked.due_date and locked.done_at < start):
            raise ValidationError({"outcome": _("通话结果：这条提醒已处理。")})
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
            },
        )
    return locked
