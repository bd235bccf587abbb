"""The guard's tables: policy-pack versions, each creditor's packs, and the decision log.

A pack's rules are code (`rules.py`); its parameters are data here. Editing parameters
writes a new version and never changes an old one, so a stored decision always names the
exact parameters it was taken with.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyPackVersion(models.Model):
    pack = models.CharField(max_length=32, help_text="Pack id, e.g. cn-house")
    version = models.PositiveIntegerField()
    params = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pack", "-version"]
        constraints = [models.UniqueConstraint(fields=["pack", "version"], name="pack_version_unique")]

    def __str__(self) -> str:
        return f"{self.pack} v{self.version}"


class CreditorPolicyPack(models.Model):
    """A pack a creditor's cases are checked against; none listed means the default packs."""

    creditor = models.ForeignKey("portfolio.Creditor", on_delete=models.CASCADE, related_name="policy_packs")
    pack = models.CharField(max_length=32)

    class Meta:
        ordering = ["creditor", "pack"]
        constraints = [models.UniqueConstraint(fields=["creditor", "pack"], name="creditor_pack_unique")]


class DecisionPurpose(models.TextChoices):
    CHECK = "check", _("预检")
    ACTIVITY = "activity", _("记录联系")
    SEND = "send", _("发送")
    STATUS = "status", _("状态")


class Decision(models.Model):
    """One answer of the guard: its inputs, the pack versions used and the result. Never edited
    (a database trigger refuses updates); the retention job may delete expired ones."""

    case = models.ForeignKey("cases.Case", null=True, on_delete=models.SET_NULL, related_name="decisions")
    contact_point = models.ForeignKey(
        "portfolio.ContactPoint", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=8)
    at = models.DateTimeField(help_text="The time of the proposed contact")
    purpose = models.CharField(max_length=10, choices=DecisionPurpose.choices)
    allowed = models.BooleanField()
    next_allowed_at = models.DateTimeField(null=True)
    packs = models.JSONField()
    inputs = models.JSONField()
    result = models.JSONField()
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["case", "-id"], name="decision_case_idx"),
            models.Index(fields=["-created_at"], name="decision_created_idx"),
        ]
