"""The work queue: its order and reasons, "next case" (leases, the team's shared queue,
holds, recently worked cases), the pages and the API — and two collectors claiming at once."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client

from arrears.accounts.models import Role
from arrears.cases.models import (
    Activity,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseHold,
    CaseStatus,
    Promise,
    PromiseStatus,
    Task,
)
from arrears.cases.queue import (
    CLAIM_LEASE,
    QueueRefused,
    cutoffs_cache_clear,
    queue_claim_next,
    queue_for_collector,
)
from arrears.conftest import Book
from arrears.delinquency.models import AccountState
from arrears.delinquency.tests.books import ensure_calendar
from arrears.tests.factories import AccountFactory, CaseFactory, TeamFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
# A Tuesday, an ordinary working day.
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
TODAY = NOW.date()
YESTERDAY_NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SH)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


def _case(
    collector,
    *,
    group="M1",
    overdue_fen=10_000,
    last=YESTERDAY_NOON,
    due=None,
    opened_on=None,
    team=None,
    **extra,
):
    """An open case with its account state; worked yesterday and not due today unless told."""
    case = CaseFactory(
        account=AccountFactory(),
        assigned_collector=collector,
        team=team if team is not None else getattr(collector, "team", None),
        status=CaseStatus.IN_PROGRESS,
        bucket_group=group,
        bucket_code=group,
        opened_on=opened_on or TODAY - dt.timedelta(days=40),
        last_activity_at=last,
        followup_due_at=due or NOW + dt.timedelta(days=3),
        **extra,
    )
    AccountState.objects.create(
        account=case.account,
        as_of=TODAY,
        bucket_code=group,
        bucket_group=group,
        overdue_fen=overdue_fen,
        outstanding_fen=overdue_fen * 3,
        next_change_date=TODAY + dt.timedelta(days=1),
    )
    return case


def _codes(row) -> list[str]:
    return [reason.code for reason in row.reasons]


def _texts(row) -> list[str]:
    return [reason.text for reason in row.reasons]


@pytest.fixture
def worked(book: Book):
    """Alice's cases, one per reason; book.case_alice is closed so it stays out of the way."""
    ensure_calendar()
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    alice = book.alice
    cases = {
        "plain_m1": _case(alice, group="M1", overdue_fen=50_000),
        "m3": _case(alice, group="M3", overdue_fen=20_000),
        "promise": _case(alice, group="M1"),
        "callback": _case(alice, group="M1"),
        "overdue": _case(alice, group="M2", due=dt.datetime(2026, 11, 24, 0, 0, tzinfo=SH)),
        "due_today": _case(alice, group="M2", due=dt.datetime(2026, 11, 25, 0, 0, tzinfo=SH)),
        "new": _case(alice, group="M1", last=None, opened_on=TODAY),
        "held": _case(alice, group="M4+", overdue_fen=900_000, due=dt.datetime(2026, 11, 20, tzinfo=SH)),
    }
    Promise.objects.create(
        case=cases["promise"],
        kind="PTP",
        amount_fen=30_000,
        due_at=dt.datetime(2026, 11, 24, 18, 0, tzinfo=SH),
    )
    # A kept promise and one due tomorrow do not count.
    Promise.objects.create(
        case=cases["plain_m1"],
        kind="PTP",
        amount_fen=30_000,
        due_at=dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH),
        status=PromiseStatus.KEPT,
    )
    Promise.objects.create(
        case=cases["m3"], kind="PTP", amount_fen=30_000, due_at=dt.datetime(2026, 11, 25, 9, 0, tzinfo=SH)
    )
    Task.objects.create(
        case=cases["callback"], kind="callback", due_at=dt.datetime(2026, 11, 24, 10, 10, tzinfo=SH)
    )
    # A callback this afternoon is not due yet; a done one never is.
    Task.objects.create(case=cases["m3"], kind="callback", due_at=dt.datetime(2026, 11, 24, 14, 0, tzinfo=SH))
    Task.objects.create(
        case=cases["plain_m1"],
        kind="callback",
        due_at=dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH),
        done_at=NOW,
    )
    CaseHold.objects.create(case=cases["held"], kind="dispute", reason="客户否认欠款")
    return cases


