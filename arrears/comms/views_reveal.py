"""The audit app's "show" action for a contact point reached outside a case's scope (a
visit's second visitor, the reminder desk): GET asks for a purpose; a POST with one writes
the audit entry and shows the value. Callers check who may see the point first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arrears.audit.forms import RevealForm
from arrears.audit.models import AuditAction, AuditObject
from arrears.audit.services import audit_record_request, audit_request_changes_nothing
from arrears.portfolio.models import ContactPoint


def contact_point_reveal(
    request: HttpRequest, *, point: ContactPoint, summary: str, form_id: str
) -> HttpResponse:
    # Showing a value is a read, whatever the method: a refused purpose is no state change.
    audit_request_changes_nothing(request)
    form = RevealForm(request.POST if request.method == "POST" else None, auto_id=f"id_reveal_{form_id}_%s")
    if request.method == "POST" and form.is_valid():
        audit_record_request(
            request=request,
            action=AuditAction.READ_UNMASKED,
            object_type=AuditObject.CONTACT_POINT,
            object_id=point.pk,
            # Stored data in the source language, like the audit app's own summaries.
            summary=summary,
            purpose=form.purpose_text(),
        )
        return render(request, "audit/_revealed.html", {"value": point.value})
    return render(request, "audit/_reveal_form.html", {"form": form, "url": request.path})
