"""The collector's work queue with "next case", and the supervisors' SLA page.

Thin: who may see the page is `user_has_queue` / `user_sees_sla_report`; the order, the
reasons and the claim are `arrears.cases.queue`'s.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from arrears.cases.queue import (
    CLAIM_LEASE,
    queue_claim_next,
    queue_for_collector,
    sla_report,
    user_has_queue,
)


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    if not user_has_queue(request.user):
        raise PermissionDenied
    now = timezone.now()
    rows = queue_for_collector(user=request.user, now=now)
    return render(
        request,
        "cases/queue.html",
        {
            "rows": rows,
            "now": now,
            "lease_minutes": int(CLAIM_LEASE.total_seconds() // 60),
        },
    )


@login_required
@require_POST
def queue_next_view(request: HttpRequest) -> HttpResponse:
    if not user_has_queue(request.user):
        raise PermissionDenied
    row = queue_claim_next(user=request.user)  # type: ignore[arg-type]
    if row is None:
        messages.info(request, _("队列里没有可以派发的案件了。"))
        return redirect("case_queue")
    return redirect("case_detail", case_id=row.case_id)


@login_required
@require_GET
def sla_view(request: HttpRequest) -> HttpResponse:
    report = sla_report(user=request.user)
    if report is None:
        raise PermissionDenied
    return render(request, "cases/sla.html", {"report": report})
