"""Reads of data governance."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from arrears.governance.models import LegalHold, RetentionPolicy, RetentionRun
from arrears.portfolio.models import Customer


def retention_policy_list() -> QuerySet[RetentionPolicy]:
    return RetentionPolicy.objects.order_by("data_class")


def retention_run_latest() -> RetentionRun | None:
    return RetentionRun.objects.order_by("-id").first()


def legal_holds_active_for_customer(*, customer: Customer) -> QuerySet[LegalHold]:
    """Active holds on the customer or on any of their accounts (uses the partial indexes
    legal_hold_customer_idx / legal_hold_account_idx)."""
    return LegalHold.objects.filter(
        Q(customer=customer) | Q(account__customer=customer), released_at__isnull=True
    ).order_by("-id")
