"""The messages API: a case's messages (scoped, a pinned cost) and queueing one from an approved
template — 201 with the message, 422 naming the field with nothing written, 404 out of scope,
403 for a role that may not work the case."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from arrears.accounts.models import Role
from arrears.cases.tests.test_api import bearer
from arrears.comms.models import Message, MessageEvent, Template, TemplateVersion
from arrears.comms.tests.case_message_helpers import NOW, Setup, blocked, queued, setup
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import ContactPointFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("action_codes")]


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def points(book: Book) -> Setup:
    return setup(book)


def _url(case_id: int) -> str:
    return f"/api/v1/cases/{case_id}/messages"


def _post(client: Client, case_id: int, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(_url(case_id), data=json.dumps(body), content_type="application/json", headers=headers)


def _nothing_written() -> None:
    assert Message.objects.count() == 0
    assert MessageEvent.objects.count() == 0
    assert Event.objects.filter(kind="comms.message_queued").count() == 0


def test_queueing_answers_201_with_the_message(client: Client, book: Book, points: Setup) -> None:
    body = {
        "template_code": "COLLECT_D3",
        "language": "zh-hans",
        "contact_point_id": points.mobile.pk,
        "scheduled_at": "2026-11-24T14:00:00+08:00",
    }
    response = _post(client, book.case_alice.pk, body, bearer(book.alice, "desk"))
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert response.json() == {
        "id": message.pk,
        "case_id": book.case_alice.pk,
        "channel": "sms",
        "template_code": "COLLECT_D3",
        "template_version": 1,
        "language": "zh-hans",
        "template_class": "collection",
        "source": "manual",
        "contact_point_id": points.mobile.pk,
        "to_masked": "138****5678",
        "scheduled_at": "2026-11-24T06:00:00Z",
        "state": "queued",
        "attempts": 0,
        "sent_at": None,
        "error": "",
        "created_by": "alice",
        "created_at": "2026-11-24T02:30:00Z",
        "last_event": {"kind": "queued", "at": "2026-11-24T02:30:00Z", "reasons": []},
    }
    assert (message.case_id, message.created_by_id, message.template_version_id) == (
        book.case_alice.pk,
        book.alice.pk,
        points.sms.current_version_id,
    )
    assert MessageEvent.objects.filter(message=message).count() == 1


def test_without_a_time_it_is_due_now(client: Client, book: Book, points: Setup) -> None:
    body = {"template_code": "LETTER_1", "contact_point_id": points.guarantor_address.pk}
    response = _post(client, book.case_alice.pk, body, bearer(book.alice, "desk"))
    assert response.status_code == 201, response.content
    assert (response.json()["channel"], response.json()["scheduled_at"]) == ("letter", "2026-11-24T02:30:00Z")


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        ({"template_code": "NO_SUCH"}, "template_code", "没有模板 NO_SUCH。"),
        ({"template_code": "DRAFT_ONLY"}, "template_code", "模板 DRAFT_ONLY 没有已批准的版本，不能使用。"),
        ({"language": "en"}, "template_code", "没有模板 COLLECT_D3。"),
        ({"language": "fr"}, "language", "语言只能是 zh-hans、en。"),
        ({"contact_point_id": "email"}, "contact_point_id", "短信只能发往手机。"),
        (
            {"contact_point_id": "spouse"},
            "contact_point_id",
            "消息只能发往客户本人的联系方式；信函也可寄给担保人。",
        ),
        ({"contact_point_id": "bob"}, "contact_point_id", "该联系方式不属于本案客户。"),
        ({"scheduled_at": "2026-11-24T14:00:00"}, "scheduled_at", "时间必须带时区（例如 +08:00）。"),
        ({"scheduled_at": "2026-11-24T09:00:00+08:00"}, "scheduled_at", "发送时间不能早于现在。"),
        ({"scheduled_at": "2027-01-24T09:00:00+08:00"}, "scheduled_at", "发送时间不能晚于 30 天以后。"),
    ],
)
def test_bad_input_is_422_naming_the_field_with_nothing_written(
    client: Client, book: Book, points: Setup, change: dict[str, Any], field: str, detail: str
) -> None:
    # A template whose version in use is still a draft (versions only move forward, so the
    # draft is made as one).
    draft = Template.objects.create(
        code="DRAFT_ONLY", language="zh-hans", name="DRAFT_ONLY", channel="sms", template_class="collection"
    )
    draft.current_version = TemplateVersion.objects.create(
        template=draft, number=1, body="文本。回复TD退订", provider_template_code="SMS_DRAFT_ONLY"
    )
    draft.save(update_fields=["current_version"])
    bob_point = ContactPointFactory(customer=book.case_bob.customer, kind="mobile", owner_role="self")
    named = {"email": points.email.pk, "spouse": points.spouse_mobile.pk, "bob": bob_point.pk}
    body: dict[str, Any] = {"template_code": "COLLECT_D3", "contact_point_id": points.mobile.pk}
    body.update({key: named.get(value, value) for key, value in change.items()})
    response = _post(client, book.case_alice.pk, body, bearer(book.alice, "desk"))
    assert response.status_code == 422, response.content
    assert response.json() == {"detail": detail, "code": "invalid", "field": field}
    _nothing_written()


def test_out_of_scope_is_404(client: Client, book: Book, points: Setup) -> None:
    body = {"template_code": "COLLECT_D3", "contact_point_id": points.mobile.pk}
    for user in (book.bob, book.agnes):
        headers = bearer(user, f"desk-{user.username}")
        assert client.get(_url(book.case_alice.pk), headers=headers).status_code == 404
        response = _post(client, book.case_alice.pk, body, headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "no such case", "code": "not_found", "field": None}
    assert client.get(_url(999_999), headers=bearer(book.sam, "desk-sam")).status_code == 404
    _nothing_written()


def test_a_read_only_role_may_list_but_not_queue(client: Client, book: Book, points: Setup) -> None:
    officer = UserFactory(username="olga", role=Role.COMPLIANCE_OFFICER)
    headers = bearer(officer, "desk")
    assert client.get(_url(book.case_alice.pk), headers=headers).json() == []
    body = {"template_code": "COLLECT_D3", "contact_point_id": points.mobile.pk}
    response = _post(client, book.case_alice.pk, body, headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden" and response.json()["field"] is None
    _nothing_written()


def test_the_list_is_the_case_s_messages_newest_first_with_reasons(
    client: Client, book: Book, points: Setup
) -> None:
    first = queued(book.case_alice, points.mobile, points.sms, at=NOW)
    stopped = blocked(queued(book.case_alice, points.email, points.email_template, at=NOW), at=NOW)
    bob_point = ContactPointFactory(customer=book.case_bob.customer, kind="mobile", owner_role="self")
    queued(book.case_bob, bob_point, points.sms, at=NOW)
    response = client.get(_url(book.case_alice.pk), headers=bearer(book.alice, "desk"))
    assert response.status_code == 200
    rows = response.json()
    assert [row["id"] for row in rows] == [stopped.pk, first.pk]
    assert rows[0]["state"] == "blocked" and rows[0]["error"] == "guard"
    assert rows[0]["last_event"] == {
        "kind": "blocked",
        "at": "2026-11-24T02:30:00Z",
        "reasons": [{"rule": "H1", "text": "当地时间 21:35 不在联系时段 08:00–21:00 内"}],
    }
    assert rows[0]["to_masked"] != points.email.value
    assert rows[1]["last_event"]["kind"] == "queued"
    limited = client.get(_url(book.case_alice.pk) + "?limit=1", headers=bearer(book.alice, "desk2")).json()
    assert [row["id"] for row in limited] == [stopped.pk]


def test_the_list_costs_the_same_however_many_messages(
    client: Client, book: Book, points: Setup, django_assert_num_queries
) -> None:
    headers = bearer(book.alice, "desk")
    queued(book.case_alice, points.mobile, points.sms, at=NOW)
    client.get(_url(book.case_alice.pk), headers=headers)
    # the token (with its user), the case, the messages, their last events
    with django_assert_num_queries(4):
        client.get(_url(book.case_alice.pk), headers=headers)
    for _ in range(6):
        blocked(queued(book.case_alice, points.email, points.email_template, at=NOW), at=NOW)
    with django_assert_num_queries(4):
        rows = client.get(_url(book.case_alice.pk), headers=headers).json()
    assert len(rows) == 7


def test_odd_limits_are_clamped(client: Client, book: Book, points: Setup) -> None:
    queued(book.case_alice, points.mobile, points.sms, at=NOW)
    headers = bearer(book.alice, "desk")
    for limit in (-5, 0, 10**12):
        response = client.get(f"{_url(book.case_alice.pk)}?limit={limit}", headers=headers)
        assert response.status_code == 200
        assert len(response.json()) == 1
