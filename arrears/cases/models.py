"""Collection cases and the work on them: activities, promises, tasks and holds.

Who owns a case decides who may see the account. Every change to these tables goes through
`cases.services`, which writes a `CaseEvent` in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from arrears.accounts.models import Agency, Team
from arrears.portfolio.models import Account, Customer


class CaseStatus(models.TextChoices):
    NEW = "new", _("新案")
    IN_PROGRESS = "in_progress", _("跟进中")
    ON_HOLD = "on_hold", _("停催")
    CLOSED = "closed", _("已结案")


class CloseReason(models.TextChoices):
    PAID = "paid", _("已还清")
    SETTLED = "settled", _("和解结清")
    WRITTEN_OFF = "written_off", _("核销")
    RECALLED = "recalled", _("撤案")
    CLAIM_PAID = "claim_paid", _("已理赔")


class Case(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cases")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    # The bucket the case is in now (escalations move it); set by the end-of-day batch.
    bucket_code = models.CharField(max_length=16, blank=True)
    bucket_group = models.CharField(max_length=16, blank=True)
    opened_on = models.DateField(null=True, blank=True, help_text="Business date the case opened")
    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The last recorded collection activity, and when the next one is due under the
    # minimum follow-up frequency of the case's bucket (SLA monitor); kept by the services
    # that log activities and by the end-of-day batch when the bucket changes.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    followup_due_at = models.DateTimeField(null=True, blank=True)
    # "Next case" leases the case to one collector for a while, so a shared queue never
    # hands the same case to two people (the lease is taken under FOR UPDATE SKIP LOCKED).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open case per account; closed ones stay as history.
            models.UniqueConstraint(
                fields=["account"], condition=~models.Q(status="closed"), name="case_one_open_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["assigned_collector", "status"], name="case_collector_idx"),
            models.Index(fields=["team", "status"], name="case_team_idx"),
            models.Index(fields=["agency", "status"], name="case_agency_idx"),
            models.Index(fields=["account"], name="case_account_idx"),
            models.Index(fields=["customer"], name="case_customer_idx"),
            models.Index(fields=["status", "-id"], name="case_status_id_idx"),
            models.Index(fields=["bucket_group", "-id"], name="case_bucket_id_idx"),
            # The batch's assignment step looks for open cases nobody owns yet.
            models.Index(
                fields=["id"],
                condition=models.Q(assigned_collector__isnull=True) & ~models.Q(status="closed"),
                name="case_unassigned_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"case #{self.pk}"


class CaseEventKind(models.TextChoices):
    OPENED = "opened", _("开案")
    ESCALATED = "escalated", _("账龄上升")
    DEESCALATED = "deescalated", _("账龄下降")
    ASSIGNED = "assigned", _("分案")
    REASSIGNED = "reassigned", _("调案")
    CLOSED = "closed", _("结案")
    ACTIVITY = "activity", _("催收记录")
    CONTACT_DENIED = "contact_denied", _("联系被拦截")
    PROMISE_MADE = "promise_made", _("承诺还款")
    PROMISE_KEPT = "promise_kept", _("承诺兑现")
    PROMISE_BROKEN = "promise_broken", _("承诺未兑现")
    PROMISE_PARTIAL = "promise_partial", _("部分兑现")
    PROMISE_CANCELLED = "promise_cancelled", _("承诺取消")
    HOLD_PLACED = "hold_placed", _("停催")
    HOLD_RELEASED = "hold_released", _("解除停催")
    TASK_CREATED = "task_created", _("新建任务")
    TASK_DONE = "task_done", _("任务完成")
    CONTACT_POINT_CHANGED = "contact_point_changed", _("联系方式变更")
    CUSTOMER_CHANGED = "customer_changed", _("客户信息变更")


class CaseEvent(models.Model):
    """What happened to a case, written in the same transaction as the change. Never edited."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=CaseEventKind.choices)
    business_date = models.DateField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_value = models.CharField(max_length=100, blank=True)
    to_value = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["case", "-id"], name="case_event_case_idx")]


class AssignmentRule(models.Model):
    """Which team works a product's cases in a bucket group; an empty product means any product."""

    product = models.ForeignKey(
        "portfolio.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="assignment_rules"
    )
    bucket_group = models.CharField(max_length=16, help_text="e.g. M1, M2, M4+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="assignment_rules")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "bucket_group"],
                name="assignment_rule_unique",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product or '*'} × {self.bucket_group} → {self.team}"


