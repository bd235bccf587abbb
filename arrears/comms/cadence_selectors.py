"""Reads of the cadence pages: every cadence with its steps as a timeline, and whether each
message step's template can be sent (an approved zh-Hans version of the step's channel).

The list costs the same few queries however many cadences and steps there are: the
cadences with their products, their steps (one prefetch), the templates the steps name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from arrears.comms.models import (
    Cadence,
    CadenceAnchor,
    CadenceStep,
    Language,
    MessageChannel,
    StepKind,
    Template,
)


class TemplateStatus:
    APPROVED = "approved"
    NOT_APPROVED = "not_approved"
    MISSING = "missing"
    NONE_NEEDED = "none_needed"  # a reminder call


@dataclasses.dataclass(frozen=True)
class StepRow:
    step: CadenceStep
    when: str  # "T-3", "逾期第 5 天", "从到期前 3 个工作日"
    label: str  # the whole step as one line of the timeline
    template_status: str
    warning: str  # "" when the step will queue what it says


@dataclasses.dataclass(frozen=True)
class CadenceRow:
    cadence: Cadence
    steps: list[StepRow]

    @property
    def warnings(self) -> int:
        return sum(1 for row in self.steps if row.warning)


def _timeline_key(step: CadenceStep) -> tuple[int, int, int]:
    # Before the due date, furthest first (T-3 before T0); then overdue days in order.
    if step.anchor == CadenceAnchor.DUE_DATE:
        return (0, -step.days, 0 if step.kind == StepKind.REMINDER_CALL else 1)
    return (1, step.days, 0)


def step_when(step: CadenceStep) -> str:
    if step.kind == StepKind.REMINDER_CALL:
        return _("从到期前 {days} 个工作日").format(days=step.days)
    if step.anchor == CadenceAnchor.DUE_DATE:
        return "T0" if step.days == 0 else f"T-{step.days}"
    return _("逾期第 {days} 天").format(days=step.days)


def step_label(step: CadenceStep) -> str:
    """One line of the timeline: "T-3 短信 REMIND_T3 10:00", "还款提醒电话 从到期前 3 个工作日"."""
    if step.kind == StepKind.REMINDER_CALL:
        return f"{StepKind.REMINDER_CALL.label} {step_when(step)}"
    channel = MessageChannel(step.channel).label if step.channel in MessageChannel.values else step.channel
    return f"{step_when(step)} {channel} {step.template_code} {step.send_time:%H:%M}"


def _sendable(codes: Iterable[str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(code, channel) of the zh-Hans templates that exist, and of those with an approved
    version in use (what the end-of-day expansion joins to)."""
    exists: set[tuple[str, str]] = set()
    approved: set[tuple[str, str]] = set()
    rows = Template.objects.filter(language=Language.ZH_HANS, code__in=set(codes)).values_list(
        "code", "channel", "active", "current_version_id"
    )
    for code, channel, active, current in rows:
        exists.add((code, channel))
        if active and current is not None:
            approved.add((code, channel))
    return exists, approved


def _step_rows(
    steps: list[CadenceStep], exists: set[tuple[str, str]], approved: set[tuple[str, str]]
) -> list[StepRow]:
    rows = []
    for step in sorted(steps, key=_timeline_key):
        key = (step.template_code, step.channel)
        if step.kind == StepKind.REMINDER_CALL:
            status, warning = TemplateStatus.NONE_NEEDED, ""
        elif key in approved:
            status, warning = TemplateStatus.APPROVED, ""
        elif key in exists:
            status = TemplateStatus.NOT_APPROVED
            warning = _("模板 {code} 没有已批准的版本：此步骤不会发送任何消息。").format(
                code=step.template_code
            )
        else:
            status = TemplateStatus.MISSING
            warning = _("没有该渠道的简体中文模板 {code}：此步骤不会发送任何消息。").format(
                code=step.template_code or "—"
            )
        rows.append(
            StepRow(
                step=step,
                when=step_when(step),
                label=step_label(step),
                template_status=status,
                warning=warning,
            )
        )
    return rows


def _rows(cadences: list[Cadence]) -> list[CadenceRow]:
    codes = [step.template_code for cadence in cadences for step in cadence.steps.all() if step.template_code]
    exists, approved = _sendable(codes)
    return [
        CadenceRow(cadence=cadence, steps=_step_rows(list(cadence.steps.all()), exists, approved))
        for cadence in cadences
    ]


def cadence_rows() -> list[CadenceRow]:
    """Every cadence, active or not: by bucket group, the catch-all (every product) first,
    then the product ones by product code. Three queries."""
    cadences = list(
        Cadence.objects.select_related("product").prefetch_related(
            Prefetch("steps", queryset=CadenceStep.objects.filter(retired_at__isnull=True))
        )
    )
    cadences.sort(
        key=lambda c: (c.bucket_group, c.product_id is not None, c.product.code if c.product else "", c.pk)
    )
    return _rows(cadences)


def cadence_row(*, cadence_id: int) -> CadenceRow | None:
    cadence = (
        Cadence.objects.select_related("product")
        .prefetch_related(Prefetch("steps", queryset=CadenceStep.objects.filter(retired_at__isnull=True)))
        .filter(pk=cadence_id)
        .first()
    )
    return _rows([cadence])[0] if cadence is not None else None