def test_the_queue_is_ordered_by_priority_and_says_why(book: Book, worked) -> None:
    rows = queue_for_collector(user=book.alice, now=NOW)

    order = {row.case_id: label for label, case in worked.items() for row in rows if row.case_id == case.pk}
    assert [order[row.case_id] for row in rows] == [
        "promise",
        "callback",
        "overdue",
        "due_today",
        "new",
        "m3",
        "plain_m1",
        "held",
    ]
    by_label = {order[row.case_id]: row for row in rows}
    assert _texts(by_label["promise"]) == ["承诺今日到期 18:00", "M1", "逾期金额 ¥100.00"]
    assert _texts(by_label["callback"]) == ["回电到期 10:10", "M1", "逾期金额 ¥100.00"]
    assert _texts(by_label["overdue"]) == ["SLA 已超期", "M2", "逾期金额 ¥100.00"]
    assert _texts(by_label["due_today"]) == ["SLA 今日到期", "M2", "逾期金额 ¥100.00"]
    assert _texts(by_label["new"]) == ["新案", "M1", "逾期金额 ¥100.00"]
    assert _texts(by_label["held"]) == ["停催，不派发", "SLA 已超期", "M4+", "逾期金额 ¥9,000.00"]
    assert [
        by_label[label].points for label in ("promise", "callback", "overdue", "due_today", "new", "m3")
    ] == [
        1010,
        910,
        720,
        520,
        310,
        30,
    ]
    # Equal points: the larger overdue amount first.
    assert by_label["plain_m1"].points == 10 and by_label["held"].held


def test_the_queue_holds_only_the_collectors_open_cases_and_their_teams_shared_queue(book: Book) -> None:
    ensure_calendar()
    mine = _case(book.alice)
    pool = _case(None, team=book.alice.team)
    _case(book.bob)  # another collector's
    _case(None, team=book.bob.team)  # another team's shared queue
    closed = _case(book.alice)
    Case.objects.filter(pk=closed.pk).update(status=CaseStatus.CLOSED)

    rows = queue_for_collector(user=book.alice, now=NOW)

    assert {row.case_id for row in rows} == {mine.pk, pool.pk, book.case_alice.pk}
    assert [row.from_pool for row in rows if row.case_id == pool.pk] == [True]
    assert "组内公共队列" in _texts(next(row for row in rows if row.case_id == pool.pk))


def test_only_collectors_have_a_queue(book: Book) -> None:
    for user in (book.tina, book.sam, book.root, book.agnes):
        assert queue_for_collector(user=user, now=NOW) == []
        with pytest.raises(QueueRefused):
            queue_claim_next(user=user, now=NOW)


def test_the_queue_page_takes_one_query(book: Book, worked, django_assert_num_queries) -> None:
    cutoffs_cache_clear()
    with django_assert_num_queries(2):  # the calendar around today (then kept a minute), the ranked queue
        queue_for_collector(user=book.alice, now=NOW)
    with django_assert_num_queries(1):
        queue_for_collector(user=book.alice, now=NOW)


# --- next case ----------------------------------------------------------------------------------


def test_next_case_leases_the_top_case_and_moves_on(book: Book, worked) -> None:
    first = queue_claim_next(user=book.alice, now=NOW)
    second = queue_claim_next(user=book.alice, now=NOW)

    assert first is not None and second is not None
    assert (first.case_id, second.case_id) == (worked["promise"].pk, worked["callback"].pk)
    assert _codes(first)[0] == "promise_due"
    claimed = Case.objects.get(pk=first.case_id)
    assert (claimed.claimed_by_id, claimed.claimed_until) == (book.alice.pk, NOW + CLAIM_LEASE)
    # Own cases are not reassigned: no event.
    assert not CaseEvent.objects.filter(case_id=first.case_id).exists()


def test_next_case_never_hands_out_held_cases(book: Book, worked) -> None:
    handed = []
    while (row := queue_claim_next(user=book.alice, now=NOW)) is not None:
        handed.append(row.case_id)

    assert worked["held"].pk not in handed
    # Recently worked cases are skipped too, and nothing here was worked in the last 30 minutes.
    assert sorted(handed) == sorted(case.pk for label, case in worked.items() if label != "held")


