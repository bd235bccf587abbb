"""The case page's messages panel: exactly the case's messages with their states and the
guard's reasons; the send form queues one system message from an approved template, refuses
what does not fit on the field with nothing written; scope (404) and read-only roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from arrears.accounts.models import Role
from arrears.cases.services import SentMessage, sent_messages_record
from arrears.comms.models import (
    Message,
    MessageEvent,
    MessageEventKind,
    MessageSource,
    MessageState,
)
from arrears.comms.tests.case_message_helpers import H1_TEXT, NOW, SHANGHAI, Setup, blocked, queued, setup
from arrears.comms.tests.outbox_helpers import approved_template
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import ContactPointFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield
    translation.deactivate()


@pytest.fixture
def points(book: Book) -> Setup:
    return setup(book)


def _rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-testid="message-(\d+)"', html)]


def _panel(client: Client, case_id: int) -> str:
    response = client.get(f"/comms/cases/{case_id}/messages/", **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def _post(client: Client, case_id: int, **data: object) -> object:
    return client.post(f"/comms/cases/{case_id}/messages/send/", data, **HTMX)


def _row(html: str, pk: int) -> str:
    match = re.search(rf'<tr data-testid="message-{pk}">(.*?)</tr>', html, re.S)
    assert match is not None
    return match.group(1)


# --- the list -------------------------------------------------------------------------------------


def test_the_panel_lists_exactly_the_case_messages_newest_first_with_states_and_reasons(
    client: Client, book: Book, points: Setup
) -> None:
    earlier = NOW - dt.timedelta(hours=14)
    first = queued(book.case_alice, points.mobile, points.sms, at=earlier)
    stopped = blocked(queued(book.case_alice, points.mobile, points.sms, at=earlier), at=earlier)
    mail = queued(book.case_alice, points.email, points.email_template, at=NOW)
    bob_point = ContactPointFactory(customer=book.case_bob.customer, kind="mobile", owner_role="self")
    other = queued(book.case_bob, bob_point, points.sms, at=NOW)
    client.force_login(book.alice)

    html = _panel(client, book.case_alice.pk)

    assert _rows(html) == [mail.pk, stopped.pk, first.pk]
    assert other.pk not in _rows(html)
    row = _row(html, stopped.pk)
    assert "已拦截" in row and "text-bg-warning" in row
    assert "合规拦截" in row  # the last event's kind
    assert H1_TEXT in row and ">H1<" in row
    row = _row(html, mail.pk)
    assert "排队中" in row and "NOTICE_MAIL v1" in row and "邮件" in row
    assert "zhangsan@example.com" not in html  # contact values are masked
    assert "13812345678" not in html and "5678" in _row(html, first.pk)
    # On the debtor's clock: 20:30 the evening before, and now.
    assert "2026-11-23 20:30" in _row(html, first.pk)
    assert "2026-11-24 10:30" in _row(html, mail.pk)
    assert 'data-testid="message-form"' in html


def test_the_reasons_are_in_the_reader_s_language(client: Client, book: Book, points: Setup) -> None:
    stopped = blocked(queued(book.case_alice, points.mobile, points.sms, at=NOW), at=NOW)
    client.force_login(book.alice)
    response = client.get(f"/comms/cases/{book.case_alice.pk}/messages/", HTTP_ACCEPT_LANGUAGE="en", **HTMX)
    row = _row(response.content.decode(), stopped.pk)
    assert "Local time 21:35 is outside the contact window 08:00–21:00" in row
    assert H1_TEXT not in row


def test_the_panel_costs_the_same_however_many_messages(
    client: Client, book: Book, points: Setup, django_assert_num_queries
) -> None:
    for _ in range(3):
        blocked(queued(book.case_alice, points.mobile, points.sms, at=NOW), at=NOW)
    client.force_login(book.alice)
    _panel(client, book.case_alice.pk)  # warm the session
    # session, user, case, the points (channels offered), messages, last events, the form's
    # templates and points, and the session's idle stamp (a savepoint, the update, its release)
    with django_assert_num_queries(11):
        _panel(client, book.case_alice.pk)
    for _ in range(5):
        queued(book.case_alice, points.email, points.email_template, at=NOW)
    with django_assert_num_queries(11):
        html = _panel(client, book.case_alice.pk)
    assert len(_rows(html)) == 8


def test_the_panel_shows_twenty_messages_at_most(client: Client, book: Book, points: Setup) -> None:
    made = [queued(book.case_alice, points.mobile, points.sms, at=NOW).pk for _ in range(22)]
    client.force_login(book.alice)
    assert _rows(_panel(client, book.case_alice.pk)) == made[::-1][:20]


def test_the_case_page_loads_the_panel(client: Client, book: Book) -> None:
    client.force_login(book.alice)
    html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()
    assert f'hx-get="/comms/cases/{book.case_alice.pk}/messages/"' in html
    assert 'hx-trigger="load"' in html


def test_a_sent_message_is_a_system_line_in_the_case_history(
    client: Client, book: Book, points: Setup
) -> None:
    [activity_id] = sent_messages_record(
        messages=[
            SentMessage(
                case_id=book.case_alice.pk,
                customer_id=book.case_alice.customer_id,
                contact_point_id=points.mobile.pk,
                channel="sms",
                sent_at=NOW,
                notes="[COLLECT_D3 v1] 张三您好",
                decision_id=None,
            )
        ]
    )
    client.force_login(book.alice)
    html = client.get(f"/cases/{book.case_alice.pk}/").content.decode()
    row = re.search(rf'data-testid="activity-{activity_id}">(.*?)</tr>', html, re.S)
    assert row is not None
    line = row.group(1)
    assert "SENT" in line and "系统发送" in line and "[COLLECT_D3 v1] 张三您好" in line
    assert "未接通" not in line
    assert "<td>系统</td>" in line


# --- the send form -------------------------------------------------------------------------------


def test_the_form_offers_approved_templates_and_the_debtor_s_points(
    client: Client, book: Book, points: Setup
) -> None:
    draft = approved_template("DRAFT_ONLY", "文本。回复TD退订")
    draft.current_version = None
    draft.save()
    client.force_login(book.alice)
    html = _panel(client, book.case_alice.pk)
    form = html[html.index('data-testid="message-form"') :]
    for template in (points.sms, points.email_template, points.letter):
        assert f'value="{template.pk}"' in form
    assert f'value="{draft.pk}"' not in form
    for point in (points.mobile, points.email, points.guarantor_address):
        assert f'value="{point.pk}"' in form
    assert f'value="{points.spouse_mobile.pk}"' not in form


def test_the_form_queues_one_system_message(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.alice)
    response = _post(
        client,
        book.case_alice.pk,
        template=points.sms.pk,
        contact_point=points.mobile.pk,
        scheduled_at="2026-11-24T14:00",
    )
    assert response.status_code == 200
    message = Message.objects.get()
    at = dt.datetime(2026, 11, 24, 14, 0, tzinfo=SHANGHAI)
    assert (
        message.case_id,
        message.account_id,
        message.customer_id,
        message.contact_point_id,
        message.channel,
        message.template_version_id,
        message.template_class,
        message.language,
        message.source,
        message.state,
        message.scheduled_at,
        message.next_attempt_at,
        message.created_by_id,
        message.body,
    ) == (
        book.case_alice.pk,
        book.case_alice.account_id,
        book.case_alice.customer_id,
        points.mobile.pk,
        "sms",
        points.sms.current_version_id,
        "collection",
        "zh-hans",
        MessageSource.MANUAL,
        MessageState.QUEUED,
        at,
        at,
        book.alice.pk,
        "",
    )
    assert list(MessageEvent.objects.values_list("message_id", "kind")) == [
        (message.pk, MessageEventKind.QUEUED)
    ]
    assert Event.objects.filter(kind="comms.message_queued", actor=book.alice).count() == 1
    html = response.content.decode()
    assert 'id="work-messages"' in html and 'hx-swap-oob="true"' in html
    assert _rows(html) == [message.pk]
    assert "排队中" in _row(html, message.pk)
    assert f"消息 #{message.pk} 已排队，计划 2026-11-24 14:00 发送" in html


def test_without_a_time_it_is_sent_now(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.alice)
    _post(client, book.case_alice.pk, template=points.letter.pk, contact_point=points.guarantor_address.pk)
    message = Message.objects.get()
    assert (message.channel, message.contact_point_id, message.scheduled_at) == (
        "letter",
        points.guarantor_address.pk,
        NOW,
    )


def _nothing_written() -> None:
    assert Message.objects.count() == 0
    assert MessageEvent.objects.count() == 0
    assert Event.objects.filter(kind="comms.message_queued").count() == 0


def test_a_point_of_the_wrong_kind_is_refused_on_the_field(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.alice)
    response = _post(client, book.case_alice.pk, template=points.sms.pk, contact_point=points.email.pk)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<div class="invalid-feedback d-block" data-testid="error-contact_point">短信只能发往手机。</div>'
        in html
    )
    assert f'<option value="{points.email.pk}" selected>' in html  # the choice is kept
    _nothing_written()


def test_the_refusal_is_in_the_user_s_language(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.alice)
    response = client.post(
        f"/comms/cases/{book.case_alice.pk}/messages/send/",
        {"template": points.sms.pk, "contact_point": points.guarantor_address.pk},
        HTTP_ACCEPT_LANGUAGE="en",
        **HTMX,
    )
    assert (
        'data-testid="error-contact_point">Messages go only to the customer&#x27;s own contact points;'
        " a letter may also go to a guarantor.</div>"
    ) in response.content.decode()
    _nothing_written()


def test_a_guarantor_gets_letters_only(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.alice)
    html = _post(
        client, book.case_alice.pk, template=points.sms.pk, contact_point=points.guarantor_address.pk
    )
    assert "消息只能发往客户本人的联系方式；信函也可寄给担保人。" in html.content.decode()
    # A third party's number is not offered at all.
    html = _post(client, book.case_alice.pk, template=points.sms.pk, contact_point=points.spouse_mobile.pk)
    assert 'data-testid="error-contact_point"' in html.content.decode()
    _nothing_written()


def test_a_time_in_the_past_is_refused(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.alice)
    response = _post(
        client,
        book.case_alice.pk,
        template=points.sms.pk,
        contact_point=points.mobile.pk,
        scheduled_at="2026-11-24T09:00",
    )
    assert 'data-testid="error-scheduled_at">发送时间不能早于现在。</div>' in response.content.decode()
    _nothing_written()


# --- who ---------------------------------------------------------------------------------------------


def test_a_collector_of_another_team_gets_404(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.bob)
    assert client.get(f"/comms/cases/{book.case_alice.pk}/messages/", **HTMX).status_code == 404
    response = _post(client, book.case_alice.pk, template=points.sms.pk, contact_point=points.mobile.pk)
    assert response.status_code == 404
    _nothing_written()


def test_an_agency_user_on_a_case_not_theirs_gets_404(client: Client, book: Book, points: Setup) -> None:
    client.force_login(book.agnes)
    assert client.get(f"/comms/cases/{book.case_alice.pk}/messages/", **HTMX).status_code == 404
    response = _post(client, book.case_alice.pk, template=points.sms.pk, contact_point=points.mobile.pk)
    assert response.status_code == 404
    _nothing_written()
    # Their own case: the panel and the form.
    assert 'data-testid="message-form"' in _panel(client, book.case_agency.pk)


def test_a_read_only_role_sees_the_messages_but_no_form_and_may_not_post(
    client: Client, book: Book, points: Setup
) -> None:
    message = queued(book.case_alice, points.mobile, points.sms, at=NOW)
    officer = UserFactory(username="olga", role=Role.COMPLIANCE_OFFICER)
    client.force_login(officer)
    html = _panel(client, book.case_alice.pk)
    assert _rows(html) == [message.pk]
    assert 'data-testid="message-form"' not in html
    response = _post(client, book.case_alice.pk, template=points.sms.pk, contact_point=points.mobile.pk)
    assert response.status_code == 403
    assert Message.objects.count() == 1


def test_anonymous_is_sent_to_log_in(client: Client, book: Book) -> None:
    response = client.get(f"/comms/cases/{book.case_alice.pk}/messages/")
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


def test_a_closed_case_has_no_form_and_queues_nothing(client: Client, book: Book, points: Setup) -> None:
    book.case_alice.status = "closed"
    book.case_alice.save(update_fields=["status"])
    client.force_login(book.alice)
    assert 'data-testid="message-form"' not in _panel(client, book.case_alice.pk)
    response = _post(client, book.case_alice.pk, template=points.sms.pk, contact_point=points.mobile.pk)
    assert (
        '<div class="alert alert-danger py-2 m-2" role="alert" data-testid="message-send-error">'
        "案件已结案，不能再发送催收消息。</div>"
    ) in response.content.decode()
    _nothing_written()
