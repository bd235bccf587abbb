"""Pages of field visits: a visitor's day, planning a visit on a case, and the visit record.

Thin: each view checks its input, calls one service or selector, and renders. A case or a
visit out of the user's scope is a 404, like a missing one; a role that may see but not
act gets no form, and its POSTs are refused (403).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from arrears.audit.selectors import user_can_unmask
from arrears.cases.forms import local_now_for_input
from arrears.cases.models import CaseStatus
from arrears.cases.selectors import case_get
from arrears.cases.services import ContactRefused, WorkRefused
from arrears.cases.views import debtor_zone
from arrears.comms.models import Visit, VisitState
from arrears.comms.views_reveal import contact_point_reveal
from arrears.comms.visit_forms import (
    VisitAttachmentForm,
    VisitCancelForm,
    VisitDayForm,
    VisitPlanForm,
    VisitRecordForm,
)
from arrears.comms.visit_selectors import (
    LOCAL_ZONE,
    visit_attachment_get,
    visit_get,
    visits_for_visitor_on,
    visits_of_case,
)
from arrears.comms.visits import (
    VisitDenied,
    VisitRefused,
    user_can_attach,
    user_can_cancel_visit,
    user_can_plan_visit,
    user_can_record_visit,
    visit_attachment_add,
    visit_cancel,
    visit_plan,
    visit_record,
)
from arrears.compliance.messages import reason_text


def _is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted


def _reasons(decision: Any) -> list[dict[str, str]]:
    """The decision's violations in the reader's words, each said once."""
    lines: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in ((decision.result or {}).get("violations") or ()) if decision is not None else ():
        text = reason_text(str(item.get("message", "")), item.get("parameters") or {})
        if text not in seen:
            seen.add(text)
            lines.append({"rule": str(item.get("rule", "")), "pack": str(item.get("pack", "")), "text": text})
    return lines


def _next_allowed(decision: Any, zone: ZoneInfo) -> dt.datetime | None:
    moment = getattr(decision, "next_allowed_at", None)
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(zone) if moment is not None else None


def _visit_in_scope(request: HttpRequest, visit_id: int) -> Visit:
    visit = visit_get(user=request.user, visit_id=visit_id)
    if visit is None:
        raise Http404
    return visit


# --- a visitor's day -----------------------------------------------------------------------


@login_required
@require_GET
def visit_today_view(request: HttpRequest) -> HttpResponse:
    today = timezone.now().astimezone(LOCAL_ZONE).date()
    form = VisitDayForm(request.GET or None)
    day = today
    if form.is_bound and form.is_valid() and form.cleaned_data.get("day"):
        day = form.cleaned_data["day"]
    if not form.is_bound:
        form = VisitDayForm(initial={"day": today})
    context = {
        "form": form,
        "day": day,
        "today": today,
        "is_today": day == today,
        "lines": visits_for_visitor_on(user=request.user, day=day),
        "local_zone": LOCAL_ZONE,
    }
    if _is_htmx(request):
        return render(request, "comms/_visit_day.html", context)
    return render(request, "comms/visit_today.html", context)


# --- planning ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def visit_plan_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get(user=request.user, case_id=case_id)
    if case is None:
        raise Http404
    can_plan = user_can_plan_visit(request.user, case) and case.status != CaseStatus.CLOSED
    zone = debtor_zone(case)
    denial: dict[str, Any] | None = None
    if request.method == "POST":
        if not can_plan:
            raise PermissionDenied
        with timezone.override(zone):
            form = VisitPlanForm(request.POST, case=case)
            valid = form.is_valid()
        if valid:
            data = form.cleaned_data
            try:
                visit = visit_plan(
                    case=case,
                    address=data["address"],
                    planned_at=data["planned_at"],
                    purpose=data["purpose"],
                    visitors=list(data["visitors"]),
                    recording_device=data["recording_device"],
                    actor=request.user,
                )
            except VisitRefused as refused:
                form.add_service_error(refused.field, refused.message)
            except VisitDenied as denied:
                denial = {
                    "decision_id": denied.decision.pk,
                    "reasons": _reasons(denied.decision),
                    "next_allowed_at": _next_allowed(denied.decision, zone),
                }
            else:
                return HttpResponseRedirect(reverse("visit_detail", args=[visit.pk]))
    else:
        start = local_now_for_input(zone, timezone.now() + dt.timedelta(days=1)).replace(hour=10, minute=0)
        form = VisitPlanForm(
            case=case,
            initial={
                "planned_at": start,
                "visitors": [request.user.pk]
                if getattr(request.user, "role", None) == "field_collector"
                else [],
            },
        )
    with timezone.override(zone):
        return render(
            request,
            "comms/visit_plan.html",
            {
                "case": case,
                "customer": case.customer,
                "form": form,
                "can_plan": can_plan,
                "denial": denial,
                "debtor_zone": zone,
                "visits": visits_of_case(case=case),
            },
            status=200,
        )


# --- the visit record --------------------------------------------------------------------------


def _detail_context(request: HttpRequest, visit: Visit, **extra: Any) -> dict[str, Any]:
    zone = debtor_zone(visit.case)
    planned = visit.state == VisitState.PLANNED
    can_record = (
        planned and user_can_record_visit(request.user, visit) and visit.case.status != CaseStatus.CLOSED
    )
    context: dict[str, Any] = {
        "visit": visit,
        "case": visit.case,
        "customer": visit.case.customer,
        "debtor_zone": zone,
        "decision_reasons": _reasons(visit.decision),
        "can_record": can_record,
        "can_cancel": planned and user_can_cancel_visit(request.user, visit),
        "can_attach": visit.state != VisitState.CANCELLED and user_can_attach(request.user, visit),
        "attachments": list(visit.attachments.all()),
        "max_mb": f"{int(settings.ARREARS_ATTACHMENT_MAX_BYTES) / 1048576:g}",
    }
    if can_record and "record_form" not in extra:
        context["record_form"] = VisitRecordForm(
            initial={"started_at": local_now_for_input(zone, timezone.now())}
        )
    if context["can_cancel"] and "cancel_form" not in extra:
        context["cancel_form"] = VisitCancelForm()
    if context["can_attach"] and "attachment_form" not in extra:
        context["attachment_form"] = VisitAttachmentForm()
    context.update(extra)
    return context


def _render_detail(
    request: HttpRequest, visit: Visit, *, partial: str | None = None, **extra: Any
) -> HttpResponse:
    context = _detail_context(request, visit, **extra)
    with timezone.override(context["debtor_zone"]):
        if partial is not None and _is_htmx(request):
            return render(request, partial, context)
        return render(request, "comms/visit_detail.html", context)


@login_required
@require_GET
def visit_detail_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _render_detail(request, _visit_in_scope(request, visit_id))


@login_required
@require_POST
def visit_record_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_in_scope(request, visit_id)
    if not user_can_record_visit(request.user, visit):
        raise PermissionDenied
    zone = debtor_zone(visit.case)
    with timezone.override(zone):
        form = VisitRecordForm(request.POST)
        valid = form.is_valid()
    refusal: dict[str, Any] | None = None
    if valid:
        try:
            visit_record(visit=visit, actor=request.user, **form.service_arguments())
        except (VisitRefused, WorkRefused) as refused:
            form.add_service_error(refused.field, refused.message)
        except ContactRefused as denied:
            refusal = {
                "decision_id": denied.decision.pk,
                "reasons": _reasons(denied.decision),
                "next_allowed_at": _next_allowed(denied.decision, zone),
            }
        else:
            target = reverse("visit_detail", args=[visit.pk])
            if _is_htmx(request):
                return HttpResponseClientRedirect(target)
            return HttpResponseRedirect(target)
    visit = _visit_in_scope(request, visit_id)
    return _render_detail(
        request, visit, partial="comms/_visit_record.html", record_form=form, refusal=refusal
    )


@login_required
@require_POST
def visit_cancel_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_in_scope(request, visit_id)
    if not user_can_cancel_visit(request.user, visit):
        raise PermissionDenied
    form = VisitCancelForm(request.POST)
    if form.is_valid():
        try:
            visit_cancel(visit=visit, actor=request.user, reason=form.cleaned_data["reason"])
        except VisitRefused as refused:
            form.add_service_error(refused.field, refused.message)
        else:
            return HttpResponseRedirect(reverse("visit_detail", args=[visit.pk]))
    return _render_detail(request, visit, cancel_form=form)


@login_required
@require_POST
def visit_attachment_add_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_in_scope(request, visit_id)
    if not user_can_attach(request.user, visit):
        raise PermissionDenied
    form = VisitAttachmentForm(request.POST, request.FILES)
    added = None
    if form.is_valid():
        try:
            added = visit_attachment_add(
                visit=visit, uploaded_file=form.cleaned_data["file"], actor=request.user
            )
        except VisitRefused as refused:
            form.add_service_error(refused.field, refused.message)
    if added is not None:
        form = VisitAttachmentForm()
        if not _is_htmx(request):
            return HttpResponseRedirect(reverse("visit_detail", args=[visit.pk]) + "#visit-attachments")
    visit = _visit_in_scope(request, visit_id)
    return _render_detail(
        request, visit, partial="comms/_visit_attachments.html", attachment_form=form, added=added
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_address_reveal_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The visit's full address, for whoever may see the visit and unmask: its second visitor
    is often outside the case's scope, and must still know where to go. As the audit app's
    "show" action: GET asks for a purpose, a POST with one writes an audit entry and shows it."""
    if not user_can_unmask(request.user):
        raise PermissionDenied
    visit = _visit_in_scope(request, visit_id)
    return contact_point_reveal(
        request,
        point=visit.address,
        summary=f"查看外访地址明文：客户 {visit.case.customer.customer_no}（外访 #{visit.pk}）",
        form_id=f"visit_{visit.pk}",
    )


@login_required
@require_GET
def visit_attachment_download_view(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = visit_attachment_get(user=request.user, attachment_id=attachment_id)
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    content_type = attachment.content_type or mimetypes.guess_type(attachment.original_name)[0]
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
