"""Reads of the reminder desk (还款提醒, seed 003 chapter 4 §2): the pre-due calls of a day.

The end-of-day batch (`services.cadences_expand`) writes one `ReminderCall` per account and
due date, showing from `call_from` (three working days before the due date, earlier over a
holiday) until the due date. The desk for a local day D (Asia/Shanghai) lists:

- **to call**: calls with ``call_from <= D <= due_date`` that are not done, whose instalment
  is still unpaid; and on the due date itself (``D == due_date``) also those marked done on an
  earlier day whose money has still not arrived — the seed's "final check of every customer
  who has not deposited" on the due date (a customer who said 已存款 two days ago and whose
  payment is not in is called again);
- **done**: the calls marked done during D (whatever the payment state).

**Still unpaid** is decided from the account's state and its payments, not from the call:

- the state must still be waiting for this instalment: ``AccountState.next_due_date`` equals
  the call's ``due_date`` (once the batch has moved past the due date the instalment is no
  longer "to remind"; a state that points elsewhere — a rescheduled or settled account —
  drops the call);
- the amount still to pay by the due date is
  ``state.due_to_date_fen + instalment − account.paid_fen``: what fell due before the state's
  date plus this instalment, less every payment loaded so far (`Account.paid_fen`, kept by
  the payments import, so a deposit loaded this morning removes the call at once, before the
  next batch). Payments pay the oldest instalment first, so this is exactly what is missing
  of this instalment and any earlier arrears;
- the call stays on the desk while that amount reaches the product's tolerance
  (``max(tolerance_fen, 1)``, the delinquency engine's threshold): a remainder below it would
  not make the account delinquent on the due date, so nobody is called about it.

The instalment amount is the call's `amount_fen` (written by the batch from the schedule
file). For accounts whose schedule is derived rather than stored (no instalment rows) the
batch writes 0; the desk then falls back to the account's instalment amount, or principal ÷
term when there is none — close to the derived schedule's instalment except for the last one.

Contact: the customer's own valid mobile (``kind=mobile, owner_role=self``), preferring one
not marked do-not-contact, oldest first; shown masked. The page's "show" action reveals it
with a purpose and an audit entry. It is the number a recorded call was made to
(`reminder_mobile`), so the guard judges the same number the desk showed.

The guard: today's desk shows, per call with a mobile, the compliance guard's answer for
calling that mobile now — a preview (`guard_check(store=False)`), like the case page's
per-contact-point status: not a decision to call anyone, so not logged (recording the call
asks again and stores the answer). Reminder accounts are M0 and have no case; the guard
judges a stand-in case that is never saved (`reminder_stand_in_case`, as the outbox sender
does for a pre-due SMS): no case holds, customer-wide holds (deceased, jail) still apply.

Paged: `DESK_PAGE_SIZE` calls to make at a time, the latest `DONE_SHOWN` done. Query count:
four, whatever the number of rows (a page to call + their mobiles, done + their mobiles), one
more for the guard's reads of the page (`guard_reads_many`) when statuses are asked for, and a
count for each list longer than what is shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext_lazy

from arrears.cases.models import Case as CaseRow
from arrears.comms.models import ReminderCall
from arrears.compliance.inputs import Channel
from arrears.compliance.messages import reason_text
from arrears.compliance.models import DecisionPurpose
from arrears.compliance.selectors import guard_reads_many
from arrears.compliance.services import guard_check
from arrears.core import masking
from arrears.core.zones import zone_or_default
from arrears.portfolio.models import Account, AccountStatus, ContactPoint

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


class Outcome:
    """What a reminder call's `outcome` column holds: ``code`` or ``code:note``."""

    DEPOSITED = "deposited"  # 已存款
    PROMISED = "promised"  # 答应存款
    NO_ANSWER = "no_answer"  # 未接通
    WRONG_NUMBER = "wrong_number"  # 号码错误
    OTHER = "other"  # 其他 (with a note)


OUTCOME_CHOICES = (
    (Outcome.DEPOSITED, gettext_lazy("已存款")),
    (Outcome.PROMISED, gettext_lazy("答应存款")),
    (Outcome.NO_ANSWER, gettext_lazy("未接通")),
    (Outcome.WRONG_NUMBER, gettext_lazy("号码错误")),
    (Outcome.OTHER, gettext_lazy("其他")),
)
_OUTCOME_LABELS = dict(OUTCOME_CHOICES)


def outcome_split(outcome: str) -> tuple[str, str]:
    """(code, note) of a stored outcome."""
    code, _, note = outcome.partition(":")
    return code, note


