"""Contacts with one debtor are judged one at a time: a daily cap with room for one more call
lets exactly one of two simultaneous calls through."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from arrears.accounts.models import Role
from arrears.cases.models import Activity
from arrears.cases.services import ContactRefused, activity_log
from arrears.delinquency.tests.books import ensure_calendar
from arrears.portfolio.models import Customer
from arrears.tests.factories import AccountFactory, CaseFactory, ContactPointFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SH)


def _connected_call(case, actor, point, at: dt.datetime) -> Activity:
    return activity_log(
        case=case,
        actor=actor,
        channel="call",
        contact_point=point,
        direction="outbound",
        started_at=at,
        connected=True,
        right_party=True,
        action_code="RPC",
        now=NOW,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_call_waits_for_the_debtors_other_contact_and_then_is_judged_with_it(action_codes) -> None:
    ensure_calendar()
    alice = UserFactory(username="alice", role=Role.COLLECTOR)
    case = CaseFactory(account=AccountFactory(), assigned_collector=alice, bucket_group="M1")
    point = ContactPointFactory(customer=case.customer)
    for hour in (9, 10):  # two connected calls today: room for one more (H3 / C2: 3 a day)
        _connected_call(case, alice, point, dt.datetime(2026, 11, 24, hour, 0, tzinfo=SH))

    outcome: list[object] = []
    started = threading.Event()

    def second_caller() -> None:
        try:
            started.set()
            outcome.append(_connected_call(case, alice, point, dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)))
        except ContactRefused as refused:
            outcome.append(refused)
        finally:
            connection.close()

    # Another contact with the debtor is in progress (it holds the debtor's row, as
    # activity_log does) and logs the third call; the second caller must wait for it.
    with transaction.atomic():
        list(Customer.objects.select_for_update().filter(pk=case.customer_id).values_list("pk", flat=True))
        thread = threading.Thread(target=second_caller)
        thread.start()
        started.wait(5)
        thread.join(timeout=1.0)
        assert thread.is_alive()  # blocked on the debtor's row, not judged yet
        _connected_call(case, alice, point, dt.datetime(2026, 11, 24, 11, 0, tzinfo=SH))
    thread.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], ContactRefused)
    assert {v["rule"] for v in outcome[0].decision.result["violations"]} == {"H3", "C2"}
    assert Activity.objects.filter(case=case).count() == 3