def test_next_case_skips_a_case_leased_to_someone_else_until_the_lease_ends(book: Book) -> None:
    ensure_calendar()
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    case = _case(book.alice)
    Case.objects.filter(pk=case.pk).update(claimed_by=book.tina, claimed_until=NOW + dt.timedelta(minutes=5))

    assert queue_claim_next(user=book.alice, now=NOW) is None
    later = queue_claim_next(user=book.alice, now=NOW + dt.timedelta(minutes=5))
    assert later is not None and later.case_id == case.pk


def test_next_case_skips_recently_worked_cases_unless_a_callback_is_due(book: Book) -> None:
    ensure_calendar()
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    just_worked = _case(book.alice, last=NOW - dt.timedelta(minutes=10))
    callback = _case(book.alice, last=NOW - dt.timedelta(minutes=10))
    Task.objects.create(case=callback, kind="callback", due_at=NOW + dt.timedelta(minutes=5))

    first = queue_claim_next(user=book.alice, now=NOW)
    assert first is not None and first.case_id == callback.pk
    assert queue_claim_next(user=book.alice, now=NOW) is None
    Task.objects.filter(case=callback).update(done_at=NOW)
    later = queue_claim_next(user=book.alice, now=NOW + dt.timedelta(minutes=31))
    assert later is not None and later.case_id == just_worked.pk


def test_next_case_from_the_shared_queue_assigns_it_with_an_event(book: Book) -> None:
    ensure_calendar()
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    pool = _case(None, team=book.alice.team, last=None)

    row = queue_claim_next(user=book.alice, now=NOW)

    assert row is not None and row.case_id == pool.pk and row.from_pool
    pool.refresh_from_db()
    assert (pool.assigned_collector_id, pool.team_id, pool.assigned_at) == (
        book.alice.pk,
        book.alice.team_id,
        NOW,
    )
    event = CaseEvent.objects.get(case=pool)
    assert (event.kind, event.actor_id, event.to_value) == (CaseEventKind.ASSIGNED, book.alice.pk, "alice")
    assert event.data == {
        "team_id": book.alice.team_id,
        "collector_id": book.alice.pk,
        "from_team_queue": True,
    }


def test_next_case_on_an_empty_queue_is_none_and_changes_nothing(book: Book) -> None:
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    before = list(Case.objects.order_by("pk").values())

    assert queue_claim_next(user=book.alice, now=NOW) is None
    assert list(Case.objects.order_by("pk").values()) == before
    assert not CaseEvent.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_collectors_claiming_at_once_never_get_the_same_case(action_codes) -> None:
    ensure_calendar()
    team = TeamFactory(code="POOL")
    amy = UserFactory(username="amy", role=Role.COLLECTOR, team=team)
    ben = UserFactory(username="ben", role=Role.COLLECTOR, team=team)
    pool = [_case(None, team=team, last=None, overdue_fen=1_000 * (n + 1)) for n in range(12)]
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {"amy": [], "ben": []}
    errors: list[BaseException] = []

    def work(user) -> None:
        try:
            barrier.wait()
            while (row := queue_claim_next(user=user, now=NOW)) is not None:
                claimed[user.username].append(row.case_id)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in (amy, ben)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    everything = claimed["amy"] + claimed["ben"]
    assert sorted(everything) == sorted(case.pk for case in pool)  # each case exactly once
    assert len(set(everything)) == len(everything)
    owners = dict(Case.objects.filter(pk__in=everything).values_list("pk", "assigned_collector_id"))
    assert all(owners[pk] == amy.pk for pk in claimed["amy"])
    assert all(owners[pk] == ben.pk for pk in claimed["ben"])
    assert CaseEvent.objects.filter(kind=CaseEventKind.ASSIGNED).count() == len(pool)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_case_being_claimed_is_skipped_not_waited_for(action_codes) -> None:
    """Amy's claim holds the row lock of the top case; Ben, meanwhile, gets the next one at once
    (SKIP LOCKED), and after Amy commits he cannot get hers either (re-checked, now hers)."""
    ensure_calendar()
    team = TeamFactory(code="POOL")
    amy = UserFactory(username="amy", role=Role.COLLECTOR, team=team)
    ben = UserFactory(username="ben", role=Role.COLLECTOR, team=team)
    top = _case(None, team=team, last=None, overdue_fen=9_000)
    second = _case(None, team=team, last=None, overdue_fen=1_000)
    locked, release = threading.Event(), threading.Event()
    amy_got: list[int] = []

    def amy_claims() -> None:
        try:
            with transaction.atomic():
                row = queue_claim_next(user=amy, now=NOW)
                assert row is not None
                amy_got.append(row.case_id)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=amy_claims)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        ben_row = queue_claim_next(user=ben, now=NOW)
    finally:
        release.set()
        thread.join(timeout=30)

    assert amy_got == [top.pk]
    assert ben_row is not None and ben_row.case_id == second.pk
    assert queue_claim_next(user=ben, now=NOW) is None
    assert dict(
        Case.objects.filter(pk__in=[top.pk, second.pk]).values_list("pk", "assigned_collector_id")
    ) == {
        top.pk: amy.pk,
        second.pk: ben.pk,
    }


