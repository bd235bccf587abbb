"""The provider callbacks: signed receipts and replies through the API, refusals, and one full
loop over real HTTP (our adapter → the fake provider → its signed receipt → our live server)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from arrears.comms.fake_sms import FakeSmsProvider
from arrears.comms.gateways.base import Outgoing
from arrears.comms.gateways.sms_http import HttpSmsGateway, close_shared_clients
from arrears.comms.models import InboundMessage, MessageEvent, MessageState
from arrears.comms.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, callback_headers
from arrears.comms.tests.sms_helpers import MOBILE, OTHER_MOBILE, debtor, message
from arrears.core.models import Event
from arrears.portfolio.models import ContactPoint

SMS_SECRET = "sms-callback-secret"
EMAIL_SECRET = "email-callback-secret"
RECEIPTS = "/api/v1/comms/receipts/smsapi"
INBOUND = "/api/v1/comms/inbound/smsapi"


@pytest.fixture(autouse=True)
def _secrets(settings: Any) -> None:
    settings.ARREARS_SMS_CALLBACK_SECRET = SMS_SECRET
    settings.ARREARS_EMAIL_CALLBACK_SECRET = EMAIL_SECRET


def _post(
    client: Any, url: str, payload: Any, *, secret: str = SMS_SECRET, headers: dict | None = None
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    signed = callback_headers(secret, body) if headers is None else headers
    extra = {key: value for key, value in signed.items() if key != "Content-Type"}
    return client.post(url, data=body, content_type="application/json", headers=extra)


def _report(
    sent_id: int, biz_id: str, *, success: bool = True, err_code: str = "DELIVERED"
) -> dict[str, Any]:
    return {
        "phone_number": MOBILE,
        "send_time": "2026-03-10 10:00:01",
        "report_time": "2026-03-10 10:00:05",
        "success": success,
        "err_code": err_code,
        "err_msg": "用户接收成功" if success else "用户关机",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": str(sent_id),
    }


def _uplink(content: str, *, phone: str = MOBILE, sequence_id: int = 1) -> dict[str, Any]:
    return {
        "phone_number": phone,
        "send_time": "2026-03-10 10:05:00",
        "content": content,
        "sign_name": "安信催收",
        "dest_code": "",
        "sequence_id": sequence_id,
    }


@pytest.mark.django_db
def test_a_signed_receipt_marks_the_message_delivered(client: Any) -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="5001^0"
    )

    response = _post(client, RECEIPTS, [_report(sent.pk, "5001^0")])

    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "成功", "accepted": 1}
    sent.refresh_from_db()
    assert sent.state == MessageState.DELIVERED
    assert sent.delivered_at == dt.datetime(2026, 3, 10, 2, 0, 5, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_duplicate_receipt_adds_no_second_event(client: Any) -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="5002^0"
    )

    first = _post(client, RECEIPTS, [_report(sent.pk, "5002^0", success=False, err_code="MK:0001")])
    second = _post(client, RECEIPTS, [_report(sent.pk, "5002^0", success=False, err_code="MK:0001")])

    assert (first.json()["accepted"], second.json()["accepted"]) == (1, 0)
    sent.refresh_from_db()
    assert sent.state == MessageState.SENT
    assert list(MessageEvent.objects.filter(message=sent).values_list("kind", flat=True)) == ["undelivered"]


@pytest.mark.django_db
def test_a_receipt_that_overtakes_the_sender_is_asked_for_again(client: Any) -> None:
    person = debtor()
    sending = message(
        person.mobile, person.account, state="sending", gateway="smsapi", provider_message_id="5009^0"
    )
    delivered_elsewhere = message(
        person.other_mobile, person.account, state="sent", gateway="smsapi", provider_message_id="5010^0"
    )
    payload = [_report(sending.pk, "5009^0"), _report(delivered_elsewhere.pk, "5010^0")]

    response = _post(client, RECEIPTS, payload)

    assert response.status_code == 503
    assert response.json() == {"code": 1, "msg": "稍后重试", "accepted": 1}
    sending.refresh_from_db()
    assert (sending.state, sending.delivered_at) == (MessageState.SENDING, None)
    assert MessageEvent.objects.filter(message=sending).count() == 0

    sending.state = MessageState.SENT
    sending.save(update_fields=["state"])
    again = _post(client, RECEIPTS, payload)

    assert again.status_code == 200
    assert again.json() == {"code": 0, "msg": "成功", "accepted": 1}
    sending.refresh_from_db()
    assert sending.state == MessageState.DELIVERED
    assert MessageEvent.objects.filter(message=delivered_elsewhere).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_signature"),
        ({SIGNATURE_HEADER: "0" * 64}, "missing_signature"),
        ({TIMESTAMP_HEADER: "NOW", SIGNATURE_HEADER: "0" * 64}, "bad_timestamp"),
        ({TIMESTAMP_HEADER: "1000000000", SIGNATURE_HEADER: "0" * 64}, "stale_timestamp"),
        ("wrong-secret", "bad_signature"),
        ("tampered", "bad_signature"),
    ],
)
def test_a_receipt_without_a_good_signature_is_refused_logged_and_changes_nothing(
    client: Any, headers: Any, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    person = debtor()
    sent = message(
        person.mobile, person.account, state="sent", gateway="smsapi", provider_message_id="5003^0"
    )
    body = json.dumps([_report(sent.pk, "5003^0")]).encode()
    if headers == "wrong-secret":
        headers = callback_headers("not-the-secret", body)
    elif headers == "tampered":
        headers = callback_headers(SMS_SECRET, body.replace(b"5003", b"5004"))

    with caplog.at_level("WARNING", logger="arrears.security"):
        response = _post(client, RECEIPTS, body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"detail": f"callback signature refused: {code}", "code": code}
    sent.refresh_from_db()
    assert (sent.state, sent.delivered_at) == (MessageState.SENT, None)
    assert MessageEvent.objects.count() == 0
    rejected = list(Event.objects.filter(kind="comms.callback_rejected").values_list("actor_id", "data"))
    assert rejected == [
        (
            None,
            {
                "provider": "smsapi",
                "callback": "receipts",
                "reason": code,
                "remote_addr": "127.0.0.1",
                "body_bytes": len(body),
            },
        )
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "arrears.security"] == [
        f"comms callback rejected: receipts smsapi from 127.0.0.1: {code}"
    ]


@pytest.mark.django_db
def test_an_unknown_provider_is_404_and_writes_nothing(client: Any) -> None:
    response = _post(client, "/api/v1/comms/receipts/nosuch", [])

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown provider", "code": "unknown_provider"}
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_a_provider_without_a_secret_is_404(client: Any, settings: Any) -> None:
    settings.ARREARS_EMAIL_CALLBACK_SECRET = ""

    response = _post(client, "/api/v1/comms/inbound/smtp", [], secret="")

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"not json", "body"),
        ({"phone_number": MOBILE}, "body"),
        ([{"phone_number": MOBILE, "report_time": "2026-03-10 10:00:05"}], "0.success"),
        ([{"phone_number": MOBILE, "report_time": "yesterday", "success": True}], "0.report_time"),
        (
            [
                {
                    "phone_number": MOBILE,
                    "report_time": "2026-03-10 10:00:05",
                    "success": True,
                    "biz_id": "a\x00b",
                }
            ],
            "0.biz_id",
        ),
    ],
)
def test_a_malformed_receipt_is_422_naming_the_field(client: Any, payload: Any, field: str) -> None:
    response = _post(client, RECEIPTS, payload)

    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid_body" if field == "body" else "invalid_field", field)
    assert MessageEvent.objects.count() == 0


@pytest.mark.django_db
def test_an_opt_out_reply_blocks_that_number_and_cancels_its_queued_sms(client: Any) -> None:
    person = debtor()
    queued = message(person.mobile, person.account)
    queued_other = message(person.other_mobile, person.account)

    response = _post(client, INBOUND, [_uplink("退订", sequence_id=901)])

    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "成功", "accepted": 1}
    inbound = InboundMessage.objects.get()
    assert (
        inbound.gateway,
        inbound.channel,
        inbound.provider_message_id,
        inbound.opt_out,
        inbound.sender_masked,
    ) == (
        "smsapi",
        "sms",
        "901",
        True,
        "139****0001",
    )
    assert inbound.received_at == dt.datetime(2026, 3, 10, 2, 5, tzinfo=dt.UTC)
    assert list(
        ContactPoint.objects.exclude(opted_out_channels=[]).values_list("pk", "opted_out_channels")
    ) == [(person.mobile.pk, ["sms"])]
    queued.refresh_from_db()
    queued_other.refresh_from_db()
    assert (queued.state, queued_other.state) == (MessageState.CANCELLED, MessageState.QUEUED)

    # The provider pushes the same reply again: stored once.
    again = _post(client, INBOUND, [_uplink("退订", sequence_id=901)])
    assert again.status_code == 200
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_an_email_stop_through_the_email_provider(client: Any) -> None:
    person = debtor()
    queued_email = message(person.email, person.account)
    payload = [
        {
            "id": "<reply-7@example.com>",
            "from": "zhang.san@example.com",
            "subject": "Re: 还款提醒",
            "text": "STOP",
            "received_at": "2026-03-10T10:05:00+08:00",
        }
    ]

    response = _post(client, "/api/v1/comms/inbound/smtp", payload, secret=EMAIL_SECRET)

    assert response.status_code == 200
    person.email.refresh_from_db()
    person.mobile.refresh_from_db()
    assert (person.email.opted_out_channels, person.mobile.opted_out_channels) == (["email"], [])
    queued_email.refresh_from_db()
    assert queued_email.state == MessageState.CANCELLED


@pytest.mark.django_db
def test_an_email_signed_with_the_sms_secret_is_refused(client: Any) -> None:
    response = _post(client, "/api/v1/comms/inbound/smtp", [], secret=SMS_SECRET)

    assert response.status_code == 401
    assert InboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_non_opt_out_reply_is_just_stored(client: Any) -> None:
    person = debtor()
    queued = message(person.mobile, person.account)

    response = _post(client, INBOUND, [_uplink("我下周一还款", sequence_id=902)])

    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert (inbound.text, inbound.opt_out) == ("我下周一还款", False)
    assert ContactPoint.objects.filter(do_not_contact=True).count() == 0
    queued.refresh_from_db()
    assert queued.state == MessageState.QUEUED


@pytest.mark.django_db
def test_the_fake_providers_signed_requests_are_accepted(client: Any) -> None:
    person = debtor()
    fake = FakeSmsProvider(callback_secret=SMS_SECRET)
    try:
        body, headers = fake.uplink_request(OTHER_MOBILE, "TD")
        response = _post(client, INBOUND, body, headers=headers)
    finally:
        fake.stop()

    assert response.status_code == 200
    person.other_mobile.refresh_from_db()
    assert person.other_mobile.opted_out_channels == ["sms"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_whole_loop_over_real_http(live_server: Any, settings: Any) -> None:
    """Our adapter sends through the fake provider; the fake pushes its signed receipt and a
    reply to the live server; the message is delivered and the number opted out."""
    person = debtor()
    templates = {"SMS_COLLECT": "${name}您好，您的账户已逾期${days}天，请尽快还款。回T退订"}
    with FakeSmsProvider(
        templates=templates,
        callback_secret=SMS_SECRET,
        receipt_url=f"{live_server.url}{RECEIPTS}",
        inbound_url=f"{live_server.url}{INBOUND}",
    ) as fake:
        row = message(person.mobile, person.account, state="sending")
        with HttpSmsGateway(url=fake.url) as gateway:
            sent = gateway.send(
                Outgoing(
                    message_id=row.pk,
                    channel="sms",
                    to=f"+86{MOBILE}",
                    body="张三您好，您的账户已逾期15天，请尽快还款。回T退订",
                    provider_template_code="SMS_COLLECT",
                    variables={"name": "张三", "days": "15"},
                )
            )
        # The receipt overtakes the sender, which has not recorded the send yet: 503, kept.
        assert fake.push_receipts() == 0
        # What the sender records after a send (the lead's outbox_send_due does this).
        row.state, row.gateway, row.provider_message_id = (
            MessageState.SENT,
            "smsapi",
            sent.provider_message_id,
        )
        row.save(update_fields=["state", "gateway", "provider_message_id"])
        queued = message(person.mobile, person.account)

        assert fake.push_receipts() == 1
        assert fake.push_uplink(MOBILE, "退订。") == 200
    close_shared_clients()

    row.refresh_from_db()
    queued.refresh_from_db()
    assert (row.state, queued.state) == (MessageState.DELIVERED, MessageState.CANCELLED)
    assert fake.accepted[0].text == "张三您好，您的账户已逾期15天，请尽快还款。回T退订"
    assert InboundMessage.objects.get().opt_out is True
