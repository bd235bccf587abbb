"""Creditors, products and their bucket ladders, customers, contact points, accounts,
instalments, payments, and the import batches that brought them in.

Money is integer fen (``*_fen`` fields, BigInteger): exact, and cheap to sum in SQL.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from arrears.core.fields import BlindIndexedModel, BlindIndexField, EncryptedTextField


class Creditor(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BucketLadder(models.Model):
    """A named set of DPD ranges; products point at one. Buckets are data, not code."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.code


class Bucket(models.Model):
    ladder = models.ForeignKey(BucketLadder, on_delete=models.CASCADE, related_name="buckets")
    code = models.CharField(max_length=16, help_text="e.g. M1-1")
    group = models.CharField(max_length=16, help_text="The bucket reported in roll rates, e.g. M1")
    min_dpd = models.PositiveIntegerField()
    max_dpd = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = no upper bound")

    class Meta:
        ordering = ["ladder", "min_dpd"]
        constraints = [
            models.UniqueConstraint(fields=["ladder", "code"], name="bucket_code_unique"),
            models.UniqueConstraint(fields=["ladder", "min_dpd"], name="bucket_min_dpd_unique"),
            models.CheckConstraint(
                name="bucket_range_ordered",
                condition=models.Q(max_dpd__isnull=True) | models.Q(max_dpd__gte=models.F("min_dpd")),
            ),
        ]

    def __str__(self) -> str:
        upper = self.max_dpd if self.max_dpd is not None else "∞"
        return f"{self.code} ({self.min_dpd}–{upper})"


class ProductKind(models.TextChoices):
    LOAN = "loan", _("贷款")
    CARD = "card", _("信用卡")
    POLICY = "policy", _("保单")


class DueDateShift(models.TextChoices):
    NONE = "none", _("不顺延")
    NEXT_WORKING_DAY = "next_working_day", _("顺延至下一工作日")


COMPONENTS = ("principal", "interest", "fee", "premium")
# Charges first, then interest, then principal: the usual order of Chinese lenders (先费后息再本).
DEFAULT_ALLOCATION_ORDER = ["fee", "interest", "principal", "premium"]


def default_allocation_order() -> list[str]:
    return list(DEFAULT_ALLOCATION_ORDER)


class Product(models.Model):
    """A product and the delinquency rules of its accounts (ladder, tolerance, due-date shift,
    order in which a payment pays the components of an instalment, when a case opens)."""

    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="products")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=ProductKind.choices, default=ProductKind.LOAN)
    ladder = models.ForeignKey(BucketLadder, on_delete=models.PROTECT, related_name="products")
    tolerance_fen = models.BigIntegerField(
        default=1000, help_text="Overdue amounts below this do not make an account delinquent (fen)"
    )
    due_date_shift = models.CharField(max_length=20, choices=DueDateShift.choices, default=DueDateShift.NONE)
    allocation_order = models.JSONField(
        default=default_allocation_order,
        help_text="Components of an instalment in the order payments pay them",
    )
    case_open_dpd = models.PositiveIntegerField(
        default=1, help_text="A case opens when days past due reach this (the first delinquent bucket)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creditor", "code"], name="product_code_unique"),
            models.CheckConstraint(
                name="product_tolerance_not_negative", condition=models.Q(tolerance_fen__gte=0)
            ),
            models.CheckConstraint(
                name="product_case_open_dpd_positive", condition=models.Q(case_open_dpd__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.creditor.code}/{self.code}"

    def clean(self) -> None:
        order = self.allocation_order
        if not isinstance(order, list) or sorted(order) != sorted(COMPONENTS):
            raise ValidationError(
                {"allocation_order": _("必须恰好列出 principal、interest、fee、premium 各一次")}
            )


class ProtectedReason(models.TextChoices):
    ILLNESS = "illness", _("重病")
    PREGNANCY = "pregnancy", _("孕期")
    HARDSHIP = "hardship", _("家庭困难")
    DISABILITY = "disability", _("残疾")
    ELDERLY = "elderly", _("高龄")


class Customer(BlindIndexedModel):
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="customers")
    customer_no = models.CharField(max_length=64, help_text="The creditor's customer key")
    name = models.CharField(max_length=100)
    # Encrypted at rest (AES-GCM); looked up by its blind index (docs/security.md).
    id_number = EncryptedTextField(max_length=18)
    id_number_hash = BlindIndexField(source="id_number")
    employer = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai")
    # A protected customer (illness, pregnancy, hardship …) is contacted less (guard rule H4).
    # Database defaults, because the file loader inserts customers with its own column list.
    protected_reason = models.CharField(
        max_length=20, choices=ProtectedReason.choices, blank=True, default="", db_default=""
    )
    protected_since = models.DateField(null=True, blank=True)
    # Stops under US Regulation F (guard rule U4): the consumer asked us to cease, is
    # represented by an attorney, or their employer prohibits contact at work.
    cease_requested = models.BooleanField(default=False, db_default=False)
    attorney_represented = models.BooleanField(default=False, db_default=False)
    employer_prohibits_contact = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creditor", "customer_no"], name="customer_no_unique")]
        indexes = [models.Index(fields=["id_number_hash"], name="customer_id_number_hash_idx")]

    def __str__(self) -> str:
        return self.name


