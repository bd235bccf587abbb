"""Logins and logouts into the audit trail. Django reports them only through these signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from arrears.accounts.models import User
from arrears.audit.models import AuditAction, AuditObject
from arrears.audit.services import audit_record_request


@receiver(user_logged_in, dispatch_uid="audit_login")
def _record_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None:
        audit_record_request(
            request=request,
            action=AuditAction.LOGIN,
            user=user,
            object_type=AuditObject.USER,
            object_id=user.pk,
        )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _record_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    # An anonymous visitor "logging out" is no event.
    if request is not None and user is not None:
        audit_record_request(
            request=request,
            action=AuditAction.LOGOUT,
            user=user,
            object_type=AuditObject.USER,
            object_id=user.pk,
        )
