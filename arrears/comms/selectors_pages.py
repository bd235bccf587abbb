"""Reads of the template and outbox pages.

Who sees which message: the same scope as cases (`cases.selectors.case_scope_filter`).
Supervisors, admins and compliance officers see the whole outbox; a team leader sees the
messages of their team's cases only (a pre-due reminder to an account without a case
belongs to no team, so team leaders do not see those).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from arrears.cases.selectors import Viewer, case_scope_filter, cases_visible_to
from arrears.comms.models import (
    Message,
    MessageEvent,
    MessageEventKind,
    Template,
    TemplateVersion,
    VersionStatus,
    message_queued_event,
)

# --- templates -----------------------------------------------------------------------------------


def template_rows(*, approved_only: bool) -> list[Template]:
    """Every template with its version in use and how many drafts wait for review (one query).

    `approved_only` (read-only viewers) keeps the templates that have a version in use.
    """
    rows = (
        Template.objects.select_related("current_version")
        .annotate(drafts_waiting=Count("versions", filter=Q(versions__status=VersionStatus.DRAFT)))
        .order_by("code", "language")
    )
    if approved_only:
        rows = rows.filter(current_version__isnull=False)
    return list(rows)


def template_get(*, template_id: int, approved_only: bool) -> Template | None:
    rows = Template.objects.select_related("current_version", "current_version__reviewed_by")
    if approved_only:
        rows = rows.filter(current_version__isnull=False)
    return rows.filter(pk=template_id).first()


def template_versions(*, template: Template) -> list[TemplateVersion]:
    """The template's versions, newest first, with their authors and reviewers."""
    return list(
        TemplateVersion.objects.filter(template=template)
        .select_related("created_by", "reviewed_by")
        .order_by("-number")
    )


def template_version_get(*, template: Template, version_id: int) -> TemplateVersion | None:
    return TemplateVersion.objects.filter(template=template, pk=version_id).select_related("template").first()


# --- the outbox -------------------------------------------------------------------------------------


def messages_visible_to(user: Viewer) -> QuerySet[Message]:
    scope = case_scope_filter(user)
    messages = Message.objects.all()
    if scope is None:
        return messages
    return messages.filter(case_id__in=cases_visible_to(user).values("pk"))


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def outbox_page(*, user: Viewer, filters: Mapping[str, Any], limit: int) -> tuple[list[Message], int | None]:
    """One page of the outbox, newest first, and the id the next page starts below.

    Keyset pagination on the primary key (`before`), so a page costs the same however deep.
    A case filter uses comms_message_case_idx; the others filter the rows the pk scan meets.
    Dates are local calendar days of the scheduled time.
    """
    rows = messages_visible_to(user).select_related(
        "contact_point", "template_version", "template_version__template"
    )
    if filters.get("state"):
        rows = rows.filter(state=filters["state"])
    if filters.get("channel"):
        rows = rows.filter(channel=filters["channel"])
    if filters.get("date_from") is not None:
        rows = rows.filter(scheduled_at__gte=_local_midnight(filters["date_from"]))
    if filters.get("date_to") is not None:
        rows = rows.filter(scheduled_at__lt=_local_midnight(filters["date_to"] + dt.timedelta(days=1)))
    if filters.get("case") is not None:
        rows = rows.filter(case_id=filters["case"])
    if filters.get("template"):
        rows = rows.filter(template_version__template__code=filters["template"])
    if filters.get("before") is not None:
        rows = rows.filter(id__lt=filters["before"])
    page = list(rows.order_by("-id")[: limit + 1])
    next_before = page[limit - 1].pk if len(page) > limit else None
    return page[:limit], next_before


def outbox_message_get(*, user: Viewer, message_id: int) -> Message | None:
    """One message the user may see (None otherwise: the page answers 404)."""
    return (
        messages_visible_to(user)
        .select_related(
            "contact_point",
            "template_version",
            "template_version__template",
            "case",
            "decision",
            "created_by",
            "letter_batch",
        )
        .filter(pk=message_id)
        .first()
    )


def message_events(*, message: Message) -> list[MessageEvent]:
    """The message's history, oldest first; a cadence message's `queued` is its own row."""
    events = list(MessageEvent.objects.filter(message=message).order_by("id"))
    if not any(event.kind == MessageEventKind.QUEUED for event in events):
        events.insert(0, message_queued_event(message))
    return events
