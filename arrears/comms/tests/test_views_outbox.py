"""The outbox pages: who sees which messages, the filters, paging, one message's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from arrears.accounts.models import Role, User
from arrears.cases.models import Case
from arrears.comms import views_outbox
from arrears.comms.models import Message, MessageEvent, Template, TemplateVersion
from arrears.comms.templates_service import template_create, template_version_approve, template_version_save
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import ContactPointFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
OPT_OUT = "回复TD退订"


@pytest.fixture
def people(book: Book) -> dict[str, User]:
    return {
        "admin": book.root,
        "supervisor": book.sam,
        "compliance": UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER),
        "team_leader": book.tina,
        "collector": book.alice,
        "qa": UserFactory(username="quinn", role=Role.QA),
        "agency": book.agnes,
    }


def _template(book: Book, code: str, channel: str) -> TemplateVersion:
    template = template_create(
        code=code, language="zh-hans", name=code, channel=channel, template_class="collection", actor=book.sam
    )
    version = template_version_save(
        template=template,
        subject="通知" if channel != "sms" else "",
        body=f"尊敬的${{customer_name}}，请尽快还款。{OPT_OUT}",
        provider_template_code="SMS_T" if channel == "sms" else "",
        actor=book.sam,
    )
    return template_version_approve(version=version, actor=book.root)


def make_message(
    case: Case | None,
    version: TemplateVersion,
    *,
    at: dt.datetime,
    state: str = "queued",
    value: str = "13812345678",
    kind: str = "mobile",
    account: Any = None,
    **fields: Any,
) -> Message:
    account = account or case.account  # type: ignore[union-attr]
    point = ContactPointFactory(customer=account.customer, kind=kind, value=value)
    return Message.objects.create(
        account=account,
        customer=account.customer,
        case=case,
        contact_point=point,
        channel=version.template.channel,
        template_version=version,
        template_class=version.template.template_class,
        source="cadence",
        scheduled_at=at,
        next_attempt_at=at,
        state=state,
        **fields,
    )


@pytest.fixture
def outbox(book: Book) -> dict[str, Message]:
    sms = _template(book, "COLLECT_D3", "sms")
    email = _template(book, "COLLECT_EMAIL", "email")
    day = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
    return {
        "alice_sms": make_message(book.case_alice, sms, at=day, state="sent", value="13800000001"),
        "alice_email": make_message(
            book.case_alice, email, at=day + dt.timedelta(days=1), kind="email", value="zhang.san@example.cn"
        ),
        "bob_sms": make_message(
            book.case_bob,
            sms,
            at=day + dt.timedelta(days=2),
            state="failed",
            value="13800000003",
            last_error="rejected: 13800000003 is not a valid number",
        ),
        "agency_sms": make_message(book.case_agency, sms, at=day + dt.timedelta(days=3), state="blocked"),
        # A pre-due reminder to an account without a case belongs to no team.
        "no_case": make_message(
            None, sms, at=day - dt.timedelta(days=1), account=book.case_unassigned.account
        ),
    }


def ids(page: str, outbox: dict[str, Message]) -> set[str]:
    return {name for name, message in outbox.items() if f'data-testid="message-{message.pk}"' in page}


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "seen"),
    [
        ("admin", 200, {"alice_sms", "alice_email", "bob_sms", "agency_sms", "no_case"}),
        ("supervisor", 200, {"alice_sms", "alice_email", "bob_sms", "agency_sms", "no_case"}),
        ("compliance", 200, {"alice_sms", "alice_email", "bob_sms", "agency_sms", "no_case"}),
        ("team_leader", 200, {"alice_sms", "alice_email"}),
        ("collector", 403, set()),
        ("qa", 403, set()),
        ("agency", 403, set()),
    ],
)
def test_the_outbox_by_role(
    client: Client, people: dict[str, User], outbox: dict[str, Message], who: str, status: int, seen: set[str]
) -> None:
    client.force_login(people[who])

    response = client.get("/comms/outbox/")

    assert response.status_code == status
    if status == 200:
        assert ids(response.content.decode(), outbox) == seen
    for name, message in outbox.items():
        detail = client.get(f"/comms/outbox/{message.pk}/").status_code
        assert detail == (200 if name in seen else 403 if status == 403 else 404), name
    home = client.get("/").content.decode()
    assert ('href="/comms/outbox/"' in home) is (status == 200)


def test_anonymous_is_sent_to_login(client: Client, outbox: dict[str, Message]) -> None:
    for path in ("/comms/outbox/", f"/comms/outbox/{outbox['alice_sms'].pk}/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


# --- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"alice_sms", "alice_email", "bob_sms", "agency_sms", "no_case"}),
        ({"state": "failed"}, {"bob_sms"}),
        ({"state": "queued"}, {"alice_email", "no_case"}),
        ({"channel": "email"}, {"alice_email"}),
        ({"channel": "sms", "state": "blocked"}, {"agency_sms"}),
        ({"date_from": "2026-03-10", "date_to": "2026-03-11"}, {"alice_sms", "alice_email"}),
        ({"date_from": "2026-03-12"}, {"bob_sms", "agency_sms"}),
        ({"date_to": "2026-03-09"}, {"no_case"}),
        ({"template": "COLLECT_EMAIL"}, {"alice_email"}),
        ({"template": "collect_d3"}, {"alice_sms", "bob_sms", "agency_sms", "no_case"}),
        ({"template": "NOPE"}, set()),
    ],
)
def test_filters_return_exactly_the_matching_messages(
    client: Client,
    people: dict[str, User],
    outbox: dict[str, Message],
    query: dict[str, str],
    expected: set[str],
) -> None:
    client.force_login(people["supervisor"])

    page = client.get("/comms/outbox/", query).content.decode()

    assert ids(page, outbox) == expected


def test_the_case_filter(
    client: Client, people: dict[str, User], outbox: dict[str, Message], book: Book
) -> None:
    client.force_login(people["supervisor"])

    page = client.get("/comms/outbox/", {"case": book.case_bob.pk}).content.decode()
    leader = client.get("/comms/outbox/", {"case": book.case_bob.pk})

    assert ids(page, outbox) == {"bob_sms"}
    client.force_login(people["team_leader"])
    assert ids(client.get("/comms/outbox/", {"case": book.case_bob.pk}).content.decode(), outbox) == set()
    assert leader.status_code == 200


def test_a_bad_date_range_shows_the_error_and_no_rows(
    client: Client, people: dict[str, User], outbox: dict[str, Message]
) -> None:
    client.force_login(people["supervisor"])

    page = client.get("/comms/outbox/", {"date_from": "2026-03-12", "date_to": "2026-03-10"}).content.decode()

    assert ids(page, outbox) == set()
    assert "开始日期不能晚于结束日期" in page
    assert "请修正筛选条件" in page


def test_pages_follow_each_other_with_the_filters_kept(
    client: Client, people: dict[str, User], outbox: dict[str, Message], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_outbox, "OUTBOX_PAGE_SIZE", 2)
    client.force_login(people["supervisor"])

    first = client.get("/comms/outbox/", {"channel": "sms"}).content.decode()
    assert ids(first, outbox) == {"agency_sms", "no_case"}  # newest ids first
    link = f'href="/comms/outbox/?channel=sms&amp;before={outbox["agency_sms"].pk}"'
    assert link in first
    second = client.get(
        "/comms/outbox/", {"channel": "sms", "before": outbox["agency_sms"].pk}
    ).content.decode()
    assert ids(second, outbox) == {"alice_sms", "bob_sms"}
    third = client.get(
        "/comms/outbox/", {"channel": "sms", "before": outbox["alice_sms"].pk}
    ).content.decode()
    assert ids(third, outbox) == set()
    assert 'data-testid="outbox-next"' not in third


def test_the_list_query_count_is_pinned(
    client: Client,
    people: dict[str, User],
    outbox: dict[str, Message],
    book: Book,
    django_assert_num_queries: Any,
) -> None:
    client.force_login(people["team_leader"])
    client.get("/comms/outbox/")
    # session, user, the page (messages with contact point and template joined, the team's
    # cases as a subquery), the session's activity stamp in its savepoint (3).
    with django_assert_num_queries(6):
        client.get("/comms/outbox/")
    sms = outbox["alice_sms"].template_version
    assert sms is not None
    for hour in range(12):
        make_message(
            book.case_alice,
            sms,
            at=dt.datetime(2026, 3, 20, 8 + hour, tzinfo=SHANGHAI),
            value=f"1390000{hour:04d}",
        )

    with django_assert_num_queries(6):
        page = client.get("/comms/outbox/").content.decode()

    assert page.count('data-testid="message-') == 14


# --- one message ------------------------------------------------------------------------------------


def test_one_message_shows_its_history_with_masked_contact_values(
    client: Client, people: dict[str, User], outbox: dict[str, Message]
) -> None:
    message = outbox["bob_sms"]
    at = dt.datetime(2026, 3, 12, 10, 0, tzinfo=SHANGHAI)
    MessageEvent.objects.create(
        message=message, kind="queued", at=at, data={"template": "COLLECT_D3", "version": 1}
    )
    MessageEvent.objects.create(
        message=message,
        kind="blocked",
        at=at + dt.timedelta(minutes=1),
        data={
            "reason": "guard",
            "reasons": [
                {
                    "rule": "H12",
                    "message": "compliance.H12.prohibited_language",
                    "parameters": {"words": "白痴"},
                }
            ],
        },
    )
    MessageEvent.objects.create(
        message=message,
        kind="failed",
        at=at + dt.timedelta(minutes=2),
        data={"error": "550 zhang.san@example.cn unknown, 13800000003"},
    )
    client.force_login(people["compliance"])

    page = client.get(f"/comms/outbox/{message.pk}/").content.decode()

    assert 'data-testid="message-to">138****0003</span>' in page
    assert "13800000003" not in page
    assert "zhang.san@example.cn" not in page
    assert "z***@example.cn" in page
    assert "rejected: *******0003 is not a valid number" in page
    assert [kind for kind in ("queued", "blocked", "failed") if f'data-testid="event-{kind}"' in page] == [
        "queued",
        "blocked",
        "failed",
    ]
    assert page.index('data-testid="event-queued"') < page.index('data-testid="event-blocked"')
    assert "包含禁用语：白痴" in page
    assert "COLLECT_D3 v1" in page


def test_an_email_address_is_masked_in_the_list_and_the_message(
    client: Client, people: dict[str, User], outbox: dict[str, Message]
) -> None:
    client.force_login(people["supervisor"])

    listing = client.get("/comms/outbox/").content.decode()
    detail = client.get(f"/comms/outbox/{outbox['alice_email'].pk}/").content.decode()

    for page in (listing, detail):
        assert "zhang.san@example.cn" not in page
        assert "z***@example.cn" in page
    assert "13800000003" not in listing


def test_templates_are_untouched_by_reading_the_outbox(
    client: Client, people: dict[str, User], outbox: dict[str, Message]
) -> None:
    before = (Template.objects.count(), TemplateVersion.objects.count(), Message.objects.count())
    client.force_login(people["admin"])

    client.get("/comms/outbox/")
    client.get(f"/comms/outbox/{outbox['alice_sms'].pk}/")

    assert (Template.objects.count(), TemplateVersion.objects.count(), Message.objects.count()) == before


# --- cancelling a queued message ---------------------------------------------------------------------


def _state_and_events(message: Message) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    message.refresh_from_db()
    return message.state, list(MessageEvent.objects.filter(message=message).values_list("kind", "data"))


@pytest.mark.parametrize("who", ["supervisor", "compliance", "admin", "team_leader"])
def test_a_queued_message_is_cancelled_with_the_reason(
    client: Client, people: dict[str, User], outbox: dict[str, Message], who: str
) -> None:
    message = outbox["alice_email"]  # queued, on the team leader's team
    client.force_login(people[who])

    shown = client.get(f"/comms/outbox/{message.pk}/").content.decode()
    response = client.post(f"/comms/outbox/{message.pk}/cancel/", {"reason": "  客户已来电 还款  "})

    assert 'data-testid="cancel-form"' in shown
    assert (response.status_code, response["Location"]) == (302, f"/comms/outbox/{message.pk}/")
    username = people[who].username
    assert _state_and_events(message) == (
        "cancelled",
        [("cancelled", {"by": username, "reason": "客户已来电 还款"})],
    )
    assert message.last_error == "cancelled: 客户已来电 还款"
    audit = Event.objects.get(kind="comms.message_cancelled")
    assert (audit.actor, audit.subject_id, audit.data) == (
        people[who],
        message.pk,
        {"case": message.case_id, "channel": "email", "reason": "客户已来电 还款"},
    )
    page = client.get(f"/comms/outbox/{message.pk}/").content.decode()
    assert 'data-testid="cancel-form"' not in page
    assert 'data-testid="event-cancelled"' in page


@pytest.mark.parametrize(
    ("who", "name", "status"),
    [
        ("collector", "alice_email", 403),
        ("qa", "alice_email", 403),
        ("agency", "agency_sms", 403),
        ("team_leader", "no_case", 404),  # outside the team: not even seen
    ],
)
def test_others_cannot_cancel_and_nothing_changes(
    client: Client, people: dict[str, User], outbox: dict[str, Message], who: str, name: str, status: int
) -> None:
    message = outbox[name]
    before = _state_and_events(message)
    client.force_login(people[who])

    response = client.post(f"/comms/outbox/{message.pk}/cancel/", {"reason": "试试"})

    assert response.status_code == status
    assert _state_and_events(message) == before
    assert not Event.objects.filter(kind="comms.message_cancelled").exists()


@pytest.mark.parametrize(
    ("name", "reason", "status", "error"),
    [
        ("alice_email", "   ", 400, "请写明取消原因。"),
        ("alice_email", "因" * 201, 400, "取消原因最多 200 个字。"),
        ("alice_sms", "太晚了", 409, "只有排队中的消息可以取消；这条消息的状态是“已发送”。"),
        ("bob_sms", "太晚了", 409, "只有排队中的消息可以取消；这条消息的状态是“失败”。"),
    ],
)
def test_a_refused_cancel_says_why_and_changes_nothing(
    client: Client,
    people: dict[str, User],
    outbox: dict[str, Message],
    name: str,
    reason: str,
    status: int,
    error: str,
) -> None:
    message = outbox[name]
    before = _state_and_events(message)
    client.force_login(people["supervisor"])

    response = client.post(f"/comms/outbox/{message.pk}/cancel/", {"reason": reason})

    assert response.status_code == status
    assert f'data-testid="cancel-error">{error}</div>' in response.content.decode()
    assert _state_and_events(message) == before
    assert not Event.objects.filter(kind="comms.message_cancelled").exists()


def test_a_message_a_sender_has_claimed_can_no_longer_be_cancelled(
    client: Client, people: dict[str, User], outbox: dict[str, Message]
) -> None:
    message = outbox["alice_email"]
    client.force_login(people["supervisor"])
    shown = client.get(f"/comms/outbox/{message.pk}/")  # the form, before the sender takes it
    Message.objects.filter(pk=message.pk).update(state="sending")

    response = client.post(f"/comms/outbox/{message.pk}/cancel/", {"reason": "停发"})

    assert 'data-testid="cancel-form"' in shown.content.decode()
    assert response.status_code == 409
    assert 'data-testid="cancel-error">消息正在发送，已无法取消。</div>' in response.content.decode()
    assert _state_and_events(message) == ("sending", [])


def test_cancel_is_post_only(client: Client, people: dict[str, User], outbox: dict[str, Message]) -> None:
    client.force_login(people["supervisor"])

    assert client.get(f"/comms/outbox/{outbox['alice_email'].pk}/cancel/").status_code == 405


def test_the_cancel_refusal_is_in_the_readers_language(
    client: Client, people: dict[str, User], outbox: dict[str, Message]
) -> None:
    client.force_login(people["supervisor"])

    response = client.post(
        f"/comms/outbox/{outbox['alice_sms'].pk}/cancel/", {"reason": "late"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 409
    assert (
        'data-testid="cancel-error">Only a queued message can be cancelled; this message is “Sent”.</div>'
        in response.content.decode()
    )
