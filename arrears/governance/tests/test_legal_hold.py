"""Placing and releasing legal holds: events written, refusals change nothing."""

from __future__ import annotations

import pytest

from arrears.accounts.models import Role
from arrears.core.models import Event
from arrears.governance.models import LegalHold
from arrears.governance.selectors import legal_holds_active_for_customer
from arrears.governance.services import GovernanceError, legal_hold_place, legal_hold_release
from arrears.tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_placing_a_hold_on_an_account_writes_an_event_and_covers_its_customer() -> None:
    officer = UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)
    account = AccountFactory()

    hold = legal_hold_place(account=account, reason="  诉讼中  ", actor=officer)

    assert (hold.account, hold.customer, hold.reason, hold.placed_by, hold.is_active) == (
        account,
        None,
        "诉讼中",
        officer,
        True,
    )
    event = Event.objects.get(kind="legal_hold.placed")
    assert (event.subject_type, event.subject_id, event.actor) == ("governance.legalhold", hold.pk, officer)
    assert event.data == {"customer_id": None, "account_id": account.pk, "reason": "诉讼中"}
    assert list(legal_holds_active_for_customer(customer=account.customer)) == [hold]


def test_releasing_a_hold_writes_an_event_and_a_second_release_is_refused() -> None:
    officer = UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)
    account = AccountFactory()
    hold = legal_hold_place(customer=account.customer, reason="监管调查", actor=officer)

    legal_hold_release(hold=hold, actor=officer)

    hold.refresh_from_db()
    assert (hold.is_active, hold.released_by) == (False, officer)
    assert Event.objects.filter(kind="legal_hold.released", subject_id=hold.pk).count() == 1
    assert not legal_holds_active_for_customer(customer=account.customer).exists()

    with pytest.raises(GovernanceError):
        legal_hold_release(hold=hold, actor=officer)
    assert Event.objects.filter(kind="legal_hold.released").count() == 1


@pytest.mark.parametrize("subject", ["both", "neither"])
def test_a_hold_names_exactly_one_customer_or_account(subject: str) -> None:
    officer = UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)
    account = AccountFactory()
    kwargs = {"customer": account.customer, "account": account} if subject == "both" else {}

    with pytest.raises(GovernanceError):
        legal_hold_place(reason="x", actor=officer, **kwargs)

    assert not LegalHold.objects.exists()
    assert not Event.objects.filter(kind="legal_hold.placed").exists()


def test_a_hold_needs_a_reason() -> None:
    officer = UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)

    with pytest.raises(GovernanceError):
        legal_hold_place(account=AccountFactory(), reason="   ", actor=officer)

    assert not LegalHold.objects.exists()
