"""The audit page and its CSV export; the "show" action that unmasks one value, with a purpose.

Thin on purpose: each view checks the role, finds the object through the scoping selectors
(out of scope is a 404, like a missing object), and calls one service.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from arrears.audit.forms import AuditFilterForm, RevealForm
from arrears.audit.models import AuditAction, AuditEntry, AuditObject
from arrears.audit.selectors import (
    audit_entries_for_export,
    audit_entry_list,
    user_can_read_audit,
    user_can_unmask,
)
from arrears.audit.services import audit_record_request, audit_request_changes_nothing
from arrears.portfolio.exports import spreadsheet_safe
from arrears.portfolio.selectors import contact_point_get, customer_get

FILTER_FIELDS = ("actor", "action", "date_from", "date_to", "object_type", "q")


# Summaries are stored data, written once in the source language (like msgids) so that the
# audit page's text search finds them whatever language the reader uses.


def _reveal(
    request: HttpRequest,
    *,
    url: str,
    value: str,
    object_type: AuditObject,
    object_id: int,
    summary: str,
) -> HttpResponse:
    """GET: the purpose form. POST: with a valid purpose, one audit entry and the full value."""
    # Showing a value is a read, whatever the method: a refused purpose is no state change.
    audit_request_changes_nothing(request)
    # Several forms may be open on one page: their field ids must differ.
    form = RevealForm(
        request.POST if request.method == "POST" else None, auto_id=f"id_reveal_{object_type}_{object_id}_%s"
    )
    if request.method == "POST" and form.is_valid():
        audit_record_request(
            request=request,
            action=AuditAction.READ_UNMASKED,
            object_type=object_type,
            object_id=object_id,
            summary=summary,
            purpose=form.purpose_text(),
        )
        return render(request, "audit/_revealed.html", {"value": value})
    return render(request, "audit/_reveal_form.html", {"form": form, "url": url})


def _require_unmasking_role(request: HttpRequest) -> None:
    # The role is checked before the object is looked up: a refused role learns nothing.
    if not user_can_unmask(request.user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def reveal_contact_view(request: HttpRequest, contact_point_id: int) -> HttpResponse:
    _require_unmasking_role(request)
    point = contact_point_get(user=request.user, contact_point_id=contact_point_id)
    if point is None:
        raise Http404
    return _reveal(
        request,
        url=request.path,
        value=point.value,
        object_type=AuditObject.CONTACT_POINT,
        object_id=point.pk,
        summary=f"查看联系方式明文：客户 {point.customer.customer_no}（{point.get_kind_display()}）",
    )


@login_required
@require_http_methods(["GET", "POST"])
def reveal_id_number_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    _require_unmasking_role(request)
    customer = customer_get(user=request.user, customer_id=customer_id)
    if customer is None:
        raise Http404
    return _reveal(
        request,
        url=request.path,
        value=customer.id_number,
        object_type=AuditObject.CUSTOMER,
        object_id=customer.pk,
        summary=f"查看证件号明文：客户 {customer.customer_no}",
    )


def _require_audit_reader(request: HttpRequest) -> None:
    if not user_can_read_audit(request.user):
        raise PermissionDenied


def _filter_query(form: AuditFilterForm) -> str:
    """The filters as a query string (without the page position), for the export and next links."""
    return urlencode({name: form.data[name] for name in FILTER_FIELDS if form.data.get(name)})


@login_required
@require_GET
def audit_list_view(request: HttpRequest) -> HttpResponse:
    _require_audit_reader(request)
    form = AuditFilterForm(request.GET)
    # An invalid filter shows its error and no rows: a half-applied filter would mislead.
    page = (
        audit_entry_list(filters=form.filters(), before_id=form.cleaned_data.get("before"))
        if form.is_valid()
        else None
    )
    return render(
        request,
        "audit/audit_list.html",
        {
            "form": form,
            "page": page,
            "filter_query": _filter_query(form),
            "filtered": any(request.GET.get(name) for name in FILTER_FIELDS),
        },
    )


class _Echo:
    """A file-like object whose write() returns what it was given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def _csv_row(entry: AuditEntry) -> list[str]:
    return [
        timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_name,
        entry.get_action_display(),
        entry.object_type,
        entry.object_id,
        entry.summary,
        entry.purpose,
        entry.ip or "",
        entry.method,
        entry.path,
        "" if entry.status_code is None else str(entry.status_code),
        entry.request_id,
    ]


@login_required
@require_GET
def audit_export_csv_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    _require_audit_reader(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("筛选条件无效"), status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    # The export is recorded before it is produced: the file leaves even if the client
    # disconnects half way. The new entry itself is part of the export when it matches.
    audit_record_request(
        request=request,
        action=AuditAction.EXPORT,
        object_type=AuditObject.AUDIT_LOG,
        summary=f"导出审计记录 CSV：{_filter_query(form) or '全部'}",
    )
    language = translation.get_language()
    headers = [
        _("时间"),
        _("用户"),
        _("操作"),
        _("对象类型"),
        _("对象编号"),
        _("摘要"),
        _("用途"),
        _("IP 地址"),
        _("方法"),
        _("路径"),
        _("状态码"),
        _("请求编号"),
    ]

    def lines() -> Iterator[bytes]:
        with translation.override(language):
            writer = csv.writer(_Echo())
            yield "\ufeff".encode()
            yield writer.writerow(headers).encode("utf-8")
            for entry in audit_entries_for_export(filters=filters):
                yield writer.writerow([spreadsheet_safe(cell) for cell in _csv_row(entry)]).encode("utf-8")

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