# --- pages and API --------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_queue_page_lists_rows_with_reasons_and_a_keyboard_next_button(
    client: Client, book: Book, worked
) -> None:
    client.force_login(book.alice)

    response = client.get("/cases/queue/")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'accesskey="n" autofocus' in text
    assert text.index(f'data-case="{worked["promise"].pk}"') < text.index(f'data-case="{worked["held"].pk}"')
    assert "承诺今日到期 18:00" in text and "回电到期 10:10" in text


@time_machine.travel(NOW, tick=False)
def test_next_button_redirects_to_the_case_page(client: Client, book: Book, worked) -> None:
    client.force_login(book.alice)

    response = client.post("/cases/queue/next/")

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{worked['promise'].pk}/"


@time_machine.travel(NOW, tick=False)
def test_next_button_on_an_empty_queue_comes_back_with_a_message(client: Client, book: Book) -> None:
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    client.force_login(book.alice)

    response = client.post("/cases/queue/next/", follow=True)

    assert response.redirect_chain == [("/cases/queue/", 302)]
    assert "队列里没有可以派发的案件了。" in response.content.decode()


def test_queue_pages_refuse_other_roles(client: Client, book: Book) -> None:
    for user in (book.tina, book.sam, book.agnes):
        client.force_login(user)
        assert client.get("/cases/queue/").status_code == 403
        assert client.post("/cases/queue/next/").status_code == 403
    assert not Case.objects.filter(claimed_by__isnull=False).exists()


@time_machine.travel(NOW, tick=False)
def test_api_queue_and_next(client: Client, book: Book, worked) -> None:
    client.force_login(book.alice)

    listed = client.get("/api/v1/queue")
    taken = client.post("/api/v1/queue/next")

    assert listed.status_code == 200
    first = listed.json()["items"][0]
    assert first["case_id"] == worked["promise"].pk
    assert first["reasons"][0] == {"code": "promise_due", "text": "承诺今日到期 18:00"}
    assert taken.status_code == 200
    assert taken.json()["case_id"] == worked["promise"].pk
    assert taken.json()["reasons"][0]["code"] == "promise_due"


@time_machine.travel(NOW, tick=False)
def test_api_next_on_an_empty_queue_is_204(client: Client, book: Book) -> None:
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    client.force_login(book.alice)

    response = client.post("/api/v1/queue/next")

    assert response.status_code == 204
    assert response.content == b""


def test_api_queue_refuses_other_roles(client: Client, book: Book) -> None:
    client.force_login(book.sam)

    assert client.get("/api/v1/queue").status_code == 403
    assert client.post("/api/v1/queue/next").status_code == 403
    assert not Case.objects.filter(claimed_by__isnull=False).exists()


def test_activity_rows_do_not_matter_to_the_queue_only_last_activity_at(book: Book) -> None:
    """The queue reads `Case.last_activity_at` (kept by the activity service), not Activity rows."""
    ensure_calendar()
    Case.objects.filter(pk=book.case_alice.pk).update(status=CaseStatus.CLOSED)
    case = _case(book.alice, last=None, opened_on=TODAY)
    Activity.objects.create(
        case=case,
        customer=case.customer,
        channel="call",
        direction="outbound",
        started_at=NOW - dt.timedelta(hours=1),
        connected=False,
        right_party=False,
        action_code_id="NA",
    )

    (row,) = queue_for_collector(user=book.alice, now=NOW)
    assert "new_case" in _codes(row)