@dataclass(frozen=True)
class ReminderGuardStatus:
    """The guard's preview for calling the line's mobile at one time (not stored)."""

    allowed: bool
    violations: tuple[Mapping[str, Any], ...]
    next_allowed_at: dt.datetime | None  # in the customer's zone; None: does not lift by itself

    @property
    def reasons(self) -> list[str]:
        """The reasons in the reader's language (chosen when read), each said once: two
        packs often refuse in the same words."""
        texts: list[str] = []
        for item in self.violations:
            text = reason_text(str(item.get("message", "")), item.get("parameters") or {})
            if text not in texts:
                texts.append(text)
        return texts


@dataclass(frozen=True)
class ReminderLine:
    reminder: ReminderCall
    customer_name: str
    mobile_masked: str  # "" when the customer has no usable mobile of their own
    mobile_id: int | None
    mobile_do_not_contact: bool
    to_pay_fen: int
    days_left: int
    creditor_name: str
    product_name: str
    outcome_code: str
    outcome_note: str
    final_check: bool  # done on an earlier day, back on the due date because still unpaid
    # The guard's preview of calling the mobile now; None when not asked (no mobile, another day).
    guard: ReminderGuardStatus | None = None

    @property
    def outcome_label(self) -> str:
        return str(_OUTCOME_LABELS.get(self.outcome_code, self.outcome_code))


# A desk at a large book has thousands of calls a day: one page of them at a time (the guard's
# preview is asked for the page's calls only), and the latest of those done.
DESK_PAGE_SIZE = 100
DONE_SHOWN = 100


@dataclass(frozen=True)
class ReminderDesk:
    day: dt.date
    to_call: list[ReminderLine]  # this page's
    done: list[ReminderLine]  # the latest `DONE_SHOWN`
    to_call_total: int
    done_total: int
    deposited: int
    page: int = 1
    pages: int = 1


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_ZONE)
    return start, start + dt.timedelta(days=1)


def _own_mobiles_queryset() -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(kind="mobile", owner_role="self", is_valid=True).order_by(
        "do_not_contact", "id"
    )


def _own_mobiles() -> Any:
    return Prefetch(
        "account__customer__contact_points", queryset=_own_mobiles_queryset(), to_attr="own_mobiles"
    )


def reminder_mobile(*, customer_id: int) -> ContactPoint | None:
    """The number the desk shows for a customer, and so the number a reminder call is made to."""
    return _own_mobiles_queryset().filter(customer_id=customer_id).first()


def reminder_stand_in_case(account: Account) -> CaseRow:
    """The case the guard judges a reminder call on. Reminder accounts are current (M0) and
    have no case: an unsaved stand-in, as the outbox sender uses for a pre-due SMS. It is never
    saved; a stored decision must have its `case` cleared."""
    return CaseRow(account=account, customer=account.customer, bucket_group="M0")


def guard_status(decision: Any, zone: ZoneInfo) -> ReminderGuardStatus:
    moment = decision.next_allowed_at
    return ReminderGuardStatus(
        allowed=bool(decision.allowed),
        violations=tuple((decision.result or {}).get("violations") or ()),
        next_allowed_at=moment.astimezone(zone) if moment is not None else None,
    )


def _with_guard(lines: Sequence[ReminderLine], *, at: dt.datetime) -> list[ReminderLine]:
    """Each line with a mobile gets the guard's preview of calling it at `at`; the reads for
    the whole list in one round trip."""
    callable_lines = [(line, mobile) for line in lines if (mobile := _mobile_of(line.reminder)) is not None]
    cases = [reminder_stand_in_case(line.reminder.account) for line, _mobile in callable_lines]
    statuses: dict[int, ReminderGuardStatus] = {}
    for (line, mobile), case, reads in zip(
        callable_lines, cases, guard_reads_many(cases=cases, at=at), strict=True
    ):
        decision = guard_check(
            case=case,
            channel=Channel.CALL,
            contact_point=mobile,
            at=at,
            purpose=DecisionPurpose.STATUS,
            store=False,
            reads=reads,
        )
        statuses[line.reminder.pk] = guard_status(
            decision, zone_or_default(line.reminder.account.customer.time_zone)
        )
    return [replace(line, guard=statuses.get(line.reminder.pk)) for line in lines]


def _annotated() -> QuerySet[ReminderCall]:
    instalment = Case(
        When(amount_fen__gt=0, then=F("amount_fen")),
        default=Coalesce(
            F("account__instalment_fen"),
            ExpressionWrapper(
                F("account__principal_fen") / F("account__term"), output_field=BigIntegerField()
            ),
        ),
        output_field=BigIntegerField(),
    )
    return (
        ReminderCall.objects.select_related(
            "account__customer", "account__creditor", "account__product", "done_by"
        )
        .annotate(
            instalment_fen=instalment,
            to_pay_fen=ExpressionWrapper(
                Coalesce(F("account__delinquency__due_to_date_fen"), Value(0))
                + instalment
                - F("account__paid_fen"),
                output_field=BigIntegerField(),
            ),
            threshold_fen=Greatest(F("account__product__tolerance_fen"), Value(1)),
        )
        .prefetch_related(_own_mobiles())
    )


