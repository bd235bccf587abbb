"""Writes of cadences from the cadence pages: create a cadence, add, change and remove a
step, activate or deactivate a cadence.

Invariants:

* Only supervisors and admins write (`CadenceNotAllowed`, a view answers 403).
* A step is refused, with nothing written, when its days are out of range (messages: 0–30
  days before the due date, overdue day 1–180; reminder calls: 1–10 working days before the
  due date, and only on the due-date anchor), its channel is not a message channel, its
  template code has no zh-Hans template of that channel, its send time is outside
  08:00–20:00 (the guard's calling window is 08:00–21:00; a message needs margin for the
  sender's retries), or the cadence already has the same step (kind, anchor, days, channel).
* An approved template version is required only to activate: a step of an active cadence
  whose template has none queues nothing, and the page says so.
* Every change writes an event (`arrears.core.services.event_record`) with the state before
  and after, in its transaction; the cadence row is locked first, so two editors' checks
  and writes do not interleave.
* Changes take effect from the next end-of-day run (`services.cadences_expand` reads the
  steps then); messages already queued are not touched.

Refusals raise `CadenceRefused` with (field, message) pairs in the active language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from arrears.accounts.models import Role
from arrears.comms.models import (
    Cadence,
    CadenceAnchor,
    CadenceStep,
    Language,
    MessageChannel,
    StepKind,
    Template,
)
from arrears.core.services import event_record
from arrears.portfolio.models import Bucket, Product

CADENCE_EDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CADENCE_READERS = CADENCE_EDITORS | frozenset({Role.COMPLIANCE_OFFICER, Role.TEAM_LEADER})

BEFORE_DUE_DAYS = (0, 30)
OVERDUE_DAYS = (1, 180)
REMINDER_CALL_WORKING_DAYS = (1, 10)
SEND_TIME_EARLIEST = dt.time(8, 0)
SEND_TIME_LATEST = dt.time(20, 0)
# What a reminder-call step stores in the fields only messages use.
_CALL_CHANNEL = MessageChannel.SMS
_CALL_SEND_TIME = dt.time(10, 0)


class CadenceRefused(ValueError):
    """What is wrong, as (field, message) pairs in the reader's language; nothing was written."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = list(problems)


class CadenceNotAllowed(PermissionDenied):
    """The actor's role may not change cadences (a view answers 403)."""


def _require_editor(actor: Any) -> None:
    role = getattr(actor, "role", None) if getattr(actor, "pk", None) else None
    if role not in CADENCE_EDITORS or not getattr(actor, "is_active", False):
        raise CadenceNotAllowed(_("只有主管或管理员可以修改催收节奏。"))


def bucket_groups() -> list[str]:
    """The bucket groups a cadence may be for: those of the ladders, youngest first, then any
    a cadence already names."""
    groups = [
        row["group"]
        for row in Bucket.objects.values("group").annotate(first=Min("min_dpd")).order_by("first", "group")
    ]
    for group in Cadence.objects.order_by("bucket_group").values_list("bucket_group", flat=True).distinct():
        if group not in groups:
            groups.append(group)
    return groups


def step_state(step: CadenceStep) -> dict[str, Any]:
    """A step as the events record it."""
    return {
        "id": step.pk,
        "kind": step.kind,
        "anchor": step.anchor,
        "days": step.days,
        "channel": step.channel,
        "template_code": step.template_code,
        "send_time": step.send_time.strftime("%H:%M")
        if isinstance(step.send_time, dt.time)
        else str(step.send_time),
    }


def _cadence_state(cadence: Cadence) -> dict[str, Any]:
    return {
        "code": cadence.code,
        "product": cadence.product.code if cadence.product_id and cadence.product else None,
        "bucket_group": cadence.bucket_group,
        "active": cadence.active,
    }


def _channel_label(channel: str) -> str:
    return str(MessageChannel(channel).label) if channel in MessageChannel.values else channel


