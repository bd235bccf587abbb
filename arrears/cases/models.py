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


class Case(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cases")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
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
        ]

    def __str__(self) -> str:
        return f"case #{self.pk}"
