"""Records every successful state-changing request (POST, PUT, PATCH, DELETE) in the audit trail.

The per-domain event rows say *what* changed; this is the who/where trail of every write,
including ones no domain event covers (admin edits, language switches, API calls).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from arrears.audit.models import AuditAction
from arrears.audit.origin import request_origin
from arrears.audit.services import already_recorded, audit_record

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class StateChangeAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # Success is 2xx or a redirect (a form that saved redirects); refusals and errors
        # changed nothing, and a view that wrote its own entry is not recorded twice.
        if (
            request.method not in STATE_CHANGING_METHODS
            or response.status_code >= 400
            or already_recorded(request)
        ):
            return response
        origin = request_origin(request)
        # Anonymous requests change nothing of ours (a login is recorded as a login; a failed
        # one and the login page's language switch are not writes), and a redirect to the login
        # page is no success.
        if origin.actor is not None or origin.actor_name:
            method = request.method or ""
            audit_record(
                origin=origin,
                action=AuditAction.STATE_CHANGE,
                summary=f"{method} {request.path} → {response.status_code}",
                method=method,
                path=request.path,
                status_code=response.status_code,
            )
        return response
