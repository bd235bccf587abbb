"""Retention on encrypted personal data: anonymised customers keep encrypted markers with
unique blind indexes (governance sits on top of the book, so the test lives here)."""

from __future__ import annotations

import datetime as dt

from arrears.core.fields import blind_index_of
from arrears.portfolio.models import ContactPoint, Customer
from arrears.portfolio.tests.test_personal_data import raw, raw_tables


def test_anonymisation_writes_encrypted_markers_with_unique_hashes(db: None) -> None:
    from arrears.governance.services import (
        ANONYMISED_ID_NUMBER,
        retention_policy_defaults_ensure,
        retention_run,
    )
    from arrears.governance.tests.test_retention import TODAY, closed_customer

    retention_policy_defaults_ensure()  # a transactional test before this one may have flushed them
    customer = closed_customer(closed_on=dt.date(2026, 6, 1), name="张三")
    points = list(ContactPoint.objects.filter(customer=customer).order_by("pk"))
    assert len(points) == 2

    retention_run(today=TODAY, dry_run=False)

    assert raw(
        f"SELECT value_hash FROM portfolio_contactpoint WHERE customer_id = {customer.pk} ORDER BY id"
    ) == [(f"anonymised:{point.pk}",) for point in points]
    assert all(value.startswith("v1:") for (value,) in raw("SELECT value FROM portfolio_contactpoint"))
    assert "已匿名#" not in raw_tables() and "*****" not in raw_tables()
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.id_number, stored.id_number_hash) == (
        ANONYMISED_ID_NUMBER,
        blind_index_of(Customer, "id_number", ANONYMISED_ID_NUMBER),
    )
    assert [p.value for p in ContactPoint.objects.filter(customer=customer).order_by("pk")] == [
        f"已匿名#{point.pk}" for point in points
    ]
    # Nothing is due any more: a second run anonymises nobody again.
    again = retention_run(today=TODAY, dry_run=False)
    assert again.result("personal_data_after_closure").affected == 0
