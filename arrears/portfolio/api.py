"""Portfolio API: file imports and accounts. Scoping comes from the selectors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from arrears.core.api_types import ApiText
from arrears.core.masking import mask_id_number
from arrears.delinquency.selectors import AccountDelinquency, account_delinquency, business_date
from arrears.portfolio import selectors
from arrears.portfolio.importing.messages import render_message
from arrears.portfolio.models import (
    Account,
    AccountStatus,
    Creditor,
    ImportBatch,
    ImportKind,
    ImportRowError,
)
from arrears.portfolio.schemas import ContactPointOut, contact_point_out
from arrears.portfolio.services import PortfolioError, import_batch_submit

router = Router(tags=["portfolio"])

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


class ErrorOut(Schema):
    detail: str


class RowErrorOut(Schema):
    row_number: int
    column: str
    value: str
    code: str
    message: str


class ImportOut(Schema):
    id: int
    creditor: str
    kind: str
    filename: str
    status: str
    file_format: str
    encoding: str
    checksum: str
    size_bytes: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    ignored_columns: list[str]
    error_code: str
    error_message: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    errors: list[RowErrorOut]
    errors_total: int


def _row_error(error: ImportRowError) -> RowErrorOut:
    return RowErrorOut(
        row_number=error.row_number,
        column=error.column,
        value=error.value,
        code=error.code,
        message=render_message(error.code, error.params),
    )


def _import_out(batch: ImportBatch, *, error_limit: int = 100, error_offset: int = 0) -> ImportOut:
    errors = selectors.import_row_errors(batch=batch)[error_offset : error_offset + error_limit]
    return ImportOut(
        id=batch.pk,
        creditor=batch.creditor.code,
        kind=batch.kind,
        filename=batch.filename,
        status=batch.status,
        file_format=batch.file_format,
        encoding=batch.encoding,
        checksum=batch.checksum,
        size_bytes=batch.size_bytes,
        rows_read=batch.rows_read,
        rows_loaded=batch.rows_loaded,
        rows_rejected=batch.rows_rejected,
        rows_inserted=batch.rows_inserted,
        rows_updated=batch.rows_updated,
        rows_unchanged=batch.rows_unchanged,
        ignored_columns=list(batch.ignored_columns),
        error_code=batch.error_code,
        error_message=render_message(batch.error_code, batch.error_params) if batch.error_code else "",
        created_at=batch.created_at,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        errors=[_row_error(e) for e in errors],
        errors_total=batch.row_errors.count(),
    )


@router.post(
    "/imports",
    response={202: ImportOut, 400: ErrorOut, 403: ErrorOut},
    summary="Upload a creditor file; it is imported in the background",
)
def import_create(
    request: HttpRequest,
    creditor: Form[ApiText],
    kind: Form[ImportKind],
    file: File[UploadedFile],
) -> Status[Any]:
    user: Any = request.user
    if not selectors.user_can_import(user):
        return Status(403, ErrorOut(detail="only supervisors and admins may import files"))
    found = Creditor.objects.filter(code=creditor.strip().upper()).first()
    if found is None:
        return Status(400, ErrorOut(detail=f"unknown creditor {creditor!r}"))
    name = file.name or "upload"
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        return Status(400, ErrorOut(detail=f"file {name!r}: upload a .csv or .xlsx file"))
    try:
        batch = import_batch_submit(
            creditor=found, kind=kind, filename=name, source=file.open("rb"), actor=user
        )
    except PortfolioError as exc:
        return Status(400, ErrorOut(detail=str(exc)))
    return Status(202, _import_out(batch))


class ErrorPage(Schema):
    offset: int = 0
    limit: int = 100


# Row numbers are 32-bit: no batch has more errors than this, and a larger OFFSET would overflow.
ERROR_OFFSET_MAX = 2_147_483_647


@router.get(
    "/imports/{batch_id}", response={200: ImportOut, 404: ErrorOut}, summary="An import's status and errors"
)
def import_get(request: HttpRequest, batch_id: int, page: Query[ErrorPage]) -> Status[Any]:
    if not 0 <= page.offset <= ERROR_OFFSET_MAX or not 1 <= page.limit <= 1000:
        raise HttpError(422, f"offset must be between 0 and {ERROR_OFFSET_MAX} and limit between 1 and 1000")
    batch = selectors.import_batch_get(user=request.user, batch_id=batch_id)
    if batch is None:
        return Status(404, ErrorOut(detail="no such import"))
    return Status(200, _import_out(batch, error_limit=page.limit, error_offset=page.offset))


class AccountRow(Schema):
    id: int
    creditor: str
    account_no: str
    product: str
    customer_id: int
    customer_name: str
    principal_fen: int
    total_due_fen: int
    paid_fen: int
    outstanding_fen: int
    status: str


class AccountListOut(Schema):
    items: list[AccountRow]
    next_before_id: int | None


class AccountFilters(Schema):
    creditor: ApiText | None = None
    account_no: ApiText | None = None
    phone_or_id: ApiText | None = Field(
        None, description="Exact ID number, phone, e-mail or address of the customer or a contact"
    )
    product: ApiText | None = None
    status: AccountStatus | None = None
    before_id: int | None = None
    limit: int = 50


def _account_row(account: Account) -> AccountRow:
    return AccountRow(
        id=account.pk,
        creditor=account.creditor.code,
        account_no=account.account_no,
        product=account.product.code,
        customer_id=account.customer_id,
        customer_name=account.customer.name,
        principal_fen=account.principal_fen,
        total_due_fen=account.total_due_fen,
        paid_fen=account.paid_fen,
        outstanding_fen=account.outstanding_fen,
        status=account.status,
    )


@router.get("/accounts", response={200: AccountListOut}, summary="Accounts in your scope, newest first")
def account_list(request: HttpRequest, filters: Query[AccountFilters]) -> AccountListOut:
    if not 1 <= filters.limit <= 200:
        raise HttpError(422, "limit must be between 1 and 200")
    creditor_id = product_id = None
    if filters.creditor:
        creditor = Creditor.objects.filter(code=filters.creditor.strip().upper()).first()
        if creditor is None:
            return AccountListOut(items=[], next_before_id=None)
        creditor_id = creditor.pk
        if filters.product:
            product = creditor.products.filter(code=filters.product.strip().upper()).first()
            if product is None:
                return AccountListOut(items=[], next_before_id=None)
            product_id = product.pk
    elif filters.product:
        raise HttpError(422, "filter by product needs the creditor too (product codes are per creditor)")
    page = selectors.account_list(
        user=request.user,
        creditor_id=creditor_id,
        product_id=product_id,
        status=filters.status,
        account_no=filters.account_no.strip() if filters.account_no else None,
        phone_or_id=filters.phone_or_id.strip() if filters.phone_or_id else None,
        before_id=filters.before_id,
        limit=filters.limit,
    )
    return AccountListOut(items=[_account_row(a) for a in page.accounts], next_before_id=page.next_before_id)


class InstalmentOut(Schema):
    seq: int
    due_date: dt.date
    principal_due_fen: int
    interest_due_fen: int
    fee_due_fen: int
    premium_due_fen: int
    total_due_fen: int


class PaymentOut(Schema):
    id: int
    txn_id: str
    paid_at: dt.datetime
    amount_fen: int
    channel: str
    reversal_of: str | None


class CustomerOut(Schema):
    id: int
    customer_no: str
    name: str
    id_number_masked: str
    employer: str


class AccountDetail(AccountRow):
    # Delinquency on the business date (the latest completed end-of-day run); null until the
    # batch has computed the account.
    business_date: dt.date | None
    days_past_due: int | None
    bucket: str | None
    bucket_group: str | None
    delinquent_since: dt.date | None
    overdue_fen: int | None
    overdue_amount: Decimal | None = Field(None, description="overdue_fen in yuan (a decimal string)")
    overdue_principal_fen: int | None
    overdue_interest_fen: int | None
    overdue_fee_fen: int | None
    overdue_premium_fen: int | None
    credit_fen: int | None
    missed_instalments: int | None
    next_due_date: dt.date | None
    open_date: dt.date
    term: int
    instalment_fen: int | None
    first_due_date: dt.date
    flags: list[str]
    schedule_source: str
    customer: CustomerOut
    contact_points: list[ContactPointOut]
    schedule: list[InstalmentOut]
    payments: list[PaymentOut]


# Delinquency fields named as on `AccountDelinquency` (only `bucket` is renamed, from bucket_code).
_STATE_FIELDS = (
    "days_past_due",
    "bucket_group",
    "delinquent_since",
    "overdue_fen",
    "overdue_principal_fen",
    "overdue_interest_fen",
    "overdue_fee_fen",
    "overdue_premium_fen",
    "credit_fen",
    "missed_instalments",
    "next_due_date",
)


def _delinquency_fields(state: AccountDelinquency | None) -> dict[str, Any]:
    if state is None:
        # Not computed yet (a new account, or no run so far): every delinquency field is null.
        return {
            "business_date": business_date(),
            "bucket": None,
            "overdue_amount": None,
            **dict.fromkeys(_STATE_FIELDS),
        }
    return {
        "business_date": state.business_date,
        "bucket": state.bucket_code,
        "overdue_amount": (Decimal(state.overdue_fen) / 100).quantize(Decimal("0.01")),
        **{name: getattr(state, name) for name in _STATE_FIELDS},
    }


@router.get("/accounts/{account_id}", response={200: AccountDetail, 404: ErrorOut}, summary="One account")
def account_get(request: HttpRequest, account_id: int) -> Status[Any]:
    account = selectors.account_get(user=request.user, account_id=account_id)
    if account is None:
        return Status(404, ErrorOut(detail="no such account"))
    customer = account.customer
    detail = AccountDetail(
        **_account_row(account).dict(),
        **_delinquency_fields(account_delinquency(user=request.user, account_id=account.pk)),
        open_date=account.open_date,
        term=account.term,
        instalment_fen=account.instalment_fen,
        first_due_date=account.first_due_date,
        flags=list(account.flags),
        schedule_source=account.schedule_source,
        customer=CustomerOut(
            id=customer.pk,
            customer_no=customer.customer_no,
            name=customer.name,
            id_number_masked=mask_id_number(customer.id_number),
            employer=customer.employer,
        ),
        contact_points=[contact_point_out(c) for c in customer.contact_points.all()],
        schedule=[
            InstalmentOut(
                seq=i.seq,
                due_date=i.due_date,
                principal_due_fen=i.principal_due_fen,
                interest_due_fen=i.interest_due_fen,
                fee_due_fen=i.fee_due_fen,
                premium_due_fen=i.premium_due_fen,
                total_due_fen=i.total_due_fen,
            )
            for i in selectors.account_schedule(account=account)
        ],
        payments=[
            PaymentOut(
                id=p.pk,
                txn_id=p.txn_id,
                paid_at=p.paid_at,
                amount_fen=p.amount_fen,
                channel=p.channel,
                reversal_of=p.reversal_of.txn_id if p.reversal_of else None,
            )
            for p in account.payments.all()
        ],
    )
    return Status(200, detail)
