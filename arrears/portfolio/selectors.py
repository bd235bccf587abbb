"""Reads for pages and the API. Every function that returns accounts or customers takes the
user and starts from ``accounts_visible_to(user)``: scoping is never left to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from arrears.accounts.models import Role, User
from arrears.cases.selectors import Viewer, accounts_visible_to, customers_visible_to
from arrears.core.fields import blind_index_of
from arrears.portfolio.importing import fields as cell_fields
from arrears.portfolio.models import (
    Account,
    AccountChange,
    ContactPoint,
    Creditor,
    Customer,
    ImportBatch,
    ImportRowError,
    Instalment,
    Payment,
    Product,
    ScheduleSource,
)
from arrears.portfolio.schedule import ScheduledInstalment, equal_instalments

PAGE_SIZE = 50


@dataclass(frozen=True)
class AccountPage:
    accounts: list[Account]
    next_before_id: int | None


def account_list(
    *,
    user: Viewer,
    creditor_id: int | None = None,
    product_id: int | None = None,
    status: str | None = None,
    account_no: str | None = None,
    phone_or_id: str | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> AccountPage:
    """Newest first, keyset-paginated on id so page N costs the same as page 1 at 1M rows.

    Uses account_status_id_idx / account_product_id_idx / the primary key for the order.
    ``phone_or_id`` finds the accounts of customers with that exact ID number or contact value
    (phone, e-mail, address; theirs or a third party's), through the blind indexes.
    """
    accounts = accounts_visible_to(user).select_related("creditor", "product", "customer")
    if creditor_id is not None:
        accounts = accounts.filter(creditor_id=creditor_id)
    if product_id is not None:
        accounts = accounts.filter(product_id=product_id)
    if status:
        accounts = accounts.filter(status=status)
    if account_no:
        accounts = accounts.filter(account_no=account_no)
    if phone_or_id:
        accounts = accounts.filter(customer__in=customers_matching(phone_or_id))
    if before_id is not None:
        accounts = accounts.filter(id__lt=before_id)
    rows = list(accounts.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return AccountPage(accounts=rows, next_before_id=rows[-1].pk if has_more and rows else None)


def account_get(*, user: Viewer, account_id: int) -> Account | None:
    """One account with everything its page shows, or None if it does not exist *or* is out of scope."""
    return (
        accounts_visible_to(user)
        .select_related("creditor", "product", "customer")
        .prefetch_related(
            Prefetch(
                "customer__contact_points", queryset=ContactPoint.objects.order_by("owner_role", "kind", "id")
            ),
            Prefetch("instalments", queryset=Instalment.objects.order_by("seq")),
            Prefetch(
                "payments", queryset=Payment.objects.select_related("reversal_of").order_by("paid_at", "id")
            ),
            Prefetch("changes", queryset=AccountChange.objects.select_related("batch").order_by("-id")),
        )
        .filter(pk=account_id)
        .first()
    )


def customer_get(*, user: Viewer, customer_id: int) -> Customer | None:
    """One customer, or None if it does not exist *or* is out of the user's scope."""
    return customers_visible_to(user).filter(pk=customer_id).first()


def _lookup_forms(text: str, parsers: tuple[Any, ...]) -> set[str]:
    """The text as typed plus what the importer's parsers make of it (the stored form)."""
    forms = {text.strip()}
    for parser in parsers:
        try:
            parsed = parser(text)
        except (cell_fields.FieldError, ValueError):
            continue
        forms.update(parsed if isinstance(parsed, list) else [parsed])
    return {form for form in forms if form}


def id_number_hashes(text: str) -> set[str]:
    """Blind indexes an ID number typed as ``text`` may be stored under (15 digits upgraded)."""
    return {
        blind_index_of(Customer, "id_number", form)
        for form in _lookup_forms(text, (cell_fields.parse_id_number,))
    }


def contact_value_hashes(text: str) -> set[str]:
    """Blind indexes a phone (any spacing, +86, area code), e-mail or address may be stored under."""
    return {
        blind_index_of(ContactPoint, "value", form)
        for form in _lookup_forms(text, (cell_fields.parse_phones, cell_fields.parse_email))
    }


def customers_matching(text: str) -> QuerySet[Customer]:
    """Customers whose ID number, or one of whose contact values, is exactly ``text`` (not
    scoped: callers narrow a scoped queryset with it). Index lookups on the blind indexes."""
    points = ContactPoint.objects.filter(
        customer_id=OuterRef("pk"), value_hash__in=contact_value_hashes(text)
    )
    return Customer.objects.filter(Q(id_number_hash__in=id_number_hashes(text)) | Q(Exists(points)))


def customers_by_id_number(*, user: Viewer, id_number: str) -> QuerySet[Customer]:
    """Customers in the user's scope with exactly this ID number."""
    return customers_visible_to(user).filter(id_number_hash__in=id_number_hashes(id_number))


def contact_points_by_value(*, user: Viewer, value: str) -> QuerySet[ContactPoint]:
    """Contact points of customers in the user's scope with exactly this phone, e-mail or address."""
    return ContactPoint.objects.select_related("customer").filter(
        value_hash__in=contact_value_hashes(value), customer__in=customers_visible_to(user)
    )


def contact_point_get(*, user: Viewer, contact_point_id: int) -> ContactPoint | None:
    """One contact point of a customer in the user's scope, or None (missing or out of scope)."""
    return (
        ContactPoint.objects.select_related("customer")
        .filter(pk=contact_point_id, customer__in=customers_visible_to(user))
        .first()
    )


def account_schedule(*, account: Account) -> list[Instalment] | list[ScheduledInstalment]:
    """The account's instalments: the file's rows, or the equal schedule derived from the account.

    Generated schedules are derived, not stored: a 1M-account book would otherwise write ~12M
    rows on every accounts import (see docs/architecture.md).
    """
    if account.schedule_source == ScheduleSource.FILE:
        return list(account.instalments.all())
    return equal_instalments(
        principal_fen=account.principal_fen,
        term=account.term,
        first_due_date=account.first_due_date,
        instalment_fen=account.instalment_fen,
    )


def book_counts(*, user: Viewer) -> dict[str, int]:
    """The home page's numbers, within the user's scope."""
    accounts = accounts_visible_to(user)
    totals = accounts.aggregate(count=Count("id"), principal=Sum("principal_fen"))
    return {
        "accounts": totals["count"] or 0,
        "principal_fen": totals["principal"] or 0,
        "customers": customers_visible_to(user).count(),
    }


def creditor_list() -> QuerySet[Creditor]:
    return Creditor.objects.order_by("code")


def product_list() -> QuerySet[Product]:
    return Product.objects.select_related("creditor").order_by("creditor__code", "code")


def import_batch_list(*, user: Viewer, limit: int = 20) -> list[ImportBatch]:
    """Imports are reference data of the whole book: only people who load files see them."""
    if not user_can_import(user):
        return []
    return list(ImportBatch.objects.select_related("creditor", "created_by").order_by("-id")[:limit])


def import_batch_get(*, user: Viewer, batch_id: int) -> ImportBatch | None:
    if not user_can_import(user):
        return None
    return ImportBatch.objects.select_related("creditor", "created_by").filter(pk=batch_id).first()


def import_row_errors(*, batch: ImportBatch, limit: int | None = None) -> QuerySet[ImportRowError]:
    errors = ImportRowError.objects.filter(batch=batch).order_by("row_number", "id")
    return errors[:limit] if limit is not None else errors


def user_can_import(user: Viewer) -> bool:
    return isinstance(user, User) and user.is_active and user.role in (Role.ADMIN, Role.SUPERVISOR)
