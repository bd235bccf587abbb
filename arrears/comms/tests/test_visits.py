"""Field visits: planning through the guard, recording as one visit activity, cancelling."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from arrears.accounts.models import Role
from arrears.cases.models import Activity, CaseEvent, CaseEventKind
from arrears.cases.services import ContactRefused, WorkRefused
from arrears.comms.models import Visit, VisitState
from arrears.comms.visit_selectors import visits_for_visitor_on, visits_of_case
from arrears.comms.visits import VisitDenied, VisitRefused, visit_cancel, visit_plan, visit_record
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import ContactPointFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
# A Tuesday, an ordinary working day.
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def crew(book: Book):
    """Two field collectors of team EAST (the case's team)."""
    fiona = UserFactory(username="fiona", role=Role.FIELD_COLLECTOR, team=book.alice.team)
    felix = UserFactory(username="felix", role=Role.FIELD_COLLECTOR, team=book.alice.team)
    return fiona, felix


@pytest.fixture
def case(book: Book):
    case = book.case_alice
    case.bucket_group = "M1"
    case.bucket_code = "M1-1"
    case.save()
    return case


@pytest.fixture
def home(case):
    return ContactPointFactory(
        customer=case.customer, kind="address", owner_role="self", value="北京市海淀区中关村大街1号"
    )


def plan(case, address, visitors, at, actor, **extra):
    values = dict(
        case=case,
        address=address,
        planned_at=at,
        purpose="面谈还款计划",
        visitors=visitors,
        recording_device="REC-007",
        actor=actor,
        now=NOW,
    )
    values.update(extra)
    return visit_plan(**values)


def test_a_visit_with_one_visitor_is_refused_by_h14_and_only_the_decision_is_written(
    case, home, crew, book: Book
) -> None:
    fiona, _felix = crew
    with pytest.raises(VisitDenied) as denied:
        plan(case, home, [fiona], NOW.replace(hour=14), book.alice)
    # The house pack (H14) and the cn-regulatory pack (C6) say it in the same words: once.
    assert denied.value.rules == ["C6", "H14"]
    assert denied.value.reasons == ["外访至少 2 人，本次 1 人"]
    assert (Visit.objects.count(), Activity.objects.count()) == (0, 0)
    decision = Decision.objects.get()
    assert (decision.allowed, decision.channel, decision.purpose, decision.inputs["visit"]["visitors"]) == (
        False,
        "visit",
        "check",
        1,
    )
    assert denied.value.decision.pk == decision.pk
    denial = CaseEvent.objects.get(case=case, kind=CaseEventKind.CONTACT_DENIED)
    assert denial.data["decision_id"] == decision.pk
    assert not Event.objects.filter(kind="visit.planned").exists()


def test_the_same_visitor_twice_counts_once(case, home, crew, book: Book) -> None:
    fiona, _felix = crew
    with pytest.raises(VisitDenied) as denied:
        plan(case, home, [fiona, fiona], NOW.replace(hour=14), book.alice)
    assert "H14" in denied.value.rules
    assert Visit.objects.count() == 0


def test_two_visitors_are_allowed_and_the_plan_is_an_event(case, home, crew, book: Book) -> None:
    fiona, felix = crew
    visit = plan(case, home, [fiona, felix], NOW.replace(hour=14), book.alice)
    visit.refresh_from_db()
    assert (visit.state, visit.planned_at, visit.recording_device, visit.created_by) == (
        VisitState.PLANNED,
        NOW.replace(hour=14),
        "REC-007",
        book.alice,
    )
    assert set(visit.visitors.all()) == {fiona, felix}
    assert visit.decision is not None and visit.decision.allowed
    assert visit.decision.inputs["visit"] == {"visitors": 2, "recording_device": True, "identity_shown": True}
    event = Event.objects.get(kind="visit.planned")
    assert (event.subject_id, event.actor_id, event.data["visitor_ids"]) == (
        visit.pk,
        book.alice.pk,
        sorted([fiona.pk, felix.pk]),
    )
    assert Activity.objects.count() == 0


def test_a_visit_at_22_is_refused_by_h1_with_the_next_allowed_time(case, home, crew, book: Book) -> None:
    with pytest.raises(VisitDenied) as denied:
        plan(case, home, list(crew), NOW.replace(hour=22), book.alice)
    assert "H1" in denied.value.rules
    assert denied.value.next_allowed_at == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    assert Visit.objects.count() == 0
    assert Decision.objects.filter(allowed=False).count() == 1


def test_a_protected_customers_second_visit_in_one_week_is_refused_by_h4(
    case, home, crew, book: Book
) -> None:
    customer = case.customer
    customer.protected_reason = "illness"
    customer.save()
    first = plan(case, home, list(crew), NOW.replace(hour=14), book.alice)
    # Thursday of the same week: the first visit is only planned, and still counts.
    with pytest.raises(VisitDenied) as denied:
        plan(case, home, list(crew), dt.datetime(2026, 11, 26, 10, 0, tzinfo=SH), book.alice)
    assert denied.value.rules == ["H4"]
    assert denied.value.reasons == ["受保护客户每周最多外访 1 次，本周已 1 次"]
    # Next Monday, when the contact window opens.
    assert denied.value.next_allowed_at == dt.datetime(2026, 11, 30, 8, 0, tzinfo=SH)
    assert list(Visit.objects.all()) == [first]
    # The next week is a new week.
    nxt = plan(case, home, list(crew), dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH), book.alice)
    assert nxt.state == VisitState.PLANNED


