"""The reminder desk (还款提醒, seed 003 chapter 4 §2): the day's pre-due calls, each with a
form recording its outcome, and the customer's own mobile (masked; "show" with a purpose).

Who: supervisors, admins and team leaders (`reminder_services.REMINDER_DESK_ROLES`); everyone
else gets 403. Reminder calls are for accounts that have no case yet — they are assigned to
no collector and belong to no team. Collectors (and agency users) are scoped to "only their
own cases": showing them these accounts would show every collector every customer due this
week, breaking that scoping, so the desk is run by the roles that already see the whole book
or run a team's day. Thin: each view checks the role, calls one selector or service, renders.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from arrears.audit.selectors import user_can_unmask
from arrears.comms.models import ReminderCall
from arrears.comms.reminder_selectors import LOCAL_ZONE, OUTCOME_CHOICES, reminder_desk, reminder_line_get
from arrears.comms.reminder_services import NOTE_MAX, reminder_call_done, user_can_work_reminders
from arrears.comms.views_reveal import contact_point_reveal


def _require(request: HttpRequest) -> None:
    if not user_can_work_reminders(request.user):
        raise PermissionDenied


def _is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted


def _today() -> dt.date:
    return timezone.now().astimezone(LOCAL_ZONE).date()


class ReminderDayForm(forms.Form):
    day = forms.DateField(
        label=_("日期"),
        required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d"),
    )


class ReminderOutcomeForm(forms.Form):
    # No outcome is preselected: a click on "record" without a choice must not file "deposited".
    outcome = forms.ChoiceField(
        label=_("通话结果"),
        choices=[("", _("请选择结果…")), *OUTCOME_CHOICES],
        error_messages={"required": _("通话结果：请选择一个结果。")},
    )
    note = forms.CharField(label=_("备注"), max_length=NOTE_MAX, required=False)

    def __init__(self, *args: Any, reminder_id: int = 0, **kwargs: Any) -> None:
        # Every row has its own form: field ids must differ.
        kwargs.setdefault("auto_id", f"id_reminder_{reminder_id}_%s")
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["note"].widget.attrs.update({"class": "form-control form-control-sm"})


def _page(data: Any) -> int:
    """The desk's page from a query or form (`page`); anything but a small positive number is 1."""
    raw = str(data.get("page", "") or "")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 6 else 1


def _render_desk(
    request: HttpRequest,
    *,
    day: dt.date,
    form: ReminderDayForm,
    errors: dict[int, ReminderOutcomeForm],
    page: int = 1,
) -> HttpResponse:
    now = timezone.now()
    today = now.astimezone(LOCAL_ZONE).date()
    # Today's calls carry the guard's live answer for calling now; other days are read-only.
    desk = reminder_desk(day=day, guard_at=now if day == today else None, page=page)
    rows = [
        (line, errors.get(line.reminder.pk) or ReminderOutcomeForm(reminder_id=line.reminder.pk))
        for line in desk.to_call
    ]
    listed = {line.reminder.pk for line in desk.to_call}
    # A refusal for a call no longer on the list (done meanwhile by someone else) is said on top.
    other_errors = [
        str(message)
        for reminder_id, bad in errors.items()
        if reminder_id not in listed
        for messages in bad.errors.values()
        for message in messages
    ]
    context = {
        "form": form,
        "desk": desk,
        "rows": rows,
        "other_errors": other_errors,
        "day": day,
        "is_today": day == today,
    }
    if _is_htmx(request):
        return render(request, "comms/_reminder_desk.html", context)
    return render(request, "comms/reminder_desk.html", context)


@login_required
@require_GET
def reminder_desk_view(request: HttpRequest) -> HttpResponse:
    _require(request)
    today = _today()
    form = ReminderDayForm(request.GET or None)
    day = today
    if form.is_bound and form.is_valid() and form.cleaned_data.get("day"):
        day = form.cleaned_data["day"]
    if not form.is_bound:
        form = ReminderDayForm(initial={"day": today})
    return _render_desk(request, day=day, form=form, errors={}, page=_page(request.GET))


@login_required
@require_POST
def reminder_outcome_view(request: HttpRequest, reminder_id: int) -> HttpResponse:
    """Record one call's outcome (today's desk only), then show the desk again."""
    _require(request)
    reminder = ReminderCall.objects.filter(pk=reminder_id).first()
    if reminder is None:
        raise Http404
    form = ReminderOutcomeForm(request.POST, reminder_id=reminder_id)
    if form.is_valid():
        try:
            reminder_call_done(
                reminder=reminder,
                actor=request.user,  # type: ignore[arg-type]
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as refused:
            for field, messages in refused.message_dict.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            if not _is_htmx(request):
                page = _page(request.POST)
                return HttpResponseRedirect(
                    reverse("comms_reminders") + (f"?page={page}" if page > 1 else "")
                )
            form = None  # type: ignore[assignment]
    today = _today()
    errors = {reminder_id: form} if form is not None else {}
    return _render_desk(
        request,
        day=today,
        form=ReminderDayForm(initial={"day": today}),
        errors=errors,
        page=_page(request.POST),
    )


@login_required
@require_http_methods(["GET", "POST"])
def reminder_mobile_reveal_view(request: HttpRequest, reminder_id: int) -> HttpResponse:
    """The customer's own mobile in full, to place the call. As the audit app's "show"
    action: GET asks for a purpose, a POST with one writes an audit entry and shows it.

    The audit app's contact reveal is scoped by cases, and these accounts have none, so the
    desk has its own: whoever works the desk and may unmask, for a call in today's window."""
    _require(request)
    if not user_can_unmask(request.user):
        raise PermissionDenied
    today = _today()
    line = reminder_line_get(reminder_id=reminder_id, day=today)
    if (
        line is None
        or line.mobile_id is None
        or not (line.reminder.call_from <= today <= line.reminder.due_date)
    ):
        raise Http404
    point = line.reminder.account.customer.own_mobiles[0]  # type: ignore[attr-defined]
    return contact_point_reveal(
        request,
        point=point,
        summary=f"查看联系方式明文：客户 {line.reminder.account.customer.customer_no}（还款提醒 #{reminder_id}）",
        form_id=f"reminder_{reminder_id}",
    )