class TeamRotation(models.Model):
    """Where round-robin assignment continues in a team, so every day does not start with the same collector."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, primary_key=True, related_name="rotation")
    next_position = models.BigIntegerField(default=0)


class Channel(models.TextChoices):
    CALL = "call", _("电话")
    SMS = "sms", _("短信")
    EMAIL = "email", _("邮件")
    LETTER = "letter", _("信函")
    VISIT = "visit", _("外访")


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("呼出")
    INBOUND = "inbound", _("呼入")


class ActionCodeCategory(models.TextChoices):
    CONTACT = "contact", _("联系结果")
    PROMISE = "promise", _("承诺")
    HOLD = "hold", _("停催")
    STATUS = "status", _("状态")
    SYSTEM = "system", _("系统")


class ActionCode(models.Model):
    """The outcome of an activity (行动码). Defaults come from the domain page; admins add more."""

    code = models.CharField(max_length=16, primary_key=True)
    label = models.CharField(max_length=60, help_text="Chinese label")
    label_en = models.CharField(max_length=60)
    category = models.CharField(max_length=10, choices=ActionCodeCategory.choices)
    # BP and KP are the batch's verdict on a promise; nobody logs them by hand.
    system_only = models.BooleanField(default=False)
    # Whether the code says someone answered (for the connected-call counts of H3/C2).
    implies_connected = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class Activity(models.Model):
    """One contact or attempt on a case: a call, visit, letter, SMS or email. Never edited."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities")
    # Copied from the case so debtor-wide counts (C2, U1) need no join.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="activities")
    contact_point = models.ForeignKey(
        "portfolio.ContactPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    started_at = models.DateTimeField()
    connected = models.BooleanField()
    right_party = models.BooleanField()
    action_code = models.ForeignKey(ActionCode, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)
    recording_ref = models.CharField(max_length=200, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The guard's decision that allowed an outbound contact (none for inbound ones).
    decision = models.ForeignKey(
        "compliance.Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["case", "-started_at"], name="activity_case_idx"),
            models.Index(fields=["customer", "started_at"], name="activity_customer_idx"),
            models.Index(fields=["contact_point", "started_at"], name="activity_point_idx"),
        ]


class PromiseKind(models.TextChoices):
    PTP = "PTP", _("承诺还款")
    PTP2 = "PTP2", _("跟进承诺")


class PromiseStatus(models.TextChoices):
    OPEN = "open", _("待兑现")
    KEPT = "kept", _("已兑现")
    PARTIAL = "partial", _("部分兑现")
    BROKEN = "broken", _("未兑现")
    CANCELLED = "cancelled", _("已取消")


class Promise(models.Model):
    """A promise to pay an amount by a time. Payments after `created_at` count towards it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="promises")
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    kind = models.CharField(max_length=4, choices=PromiseKind.choices)
    amount_fen = models.BigIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    paid_fen = models.BigIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(name="promise_amount_positive", condition=models.Q(amount_fen__gt=0)),
        ]
        indexes = [
            models.Index(fields=["case", "-id"], name="promise_case_idx"),
            models.Index(fields=["due_at"], condition=models.Q(status="open"), name="promise_open_due_idx"),
        ]


class TaskKind(models.TextChoices):
    CALLBACK = "callback", _("约定回电")
    PROMISE_FOLLOWUP = "promise_followup", _("承诺跟进")
    FOLLOWUP = "followup", _("跟进")


class Task(models.Model):
    """Something to do on a case at a time: a callback, the follow-up before a promise falls due."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=20, choices=TaskKind.choices)
    due_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promise = models.ForeignKey(
        Promise, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    note = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["case", "due_at"], condition=models.Q(done_at__isnull=True), name="task_open_idx"
            ),
        ]


class HoldKind(models.TextChoices):
    DISPUTE = "dispute", _("争议")
    COMPLAINT = "complaint", _("投诉")
    DECEASED = "deceased", _("身故")
    JAIL = "jail", _("服刑")
    DO_NOT_COLLECT = "do_not_collect", _("委托方停催")
    LEGAL = "legal", _("诉讼")


# Holds about the person rather than the debt stop contact on all of their cases.
CUSTOMER_WIDE_HOLDS = frozenset({HoldKind.DECEASED, HoldKind.JAIL})


class CaseHold(models.Model):
    """A collection hold (停催). While any hold is active the guard denies contact (H6)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(max_length=16, choices=HoldKind.choices)
    reason = models.CharField(max_length=500)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One active hold of a kind per case: placing it twice is a no-op, not two rows.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(released_at__isnull=True),
                name="hold_one_active_kind",
            ),
        ]