class ContactKind(models.TextChoices):
    MOBILE = "mobile", _("手机")
    HOME = "home", _("家庭电话")
    WORK = "work", _("单位电话")
    EMAIL = "email", _("邮箱")
    ADDRESS = "address", _("地址")


class OwnerRole(models.TextChoices):
    SELF = "self", _("本人")
    SPOUSE = "spouse", _("配偶")
    PARENT = "parent", _("父母")
    SIBLING = "sibling", _("兄弟姐妹")
    RELATIVE = "relative", _("亲属")
    COLLEAGUE = "colleague", _("同事")
    FRIEND = "friend", _("朋友")
    GUARANTOR = "guarantor", _("担保人")
    OTHER = "other", _("其他")


class ContactPoint(BlindIndexedModel):
    """One phone, email or address of the customer or of a third party."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    owner_role = models.CharField(max_length=10, choices=OwnerRole.choices)
    owner_name = models.CharField(max_length=100, blank=True)
    # Addresses are labelled (home/work) in `label`; phones are stored normalised (digits, "0" area codes).
    label = models.CharField(max_length=20, blank=True)
    # Encrypted at rest (AES-GCM); unique and looked up by its blind index (docs/security.md).
    value = EncryptedTextField(max_length=300)
    value_hash = BlindIndexField(source="value")
    is_valid = models.BooleanField(default=True)
    do_not_contact = models.BooleanField(default=False)
    do_not_contact_reason = models.CharField(max_length=200, blank=True)
    do_not_contact_since = models.DateField(null=True, blank=True)
    # Written channels this point opted out of ("sms", "email"): a reply such as 退订 stops
    # messages on that channel only; calls to the number are judged as before (U5).
    opted_out_channels = ArrayField(models.CharField(max_length=8), default=list, blank=True, db_default=[])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "owner_role", "value_hash"], name="contact_point_unique"
            ),
            models.CheckConstraint(
                name="dnc_has_reason",
                condition=models.Q(do_not_contact=False)
                | (~models.Q(do_not_contact_reason="") & models.Q(do_not_contact_since__isnull=False)),
            ),
        ]
        indexes = [models.Index(fields=["value_hash"], name="contact_point_value_hash_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("正常")
    CLOSED = "closed", _("结清")
    WRITTEN_OFF = "written_off", _("核销")


class ScheduleSource(models.TextChoices):
    GENERATED = "generated", _("等额生成")
    FILE = "file", _("还款计划文件")


class Account(models.Model):
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="accounts")
    account_no = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="accounts")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    principal_fen = models.BigIntegerField()
    open_date = models.DateField()
    term = models.PositiveIntegerField()
    instalment_fen = models.BigIntegerField(null=True, blank=True)
    first_due_date = models.DateField()
    flags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    schedule_source = models.CharField(
        max_length=10, choices=ScheduleSource.choices, default=ScheduleSource.GENERATED
    )
    # Balances maintained from the schedule and payments (the delinquency engine refines them).
    total_due_fen = models.BigIntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creditor", "account_no"], name="account_no_unique"),
            models.CheckConstraint(
                name="account_principal_positive", condition=models.Q(principal_fen__gt=0)
            ),
        ]
        indexes = [
            # Keyset pagination of the account list: newest id first, optionally per status.
            models.Index(fields=["creditor", "-id"], name="account_creditor_id_idx"),
            # Looking an account up by its number alone (search box, API without creditor).
            models.Index(fields=["account_no"], name="account_no_idx"),
            models.Index(fields=["status", "-id"], name="account_status_id_idx"),
            models.Index(fields=["product", "-id"], name="account_product_id_idx"),
            models.Index(fields=["customer"], name="account_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.account_no

    @property
    def outstanding_fen(self) -> int:
        return self.total_due_fen - self.paid_fen


class Instalment(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="instalments")
    seq = models.PositiveIntegerField()
    due_date = models.DateField()
    principal_due_fen = models.BigIntegerField(default=0)
    interest_due_fen = models.BigIntegerField(default=0)
    fee_due_fen = models.BigIntegerField(default=0)
    premium_due_fen = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["account", "seq"]
        constraints = [models.UniqueConstraint(fields=["account", "seq"], name="instalment_seq_unique")]
        indexes = [models.Index(fields=["due_date"], name="instalment_due_date_idx")]

    @property
    def total_due_fen(self) -> int:
        return self.principal_due_fen + self.interest_due_fen + self.fee_due_fen + self.premium_due_fen


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("账户")
    SCHEDULE = "schedule", _("还款计划")
    PAYMENTS = "payments", _("还款流水")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("完成")
    FAILED = "failed", _("失败")


class ImportBatch(models.Model):
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="import_batches")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the file")
    file_format = models.CharField(max_length=8, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    # A structural error (nothing loaded): a message key and its parameters, rendered per language.
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)
    rows_read = models.BigIntegerField(default=0)
    rows_loaded = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    rows_inserted = models.BigIntegerField(default=0)
    rows_updated = models.BigIntegerField(default=0)
    rows_unchanged = models.BigIntegerField(default=0)
    ignored_columns = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="import_batch_created_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.filename}"


class ImportRowError(models.Model):
    """A rejected row: where it is in the file, which column, what was there, and why."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="As Excel shows it: the header is row 1")
    column = models.CharField(max_length=100, blank=True)
    value = models.CharField(max_length=500, blank=True)
    code = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["batch", "row_number", "id"]
        indexes = [models.Index(fields=["batch", "row_number"], name="import_row_error_batch_idx")]


class Payment(models.Model):
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="payments")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    txn_id = models.CharField(max_length=64)
    paid_at = models.DateTimeField()
    amount_fen = models.BigIntegerField(help_text="Negative only for a reversal")
    channel = models.CharField(max_length=50, blank=True)
    reversal_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creditor", "txn_id"], name="payment_txn_unique"),
            models.CheckConstraint(
                name="payment_sign_matches_reversal",
                condition=(models.Q(amount_fen__gt=0) & models.Q(reversal_of__isnull=True))
                | (models.Q(amount_fen__lt=0) & models.Q(reversal_of__isnull=False)),
            ),
        ]
        indexes = [models.Index(fields=["account", "paid_at"], name="payment_account_paid_idx")]


class AccountChangeKind(models.TextChoices):
    CREATED = "created", _("新建")
    UPDATED = "updated", _("更新")
    SCHEDULE_REPLACED = "schedule", _("还款计划更新")


class AccountChange(models.Model):
    """What an import did to an account: created it, or which fields changed from what to what."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="changes")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="account_changes")
    kind = models.CharField(max_length=10, choices=AccountChangeKind.choices)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-id"], name="account_change_account_idx")]
