"""Users, their roles, teams and agencies; API tokens for integrations."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("管理员")
    SUPERVISOR = "supervisor", _("主管")
    TEAM_LEADER = "team_leader", _("组长")
    COLLECTOR = "collector", _("催收员")
    FIELD_COLLECTOR = "field_collector", _("外访员")
    QA = "qa", _("质检员")
    COMPLIANCE_OFFICER = "compliance_officer", _("合规专员")
    AGENCY_USER = "agency_user", _("委外机构用户")
    CREDITOR_VIEWER = "creditor_viewer", _("委托方只读用户")


class Team(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COLLECTOR)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # A creditor's read-only user sees that creditor's book. A code, not a foreign key: users
    # know nothing of the book (import-linter), the scoping selectors join on it.
    creditor_code = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="team_leader_has_team",
                condition=~models.Q(role="team_leader") | models.Q(team__isnull=False),
            ),
            models.CheckConstraint(
                name="agency_user_has_agency",
                condition=~models.Q(role="agency_user") | models.Q(agency__isnull=False),
            ),
            models.CheckConstraint(
                name="creditor_viewer_has_creditor",
                condition=~models.Q(role="creditor_viewer") | ~models.Q(creditor_code=""),
            ),
        ]


class ApiToken(models.Model):
    """A bearer token acting as one user. Only a SHA-256 of the secret is stored."""

    name = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise a token.")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
