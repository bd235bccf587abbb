"""Pages of cases: the list with its filters, and one case.

Thin on purpose: each view checks its input, calls the selectors, and renders. Scoping lives
in the selectors; a case out of the user's scope is a 404, like a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from arrears.accounts.models import Role
from arrears.cases.forms import (
    ActivityForm,
    ContactPointActionForm,
    HoldPlaceForm,
    HoldReleaseForm,
    ProtectionForm,
    local_now_for_input,
)
from arrears.cases.models import Activity, Case, CaseEvent, CaseEventKind, CaseHold, CaseStatus, Channel, Task
from arrears.cases.selectors import (
    UNASSIGNED,
    Viewer,
    assignee_choices,
    case_active_holds,
    case_activities,
    case_get,
    case_list,
    case_open_promises,
    case_open_tasks,
    contact_point_statuses,
)
from arrears.cases.services import (
    ContactRefused,
    WorkRefused,
    activity_log,
    contact_point_update,
    customer_update,
    hold_place,
    hold_release,
    task_done,
    user_can_work,
)
from arrears.compliance.messages import reason_text
from arrears.compliance.selectors import decisions_for_case
from arrears.core.zones import zone_or_default
from arrears.delinquency.selectors import account_delinquency, bucket_choices, business_date
from arrears.portfolio.forms import CreditorChoiceField, ProductChoiceField
from arrears.portfolio.models import ContactPoint
from arrears.portfolio.selectors import creditor_list, product_list

FILTERS = ("bucket", "dpd_min", "dpd_max", "creditor", "product", "assignee", "status")


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails


class CaseFilterForm(forms.Form):
    """The case list's GET filters; all optional. Choices come from the user's scope."""

    bucket = forms.ChoiceField(label=_("账龄"), required=False)
    dpd_min = forms.IntegerField(label=_("逾期天数从"), min_value=0, required=False)
    dpd_max = forms.IntegerField(label=_("逾期天数至"), min_value=0, required=False)
    creditor = CreditorChoiceField(
        label=_("委托方"), queryset=creditor_list(), required=False, empty_label=_("全部委托方")
    )
    product = ProductChoiceField(
        label=_("产品"), queryset=product_list(), required=False, empty_label=_("全部产品")
    )
    assignee = forms.ChoiceField(label=_("催收员"), required=False)
    status = forms.ChoiceField(
        label=_("案件状态"), choices=[("", _("全部状态")), *CaseStatus.choices], required=False
    )
    before = forms.IntegerField(label=_("翻页位置"), min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bucket_field: Any = self.fields["bucket"]
        bucket_field.choices = [("", _("全部账龄")), *bucket_choices()]
        assignee_field: Any = self.fields["assignee"]
        assignee_field.choices = [
            ("", _("全部")),
            (UNASSIGNED, _("未分配")),
            *(
                (str(person.pk), person.get_full_name() or person.username)
                for person in assignee_choices(user=user)
            ),
        ]
        for name in ("bucket", "creditor", "product", "assignee", "status"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        # The two DPD boxes share one visible caption, so each names itself for screen readers.
        for name, hint in (("dpd_min", _("最小")), ("dpd_max", _("最大"))):
            self.fields[name].widget.attrs.update(
                {
                    "class": "form-control form-control-sm",
                    "placeholder": hint,
                    "aria-label": self.fields[name].label,
                }
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("dpd_min"), data.get("dpd_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("逾期天数的下限不能大于上限"), code="dpd_range")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as ``case_list`` keyword arguments."""
        data = self.cleaned_data
        assignee = data.get("assignee") or None
        return {
            "bucket": data.get("bucket") or None,
            "dpd_min": data.get("dpd_min"),
            "dpd_max": data.get("dpd_max"),
            "creditor_id": data["creditor"].pk if data.get("creditor") else None,
            "product_id": data["product"].pk if data.get("product") else None,
            "assignee": int(assignee) if assignee and assignee != UNASSIGNED else assignee,
            "status": data.get("status") or None,
            "before_id": data.get("before"),
        }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def case_list_view(request: HtmxHttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET, user=request.user)
    on = business_date()
    # An invalid filter shows its error and no rows: a half-applied filter would mislead.
    page = (
        case_list(user=request.user, business_date=on, **form.selector_filters()) if form.is_valid() else None
    )
    context = {
        "form": form,
        "page": page,
        "business_date": on,
        "filtered": any(request.GET.get(name) for name in FILTERS),
    }
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return render(request, "cases/_case_results.html", context)
    return render(request, "cases/case_list.html", context)


