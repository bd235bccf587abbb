"""Communications: message templates and their versions, cadences, the outbox, inbound
messages, letter batches, reminder calls and field visits.

Every message that leaves the system — automated or sent by hand, SMS, email or letter —
is first a row in the outbox (`Message`); a worker sends it after asking the guard again.
Each change of a message's state writes a `MessageEvent` in the same transaction: that is
the per-message history the outbox page shows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageChannel(models.TextChoices):
    SMS = "sms", _("短信")
    EMAIL = "email", _("邮件")
    LETTER = "letter", _("信函")


class TemplateClass(models.TextChoices):
    """What a template is for; the guard uses it (third parties get `pass_message` only)."""

    REMINDER = "reminder", _("还款提醒")
    COLLECTION = "collection", _("催收通知")
    PASS_MESSAGE = "pass_message", _("第三方转告(不含欠款信息)")
    LEGAL_NOTICE = "legal_notice", _("法务通知")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("简体中文")
    EN = "en", _("英文")


class Template(models.Model):
    """A message template (one channel, one language); its text lives in versions.

    Only an approved version is ever sent; editing writes a new draft version, so a sent
    message always points at the exact text that was approved.
    """

    code = models.CharField(max_length=40, help_text="e.g. REMIND_T3")
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=8, choices=MessageChannel.choices)
    template_class = models.CharField(max_length=16, choices=TemplateClass.choices)
    # The approved version in use; None until a supervisor approves one.
    current_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["code", "language"]
        constraints = [
            models.UniqueConstraint(fields=["code", "language"], name="template_code_language_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.language})"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    RETIRED = "retired", _("已停用")


class TemplateVersion(models.Model):
    """One text of a template. The text of a saved version is never changed."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=200, blank=True, help_text="Email subject / letter title")
    body = models.TextField()
    # The provider's own template code for SMS (a Chinese SMS provider sends registered
    # templates with parameters, not free text).
    provider_template_code = models.CharField(max_length=64, blank=True)
    variables = models.JSONField(default=list, help_text="The variables the text uses")
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    # What the screening found when it was saved (warnings only: a failing text is refused).
    screening = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class CadenceAnchor(models.TextChoices):
    DUE_DATE = "due_date", _("距到期日")
    OVERDUE = "overdue", _("逾期天数")


class StepKind(models.TextChoices):
    MESSAGE = "message", _("发送消息")
    REMINDER_CALL = "reminder_call", _("还款提醒电话")


