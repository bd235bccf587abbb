"""The queue's stored facts (migration 0007_queue_facts: `promise_due_at`, `task_due_at`,
`hold_active` on the case, kept by triggers) always equal what the ranking used to compute with
a subquery per case, whichever way promises, tasks and holds change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from arrears.cases.models import CaseHold, HoldKind, Promise, PromiseStatus, Task, TaskKind
from arrears.cases.services import (
    hold_place,
    hold_release,
    promise_make,
    promises_settle,
    task_create,
    task_done,
)
from arrears.conftest import Book
from arrears.tests.factories import AccountFactory, CaseFactory, PaymentFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]

# The ranking's former subqueries, per case, next to the stored facts.
_COMPARE_SQL = """
SELECT c.id, c.promise_due_at, c.task_due_at, c.hold_active,
       (SELECT min(p.due_at) FROM cases_promise p WHERE p.case_id = c.id AND p.status = 'open'),
       (SELECT min(t.due_at) FROM cases_task t WHERE t.case_id = c.id AND t.done_at IS NULL),
       EXISTS (SELECT 1 FROM cases_casehold h WHERE h.case_id = c.id AND h.released_at IS NULL)
  FROM cases_case c ORDER BY c.id
"""


def _facts() -> dict[int, tuple[dt.datetime | None, dt.datetime | None, bool]]:
    """Each case's stored facts; asserts they equal the subqueries' values."""
    with connection.cursor() as cursor:
        cursor.execute(_COMPARE_SQL)
        rows = cursor.fetchall()
    assert [(row[0], *row[1:4]) for row in rows] == [(row[0], *row[4:7]) for row in rows]
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def test_stored_queue_facts_follow_promises_tasks_and_holds(book: Book) -> None:
    case, other = book.case_alice, book.case_bob
    sibling = CaseFactory(account=AccountFactory(customer=case.customer), assigned_collector=book.alice)
    assert _facts()[case.pk] == (None, None, False)
    with time_machine.travel(NOW, tick=False):
        first = promise_make(
            case=case, actor=book.alice, amount_fen=50_000, due_at=NOW + dt.timedelta(days=2), now=NOW
        )
        facts = _facts()
        # The promise and its follow-up task, one hour before it falls due.
        assert facts[case.pk] == (NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=2, hours=-1), False)
        assert facts[other.pk] == (None, None, False)

        # A new promise supersedes the open one (cancelled, its task done).
        promise_make(
            case=case, actor=book.alice, amount_fen=60_000, due_at=NOW + dt.timedelta(days=1), now=NOW
        )
        assert Promise.objects.get(pk=first.pk).status == PromiseStatus.CANCELLED
        assert _facts()[case.pk] == (NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=1, hours=-1), False)

        callback = task_create(
            case=case, actor=book.alice, kind=TaskKind.CALLBACK, due_at=NOW + dt.timedelta(hours=2)
        )
        later = task_create(
            case=other, actor=book.bob, kind=TaskKind.FOLLOWUP, due_at=NOW + dt.timedelta(hours=5)
        )
        facts = _facts()
        assert facts[case.pk][1] == NOW + dt.timedelta(hours=2)
        assert facts[other.pk] == (None, NOW + dt.timedelta(hours=5), False)
        task_done(task=callback, actor=book.alice)
        assert _facts()[case.pk][1] == NOW + dt.timedelta(days=1, hours=-1)

        promise_make(
            case=other, actor=book.bob, amount_fen=1_000, due_at=NOW + dt.timedelta(hours=3), now=NOW
        )
        PaymentFactory(account=other.account, paid_at=NOW, amount_fen=1_000)
    # The batch settles both in one statement: other's promise kept (its task done), case's broken.
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        counts = promises_settle(now=NOW + dt.timedelta(days=2))
        assert (counts.kept, counts.broken) == (1, 1)
        facts = _facts()
        assert facts[case.pk] == (None, NOW + dt.timedelta(days=1, hours=-1), False)
        assert facts[other.pk] == (None, NOW + dt.timedelta(hours=5), False)

        dispute = hold_place(case=case, actor=book.alice, kind=HoldKind.DISPUTE, reason="客户否认欠款")
        deceased = hold_place(case=case, actor=book.alice, kind=HoldKind.DECEASED, reason="家属告知")
        facts = _facts()
        assert facts[case.pk][2] is True
        # A person-wide hold is stored on its own case; the ranking reads it for the others.
        assert facts[sibling.pk] == (None, None, False)
        hold_release(hold=dispute, actor=book.alice)
        assert _facts()[case.pk][2] is True
        hold_release(hold=deceased, actor=book.alice)
        assert _facts()[case.pk][2] is False

        # Writes outside the services too: an admin deleting rows, a bulk update.
        CaseHold.objects.create(case=other, kind=HoldKind.LEGAL, reason="起诉")
        assert _facts()[other.pk][2] is True
        CaseHold.objects.filter(case=other).delete()
        Task.objects.filter(pk=later.pk).delete()
        Task.objects.filter(case=case).update(done_at=NOW)
        facts = _facts()
        assert facts[other.pk] == (None, None, False)
        assert facts[case.pk] == (None, None, False)