# --- the case page: the collector's workspace ------------------------------------------------
#
# One page per case, built for a phone. Every write is a small htmx form posting to its own
# view, which calls one service and answers with the panels that changed, each swapped in
# out of band (`hx-swap-oob`); the form itself asks for no swap of its own (`hx-swap="none"`).
# Roles that may not work the case see no forms, and their POSTs are refused (403).

PANELS = ("contacts", "customer", "holds", "promises", "tasks", "history", "decisions")
HISTORY_LIMIT = 50
DECISIONS_SHOWN = 10
# What the status badge of a contact point says, by the channel it is checked for.
STATUS_ALLOWED = {
    Channel.CALL: _("可以拨打"),
    Channel.SMS: _("可以发送"),
    Channel.EMAIL: _("可以发送"),
    Channel.LETTER: _("可以寄送"),
    Channel.VISIT: _("可以外访"),
}
STATUS_BLOCKED = {
    Channel.CALL: _("暂不可拨打"),
    Channel.SMS: _("暂不可发送"),
    Channel.EMAIL: _("暂不可发送"),
    Channel.LETTER: _("暂不可寄送"),
    Channel.VISIT: _("暂不可外访"),
}


@dataclass(frozen=True)
class ReasonLine:
    rule: str
    pack: str
    text: str


@dataclass(frozen=True)
class PointStatus:
    """A contact point with the guard's live answer for its usual channel, now."""

    point: ContactPoint
    channel: str
    allowed: bool
    label: str
    reasons: list[ReasonLine]
    warnings: list[ReasonLine]
    next_allowed_at: dt.datetime | None


@dataclass(frozen=True)
class HistoryLine:
    at: dt.datetime
    activity: Activity | None = None
    event: CaseEvent | None = None


@dataclass(frozen=True)
class Refusal:
    """Why the guard refused a logged contact, for the form: reasons, when, the words."""

    decision_id: int | None
    reasons: list[ReasonLine]
    next_allowed_at: dt.datetime | None
    marked_notes: str | None


def debtor_zone(case: Case) -> ZoneInfo:
    return zone_or_default(case.customer.time_zone)


def _reason_lines(items: Any) -> list[ReasonLine]:
    lines: list[ReasonLine] = []
    seen: set[str] = set()
    for item in items or ():
        text = reason_text(str(item.get("message", "")), item.get("parameters") or {})
        # Two packs often refuse for the same reason in the same words: say it once.
        if text in seen:
            continue
        seen.add(text)
        lines.append(ReasonLine(rule=str(item.get("rule", "")), pack=str(item.get("pack", "")), text=text))
    return lines


def _next_allowed(decision: Any, zone: ZoneInfo) -> dt.datetime | None:
    moment = decision.next_allowed_at
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(zone) if moment is not None else None


def mark_findings(text: str, findings: Any) -> str:
    """`text` escaped, with every finding's ``text[start:end]`` wrapped in <mark>."""
    spans = sorted(
        (int(item["start"]), int(item["end"]))
        for item in findings
        if 0 <= int(item["start"]) < int(item["end"]) <= len(text)
    )
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts: list[str] = []
    position = 0
    for start, end in merged:
        parts.append(str(escape(text[position:start])))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    parts.append(str(escape(text[position:])))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of the text is escaped above


def refusal_for(decision: Any, *, notes: str, zone: ZoneInfo) -> Refusal:
    violations = list((decision.result or {}).get("violations") or [])
    findings = [
        finding
        for violation in violations
        for finding in violation.get("findings") or ()
        if finding.get("field") == "notes"
    ]
    return Refusal(
        decision_id=decision.pk,
        reasons=_reason_lines(violations),
        next_allowed_at=_next_allowed(decision, zone),
        marked_notes=mark_findings(notes, findings) if findings and notes else None,
    )