class Cadence(models.Model):
    """Which messages go out when, for one product (or every product) in one bucket group.

    The end-of-day batch picks, per account, the cadence of its product and bucket group,
    falling back to the catch-all cadence (no product) of that bucket group.
    """

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    product = models.ForeignKey(
        "portfolio.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="cadences"
    )
    bucket_group = models.CharField(max_length=16, help_text="M0 (current), M1, M2 …")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bucket_group", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "bucket_group"],
                name="cadence_product_bucket_unique",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CadenceStep(models.Model):
    """One step: `days` before the next due date (anchor due_date) or on overdue day `days`.

    A reminder-call step counts working days and comes forward over holidays (seed 003);
    message steps count calendar days and, when that day is a statutory holiday, are sent
    on the working day before it.
    """

    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=16, choices=StepKind.choices, default=StepKind.MESSAGE)
    anchor = models.CharField(max_length=10, choices=CadenceAnchor.choices)
    days = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=MessageChannel.choices, default=MessageChannel.SMS)
    template_code = models.CharField(max_length=40, blank=True)
    send_time = models.TimeField(help_text="Local time of the debtor", default="10:00")
    # A removed step is retired, not deleted: the messages it queued keep naming it, and
    # deleting would rewrite every one of them (its reference set to NULL across the outbox).
    # Adding the same step again brings the retired one back, so its messages' dedupe keys
    # (which hold the step's id) still stop a rerun of the night from queueing them twice.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cadence", "anchor", "days"]
        constraints = [
            models.UniqueConstraint(
                fields=["cadence", "kind", "anchor", "days", "channel"],
                name="cadence_step_unique",
                condition=models.Q(retired_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        sign = "T-" if self.anchor == CadenceAnchor.DUE_DATE else "D+"
        return f"{self.cadence.code} {sign}{self.days} {self.kind}"


class MessageState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("失败")
    BLOCKED = "blocked", _("已拦截")
    CANCELLED = "cancelled", _("已取消")


class MessageSource(models.TextChoices):
    CADENCE = "cadence", _("自动节奏")
    MANUAL = "manual", _("手工")
    LETTER_BATCH = "letter_batch", _("信函批次")


class Message(models.Model):
    """A message in the outbox. `dedupe_key` makes the batch's expansion idempotent; the
    conditional claim on `state` makes sending idempotent (a retry never sends twice)."""

    # Indexes: the batch inserts ~60,000 rows a night and the sender rewrites each row a few
    # times, so each index costs. A reference nothing looks messages up by has none
    # (accounts, customers and template versions are never deleted; deleting a cadence step,
    # a rare admin edit, scans once); one mostly empty at insert is indexed only where set
    # (see Meta), so a cadence row skips it.
    account = models.ForeignKey(
        "portfolio.Account", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        "portfolio.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # None for a pre-due reminder to an account that has no case.
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    contact_point = models.ForeignKey("portfolio.ContactPoint", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=MessageChannel.choices)
    template_version = models.ForeignKey(
        TemplateVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,
    )
    template_class = models.CharField(max_length=16, choices=TemplateClass.choices)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    source = models.CharField(max_length=12, choices=MessageSource.choices)
    cadence_step = models.ForeignKey(
        CadenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Unique (Meta): a constraint rather than `unique=True`, which adds a second,
    # pattern-matching index nothing uses.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True)
    # The text as rendered (empty until rendered: the batch leaves it to the sender so that
    # expansion stays one statement). Variables hold the values used, for the SMS provider.
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    variables = models.JSONField(default=dict, blank=True)
    scheduled_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=MessageState.choices, default=MessageState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A sender's claim on the row (crash recovery: an expired claim may be taken again).
    claimed_until = models.DateTimeField(null=True, blank=True)
    gateway = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    decision = models.ForeignKey(
        "compliance.Decision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    activity = models.ForeignKey(
        "cases.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    letter_batch = models.ForeignKey(
        "LetterBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The sender's scan: uses comms_message_due_idx (queued rows by due time only).
            models.Index(
                fields=["next_attempt_at"],
                name="comms_message_due_idx",
                condition=models.Q(state__in=["queued", "sending"]),
            ),
            # A case's messages (pre-due reminders have no case).
            models.Index(
                fields=["case", "-id"], name="comms_message_case_idx", condition=models.Q(case__isnull=False)
            ),
            models.Index(fields=["gateway", "provider_message_id"], name="comms_message_provider_idx"),
            models.Index(fields=["-scheduled_at"], name="comms_message_scheduled_idx"),
            # The print queue: letters sent to the printer and not yet in a batch.
            models.Index(
                fields=["id"],
                name="comms_message_print_queue_idx",
                condition=models.Q(channel="letter", state="sent", letter_batch__isnull=True),
            ),
            # Set after insert, if ever: retention deletes decisions and activities (the
            # SET NULL looks messages up by them), a batch lists its letters.
            models.Index(
                fields=["decision"],
                name="comms_message_decision_idx",
                condition=models.Q(decision__isnull=False),
            ),
            models.Index(
                fields=["activity"],
                name="comms_message_activity_idx",
                condition=models.Q(activity__isnull=False),
            ),
            models.Index(
                fields=["letter_batch"],
                name="comms_message_batch_idx",
                condition=models.Q(letter_batch__isnull=False),
            ),
            models.Index(
                fields=["created_by"],
                name="comms_message_author_idx",
                condition=models.Q(created_by__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="comms_message_dedupe_key"),
        ]


class MessageEventKind(models.TextChoices):
    QUEUED = "queued", _("入队")
    DEFERRED = "deferred", _("推迟到允许时间")
    BLOCKED = "blocked", _("合规拦截")
    ATTEMPT_FAILED = "attempt_failed", _("发送失败,将重试")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("最终失败")
    PRINTED = "printed", _("已打印")
    DELIVERED = "delivered", _("送达回执")
    UNDELIVERED = "undelivered", _("未送达回执")
    BOUNCED = "bounced", _("退信")
    CANCELLED = "cancelled", _("已取消")


class MessageEvent(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=MessageEventKind.choices)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["message", "id"]


class InboundMessage(models.Model):
    """A message a debtor (or anyone) sent us: an SMS reply, an email reply."""

    channel = models.CharField(max_length=8, choices=MessageChannel.choices)
    gateway = models.CharField(max_length=20)
    # Matched contact points of the sender (a number may belong to several customers).
    contact_points = models.ManyToManyField("portfolio.ContactPoint", related_name="+", blank=True)
    sender_masked = models.CharField(max_length=40)
    text = models.TextField()
    received_at = models.DateTimeField()
    provider_message_id = models.CharField(max_length=100, blank=True)
    opt_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_message_id"],
                name="inbound_provider_id_unique",
                condition=~models.Q(provider_message_id=""),
            ),
        ]


class LetterBatch(models.Model):
    """Letters printed together: one PDF of all of them and a CSV mailing list."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    letters = models.PositiveIntegerField(default=0)
    pdf_path = models.CharField(max_length=300, blank=True)
    csv_path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]


class ReminderCall(models.Model):
    """A pre-due reminder call (seed 003): shown from 3 working days before the due date
    (earlier over holidays) until done or the due date passes."""

    account = models.ForeignKey("portfolio.Account", on_delete=models.CASCADE, related_name="+")
    due_date = models.DateField()
    call_from = models.DateField()
    amount_fen = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["call_from", "due_date", "account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "due_date"], name="reminder_call_unique"),
        ]
        indexes = [models.Index(fields=["call_from", "due_date"], name="reminder_call_open_idx")]


class VisitState(models.TextChoices):
    PLANNED = "planned", _("已计划")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class Visit(models.Model):
    """A field visit (外访): planned with its visitors, checked by the guard, then recorded."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="visits")
    address = models.ForeignKey("portfolio.ContactPoint", on_delete=models.PROTECT, related_name="+")
    planned_at = models.DateTimeField()
    purpose = models.CharField(max_length=300)
    visitors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="visits")
    recording_device = models.CharField(max_length=100, help_text="The recorder's id or serial number")
    state = models.CharField(max_length=10, choices=VisitState.choices, default=VisitState.PLANNED)
    decision = models.ForeignKey(
        "compliance.Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activity = models.ForeignKey(
        "cases.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["planned_at"]
        indexes = [models.Index(fields=["planned_at"], name="visit_planned_idx")]


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("照片")
    AUDIO = "audio", _("录音")


class VisitAttachment(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=8, choices=AttachmentKind.choices)
    file = models.FileField(upload_to="visits/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["visit", "id"]


def message_queued_event(message: Message) -> MessageEvent:
    """The `queued` entry of a message's history, not stored for a cadence message.

    The batch queues ~60,000 messages a night in one statement; an event row per message
    would say nothing the row itself does not (`source`, `cadence_step`, `created_at`) and
    cost as much to write as the message. Readers of a history put this first when the
    stored events have no `queued` of their own (manual messages store theirs).
    """
    data: dict[str, Any] = {"source": message.source}
    if message.cadence_step_id is not None:
        data["cadence_step"] = message.cadence_step_id
    return MessageEvent(message=message, kind=MessageEventKind.QUEUED, at=message.created_at, data=data)