def reminders_open_on(day: dt.date) -> QuerySet[ReminderCall]:
    """The calls to make on `day`, most urgent first (see the module docstring)."""
    start, _ = local_day_bounds(day)
    return (
        _annotated()
        .filter(call_from__lte=day, due_date__gte=day)
        .filter(Q(done_at__isnull=True) | Q(due_date=day, done_at__lt=start))
        .filter(account__status=AccountStatus.ACTIVE, account__delinquency__next_due_date=F("due_date"))
        .filter(Q(to_pay_fen__gte=F("threshold_fen")))
        .order_by("due_date", "-to_pay_fen", "id")
    )


def reminders_done_on(day: dt.date) -> QuerySet[ReminderCall]:
    start, end = local_day_bounds(day)
    return _annotated().filter(done_at__gte=start, done_at__lt=end).order_by("-done_at", "id")


def _mobile_of(reminder: ReminderCall) -> ContactPoint | None:
    mobiles: list[ContactPoint] = getattr(reminder.account.customer, "own_mobiles", [])
    return mobiles[0] if mobiles else None


def _line(reminder: ReminderCall, day: dt.date) -> ReminderLine:
    account = reminder.account
    mobile = _mobile_of(reminder)
    code, note = outcome_split(reminder.outcome)
    start, _ = local_day_bounds(day)
    return ReminderLine(
        reminder=reminder,
        customer_name=account.customer.name,
        mobile_masked=masking.mask_phone(mobile.value) if mobile is not None else "",
        mobile_id=mobile.pk if mobile is not None else None,
        mobile_do_not_contact=bool(mobile and mobile.do_not_contact),
        to_pay_fen=max(int(getattr(reminder, "to_pay_fen", 0) or 0), 0),
        days_left=(reminder.due_date - day).days,
        creditor_name=account.creditor.name,
        product_name=account.product.name,
        outcome_code=code,
        outcome_note=note,
        final_check=reminder.done_at is not None and reminder.done_at < start,
    )


def _is_deposited() -> Q:
    return Q(outcome=Outcome.DEPOSITED) | Q(outcome__startswith=f"{Outcome.DEPOSITED}:")


def reminder_desk(
    *, day: dt.date, guard_at: dt.datetime | None = None, page: int = 1, per_page: int = DESK_PAGE_SIZE
) -> ReminderDesk:
    """The reminder desk of a local day: one page of the calls to make (most urgent first),
    the latest calls done that day, and the day's totals. With `guard_at` (today's desk: now),
    each call on the page carries the guard's preview of calling its mobile at that time.

    A page past the last shows the last. The totals cost a query each only when the lists do
    not hold everything (a small desk stays at its four queries)."""
    open_calls = reminders_open_on(day)
    page = max(1, page)
    offset = (page - 1) * per_page
    rows = list(open_calls[offset : offset + per_page + 1])
    if page > 1 and not rows:
        to_call_total = open_calls.count()
        page = max(1, -(-to_call_total // per_page))
        offset = (page - 1) * per_page
        rows = list(open_calls[offset : offset + per_page + 1])
    elif page == 1 and len(rows) <= per_page:
        to_call_total = len(rows)
    else:
        to_call_total = open_calls.count()
    to_call = [_line(r, day) for r in rows[:per_page]]
    if guard_at is not None:
        to_call = _with_guard(to_call, at=guard_at)
    done_calls = reminders_done_on(day)
    done_rows = list(done_calls[: DONE_SHOWN + 1])
    done = [_line(r, day) for r in done_rows[:DONE_SHOWN]]
    if len(done_rows) <= DONE_SHOWN:
        done_total = len(done)
        deposited = sum(1 for line in done if line.outcome_code == Outcome.DEPOSITED)
    else:
        totals = ReminderCall.objects.filter(pk__in=done_calls.values("pk")).aggregate(
            total=Count("pk"), deposited=Count("pk", filter=_is_deposited())
        )
        done_total, deposited = int(totals["total"]), int(totals["deposited"])
    return ReminderDesk(
        day=day,
        to_call=to_call,
        done=done,
        to_call_total=to_call_total,
        done_total=done_total,
        deposited=deposited,
        page=page,
        pages=max(1, -(-to_call_total // per_page)),
    )


def reminder_open_get(*, reminder_id: int, day: dt.date) -> ReminderLine | None:
    """One call as it stands on the desk of `day` (to call), or None when it is not there."""
    reminder = reminders_open_on(day).filter(pk=reminder_id).first()
    return _line(reminder, day) if reminder is not None else None


def reminder_line_get(*, reminder_id: int, day: dt.date) -> ReminderLine | None:
    """One call with its customer's mobile, open or not (the page's row after a change)."""
    reminder = _annotated().filter(pk=reminder_id).first()
    return _line(reminder, day) if reminder is not None else None
