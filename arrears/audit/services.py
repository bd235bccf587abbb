"""Writes of the audit trail. Entries are only ever inserted (the table refuses anything else)."""

from __future__ import annotations

from django.http import HttpRequest

from arrears.accounts.models import User
from arrears.audit.models import AuditAction, AuditEntry
from arrears.audit.origin import Origin, request_origin
from arrears.core.sql import row_insert

# Set on a request whose view or receiver wrote its own, more specific entry, so that the
# state-change middleware does not write a second, vaguer one for the same request.
_RECORDED = "_audit_recorded"


def audit_record(
    *,
    origin: Origin,
    action: AuditAction,
    object_type: str = "",
    object_id: str | int = "",
    summary: str = "",
    purpose: str = "",
    method: str = "",
    path: str = "",
    status_code: int | None = None,
) -> AuditEntry:
    """Insert one entry. Safe to call inside the caller's transaction: it rolls back with it.

    Unmasking requires a purpose (also a database constraint).
    """
    if action == AuditAction.READ_UNMASKED and not purpose.strip():
        raise ValueError("reading unmasked personal data requires a purpose")
    # Every API write ends here: one direct INSERT, not the ORM's save().
    entry = AuditEntry(
        actor=origin.actor,
        actor_name=origin.actor_name[:160],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:500],
        purpose=purpose.strip()[:300],
        ip=origin.ip,
        request_id=origin.request_id,
        method=method,
        path=path[:500],
        status_code=status_code,
    )
    row_insert(entry)
    return entry


def audit_record_request(
    *,
    request: HttpRequest,
    action: AuditAction,
    user: User | None = None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str = "",
    purpose: str = "",
) -> AuditEntry:
    """An entry for what this request did, with its actor, address and method/path; the request
    is then marked so the state-change middleware does not record it a second time."""
    entry = audit_record(
        origin=request_origin(request, user=user),
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        purpose=purpose,
        method=request.method or "",
        path=request.path,
    )
    setattr(request, _RECORDED, True)
    return entry


def audit_request_changes_nothing(request: HttpRequest) -> None:
    """Tell the state-change middleware that this POST only reads (a form asking for a purpose
    before showing a value): it is recorded by its view when it shows something, or not at all."""
    setattr(request, _RECORDED, True)


def already_recorded(request: HttpRequest) -> bool:
    return bool(getattr(request, _RECORDED, False))
