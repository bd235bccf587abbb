"""Collection cases. Minimal for now: who owns the case decides who may see the account."""

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


class CaseEvent(models.Model):
    """What happened to a case, written in the same transaction as the change. Never edited."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=CaseEventKind.choices)
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