def test_a_protected_customers_recorded_visit_counts_for_the_week(case, home, crew, book: Book) -> None:
    customer = case.customer
    customer.protected_reason = "illness"
    customer.save()
    fiona, felix = crew
    first = plan(case, home, [fiona, felix], NOW.replace(hour=10), book.alice)
    later = NOW.replace(hour=12)
    visit_record(
        visit=first,
        actor=fiona,
        started_at=NOW.replace(hour=10, minute=5),
        action_code="RPC",
        outcome="见到本人",
        notes="",
        recording_ref="REC-007-0001",
        connected=True,
        right_party=True,
        now=later,
    )
    with pytest.raises(VisitDenied) as denied:
        plan(case, home, [fiona, felix], dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH), book.alice, now=later)
    assert denied.value.rules == ["H4"]
    assert Visit.objects.count() == 1


def test_a_cancelled_plan_frees_the_protected_customers_week(case, home, crew, book: Book) -> None:
    customer = case.customer
    customer.protected_reason = "pregnancy"
    customer.save()
    first = plan(case, home, list(crew), NOW.replace(hour=14), book.alice)
    visit_cancel(visit=first, actor=book.alice, reason="客户住院")
    second = plan(case, home, list(crew), dt.datetime(2026, 11, 26, 10, 0, tzinfo=SH), book.alice)
    assert second.state == VisitState.PLANNED
    assert Event.objects.get(kind="visit.cancelled").data == {"case_id": case.pk, "reason": "客户住院"}


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("planned_at", {"at": NOW - dt.timedelta(minutes=1)}),
        ("planned_at", {"at": dt.datetime(2026, 11, 24, 14, 0)}),  # naive
        ("purpose", {"purpose": "  "}),
        ("purpose", {"purpose": "x" * 301}),
        ("recording_device", {"recording_device": ""}),
    ],
)
def test_bad_plans_are_refused_before_the_guard(case, home, crew, book: Book, field, changes) -> None:
    at = changes.pop("at", NOW.replace(hour=14))
    with pytest.raises(VisitRefused) as refused:
        plan(case, home, list(crew), at, book.alice, **changes)
    assert refused.value.field == field
    assert (Visit.objects.count(), Decision.objects.count()) == (0, 0)


