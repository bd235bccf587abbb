"""The end-of-day runs page: supervisors and admins see the runs with their steps and queue new ones.

Thin: the form checks the input, `eod_request` decides whether the run may be queued.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from arrears.delinquency.models import EodRun, RunMode, RunState
from arrears.delinquency.selectors import business_date, eod_run_list, user_can_run_eod
from arrears.delinquency.services import EodRefused, eod_request

# What each step of a run does, for the runs table (the names are the batch's own).
STEP_LABELS = {
    "collect": gettext_lazy("确定待算账户"),
    "compute": gettext_lazy("计算逾期"),
    "cases": gettext_lazy("开案/升降级/结案"),
    "assign": gettext_lazy("分案"),
    "book": gettext_lazy("账龄分布"),
    "snapshot": gettext_lazy("月末快照与迁徙率"),
}
_UNFINISHED = (RunState.QUEUED, RunState.RUNNING)


class EodRequestForm(forms.Form):
    business_date = forms.DateField(
        label=gettext_lazy("业务日期"),
        widget=forms.DateInput(
            # A date input takes ISO dates whatever the language (zh-Hans would render 2026/04/11).
            format="%Y-%m-%d",
            attrs={"type": "date", "class": "form-control"},
        ),
    )
    full = forms.BooleanField(
        label=gettext_lazy("全量重算"),
        required=False,
        help_text=gettext_lazy("重新计算全部账户，而不只是有变化或到期的账户"),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


def _require_eod_user(request: HttpRequest) -> None:
    if not user_can_run_eod(request.user):
        raise PermissionDenied


def _runs_context(request: HttpRequest) -> dict[str, Any]:
    runs = eod_run_list(user=request.user)
    return {
        "runs": [
            {"run": run, "steps": [(STEP_LABELS.get(step.name, step.name), step) for step in run.steps.all()]}
            for run in runs
        ],
        # Poll only while something can still change, so an idle page makes no requests.
        "polling": any(run.state in _UNFINISHED for run in runs),
    }


def _suggested_date(last_done: dt.date | None) -> dt.date:
    """The day after the last completed run, or yesterday (Beijing time) before the first run."""
    if last_done is not None:
        return last_done + dt.timedelta(days=1)
    return timezone.localdate() - dt.timedelta(days=1)


@login_required
@require_http_methods(["GET", "POST"])
def eod_page_view(request: HttpRequest) -> HttpResponse:
    _require_eod_user(request)
    last_done = business_date()
    if request.method == "POST":
        form = EodRequestForm(request.POST)
        if form.is_valid():
            day = form.cleaned_data["business_date"]
            mode = RunMode.FULL if form.cleaned_data["full"] else RunMode.INCREMENTAL
            try:
                run: EodRun = eod_request(business_date=day, mode=mode, actor=request.user)
            except EodRefused as refusal:
                form.add_error("business_date", str(refusal))
            else:
                messages.success(
                    request,
                    _("已提交 %(date)s 的日终批处理（#%(run)s），正在排队")
                    % {"date": run.business_date.isoformat(), "run": run.pk},
                )
                return redirect("eod_page")
    else:
        form = EodRequestForm(initial={"business_date": _suggested_date(last_done)})
    return render(
        request,
        "delinquency/eod_page.html",
        {"form": form, "business_date": last_done, **_runs_context(request)},
    )


@login_required
@require_GET
def eod_runs_view(request: HttpRequest) -> HttpResponse:
    """The runs table that htmx polls while a run is queued or running."""
    _require_eod_user(request)
    return render(request, "delinquency/_eod_runs.html", _runs_context(request))
