"""Reads of the audit trail, and who may unmask personal data or read the trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from arrears.accounts.models import Role, User
from arrears.audit.models import AuditEntry

# Roles whose work needs a customer's full number or ID: to call, visit or verify them.
# QA listens to recordings and samples cases, agencies get numbers through their own channel,
# creditors' viewers only follow the book: they see masked values only.
UNMASKING_ROLES = frozenset(
    {
        Role.ADMIN,
        Role.SUPERVISOR,
        Role.TEAM_LEADER,
        Role.COLLECTOR,
        Role.FIELD_COLLECTOR,
        Role.COMPLIANCE_OFFICER,
    }
)
AUDIT_READERS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})
AUDIT_PAGE_SIZE = 50

Viewer = User | AnonymousUser


def user_can_unmask(user: Viewer) -> bool:
    return isinstance(user, User) and user.is_active and user.role in UNMASKING_ROLES


def user_can_read_audit(user: Viewer) -> bool:
    return isinstance(user, User) and user.is_active and user.role in AUDIT_READERS


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page filters on; dates are local (Asia/Shanghai) days, both inclusive."""

    actor_name: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    object_type: str = ""
    text: str = ""


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before_id: int | None


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_entries(*, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The matching entries, newest first. Uses audit_actor_id_idx / audit_action_id_idx for an
    actor or action filter, audit_created_idx for a date range, the primary key otherwise."""
    entries = AuditEntry.objects.all()
    if filters.actor_name:
        entries = entries.filter(actor_name=filters.actor_name)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.date_from is not None:
        entries = entries.filter(created_at__gte=_local_midnight(filters.date_from))
    if filters.date_to is not None:
        entries = entries.filter(created_at__lt=_local_midnight(filters.date_to + dt.timedelta(days=1)))
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type)
    if filters.text:
        entries = entries.filter(summary__icontains=filters.text)
    return entries.order_by("-id")


def audit_entry_list(
    *, filters: AuditFilters, before_id: int | None = None, limit: int = AUDIT_PAGE_SIZE
) -> AuditPage:
    """One page of entries, keyset-paginated on id (page N costs what page 1 costs)."""
    entries = audit_entries(filters=filters)
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    rows = list(entries[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=rows, next_before_id=rows[-1].pk if has_more and rows else None)


def audit_entries_for_export(*, filters: AuditFilters) -> Iterator[AuditEntry]:
    """Every matching entry, streamed in chunks (an export may cover months)."""
    return audit_entries(filters=filters).iterator(chunk_size=2000)