def test_the_address_must_be_an_address_of_the_cases_customer(case, home, crew, book: Book) -> None:
    mobile = ContactPointFactory(customer=case.customer, kind="mobile")
    elsewhere = ContactPointFactory(
        customer=book.case_bob.customer, kind="address", value="上海市浦东新区某路2号"
    )
    for address in (mobile, elsewhere):
        with pytest.raises(VisitRefused) as refused:
            plan(case, address, list(crew), NOW.replace(hour=14), book.alice)
        assert refused.value.field == "address"
    assert (Visit.objects.count(), Decision.objects.count()) == (0, 0)


def test_visitors_must_be_active_field_staff(case, home, crew, book: Book) -> None:
    fiona, felix = crew
    felix.is_active = False
    felix.save()
    for others in ([felix], [book.agnes], [book.sam]):
        with pytest.raises(VisitRefused) as refused:
            plan(case, home, [fiona, *others], NOW.replace(hour=14), book.alice)
        assert refused.value.field == "visitors"
    assert (Visit.objects.count(), Decision.objects.count()) == (0, 0)
    # A collector (the customer's own) and a team leader may go along (seed 000 §8(三)).
    visit = plan(case, home, [book.alice, book.tina], NOW.replace(hour=14), book.alice)
    assert set(visit.visitors.all()) == {book.alice, book.tina}


def _recorded(visit, actor, **extra):
    values = dict(
        visit=visit,
        actor=actor,
        started_at=NOW.replace(hour=14, minute=10),
        action_code="RPC",
        outcome="见到本人，同意月底前还款",
        notes="客户在家，态度配合",
        recording_ref="REC-007-0001",
        connected=True,
        right_party=True,
        now=NOW.replace(hour=16),
    )
    values.update(extra)
    return visit_record(**values)


def test_recording_a_visit_logs_exactly_one_visit_activity(case, home, crew, book: Book) -> None:
    fiona, felix = crew
    visit = plan(case, home, [fiona, felix], NOW.replace(hour=14), book.alice)
    recorded = _recorded(visit, felix)
    activity = Activity.objects.get()
    assert (activity.channel, activity.recording_ref, activity.contact_point, activity.actor) == (
        "visit",
        "REC-007-0001",
        home,
        felix,
    )
    assert activity.notes == "见到本人，同意月底前还款\n\n客户在家，态度配合"
    assert activity.decision is not None and activity.decision.inputs["visit"]["visitors"] == 2
    visit.refresh_from_db()
    assert (visit.state, visit.outcome, visit.activity, visit.recorded_at) == (
        VisitState.DONE,
        "见到本人，同意月底前还款",
        activity,
        NOW.replace(hour=16),
    )
    assert recorded.state == VisitState.DONE
    assert Event.objects.get(kind="visit.recorded").data["activity_id"] == activity.pk
    # Recording it again is refused and logs nothing more.
    with pytest.raises(VisitRefused) as refused:
        _recorded(visit, fiona)
    assert refused.value.field == "state"
    assert Activity.objects.count() == 1


def test_only_a_visitor_or_a_supervisor_records(case, home, crew, book: Book) -> None:
    visit = plan(case, home, list(crew), NOW.replace(hour=14), book.alice)
    for outsider in (book.alice, book.tina, book.bob):
        with pytest.raises(VisitRefused) as refused:
            _recorded(visit, outsider)
        assert refused.value.field == "actor"
    assert Activity.objects.count() == 0
    _recorded(visit, book.sam)
    assert Activity.objects.get().actor == book.sam


