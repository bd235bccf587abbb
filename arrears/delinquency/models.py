"""The delinquency engine's tables: each account's state, bucket transitions, month-end
snapshots and roll rates, and the end-of-day runs with their steps and work sets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from arrears.portfolio.models import Account


class AccountState(models.Model):
    """An account's delinquency as of `as_of`, valid until `next_change_date` unless its data changes.

    Days past due are not stored: they grow by one every day. `delinquent_since` is the
    (shifted) due date of the oldest instalment unpaid beyond the tolerance, so on any
    business date B the DPD is ``B - delinquent_since``; the batch recomputes an account
    when its data changes or `next_change_date` arrives (an instalment falls due, a bucket
    boundary is crossed, a payment dated later becomes effective).
    """

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="delinquency"
    )
    as_of = models.DateField()
    paid_fen = models.BigIntegerField(default=0)
    due_to_date_fen = models.BigIntegerField(default=0)
    overdue_principal_fen = models.BigIntegerField(default=0)
    overdue_interest_fen = models.BigIntegerField(default=0)
    overdue_fee_fen = models.BigIntegerField(default=0)
    overdue_premium_fen = models.BigIntegerField(default=0)
    overdue_fen = models.BigIntegerField(default=0)
    outstanding_fen = models.BigIntegerField(default=0)
    credit_fen = models.BigIntegerField(default=0)
    missed_instalments = models.IntegerField(default=0)
    delinquent_since = models.DateField(null=True, blank=True)
    bucket_code = models.CharField(max_length=16)
    bucket_group = models.CharField(max_length=16)
    next_due_date = models.DateField(null=True, blank=True)
    next_change_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The incremental batch: accounts whose state changes on a date without new data.
            models.Index(fields=["next_change_date"], name="state_next_change_idx"),
            # DPD-range filters: DPD on date B in [lo, hi] ⇔ delinquent_since in [B-hi, B-lo].
            models.Index(
                fields=["delinquent_since"],
                name="state_delinquent_since_idx",
                condition=models.Q(delinquent_since__isnull=False),
            ),
            models.Index(fields=["bucket_code"], name="state_bucket_idx"),
        ]


class BucketTransition(models.Model):
    """An account moved from one bucket to another on a business date (roll rates come from these)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bucket_transitions")
    business_date = models.DateField()
    from_code = models.CharField(max_length=16)
    from_group = models.CharField(max_length=16)
    to_code = models.CharField(max_length=16)
    to_group = models.CharField(max_length=16)
    dpd = models.IntegerField()
    overdue_fen = models.BigIntegerField()
    run = models.ForeignKey("EodRun", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["account", "business_date"], name="transition_account_idx"),
            models.Index(fields=["business_date"], name="transition_date_idx"),
        ]


class BucketSnapshot(models.Model):
    """The delinquent accounts at a month end (accounts not listed were current)."""

    month_end = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    bucket_group = models.CharField(max_length=16)
    dpd = models.IntegerField()
    overdue_fen = models.BigIntegerField()
    outstanding_fen = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month_end", "account"], name="snapshot_unique")]


class RollRate(models.Model):
    """How many accounts (and how much balance) went from one bucket group at a month end to another at the next."""

    month_end = models.DateField(help_text="The later month end")
    from_group = models.CharField(max_length=16)
    to_group = models.CharField(max_length=16)
    accounts = models.BigIntegerField()
    balance_fen = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month_end", "from_group", "to_group"], name="roll_rate_unique")
        ]


class BookByBucket(models.Model):
    """Accounts and balances per bucket on a business date, written by each run (the home page's book)."""

    business_date = models.DateField()
    bucket_code = models.CharField(max_length=16)
    bucket_group = models.CharField(max_length=16)
    accounts = models.BigIntegerField()
    outstanding_fen = models.BigIntegerField()
    overdue_fen = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_date", "bucket_code"], name="book_by_bucket_unique")
        ]


class RunMode(models.TextChoices):
    INCREMENTAL = "incremental", _("增量")
    FULL = "full", _("全量重算")
    BASELINE = "baseline", _("重建基线")


class RunState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    DONE = "done", _("完成")
    FAILED = "failed", _("失败")
    SUPERSEDED = "superseded", _("已被重建取代")


class EodRun(models.Model):
    """One end-of-day run for a business date. A failed or killed run is resumed, not restarted."""

    business_date = models.DateField()
    mode = models.CharField(max_length=12, choices=RunMode.choices)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    error = models.TextField(blank=True)
    accounts = models.BigIntegerField(default=0, help_text="Accounts recomputed")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "-business_date"], name="eod_run_state_date_idx")]
        constraints = [
            # At most one unfinished run at a time: the batch is a single writer.
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="running"), name="eod_one_running"
            ),
        ]

    def __str__(self) -> str:
        return f"EOD {self.business_date} ({self.mode}, {self.state})"


class StepState(models.TextChoices):
    STARTED = "started", _("进行中")
    DONE = "done", _("完成")


class EodStep(models.Model):
    """A step of a run. `started` is committed before the step's work begins (so a crash shows
    where it stopped); `done` is written in the same transaction as the work, so a step is
    never half done."""

    run = models.ForeignKey(EodRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=30)
    state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.DONE)
    rows = models.BigIntegerField(default=0)
    ms = models.IntegerField(default=0)
    attempts = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="eod_step_unique")]


class EodWorkItem(models.Model):
    """The accounts a run recomputes, fixed by its first step so a resumed run does the same work."""

    run = models.ForeignKey(EodRun, on_delete=models.CASCADE, related_name="+")
    account_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "account_id"], name="eod_work_unique")]


class DirtyAccount(models.Model):
    """Accounts whose data changed since the last run (filled by database triggers on accounts,
    instalments, payments and products, so no writer can forget)."""

    account_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
