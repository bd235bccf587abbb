"""The outbox pages: every message with filters, and one message with its history.

Readers: supervisors, admins and compliance officers (the whole outbox) and team leaders
(their team's cases only, `selectors_pages.messages_visible_to`). Everyone else gets 403;
a message outside the reader's scope is 404. Contact values are shown masked only. The same
readers may cancel a message still queued, with a reason (`services.message_cancel`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from arrears.accounts.models import Role, User
from arrears.comms import selectors_pages
from arrears.comms.models import Message, MessageChannel, MessageEvent, MessageState
from arrears.comms.services import (
    CANCEL_REASON_MAX,
    MESSAGE_CANCELLERS,
    MessageNotAllowed,
    MessageRefused,
    message_cancel,
)
from arrears.compliance.messages import reason_text
from arrears.core.masking import mask_email, mask_value

# Gateways' errors may quote an address or a number (a bounce names the mailbox): shown masked.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER = re.compile(r"(?<!\d)\+?\d{7,}(?!\d)")

OUTBOX_READERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.TEAM_LEADER})
OUTBOX_PAGE_SIZE = 50
FILTER_FIELDS = ("state", "channel", "date_from", "date_to", "case", "template")


def scrub(text: str) -> str:
    """Free text from a gateway with email addresses and phone or card numbers masked."""
    text = _EMAIL.sub(lambda match: mask_email(match.group(0)), text)
    return _LONG_NUMBER.sub(lambda match: "*" * (len(match.group(0)) - 4) + match.group(0)[-4:], text)


def _require(request: HttpRequest) -> None:
    user = request.user
    if not (isinstance(user, User) and user.is_active and user.role in OUTBOX_READERS):
        raise PermissionDenied


class OutboxFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部状态")), *MessageState.choices], required=False
    )
    channel = forms.ChoiceField(
        label=_("渠道"), choices=[("", _("全部渠道")), *MessageChannel.choices], required=False
    )
    date_from = forms.DateField(
        label=_("计划日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("计划日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    case = forms.IntegerField(label=_("案件编号"), min_value=1, required=False)
    template = forms.CharField(label=_("模板编号"), max_length=40, required=False)
    before = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("state", "channel"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        for name in ("date_from", "date_to", "case", "template"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["template"].widget.attrs["placeholder"] = "COLLECT_D3"

    def clean_template(self) -> str:
        return str(self.cleaned_data.get("template") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("date_from"), data.get("date_to")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("开始日期不能晚于结束日期"), code="date_range")
        return data


@dataclasses.dataclass
class OutboxRow:
    message: Message
    to_masked: str
    template: str
    error: str


def _template_label(message: Message) -> str:
    version = message.template_version
    return f"{version.template.code} v{version.number}" if version is not None else "—"


def _rows(messages: Iterable[Message]) -> list[OutboxRow]:
    return [
        OutboxRow(
            message=message,
            to_masked=mask_value(message.contact_point.kind, message.contact_point.value),
            template=_template_label(message),
            error=scrub(message.last_error),
        )
        for message in messages
    ]


@login_required
@require_GET
def outbox_list_view(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = OutboxFilterForm(request.GET)
    # An invalid filter shows its error and no rows: a half-applied filter would mislead.
    rows: list[OutboxRow] | None = None
    next_before = None
    if form.is_valid():
        messages, next_before = selectors_pages.outbox_page(
            user=request.user, filters=form.cleaned_data, limit=OUTBOX_PAGE_SIZE
        )
        rows = _rows(messages)
    filter_query = urlencode({name: form.data[name] for name in FILTER_FIELDS if form.data.get(name)})
    return render(
        request,
        "comms/outbox_list.html",
        {
            "form": form,
            "rows": rows,
            "next_before_id": next_before,
            "filter_query": filter_query,
            "filtered": any(request.GET.get(name) for name in FILTER_FIELDS),
        },
    )


@dataclasses.dataclass
class EventRow:
    event: MessageEvent
    details: list[tuple[str, str]]


def _event_details(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An event's data as label/value pairs; the guard's reasons in the reader's language."""
    details: list[tuple[str, str]] = []
    for key, value in data.items():
        if key == "reasons" and isinstance(value, list):
            for reason in value:
                if isinstance(reason, Mapping):
                    text = reason_text(str(reason.get("message", "")), reason.get("parameters") or {})
                    details.append((str(reason.get("rule", "")), text))
            continue
        shown = "、".join(str(item) for item in value) if isinstance(value, list) else str(value)
        details.append((str(key), scrub(shown)))
    return details


def _decision_reasons(message: Message) -> list[tuple[str, str]]:
    decision = message.decision
    if decision is None:
        return []
    return [
        (
            str(record.get("rule", "")),
            reason_text(str(record.get("message", "")), record.get("parameters") or {}),
        )
        for record in decision.result.get("violations", [])
    ]


def _detail(
    request: HttpRequest, message: Message, *, cancel_error: str = "", reason: str = "", status: int = 200
) -> HttpResponse:
    events = selectors_pages.message_events(message=message)
    return render(
        request,
        "comms/outbox_detail.html",
        {
            "message": message,
            "to_masked": mask_value(message.contact_point.kind, message.contact_point.value),
            "template_label": _template_label(message),
            "last_error": scrub(message.last_error),
            "events": [EventRow(event=event, details=_event_details(event.data)) for event in events],
            "decision_reasons": _decision_reasons(message),
            "can_cancel": message.state == MessageState.QUEUED
            and getattr(request.user, "role", None) in MESSAGE_CANCELLERS,
            "cancel_error": cancel_error,
            "cancel_reason": reason,
            "cancel_reason_max": CANCEL_REASON_MAX,
        },
        status=status,
    )


def _visible(request: HttpRequest, message_id: int) -> Message:
    _require(request)
    message = selectors_pages.outbox_message_get(user=request.user, message_id=message_id)
    if message is None:
        raise Http404
    return message


@login_required
@require_GET
def outbox_detail_view(request: HttpRequest, message_id: int) -> HttpResponse:
    return _detail(request, _visible(request, message_id))


@login_required
@require_POST
def outbox_cancel_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """Stop a queued message (POST ``reason``); back to the message, or the page again with
    the refusal (409: it moved on; 400: no reason)."""
    message = _visible(request, message_id)
    reason = str(request.POST.get("reason", ""))
    try:
        message_cancel(message=message, actor=request.user, reason=reason)
    except MessageNotAllowed as exc:
        raise PermissionDenied from exc
    except MessageRefused as refused:
        message.refresh_from_db()
        status = 400 if refused.field == "reason" else 409
        return _detail(request, message, cancel_error=refused.message, reason=reason, status=status)
    return redirect("comms_outbox_detail", message_id=message.pk)
