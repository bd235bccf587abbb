"""The case page's messages panel: the case's messages and, for whoever may work the case,
a form that queues one from an approved template.

The case page loads the panel with htmx (`cases/case_detail.html`); the form posts with
htmx and gets the panel back, swapped in by its id. Scope is the case's (out of scope or
missing → 404); a role that may not work the case sees no form and its POST is a 403.
Contact values are shown masked only; times on the debtor's clock.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from arrears.cases.forms import LOCAL_INPUT_FORMATS, ContactPointField, LocalDateTimeInput
from arrears.cases.models import Case, CaseStatus
from arrears.cases.selectors import case_for_work
from arrears.cases.services import user_can_work
from arrears.cases.views import debtor_zone
from arrears.comms import case_messages
from arrears.comms.case_messages import Reason
from arrears.comms.models import Message, MessageEvent, MessageState, Template
from arrears.comms.services import MessageRefused
from arrears.comms.views_outbox import _template_label, scrub
from arrears.core.masking import mask_value
from arrears.portfolio.models import ContactPoint

# Bootstrap badge of each state.
STATE_BADGES: dict[str, str] = {
    MessageState.QUEUED: "text-bg-secondary",
    MessageState.SENDING: "text-bg-info",
    MessageState.SENT: "text-bg-primary",
    MessageState.DELIVERED: "text-bg-success",
    MessageState.FAILED: "text-bg-danger",
    MessageState.BLOCKED: "text-bg-warning",
    MessageState.CANCELLED: "text-bg-light",
}
# The service's field names → the form's.
FORM_FIELDS = {"contact_point_id": "contact_point", "template": "template", "scheduled_at": "scheduled_at"}


class TemplateField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        version = obj.current_version
        number = f" v{version.number}" if version is not None else ""
        return f"{obj.get_channel_display()} · {obj.code}{number} · {obj.get_language_display()} · {obj.name}"


class CaseMessageForm(forms.Form):
    template = TemplateField(
        label=_("模板"),
        queryset=Template.objects.none(),
        empty_label=_("请选择"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    contact_point = ContactPointField(
        label=_("发送到"),
        queryset=ContactPoint.objects.none(),
        empty_label=_("请选择"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    scheduled_at = forms.DateTimeField(
        label=_("发送时间"), required=False, input_formats=LOCAL_INPUT_FORMATS, widget=LocalDateTimeInput()
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        points = list(case_messages.messageable_points(case=case))
        point_field: Any = self.fields["contact_point"]
        point_field.queryset = case_messages.messageable_points(case=case)
        # Offered: templates of a channel one of the points can receive (the kind of the
        # chosen pair is checked again when queueing).
        template_field: Any = self.fields["template"]
        template_field.queryset = case_messages.sendable_templates(
            channels=case_messages.channels_for(points)
        )
        self.fields["scheduled_at"].help_text = _("留空则立即发送（仍须通过发送时的合规检查）")

    def add_refusal(self, refused: MessageRefused) -> None:
        name = FORM_FIELDS.get(refused.field)
        self.add_error(name if name in self.fields else None, refused.message)


@dataclasses.dataclass(frozen=True)
class MessageRow:
    message: Message
    badge: str
    template: str
    to_masked: str
    event: MessageEvent
    reasons: list[Reason]
    error: str


def _rows(messages: list[Message]) -> list[MessageRow]:
    rows = []
    for message in messages:
        event = case_messages.last_event(message)
        rows.append(
            MessageRow(
                message=message,
                badge=STATE_BADGES.get(message.state, "text-bg-secondary"),
                template=_template_label(message),
                to_masked=mask_value(message.contact_point.kind, message.contact_point.value),
                event=event,
                reasons=case_messages.event_reasons(event),
                error=scrub(message.last_error),
            )
        )
    return rows


def _case(request: HttpRequest, case_id: int) -> Case:
    case = case_for_work(user=request.user, case_id=case_id)
    if case is None:
        raise Http404  # out of scope looks like missing
    return case


def _panel(
    request: HttpRequest, case: Case, *, form: CaseMessageForm | None = None, oob: bool = False, **extra: Any
) -> HttpResponse:
    can_send = user_can_work(request.user, case) and case.status != CaseStatus.CLOSED
    if can_send and form is None:
        form = CaseMessageForm(case=case)
    context = {
        "case": case,
        "debtor_zone": debtor_zone(case),
        "message_rows": _rows(case_messages.case_messages(case=case)),
        "messages_shown": case_messages.MESSAGES_SHOWN,
        "can_send": can_send,
        "message_form": form if can_send else None,
        "oob": oob,
        **extra,
    }
    return render(request, "cases/_work_messages.html", context)


@login_required
@require_GET
def case_messages_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The panel (the case page asks for it when it loads)."""
    return _panel(request, _case(request, case_id))


@login_required
@require_POST
def case_message_send_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """Queue a message from an approved template; the panel comes back (out of band).

    This queues a *system* message from an approved template — the outbox sends it after
    asking the guard again — which is what H9 allows (no SMS by a collector in person, no
    free text).
    """
    case = _case(request, case_id)
    if not user_can_work(request.user, case):
        raise PermissionDenied
    zone = debtor_zone(case)
    # The time in the form is on the debtor's clock.
    with timezone.override(zone):
        form = CaseMessageForm(request.POST, case=case)
        valid = form.is_valid()
    if not valid:
        return _panel(request, case, form=form, oob=True)
    try:
        queued = case_messages.case_message_queue(
            case=case,
            contact_point=form.cleaned_data["contact_point"],
            template=form.cleaned_data["template"],
            actor=request.user,
            scheduled_at=form.cleaned_data.get("scheduled_at"),
        )
    except MessageRefused as refused:
        if refused.field == "case":  # closed meanwhile: the panel comes back without its form
            return _panel(request, case, oob=True, send_error=refused.message)
        form.add_refusal(refused)
        return _panel(request, case, form=form, oob=True)
    return _panel(request, case, oob=True, queued=queued)