def _point_statuses(case: Case, *, now: dt.datetime, zone: ZoneInfo) -> list[PointStatus]:
    statuses = []
    for point, decision in contact_point_statuses(case=case, at=now):
        channel = Channel(decision.channel)
        result = decision.result or {}
        statuses.append(
            PointStatus(
                point=point,
                channel=channel,
                allowed=bool(decision.allowed),
                label=str(STATUS_ALLOWED[channel] if decision.allowed else STATUS_BLOCKED[channel]),
                reasons=_reason_lines(result.get("violations")),
                warnings=_reason_lines(result.get("warnings")),
                next_allowed_at=_next_allowed(decision, zone),
            )
        )
    return statuses


def _history(case: Case, *, search: str) -> list[HistoryLine]:
    """Activities and case events, newest first. An activity's own ACTIVITY event is not shown
    twice; with a search, events match on their kind and values."""
    lines = [
        HistoryLine(at=item.started_at, activity=item) for item in case_activities(case=case, search=search)
    ]
    needle = search.strip().lower()
    # The case's events come prefetched (newest first) with the case (`case_get`).
    events = [event for event in case.events.all() if event.kind != CaseEventKind.ACTIVITY]
    for event in events:
        if needle and not any(
            needle in str(value).lower()
            for value in (event.get_kind_display(), event.kind, event.from_value, event.to_value)
        ):
            continue
        lines.append(HistoryLine(at=event.created_at, event=event))
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:HISTORY_LIMIT]


def _workspace_context(
    request: HttpRequest,
    case: Case,
    *,
    search: str = "",
    log_form: ActivityForm | None = None,
    **extra: Any,
) -> dict[str, Any]:
    zone = debtor_zone(case)
    now = timezone.now()
    can_work = user_can_work(request.user, case) and case.status != CaseStatus.CLOSED
    if log_form is None and can_work:
        log_form = ActivityForm(case=case, initial={"started_at": local_now_for_input(zone, now)})
    context: dict[str, Any] = {
        "case": case,
        "customer": case.customer,
        "debtor_zone": zone,
        "now_local": now.astimezone(zone),
        "can_work": can_work,
        "statuses": _point_statuses(case, now=now, zone=zone),
        "history": _history(case, search=search),
        "search": search,
        "promises": case_open_promises(case=case),
        "tasks": case_open_tasks(case=case),
        "holds": case_active_holds(case=case),
        "decisions": decisions_for_case(case.pk, limit=DECISIONS_SHOWN),
        "log_form": log_form,
        "hold_form": extra.pop("hold_form", None) or HoldPlaceForm(),
        "protection_form": extra.pop("protection_form", None)
        or ProtectionForm(initial={"protected_reason": case.customer.protected_reason}),
        # The same roles as the compliance decision log (compliance.views.DECISION_READERS).
        "can_read_decision_log": getattr(request.user, "role", None)
        in (Role.ADMIN, Role.SUPERVISOR, Role.COMPLIANCE_OFFICER),
    }
    context.update(extra)
    return context


def _case_in_scope(request: HttpRequest, case_id: int) -> Case:
    case = case_get(user=request.user, case_id=case_id)
    if case is None:
        # Out of scope and nonexistent look the same: no hint that the case exists.
        raise Http404
    return case


def _case_for_work(request: HttpRequest, case_id: int) -> Case:
    """The case if the user may work it: out of scope is 404, a read-only role 403."""
    case = _case_in_scope(request, case_id)
    if not user_can_work(request.user, case):
        raise PermissionDenied
    return case


def _panels_response(
    request: HttpRequest, case: Case, *, panels: tuple[str, ...] = PANELS, **context: Any
) -> HttpResponse:
    """The named panels, each to be swapped in by its id (out of band)."""
    case = _case_in_scope(request, case.pk)  # fresh: status, contact points and holds changed
    full = _workspace_context(request, case, **context)
    full["panels"] = panels
    return render(request, "cases/_work_panels.html", full)


@login_required
@require_GET
def case_detail_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_in_scope(request, case_id)
    state = account_delinquency(user=request.user, account_id=case.account_id)
    context = _workspace_context(request, case)
    context.update({"state": state, "business_date": state.business_date if state else business_date()})
    return render(request, "cases/case_detail.html", context)


