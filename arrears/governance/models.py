"""Data governance: retention policies per data class, legal holds, and the runs that applied them.

The policies are data (seeded by a migration, edited in the admin); what each data class
*does* is code in `services`, so the admin edits only whether, after how long and how.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from arrears.portfolio.models import Account, Customer


class DataClass(models.TextChoices):
    PERSONAL_DATA_AFTER_CLOSURE = "personal_data_after_closure", _("结清后的个人信息")
    IMPORT_FILES = "import_files", _("导入原始文件")
    IMPORT_ROW_ERRORS = "import_row_errors", _("导入错误行")
    ACTIVITIES_RECORDINGS = "activities_recordings", _("催收记录与录音")
    MESSAGES = "messages", _("消息正文")


class RetentionAction(models.TextChoices):
    ANONYMISE = "anonymise", _("匿名化")
    DELETE = "delete", _("删除")


# The one action each data class supports: customers cannot be deleted (their accounts and
# payments are money history), files and error rows have nothing worth keeping anonymised;
# messages keep their rows (state, times, provider ids are the record that they were sent).
SUPPORTED_ACTIONS: dict[str, str] = {
    DataClass.PERSONAL_DATA_AFTER_CLOSURE: RetentionAction.ANONYMISE,
    DataClass.IMPORT_FILES: RetentionAction.DELETE,
    DataClass.IMPORT_ROW_ERRORS: RetentionAction.DELETE,
    DataClass.ACTIVITIES_RECORDINGS: RetentionAction.DELETE,
    DataClass.MESSAGES: RetentionAction.ANONYMISE,
}

# Five years (the seeds' default: records kept 3–5 years, personal data 5 years after closure).
DEFAULT_RETENTION_DAYS = 1826


class RetentionPolicy(models.Model):
    data_class = models.CharField(_("数据类别"), max_length=40, choices=DataClass.choices, unique=True)
    enabled = models.BooleanField(_("启用"), default=True)
    days = models.PositiveIntegerField(_("保留天数"), default=DEFAULT_RETENTION_DAYS)
    action = models.CharField(_("到期处理"), max_length=10, choices=RetentionAction.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["data_class"]
        verbose_name = _("保留策略")
        verbose_name_plural = _("保留策略")
        constraints = [
            # Fewer than 30 days would be a typo, not a policy: refuse it at the database too.
            models.CheckConstraint(name="retention_days_at_least_30", condition=models.Q(days__gte=30)),
        ]

    def __str__(self) -> str:
        return str(self.get_data_class_display())


class LegalHold(models.Model):
    """Keeps a customer's (or one account's) data from retention while it is active."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legal_holds",
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("账户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legal_holds",
    )
    reason = models.CharField(_("原因"), max_length=300)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("设置人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    placed_at = models.DateTimeField(_("设置时间"), auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("法律保全")
        verbose_name_plural = _("法律保全")
        constraints = [
            models.CheckConstraint(
                name="legal_hold_one_subject",
                condition=(models.Q(customer__isnull=False) & models.Q(account__isnull=True))
                | (models.Q(customer__isnull=True) & models.Q(account__isnull=False)),
            ),
            models.CheckConstraint(name="legal_hold_has_reason", condition=~models.Q(reason="")),
        ]
        indexes = [
            # The retention job's NOT EXISTS probes look only at active holds.
            models.Index(
                fields=["customer"],
                condition=models.Q(released_at__isnull=True),
                name="legal_hold_customer_idx",
            ),
            models.Index(
                fields=["account"],
                condition=models.Q(released_at__isnull=True),
                name="legal_hold_account_idx",
            ),
        ]

    def __str__(self) -> str:
        subject = f"customer {self.customer_id}" if self.customer_id else f"account {self.account_id}"
        return f"#{self.pk} {subject}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class RunState(models.TextChoices):
    RUNNING = "running", _("进行中")
    DONE = "done", _("完成")
    FAILED = "failed", _("失败")


class RetentionRun(models.Model):
    """One application of the policies. `results` holds, per data class, what was done:
    ``{"personal_data_after_closure": {"affected": 3, "skipped_for_hold": 1, ...}}``, written in
    the same transaction as that class's changes, so a crash leaves the finished classes recorded."""

    today = models.DateField(_("执行日期"))
    state = models.CharField(_("状态"), max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    results = models.JSONField(_("结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("保留策略执行记录")
        verbose_name_plural = _("保留策略执行记录")

    def __str__(self) -> str:
        return f"#{self.pk} {self.today}"
