"""The case page as a workspace: live compliance status, logging with htmx, holds, contact
facts, protection, tasks — and who may do what (collector on own case, leaders in scope,
oversight roles read-only)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from arrears.accounts.models import Role
from arrears.cases.models import Activity, CaseEvent, CaseEventKind, CaseHold, CaseStatus, Promise, Task
from arrears.cases.services import hold_place, task_create
from arrears.compliance.models import Decision
from arrears.conftest import Book
from arrears.delinquency.tests.books import ensure_calendar
from arrears.portfolio.models import ContactPoint
from arrears.tests.factories import ContactPointFactory, UserFactory

# Migrations seed the action codes and the calendar, but a transactional test's flush (the
# browser tests) empties them for the tests after it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes", "calendar")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 24 November 2026, a working day: 10:30 and 21:35 in Shanghai.
MORNING = dt.datetime(2026, 11, 24, 10, 30, tzinfo=SHANGHAI)
NIGHT = dt.datetime(2026, 11, 24, 21, 35, tzinfo=SHANGHAI)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    translation.deactivate()


@pytest.fixture
def calendar(db: None) -> None:
    ensure_calendar()


@pytest.fixture(autouse=True)
def clock():
    """Every test starts on Tuesday morning in Shanghai; log in after moving the clock (sessions
    expire after 30 idle minutes)."""
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def phone(book: Book) -> ContactPoint:
    case = book.case_alice
    case.bucket_code, case.bucket_group = "M1-1", "M1"
    case.save(update_fields=["bucket_code", "bucket_group"])
    return ContactPointFactory(customer=case.customer, kind="mobile", owner_role="self", value="13812345678")


def _log(client: Client, case_id: int, **fields: str) -> str:
    data = {
        "channel": "call",
        "direction": "outbound",
        "started_at": "2026-11-24T10:00",
        "connected": "on",
        "right_party": "on",
        "action_code": "RPC",
        "notes": "",
        **fields,
    }
    response = client.post(f"/cases/{case_id}/activities/", data, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


# --- the page -----------------------------------------------------------------------------------


def test_page_shows_each_contact_point_may_be_called_now(client: Client, book: Book, phone: ContactPoint):
    client.force_login(book.alice)

    html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()

    assert f'data-testid="point-{phone.pk}"' in html
    assert '<td class="font-monospace">138****5678</td>' in html
    assert '<span class="badge text-bg-success fs-6" data-testid="status">可以拨打</span>' in html
    # The log form: time defaults to now on the debtor's clock, the zone is named.
    assert 'value="2026-11-24T10:30"' in html
    assert "客户当地时间 Asia/Shanghai" in html
    assert f'hx-post="/cases/{book.case_alice.pk}/activities/"' in html
    # Only codes a person may log: BP and KP are the batch's.
    assert '<option value="PTP" data-category="promise">PTP 承诺还款</option>' in html
    assert 'value="BP"' not in html and 'value="KP"' not in html
    # Choosing a contact point picks its usual channel (workspace.js reads data-channel).
    assert f'<option value="{phone.pk}" data-channel="call">手机 · 本人 · 138****5678</option>' in html
    assert "13812345678" not in html


def test_page_at_night_says_why_a_call_is_blocked_and_when_it_is_allowed(
    clock, client: Client, book: Book, phone: ContactPoint
):
    clock.move_to(NIGHT)
    client.force_login(book.alice)

    html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()

    assert '<span class="badge text-bg-danger fs-6" data-testid="status">暂不可拨打</span>' in html
    assert "当地时间 21:35 CST 不在联系时段 08:00–21:00 内" in html
    assert '<div data-testid="status-next">最早可联系：2026-11-25 08:00（客户当地时间）</div>' in html
    # A live status is a preview: nothing is stored.
    assert Decision.objects.count() == 0


def test_page_shows_do_not_contact_and_invalid_points_as_blocked(
    client: Client, book: Book, phone: ContactPoint
):
    phone.do_not_contact, phone.do_not_contact_reason = True, "第三方拒绝"
    phone.do_not_contact_since = dt.date(2026, 11, 20)
    phone.save()
    client.force_login(book.alice)

    html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()

    assert "暂不可拨打" in html
    assert "该联系方式已标记为勿扰（第三方拒绝）" in html
    assert '<div class="text-body-secondary" data-testid="status-next">不会自动解除</div>' in html


def test_a_number_opted_out_of_sms_is_marked_but_may_still_be_called(
    client: Client, book: Book, phone: ContactPoint
):
    phone.opted_out_channels = ["sms"]
    phone.save()
    client.force_login(book.alice)

    html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()

    assert '<span class="badge text-bg-warning" data-testid="opted-out-sms">短信已退订</span>' in html
    assert 'data-testid="opted-out-email"' not in html
    assert "暂不可拨打" not in html


# --- logging ------------------------------------------------------------------------------------


def test_logging_a_ptp_stores_activity_and_promise_and_refreshes_the_panels(
    client: Client, book: Book, phone: ContactPoint
):
    case = book.case_alice
    client.force_login(book.alice)

    html = _log(
        client,
        case.pk,
        contact_point=str(phone.pk),
        action_code="PTP",
        promise_amount="1234.56",
        promise_due_at="2026-11-25T18:00",
        notes="客户答应明天还",
        duration_s="95",
        recording_ref="REC-1",
    )

    activity = Activity.objects.get(case=case)
    assert (activity.action_code_id, activity.channel, activity.direction) == ("PTP", "call", "outbound")
    assert activity.started_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    assert (activity.notes, activity.duration_s, activity.recording_ref) == ("客户答应明天还", 95, "REC-1")
    assert activity.actor == book.alice and activity.decision is not None
    promise = Promise.objects.get(case=case)
    assert (promise.kind, promise.amount_fen) == ("PTP", 123456)
    assert promise.due_at == dt.datetime(2026, 11, 25, 18, 0, tzinfo=SHANGHAI)
    assert promise.activity == activity
    # Every panel comes back to be swapped in by its id.
    for panel in ("work-log", "work-contacts", "work-history", "work-promises", "work-tasks", "work-holds"):
        assert f'id="{panel}"' in html and 'hx-swap-oob="true"' in html, panel
    assert '<div class="alert alert-success py-2" role="status" data-testid="logged">' in html
    assert "已记录：PTP 承诺还款，2026-11-24 10:00" in html
    assert f'data-testid="promise-{promise.pk}"' in html
    assert '<span class="num fw-semibold" data-testid="promise-amount">1,234.56</span>' in html
    assert f'data-testid="activity-{activity.pk}"' in html
    # The follow-up one hour before the promise appears among the tasks.
    assert "承诺跟进" in html


def test_logging_at_night_is_refused_with_the_reason_and_nothing_is_logged(
    clock, client: Client, book: Book, phone: ContactPoint
):
    case = book.case_alice
    clock.move_to(NIGHT)
    client.force_login(book.alice)

    html = _log(
        client,
        case.pk,
        contact_point=str(phone.pk),
        started_at="2026-11-24T21:30",
        action_code="PTP",
        promise_amount="100",
        promise_due_at="2026-11-25T18:00",
    )

    assert Activity.objects.count() == 0
    assert Promise.objects.count() == 0
    assert Task.objects.count() == 0
    assert '<div class="fw-semibold">合规拦截：未记录</div>' in html
    assert "当地时间 21:30 CST 不在联系时段 08:00–21:00 内" in html
    assert '<div data-testid="refusal-next">最早可联系：2026-11-25 08:00（客户当地时间）</div>' in html
    # The form keeps what was typed, so the collector can correct the time.
    assert 'value="2026-11-24T21:30"' in html
    # The refusal is evidence: a stored decision and a case event.
    decision = Decision.objects.get()
    assert not decision.allowed and decision.purpose == "activity"
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.CONTACT_DENIED).count() == 1


def test_notes_with_prohibited_words_are_refused_with_the_words_marked(
    client: Client, book: Book, phone: ContactPoint
):
    client.force_login(book.alice)

    html = _log(
        client,
        book.case_alice.pk,
        contact_point=str(phone.pk),
        notes="<b>客户</b>说我们是白痴，再不还我们会去法院抓你",
    )

    assert Activity.objects.count() == 0
    assert "包含禁用语：白痴、法院、抓你" in html
    assert "不得使用行政或司法机关名义：法院" in html
    assert (
        '<div class="marked-notes border rounded p-2 bg-body" data-testid="marked-notes">'
        "&lt;b&gt;客户&lt;/b&gt;说我们是<mark>白痴</mark>，再不还我们会去<mark>法院</mark><mark>抓你</mark></div>"
    ) in html
    assert "<b>客户</b>" not in html


def test_a_service_refusal_is_shown_next_to_its_field(client: Client, book: Book, phone: ContactPoint):
    client.force_login(book.alice)

    html = _log(
        client,
        book.case_alice.pk,
        contact_point=str(phone.pk),
        action_code="PTP",
        promise_amount="100",
        promise_due_at="2026-11-24T09:00",
    )

    assert Activity.objects.count() == 0 and Promise.objects.count() == 0
    assert Decision.objects.count() == 0
    assert (
        '<div class="invalid-feedback d-block" data-testid="error-promise_due_at">'
        "承诺时间已过，请填写将来的日期和时间。</div>"
    ) in html


def test_a_ptp_needs_an_amount_in_yuan_with_at_most_two_decimals(
    client: Client, book: Book, phone: ContactPoint
):
    client.force_login(book.alice)

    missing = _log(client, book.case_alice.pk, contact_point=str(phone.pk), action_code="PTP")
    fractional = _log(
        client,
        book.case_alice.pk,
        contact_point=str(phone.pk),
        action_code="PTP",
        promise_amount="12.345",
        promise_due_at="2026-11-25T18:00",
    )
    negative = _log(
        client,
        book.case_alice.pk,
        contact_point=str(phone.pk),
        action_code="PTP",
        promise_amount="-5",
        promise_due_at="2026-11-25T18:00",
    )

    assert Activity.objects.count() == 0 and Promise.objects.count() == 0
    assert 'data-testid="error-promise_amount">请填写承诺金额（元）。</div>' in missing
    assert 'data-testid="error-promise_due_at">请填写承诺还款时间。</div>' in missing
    # An invalid form shows the promise fields it complains about.
    assert '<div class="col-12 row g-2 m-0 p-0" data-promise-fields>' in missing
    assert 'data-testid="error-promise_amount">确认小数不超过 2 位.</div>' in fractional
    assert 'data-testid="error-promise_amount">确保该值大于或等于0.01。</div>' in negative


def test_a_contact_point_is_required_and_must_be_the_customers(
    client: Client, book: Book, phone: ContactPoint
):
    stranger = ContactPointFactory(customer=book.case_bob.customer, value="13700000000")
    client.force_login(book.alice)

    missing = _log(client, book.case_alice.pk)
    foreign = _log(client, book.case_alice.pk, contact_point=str(stranger.pk))

    assert Activity.objects.count() == 0
    assert 'data-testid="error-contact_point">请选择联系方式。</div>' in missing
    assert 'data-testid="error-contact_point">选择一个有效的选项： 该选择不在可用的选项中。</div>' in foreign


def test_an_inbound_call_at_night_is_logged(clock, client: Client, book: Book, phone: ContactPoint):
    clock.move_to(NIGHT)
    client.force_login(book.alice)

    html = _log(
        client,
        book.case_alice.pk,
        contact_point=str(phone.pk),
        direction="inbound",
        started_at="2026-11-24T21:30",
    )

    activity = Activity.objects.get()
    assert activity.direction == "inbound" and activity.decision is None
    assert "已记录：RPC 本人接通，2026-11-24 21:30" in html


def test_a_callback_time_makes_a_task(client: Client, book: Book, phone: ContactPoint):
    client.force_login(book.alice)

    html = _log(
        client,
        book.case_alice.pk,
        contact_point=str(phone.pk),
        action_code="NA",
        connected="",
        right_party="",
        callback_at="2026-11-24T15:00",
    )

    task = Task.objects.get()
    assert task.kind == "callback" and task.due_at == dt.datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)
    assert f'data-testid="task-{task.pk}"' in html


# --- history ------------------------------------------------------------------------------------


def test_history_merges_activities_and_events_newest_first_and_searches(
    clock, client: Client, book: Book, phone: ContactPoint
):
    case = book.case_alice
    client.force_login(book.alice)
    _log(
        client,
        case.pk,
        contact_point=str(phone.pk),
        action_code="NA",
        connected="",
        right_party="",
        notes="无人接听一次",
    )
    _log(client, case.pk, contact_point=str(phone.pk), started_at="2026-11-24T10:20", notes="客户说下周还")
    CaseEvent.objects.create(case=case, kind=CaseEventKind.ASSIGNED, to_value="alice", actor=book.sam)
    first, second = Activity.objects.order_by("started_at")

    clock.move_to(MORNING + dt.timedelta(minutes=5))
    page = client.get(f"/cases/{case.pk}/").content.decode()
    found = client.get(f"/cases/{case.pk}/history/", {"q": "下周"}, **HTMX).content.decode()
    by_code = client.get(f"/cases/{case.pk}/history/", {"q": "na"}, **HTMX).content.decode()
    nothing = client.get(f"/cases/{case.pk}/history/", {"q": "没有这个"}, **HTMX).content.decode()

    assert (
        page.index("<td>分案</td>") < page.index(f"activity-{second.pk}") < page.index(f"activity-{first.pk}")
    )
    # An activity is one line, not also its own "催收记录" event.
    assert "<td>催收记录</td>" not in page
    assert found.lstrip().startswith('<div class="table-responsive" id="work-history"')
    assert f"activity-{second.pk}" in found and f"activity-{first.pk}" not in found
    assert f"activity-{first.pk}" in by_code and f"activity-{second.pk}" not in by_code
    assert "没有匹配的记录" in nothing


# --- holds, contact points, protection, tasks ------------------------------------------------


def test_placing_and_releasing_a_hold(client: Client, book: Book, phone: ContactPoint):
    case = book.case_alice
    client.force_login(book.alice)

    placed = client.post(f"/cases/{case.pk}/holds/", {"kind": "dispute", "reason": "客户称金额不对"}, **HTMX)
    hold = CaseHold.objects.get(case=case)
    released = client.post(f"/cases/{case.pk}/holds/{hold.pk}/release/", {"note": "核实无误"}, **HTMX)

    placed_html = placed.content.decode()
    assert f'data-testid="hold-{hold.pk}"' in placed_html
    assert "案件停催中" in placed_html  # the contact status now says why calling is blocked
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.release_note == "核实无误"
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert 'data-testid="no-holds"' in released.content.decode()


def test_a_hold_without_reason_is_refused(client: Client, book: Book):
    client.force_login(book.alice)

    html = client.post(f"/cases/{book.case_alice.pk}/holds/", {"kind": "dispute", "reason": ""}, **HTMX)

    assert CaseHold.objects.count() == 0
    assert 'data-testid="error-reason">这个字段是必填项。</div>' in html.content.decode()


def test_marking_a_contact_point_do_not_contact_needs_a_reason(
    client: Client, book: Book, phone: ContactPoint
):
    url = f"/cases/{book.case_alice.pk}/contact-points/{phone.pk}/"
    client.force_login(book.alice)

    refused = client.post(url, {"action": "do_not_contact", "reason": ""}, **HTMX).content.decode()
    phone.refresh_from_db()
    assert not phone.do_not_contact
    marked = client.post(url, {"action": "do_not_contact", "reason": "第三方拒绝"}, **HTMX).content.decode()

    assert '<div class="col-12 text-danger small" role="alert" data-testid="point-error">' in refused
    assert "标记勿扰须填写原因（例如：第三方拒绝、已退订）。" in refused
    phone.refresh_from_db()
    assert phone.do_not_contact and phone.do_not_contact_reason == "第三方拒绝"
    assert "该联系方式已标记为勿扰（第三方拒绝）" in marked


def test_marking_a_wrong_number_invalidates_it(client: Client, book: Book, phone: ContactPoint):
    client.force_login(book.alice)

    html = client.post(
        f"/cases/{book.case_alice.pk}/contact-points/{phone.pk}/",
        {"action": "invalid", "reason": "错号"},
        **HTMX,
    ).content.decode()

    phone.refresh_from_db()
    assert not phone.is_valid
    assert "该联系方式已失效（错号或空号）" in html
    assert CaseEvent.objects.filter(kind=CaseEventKind.CONTACT_POINT_CHANGED).count() == 1


def test_setting_and_clearing_protection(client: Client, book: Book):
    customer = book.case_alice.customer
    client.force_login(book.alice)

    protected = client.post(
        f"/cases/{book.case_alice.pk}/protection/", {"protected_reason": "pregnancy"}, **HTMX
    )
    customer.refresh_from_db()
    assert customer.protected_reason == "pregnancy"
    assert "受保护客户：孕期" in protected.content.decode()

    cleared = client.post(f"/cases/{book.case_alice.pk}/protection/", {"protected_reason": ""}, **HTMX)
    customer.refresh_from_db()
    assert customer.protected_reason == ""
    assert 'data-testid="not-protected"' in cleared.content.decode()


def test_marking_a_task_done(client: Client, book: Book):
    case = book.case_alice
    task = task_create(case=case, actor=book.alice, kind="callback", due_at=MORNING + dt.timedelta(hours=2))
    client.force_login(book.alice)

    html = client.post(f"/cases/{case.pk}/tasks/{task.pk}/done/", **HTMX).content.decode()

    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == book.alice
    assert 'data-testid="no-tasks"' in html


# --- who may do what ----------------------------------------------------------------------------


def _posts(case_id: int, point_id: int, hold_id: int, task_id: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/cases/{case_id}/activities/", {"channel": "call", "direction": "outbound", "action_code": "RPC"}),
        (f"/cases/{case_id}/holds/", {"kind": "dispute", "reason": "x"}),
        (f"/cases/{case_id}/holds/{hold_id}/release/", {}),
        (f"/cases/{case_id}/tasks/{task_id}/done/", {}),
        (f"/cases/{case_id}/contact-points/{point_id}/", {"action": "invalid"}),
        (f"/cases/{case_id}/protection/", {"protected_reason": "illness"}),
    ]


@pytest.mark.parametrize("role", [Role.QA, Role.COMPLIANCE_OFFICER])
def test_oversight_roles_read_the_page_without_forms_and_cannot_post(
    client: Client, book: Book, phone: ContactPoint, role: str
):
    case = book.case_alice
    hold = hold_place(case=case, actor=book.alice, kind="complaint", reason="投诉")
    task = task_create(case=case, actor=book.alice, kind="callback", due_at=MORNING)
    client.force_login(UserFactory(username=f"ro-{role}", role=role))
    before = (
        Activity.objects.count(),
        CaseHold.objects.filter(released_at__isnull=True).count(),
        CaseEvent.objects.count(),
    )

    page = client.get(f"/cases/{case.pk}/").content.decode()
    statuses = [
        client.post(url, data, **HTMX).status_code
        for url, data in _posts(case.pk, phone.pk, hold.pk, task.pk)
    ]

    assert 'data-testid="read-only"' in page
    for form in (
        "log-form",
        "hold-form",
        "protection-form",
        f"point-form-{phone.pk}",
        f"task-done-{task.pk}",
    ):
        assert form not in page, form
    assert f"hold-release-{hold.pk}" not in page
    assert statuses == [403] * 6
    after = (
        Activity.objects.count(),
        CaseHold.objects.filter(released_at__isnull=True).count(),
        CaseEvent.objects.count(),
    )
    assert after == before
    phone.refresh_from_db()
    task.refresh_from_db()
    assert phone.is_valid and task.done_at is None and case.customer.protected_reason == ""


def test_a_collector_of_another_case_gets_404_and_changes_nothing(
    client: Client, book: Book, phone: ContactPoint
):
    case = book.case_alice
    hold = hold_place(case=case, actor=book.alice, kind="complaint", reason="投诉")
    task = task_create(case=case, actor=book.alice, kind="callback", due_at=MORNING)
    client.force_login(book.bob)
    events = CaseEvent.objects.count()

    statuses = [
        client.post(url, data, **HTMX).status_code
        for url, data in _posts(case.pk, phone.pk, hold.pk, task.pk)
    ]

    assert statuses == [404] * 6
    assert client.get(f"/cases/{case.pk}/history/").status_code == 404
    assert client.get(f"/cases/{case.pk}/statuses/").status_code == 404
    assert CaseEvent.objects.count() == events


def test_objects_of_another_case_are_404_even_on_ones_own_case(
    client: Client, book: Book, phone: ContactPoint
):
    other_hold = hold_place(case=book.case_bob, actor=book.bob, kind="complaint", reason="投诉")
    other_task = task_create(case=book.case_bob, actor=book.bob, kind="callback", due_at=MORNING)
    other_point = ContactPointFactory(customer=book.case_bob.customer, value="13700000001")
    client.force_login(book.alice)
    own = book.case_alice.pk

    assert client.post(f"/cases/{own}/holds/{other_hold.pk}/release/", **HTMX).status_code == 404
    assert client.post(f"/cases/{own}/tasks/{other_task.pk}/done/", **HTMX).status_code == 404
    assert (
        client.post(
            f"/cases/{own}/contact-points/{other_point.pk}/", {"action": "invalid"}, **HTMX
        ).status_code
        == 404
    )
    other_hold.refresh_from_db()
    other_task.refresh_from_db()
    other_point.refresh_from_db()
    assert other_hold.released_at is None and other_task.done_at is None and other_point.is_valid


@pytest.mark.parametrize("persona", ["tina", "sam", "root"])
def test_leaders_in_scope_work_the_case(client: Client, book: Book, phone: ContactPoint, persona: str):
    client.force_login(getattr(book, persona))

    page = client.get(f"/cases/{book.case_alice.pk}/").content.decode()
    html = _log(client, book.case_alice.pk, contact_point=str(phone.pk))

    assert 'data-testid="log-form"' in page
    assert Activity.objects.get().actor == getattr(book, persona)
    assert "已记录：RPC 本人接通" in html


def test_a_closed_case_offers_no_logging(client: Client, book: Book, phone: ContactPoint):
    case = book.case_alice
    case.status = CaseStatus.CLOSED
    case.save(update_fields=["status"])
    client.force_login(book.alice)

    page = client.get(f"/cases/{case.pk}/").content.decode()

    assert "案件已结案，不能再记录。" in page
    assert 'data-testid="log-form"' not in page


def test_workspace_pages_in_english(clock, client: Client, book: Book, phone: ContactPoint):
    clock.move_to(NIGHT)
    client.force_login(book.alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    page = client.get(f"/cases/{book.case_alice.pk}/").content.decode()

    assert 'id="events-title">Case history</div>' in page
    assert '<div class="card-header fw-semibold" id="log-title">Log a contact</div>' in page
    assert '<span class="badge text-bg-danger fs-6" data-testid="status">Do not call now</span>' in page
    assert "Allowed from: 2026-11-25 08:00 (customer's local time)" in page


# --- marking words ------------------------------------------------------------------------------


def test_marking_escapes_the_text_and_merges_overlapping_findings():
    from arrears.cases.views import mark_findings

    text = "a<b>法院抓你&c"
    findings = [
        {"start": 4, "end": 6},  # 法院
        {"start": 5, "end": 8},  # 院抓你, overlaps
        {"start": 20, "end": 22},  # outside the text (notes changed since): ignored
    ]

    assert mark_findings(text, findings) == "a&lt;b&gt;<mark>法院抓你</mark>&amp;c"
    assert mark_findings(text, []) == "a&lt;b&gt;法院抓你&amp;c"