@login_required
@require_GET
def case_history_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The history panel, searched (htmx: the search box asks as one types)."""
    case = _case_in_scope(request, case_id)
    search = (request.GET.get("q") or "").strip()[:100]
    return render(
        request,
        "cases/_work_history.html",
        {
            "case": case,
            "history": _history(case, search=search),
            "search": search,
            "debtor_zone": debtor_zone(case),
        },
    )


@login_required
@require_GET
def case_statuses_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The contact points with their live compliance status (refreshed on demand)."""
    case = _case_in_scope(request, case_id)
    return _panels_response(request, case, panels=("contacts",))


@login_required
@require_POST
def case_activity_log_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for_work(request, case_id)
    zone = debtor_zone(case)
    # Times in the form are on the debtor's clock.
    with timezone.override(zone):
        form = ActivityForm(request.POST, case=case)
        valid = form.is_valid()
    if not valid:
        return _panels_response(request, case, panels=("log",), log_form=form)
    try:
        activity = activity_log(case=case, actor=request.user, **form.service_arguments())
    except WorkRefused as refused:
        form.add_service_error(refused.field, refused.message)
        return _panels_response(request, case, panels=("log",), log_form=form)
    except ContactRefused as refused:
        refusal = refusal_for(refused.decision, notes=form.cleaned_data.get("notes") or "", zone=zone)
        # The refusal is also a new history line and a new decision.
        return _panels_response(
            request, case, panels=("log", "history", "decisions"), log_form=form, refusal=refusal
        )
    return _panels_response(request, case, panels=("log", *PANELS), logged=activity)


@login_required
@require_POST
def case_hold_place_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for_work(request, case_id)
    form = HoldPlaceForm(request.POST)
    if form.is_valid():
        try:
            hold_place(case=case, actor=request.user, **form.cleaned_data)
        except WorkRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            return _panels_response(request, case)
    return _panels_response(request, case, panels=("holds",), hold_form=form)


@login_required
@require_POST
def case_hold_release_view(request: HttpRequest, case_id: int, hold_id: int) -> HttpResponse:
    case = _case_for_work(request, case_id)
    hold = CaseHold.objects.filter(pk=hold_id, case=case).first()
    if hold is None:
        raise Http404
    form = HoldReleaseForm(request.POST)
    error = None
    if form.is_valid():
        try:
            hold_release(hold=hold, actor=request.user, note=form.cleaned_data.get("note") or "")
        except WorkRefused as refused:
            error = refused.message
        else:
            return _panels_response(request, case)
    else:
        error = "; ".join(str(message) for messages in form.errors.values() for message in messages)
    return _panels_response(request, case, panels=("holds",), hold_error=error)


@login_required
@require_POST
def case_task_done_view(request: HttpRequest, case_id: int, task_id: int) -> HttpResponse:
    case = _case_for_work(request, case_id)
    task = Task.objects.filter(pk=task_id, case=case).first()
    if task is None:
        raise Http404
    task_done(task=task, actor=request.user)
    return _panels_response(request, case, panels=("tasks", "history"))


@login_required
@require_POST
def case_contact_point_view(request: HttpRequest, case_id: int, point_id: int) -> HttpResponse:
    case = _case_for_work(request, case_id)
    point = ContactPoint.objects.filter(pk=point_id, customer_id=case.customer_id).first()
    if point is None:
        raise Http404
    form = ContactPointActionForm(request.POST)
    error = None
    if form.is_valid():
        try:
            contact_point_update(point=point, actor=request.user, **form.service_arguments())
        except WorkRefused as refused:
            error = refused.message
        else:
            return _panels_response(request, case)
    else:
        error = "; ".join(str(message) for messages in form.errors.values() for message in messages)
    return _panels_response(
        request, case, panels=("contacts",), point_error={"point_id": point.pk, "message": error}
    )


@login_required
@require_POST
def case_protection_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for_work(request, case_id)
    form = ProtectionForm(request.POST)
    if form.is_valid():
        try:
            customer_update(
                customer=case.customer,
                actor=request.user,
                protected_reason=form.cleaned_data["protected_reason"],
            )
        except WorkRefused as refused:
            form.add_error(None, refused.message)
        else:
            return _panels_response(request, case)
    return _panels_response(request, case, panels=("customer",), protection_form=form)