def _step_problems(
    *,
    cadence: Cadence,
    kind: str,
    anchor: str,
    days: int | None,
    channel: str,
    template_code: str,
    send_time: dt.time | None,
    exclude_step_id: int | None,
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if kind not in StepKind.values:
        return [("kind", _("未知的步骤类型。"))]
    if anchor not in CadenceAnchor.values:
        return [("anchor", _("未知的时间基准。"))]
    if kind == StepKind.REMINDER_CALL:
        if anchor != CadenceAnchor.DUE_DATE:
            problems.append(("anchor", _("还款提醒电话只能按到期日设置（到期前若干个工作日）。")))
        low, high = REMINDER_CALL_WORKING_DAYS
        if days is None or not low <= days <= high:
            problems.append(
                (
                    "days",
                    _("还款提醒电话须在到期前 {low} 到 {high} 个工作日之间。").format(low=low, high=high),
                )
            )
    else:
        if anchor == CadenceAnchor.DUE_DATE:
            low, high = BEFORE_DUE_DAYS
            if days is None or not low <= days <= high:
                problems.append(
                    ("days", _("到期前的天数须在 {low} 到 {high} 之间。").format(low=low, high=high))
                )
        else:
            low, high = OVERDUE_DAYS
            if days is None or not low <= days <= high:
                problems.append(("days", _("逾期天数须在 {low} 到 {high} 之间。").format(low=low, high=high)))
        if channel not in MessageChannel.values:
            problems.append(("channel", _("消息渠道须为短信、邮件或信函。")))
        if not template_code:
            problems.append(("template_code", _("请填写模板编号。")))
        elif (
            channel in MessageChannel.values
            and not Template.objects.filter(
                code=template_code, language=Language.ZH_HANS, channel=channel
            ).exists()
        ):
            problems.append(
                (
                    "template_code",
                    _("没有渠道为{channel}的简体中文模板 {code}。请先在“消息模板”中创建它。").format(
                        channel=_channel_label(channel), code=template_code
                    ),
                )
            )
        if send_time is None or not SEND_TIME_EARLIEST <= send_time <= SEND_TIME_LATEST:
            problems.append(
                (
                    "send_time",
                    _("发送时间须在 08:00 到 20:00 之间（允许联系的时段是 08:00–21:00，消息须留出余量）。"),
                )
            )
    if not problems and days is not None:
        same = CadenceStep.objects.filter(
            cadence=cadence, kind=kind, anchor=anchor, days=days, channel=channel, retired_at__isnull=True
        )
        if exclude_step_id is not None:
            same = same.exclude(pk=exclude_step_id)
        if same.exists():
            problems.append(("days", _("本节奏已有相同的步骤（同一类型、时间基准、天数和渠道）。")))
    return problems


def _normalised(
    kind: str, channel: str, template_code: str, send_time: dt.time | None
) -> tuple[str, str, dt.time | None]:
    if kind == StepKind.REMINDER_CALL:
        # A reminder call is a task on the reminder desk: no channel, template or send time.
        return _CALL_CHANNEL, "", _CALL_SEND_TIME
    return channel, template_code.strip().upper(), send_time


def _locked(cadence: Cadence) -> Cadence:
    return Cadence.objects.select_for_update(of=("self",)).select_related("product").get(pk=cadence.pk)


def cadence_create(*, product: Product | None, bucket_group: str, actor: Any) -> Cadence:
    """A new cadence, inactive and without steps, for one product (None: every product) and
    bucket group; unique per product × bucket group. It is activated once its steps are in."""
    _require_editor(actor)
    bucket_group = bucket_group.strip()
    if bucket_group not in bucket_groups():
        raise CadenceRefused([("bucket_group", _("未知的账龄组。"))])
    if product is None:
        exists = _("全部产品的 {group} 节奏已存在。").format(group=bucket_group)
    else:
        exists = _("产品 {product} 在 {group} 已有催收节奏。").format(
            product=product.name, group=bucket_group
        )
    if Cadence.objects.filter(product=product, bucket_group=bucket_group).exists():
        raise CadenceRefused([("product", exists)])
    code = f"P{product.pk}_{bucket_group}" if product is not None else f"DEFAULT_{bucket_group}"
    name = f"{product.name} {bucket_group}" if product is not None else f"默认 {bucket_group}"
    try:
        with transaction.atomic():
            cadence = Cadence.objects.create(
                code=code, name=name, product=product, bucket_group=bucket_group, active=False
            )
            event_record(
                kind="comms.cadence_created",
                subject=cadence,
                actor=actor,
                data={"before": None, "after": _cadence_state(cadence)},
            )
    except IntegrityError as error:  # a simultaneous create of the same product and group
        raise CadenceRefused([("product", exists)]) from error
    return cadence


def cadence_step_add(
    *,
    cadence: Cadence,
    kind: str,
    anchor: str,
    days: int | None,
    channel: str,
    template_code: str,
    send_time: dt.time | None,
    actor: Any,
) -> CadenceStep:
    """Add a step to the cadence, or refuse it (nothing written)."""
    _require_editor(actor)
    channel, template_code, send_time = _normalised(kind, channel, template_code, send_time)
    with transaction.atomic():
        cadence = _locked(cadence)
        problems = _step_problems(
            cadence=cadence,
            kind=kind,
            anchor=anchor,
            days=days,
            channel=channel,
            template_code=template_code,
            send_time=send_time,
            exclude_step_id=None,
        )
        if problems:
            raise CadenceRefused(problems)
        # The checks above refuse a missing day or time.
        assert days is not None and send_time is not None
        # The same step removed earlier comes back (see CadenceStep.retired_at).
        step = (
            CadenceStep.objects.filter(
                cadence=cadence,
                kind=kind,
                anchor=anchor,
                days=days,
                channel=channel,
                retired_at__isnull=False,
            )
            .order_by("-retired_at")
            .first()
        )
        if step is None:
            step = CadenceStep.objects.create(
                cadence=cadence,
                kind=kind,
                anchor=anchor,
                days=days,
                channel=channel,
                template_code=template_code,
                send_time=send_time,
            )
        else:
            step.template_code, step.send_time, step.retired_at = template_code, send_time, None
            step.save(update_fields=["template_code", "send_time", "retired_at"])
        event_record(
            kind="comms.cadence_step_added",
            subject=cadence,
            actor=actor,
            data={"before": None, "after": step_state(step)},
        )
    return step


def cadence_step_change(
    *,
    step: CadenceStep,
    days: int | None,
    channel: str,
    template_code: str,
    send_time: dt.time | None,
    actor: Any,
) -> CadenceStep:
    """Change a step's days, channel, template code and send time (its kind and anchor stay:
    another kind is another step), or refuse it (nothing written)."""
    _require_editor(actor)
    with transaction.atomic():
        cadence = _locked(step.cadence)
        step = CadenceStep.objects.get(pk=step.pk, cadence=cadence, retired_at__isnull=True)
        channel, template_code, send_time = _normalised(step.kind, channel, template_code, send_time)
        problems = _step_problems(
            cadence=cadence,
            kind=step.kind,
            anchor=step.anchor,
            days=days,
            channel=channel,
            template_code=template_code,
            send_time=send_time,
            exclude_step_id=step.pk,
        )
        if problems:
            raise CadenceRefused(problems)
        before = step_state(step)
        # The checks above refuse a missing day or time.
        assert days is not None and send_time is not None
        step.days, step.channel, step.template_code, step.send_time = days, channel, template_code, send_time
        step.save(update_fields=["days", "channel", "template_code", "send_time"])
        after = step_state(step)
        if after != before:
            event_record(
                kind="comms.cadence_step_changed",
                subject=cadence,
                actor=actor,
                data={"before": before, "after": after},
            )
    return step


def cadence_step_remove(*, step: CadenceStep, actor: Any) -> None:
    """Remove a step: it is retired (`CadenceStep.retired_at`) and queues nothing from the next
    night on; the messages it queued keep naming it."""
    _require_editor(actor)
    with transaction.atomic():
        cadence = _locked(step.cadence)
        step = CadenceStep.objects.get(pk=step.pk, cadence=cadence, retired_at__isnull=True)
        before = step_state(step)
        step.retired_at = timezone.now()
        step.save(update_fields=["retired_at"])
        event_record(
            kind="comms.cadence_step_removed",
            subject=cadence,
            actor=actor,
            data={"before": before, "after": None},
        )


def activation_problems(cadence: Cadence) -> list[tuple[str, str]]:
    """Why the cadence may not be activated: a message step whose template has no approved
    zh-Hans version of its channel would queue nothing."""
    problems: list[tuple[str, str]] = []
    steps = CadenceStep.objects.filter(
        cadence=cadence, kind=StepKind.MESSAGE, retired_at__isnull=True
    ).order_by("anchor", "days")
    approved = set(
        Template.objects.filter(
            language=Language.ZH_HANS,
            active=True,
            current_version__isnull=False,
            code__in=[step.template_code for step in steps],
        ).values_list("code", "channel")
    )
    for step in steps:
        if (step.template_code, step.channel) not in approved:
            problems.append(
                (
                    "active",
                    _(
                        "模板 {code}（{channel}）没有已批准的简体中文版本，节奏不能启用：这样的步骤不会发送任何消息。请先批准该模板。"
                    ).format(code=step.template_code, channel=_channel_label(step.channel)),
                )
            )
    return problems


def cadence_set_active(*, cadence: Cadence, active: bool, actor: Any) -> Cadence:
    """Activate (every message step's template approved) or deactivate the cadence. An
    active product cadence replaces the catch-all of its bucket group for that product."""
    _require_editor(actor)
    with transaction.atomic():
        cadence = _locked(cadence)
        if cadence.active == active:
            return cadence
        if active:
            problems = activation_problems(cadence)
            if problems:
                raise CadenceRefused(problems)
        before = _cadence_state(cadence)
        cadence.active = active
        cadence.save(update_fields=["active"])
        event_record(
            kind="comms.cadence_activated" if active else "comms.cadence_deactivated",
            subject=cadence,
            actor=actor,
            data={"before": before, "after": _cadence_state(cadence)},
        )
    return cadence
