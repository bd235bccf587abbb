"""Pages of the book: the account list and page, and file imports.

Thin on purpose: each view checks its input, calls one selector or service, and renders.
Scoping lives in the selectors; a view never filters accounts itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from arrears.audit.models import AuditAction, AuditObject
from arrears.audit.services import audit_record_request
from arrears.delinquency.selectors import (
    account_delinquency,
    book_by_bucket,
    bucket_history,
    business_date,
    roll_rate_matrices,
    sees_whole_book,
)
from arrears.portfolio import exports
from arrears.portfolio.forms import AccountFilterForm, ImportUploadForm
from arrears.portfolio.importing.messages import render_message
from arrears.portfolio.models import ImportBatch, ImportStatus, Instalment
from arrears.portfolio.schedule import ScheduledInstalment
from arrears.portfolio.selectors import (
    account_get,
    account_list,
    account_schedule,
    book_counts,
    import_batch_get,
    import_batch_list,
    import_row_errors,
    user_can_import,
)
from arrears.portfolio.services import import_batch_submit


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails


RECENT_IMPORTS_SHOWN = 5
ROW_ERRORS_SHOWN = 200
RECENT_BATCHES_SHOWN = 20
_UNFINISHED = (ImportStatus.PENDING, ImportStatus.RUNNING)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the size of the book the user can see, the latest imports, and the book
    by bucket with the roll rates as of the last end-of-day run."""
    return render(
        request,
        "portfolio/home.html",
        {
            "counts": book_counts(user=request.user),
            "recent_imports": import_batch_list(user=request.user, limit=RECENT_IMPORTS_SHOWN),
            "book": book_by_bucket(user=request.user),
            "roll_rates": roll_rate_matrices(user=request.user),
            # Roll rates are whole-book figures; scoped users get no (empty) card for them.
            "roll_rates_shown": sees_whole_book(request.user),
        },
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def account_list_view(request: HtmxHttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET)
    # An invalid filter shows its error and no rows: a half-applied filter would mislead.
    page = account_list(user=request.user, **form.selector_filters()) if form.is_valid() else None
    context = {
        "form": form,
        "page": page,
        "filtered": any(
            request.GET.get(name) for name in ("creditor", "product", "status", "account_no", "phone_or_id")
        ),
    }
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return render(request, "portfolio/_account_results.html", context)
    return render(request, "portfolio/account_list.html", context)


def _schedule_totals(instalments: Sequence[Instalment] | Sequence[ScheduledInstalment]) -> dict[str, int]:
    """Column sums of the schedule, for the table's footer."""
    return {
        "principal": sum(i.principal_due_fen for i in instalments),
        "interest": sum(i.interest_due_fen for i in instalments),
        "fee": sum(i.fee_due_fen for i in instalments),
        "premium": sum(i.premium_due_fen for i in instalments),
        "total": sum(i.total_due_fen for i in instalments),
    }


@login_required
@require_GET
def account_detail_view(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(user=request.user, account_id=account_id)
    if account is None:
        # Out of scope and nonexistent look the same: no hint that the account exists.
        raise Http404
    schedule = account_schedule(account=account)
    state = account_delinquency(user=request.user, account_id=account.pk)
    return render(
        request,
        "portfolio/account_detail.html",
        {
            "account": account,
            "schedule": schedule,
            "schedule_totals": _schedule_totals(schedule),
            "state": state,
            # Tells "no run yet" from "this account not computed yet" when there is no state.
            "business_date": state.business_date if state else business_date(),
            "bucket_history": bucket_history(user=request.user, account_id=account.pk),
        },
    )


def _require_importer(request: HttpRequest) -> None:
    if not user_can_import(request.user):
        raise PermissionDenied


def _batch_or_404(request: HttpRequest, batch_id: int) -> ImportBatch:
    _require_importer(request)
    batch = import_batch_get(user=request.user, batch_id=batch_id)
    if batch is None:
        raise Http404
    return batch


@login_required
@require_http_methods(["GET", "POST"])
def import_page_view(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            batch = import_batch_submit(
                creditor=form.cleaned_data["creditor"],
                kind=form.cleaned_data["kind"],
                filename=upload.name,
                source=upload.open("rb"),
                actor=request.user,
            )
            messages.success(request, _("文件已上传，正在排队导入"))
            return redirect("import_detail", batch_id=batch.pk)
    else:
        form = ImportUploadForm()
    return render(
        request,
        "portfolio/import_page.html",
        {
            "form": form,
            "batches": import_batch_list(user=request.user, limit=RECENT_BATCHES_SHOWN),
        },
    )


def _status_context(batch: ImportBatch) -> dict[str, object]:
    return {
        "batch": batch,
        "unfinished": batch.status in _UNFINISHED,
        "structural_error": render_message(batch.error_code, batch.error_params) if batch.error_code else "",
    }


@login_required
@require_GET
def import_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch_or_404(request, batch_id)
    context = _status_context(batch)
    finished = batch.status not in _UNFINISHED
    row_errors = []
    if finished:
        row_errors = [
            {
                "row_number": error.row_number,
                "column": error.column,
                "value": error.value,
                "message": render_message(error.code, error.params),
            }
            for error in import_row_errors(batch=batch, limit=ROW_ERRORS_SHOWN)
        ]
    context.update(
        {
            "row_errors": row_errors,
            "row_errors_limit": ROW_ERRORS_SHOWN,
            "row_errors_truncated": batch.rows_rejected > ROW_ERRORS_SHOWN,
        }
    )
    return render(request, "portfolio/import_detail.html", context)


@login_required
@require_GET
def import_status_view(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    """The status card that htmx polls every second while the batch is pending or running."""
    batch = _batch_or_404(request, batch_id)
    response = render(request, "portfolio/_import_status.html", _status_context(batch))
    if request.htmx and batch.status not in _UNFINISHED:
        # The batch just finished: reload the page once so the row errors and downloads appear.
        response["HX-Refresh"] = "true"
    return response


def _record_error_report_export(request: HttpRequest, batch: ImportBatch, file_format: str) -> None:
    # Stored text in the source language, like every audit summary (see arrears.audit.views).
    audit_record_request(
        request=request,
        action=AuditAction.EXPORT,
        object_type=AuditObject.IMPORT_BATCH,
        object_id=batch.pk,
        summary=f"导出导入错误明细 {file_format}：批次 #{batch.pk} {batch.filename}",
    )


@login_required
@require_GET
def import_errors_csv_view(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    batch = _batch_or_404(request, batch_id)
    _record_error_report_export(request, batch, "CSV")
    return exports.errors_csv_response(batch=batch)


@login_required
@require_GET
def import_errors_xlsx_view(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    batch = _batch_or_404(request, batch_id)
    _record_error_report_export(request, batch, "XLSX")
    return exports.errors_xlsx_response(batch=batch)
