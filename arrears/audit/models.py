"""The audit trail: who read, exported or changed what, when, from where and why.

Append-only: a trigger (migration 0002) refuses UPDATE, DELETE and TRUNCATE of the table,
whoever the database user is. See docs/security.md "Audit".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    READ_UNMASKED = "read_unmasked", _("查看明文")
    EXPORT = "export", _("导出")
    STATE_CHANGE = "state_change", _("变更操作")
    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出登录")


class AuditObject(models.TextChoices):
    """What an entry is about; a state change through the middleware names only its path."""

    CUSTOMER = "customer", _("客户")
    CONTACT_POINT = "contact_point", _("联系方式")
    IMPORT_BATCH = "import_batch", _("导入批次")
    USER = "user", _("用户")
    AUDIT_LOG = "audit_log", _("审计记录")


class AuditEntry(models.Model):
    created_at = models.DateTimeField(default=timezone.now)
    # PROTECT, not SET_NULL: nulling the actor would be an UPDATE, which the table refuses.
    # A user with an audit history is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The username at the time (a later rename does not rewrite history), or "token:<name>".
    actor_name = models.CharField(max_length=160, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=60, choices=AuditObject.choices, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    purpose = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        constraints = [
            models.CheckConstraint(
                name="audit_unmasking_has_purpose",
                condition=~models.Q(action="read_unmasked") | ~models.Q(purpose=""),
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="audit_created_idx"),
            models.Index(fields=["actor_name", "id"], name="audit_actor_id_idx"),
            models.Index(fields=["action", "id"], name="audit_action_id_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"