def test_a_refused_record_leaves_the_visit_planned_with_the_decision_stored(
    case, home, crew, book: Book
) -> None:
    fiona, felix = crew
    visit = plan(case, home, [fiona, felix], NOW.replace(hour=14), book.alice)
    planned_decisions = Decision.objects.count()
    # Said at 21:30: outside the contact window (H1), and a prohibited word in the notes.
    with pytest.raises(ContactRefused) as refused:
        _recorded(
            visit,
            fiona,
            started_at=NOW.replace(hour=21, minute=30),
            notes="再不还就去你单位闹",
            now=NOW.replace(hour=22),
        )
    assert "H1" in {v["rule"] for v in refused.value.decision.result["violations"]}
    assert Decision.objects.count() == planned_decisions + 1
    assert Activity.objects.count() == 0
    visit.refresh_from_db()
    assert (visit.state, visit.activity) == (VisitState.PLANNED, None)
    assert CaseEvent.objects.filter(kind=CaseEventKind.CONTACT_DENIED).count() == 1
    # Bad input (an unknown code) is a WorkRefused, and nothing is written at all.
    with pytest.raises(WorkRefused):
        _recorded(visit, fiona, action_code="NOPE")
    assert Decision.objects.count() == planned_decisions + 1


def test_cancel_needs_a_reason_and_a_planned_visit(case, home, crew, book: Book) -> None:
    visit = plan(case, home, list(crew), NOW.replace(hour=14), book.alice)
    with pytest.raises(VisitRefused) as refused:
        visit_cancel(visit=visit, actor=book.alice, reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(VisitRefused) as refused:
        visit_cancel(visit=visit, actor=book.bob, reason="不是我的")
    assert refused.value.field == "actor"
    visit_cancel(visit=visit, actor=book.alice, reason="改期")
    assert Visit.objects.get().state == VisitState.CANCELLED
    with pytest.raises(VisitRefused) as refused:
        visit_cancel(visit=visit, actor=book.alice, reason="再次取消")
    assert refused.value.field == "state"
    with pytest.raises(VisitRefused):
        _recorded(visit, crew[0])
    assert Event.objects.filter(kind="visit.cancelled").count() == 1


def test_todays_list_shows_exactly_the_visitors_visits_of_the_local_day(case, home, crew, book: Book) -> None:
    fiona, felix = crew
    other = ContactPointFactory(
        customer=book.case_bob.customer, kind="address", value="上海市浦东新区世纪大道8号"
    )
    late = plan(case, home, [fiona, felix], NOW.replace(hour=16), book.alice)
    early = plan(book.case_bob, other, [fiona, book.bob], NOW.replace(hour=10), book.bob)
    plan(case, home, [felix, book.tina], NOW.replace(hour=11), book.alice)  # fiona does not go
    plan(case, home, [fiona, felix], dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH), book.alice)  # tomorrow
    cancelled = plan(case, home, [fiona, felix], NOW.replace(hour=12), book.alice)
    visit_cancel(visit=cancelled, actor=book.alice, reason="改期")
    lines = visits_for_visitor_on(user=fiona, day=dt.date(2026, 11, 24))
    assert [line.visit for line in lines] == [early, late]
    assert [(line.case_id, line.customer_name, line.address_masked) for line in lines] == [
        (book.case_bob.pk, book.case_bob.customer.name, "上海市浦东新****"),
        (case.pk, case.customer.name, "北京市海淀区****"),
    ]
    assert lines[1].visitor_names == ["felix", "fiona"]
    assert [line.visit for line in visits_for_visitor_on(user=book.tina, day=dt.date(2026, 11, 24))] == [
        Visit.objects.get(planned_at=NOW.replace(hour=11))
    ]
    assert len(visits_of_case(case=case)) == 4


def test_the_day_list_costs_two_queries_however_many_visits(
    case, home, crew, book: Book, django_assert_num_queries
) -> None:
    fiona, felix = crew
    for hour in (10, 11, 14, 15):
        plan(case, home, [fiona, felix, book.tina][: 2 + hour % 2], NOW.replace(hour=hour), book.alice)
    # The visits with their case, customer and address; then the visitors (prefetched).
    with django_assert_num_queries(2):
        lines = visits_for_visitor_on(user=fiona, day=dt.date(2026, 11, 24))
    assert len(lines) == 4
