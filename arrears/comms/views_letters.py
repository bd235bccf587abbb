"""Pages of letter printing: the printed batches with their downloads, and the button that
prints the waiting letters.

Letters carry full postal addresses, so only supervisors, team leaders and admins see
these pages (403 for every other role, before anything is read or written); each download
is recorded in the audit trail as an export.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from arrears.accounts.models import Role, User
from arrears.audit.models import AuditAction
from arrears.audit.services import audit_record_request
from arrears.comms.letter_batches import (
    letter_batch_file,
    letter_batch_get,
    letter_batch_list,
    letter_batch_print,
    letters_waiting_count,
)
from arrears.comms.letters import LetterFontError

LETTER_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.TEAM_LEADER})
BATCHES_SHOWN = 50
CONTENT_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def user_can_print_letters(user: Any) -> bool:
    return isinstance(user, User) and user.is_active and user.role in LETTER_ROLES


def _require_letter_role(request: HttpRequest) -> None:
    if not user_can_print_letters(request.user):
        raise PermissionDenied


def _context() -> dict[str, Any]:
    return {
        "batches": letter_batch_list(limit=BATCHES_SHOWN),
        "waiting": letters_waiting_count(),
        "batches_shown": BATCHES_SHOWN,
    }


@login_required
@require_GET
def letters_page(request: HttpRequest) -> HttpResponse:
    _require_letter_role(request)
    return render(request, "comms/letters.html", _context())


@login_required
@require_POST
def letters_print(request: HttpRequest) -> HttpResponse:
    """Print every waiting letter as one batch; htmx gets the panel back, a form a redirect."""
    _require_letter_role(request)
    error = ""
    try:
        batch = letter_batch_print(actor=request.user)
    except LetterFontError as exc:
        batch, error = None, str(exc)
    if error:
        notice, level = _("无法打印信函：%(error)s") % {"error": error}, messages.ERROR
    elif batch is None:
        notice, level = _("没有待打印的信函。"), messages.INFO
    else:
        notice = _("已打印信函批次 #%(id)s，共 %(count)s 封。") % {"id": batch.pk, "count": batch.letters}
        level = messages.SUCCESS
    if getattr(request, "htmx", False):
        context = _context() | {"notice": notice, "notice_level": _level_class(level)}
        return render(request, "comms/letters_panel.html", context)
    messages.add_message(request, level, notice)
    return redirect("comms_letters")


def _level_class(level: int) -> str:
    return {messages.ERROR: "danger", messages.SUCCESS: "success"}.get(level, "info")


@login_required
@require_GET
def letters_download(request: HttpRequest, batch_id: int, kind: str) -> FileResponse:
    _require_letter_role(request)
    if kind not in CONTENT_TYPES:
        raise Http404
    batch = letter_batch_get(batch_id=batch_id)
    if batch is None:
        raise Http404
    path = letter_batch_file(batch=batch, kind=kind)
    if path is None:
        raise Http404
    # Stored text in the source language, like every audit summary (see arrears.audit.views).
    audit_record_request(
        request=request,
        action=AuditAction.EXPORT,
        object_id=batch.pk,
        summary=f"下载信函批次 #{batch.pk} {kind.upper()}（{batch.letters} 封）",
    )
    response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
    response["Content-Type"] = CONTENT_TYPES[kind]
    response["Cache-Control"] = "no-store"
    return response
