"""The SMS adapter over the provider's real protocol, against the fake provider in a thread."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from arrears.comms.fake_sms import FakeSmsProvider
from arrears.comms.gateways.base import GatewayError, Outgoing, Sent
from arrears.comms.gateways.sms_http import HttpSmsGateway, close_shared_clients, provider_number, signature

REMIND = "SMS_REMIND"
REMIND_TEXT = "${name}您好，您尾号${last4}的账户应还${amount}元，请于${due}前还款。回T退订"
COLLECT = "SMS_COLLECT"
COLLECT_TEXT = "${name}您好，您的账户已逾期${days}天，请尽快还款。回T退订"
SECRET = "test-key-secret"


@pytest.fixture(autouse=True)
def _pooled_clients() -> Iterator[None]:
    yield
    close_shared_clients()


@pytest.fixture
def fake() -> Iterator[FakeSmsProvider]:
    with FakeSmsProvider(
        access_key_id="test-key",
        access_key_secret=SECRET,
        templates={REMIND: REMIND_TEXT, COLLECT: COLLECT_TEXT},
        max_chars=70,
    ) as provider:
        yield provider


def gateway_for(fake: FakeSmsProvider, **kwargs) -> HttpSmsGateway:
    options = {
        "url": fake.url,
        "access_key_id": "test-key",
        "access_key_secret": SECRET,
        "sign_name": "安信催收",
        "max_chars": 70,
    }
    return HttpSmsGateway(**(options | kwargs))


def remind(message_id: int, to: str, *, name: str = "张三", body: str = "提醒") -> Outgoing:
    return Outgoing(
        message_id=message_id,
        channel="sms",
        to=to,
        body=body,
        provider_template_code=REMIND,
        variables={"name": name, "last4": "1234", "amount": "1,000.00", "due": "3月10日"},
    )


def test_the_signature_is_the_providers_documented_example() -> None:
    # The provider documentation's worked example (GET, secret "testSecret").
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert signature(params, "testSecret", method="GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_numbers_are_sent_as_the_provider_wants_them() -> None:
    assert provider_number("+8613800000001") == "13800000001"
    assert provider_number("0086 138-0000-0001") == "13800000001"
    assert provider_number("13800000001") == "13800000001"
    assert provider_number("+14155550100") == "14155550100"


def test_one_message_is_sent_signed_with_its_template_and_parameters(fake: FakeSmsProvider) -> None:
    with gateway_for(fake) as gateway:
        sent = gateway.send(remind(42, "+8613800000001"))

    assert len(fake.accepted) == 1
    accepted = fake.accepted[0]
    assert sent == Sent(provider_message_id=accepted.biz_id)
    assert accepted.biz_id.endswith("^0")
    assert accepted.action == "SendSms"
    assert accepted.out_id == "42"
    assert accepted.phone == "13800000001"
    assert accepted.sign_name == "安信催收"
    assert accepted.template_code == REMIND
    assert accepted.params == {"name": "张三", "last4": "1234", "amount": "1,000.00", "due": "3月10日"}
    assert accepted.text == "张三您好，您尾号1234的账户应还1,000.00元，请于3月10日前还款。回T退订"
    assert fake.refused == []


def test_gateways_share_one_keep_alive_connection_pool(fake: FakeSmsProvider) -> None:
    first, second = gateway_for(fake), gateway_for(fake)
    first.send(remind(1, "13800000001"))
    first.close()
    second.send(remind(2, "13800000002"))

    assert first.client is second.client
    assert not second.client.is_closed
    assert [a.out_id for a in fake.accepted] == ["1", "2"]


def test_a_wrong_secret_is_refused_by_the_provider_and_nothing_is_sent(fake: FakeSmsProvider) -> None:
    with (
        gateway_for(fake, access_key_secret="not-the-secret") as gateway,
        pytest.raises(GatewayError) as caught,
    ):
        gateway.send(remind(1, "13800000001"))

    assert caught.value.code == "SignatureDoesNotMatch"
    # A key problem is the operator's to fix: the message waits rather than failing.
    assert caught.value.retryable is True
    assert fake.accepted == []
    assert fake.refused == [("SendSms", "SignatureDoesNotMatch")]


def test_a_batch_groups_messages_by_template_and_never_names_a_number_twice(fake: FakeSmsProvider) -> None:
    messages = [
        remind(1, "13800000001", name="张三"),
        remind(2, "13800000002", name="李四"),
        Outgoing(
            message_id=3,
            channel="sms",
            to="13800000003",
            body="催收",
            provider_template_code=COLLECT,
            variables={"name": "王五", "days": "15"},
        ),
        remind(4, "13800000001", name="张三"),
    ]
    with gateway_for(fake) as gateway:
        results = gateway.send_many(messages)

    assert all(isinstance(result, Sent) for result in results)
    by_phone_and_name = {(a.phone, a.params["name"]): a for a in fake.accepted}
    batch = [a for a in fake.accepted if a.action == "SendBatchSms"]
    assert [(a.phone, a.params["name"], a.template_code) for a in batch] == [
        ("13800000001", "张三", REMIND),
        ("13800000002", "李四", REMIND),
    ]
    # One provider id for the batch; the repeated number went in a request of its own.
    assert results[0] == results[1] == Sent(provider_message_id=batch[0].biz_id)
    singles = [(a.phone, a.template_code, a.out_id) for a in fake.accepted if a.action == "SendSms"]
    assert singles == [("13800000001", REMIND, "4"), ("13800000003", COLLECT, "3")]
    assert results[2] == Sent(provider_message_id=by_phone_and_name[("13800000003", "王五")].biz_id)
    assert results[3] != results[0]
    assert fake.requests == 3


def test_a_throttled_request_is_retryable_and_the_retry_goes_through(fake: FakeSmsProvider) -> None:
    fake.throttle_next(1)
    with gateway_for(fake) as gateway:
        with pytest.raises(GatewayError) as caught:
            gateway.send(remind(7, "13800000001"))
        assert caught.value.code == "isv.BUSINESS_LIMIT_CONTROL"
        assert caught.value.retryable is True
        assert fake.accepted == []

        sent = gateway.send(remind(7, "13800000001"))

    assert [(a.out_id, a.phone) for a in fake.accepted] == [("7", "13800000001")]
    assert sent.provider_message_id == fake.accepted[0].biz_id


def test_an_illegal_number_is_permanent(fake: FakeSmsProvider) -> None:
    with gateway_for(fake) as gateway, pytest.raises(GatewayError) as caught:
        gateway.send(remind(8, "+86 12345"))

    assert caught.value.code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert caught.value.retryable is False
    assert fake.accepted == []


def test_one_illegal_number_in_a_batch_fails_only_its_message(fake: FakeSmsProvider) -> None:
    messages = [remind(1, "13800000001"), remind(2, "010-56000000"), remind(3, "13800000003")]
    with gateway_for(fake) as gateway:
        results = gateway.send_many(messages)

    assert isinstance(results[0], Sent)
    assert isinstance(results[1], GatewayError)
    assert (results[1].code, results[1].retryable) == ("isv.MOBILE_NUMBER_ILLEGAL", False)
    assert isinstance(results[2], Sent)
    # The batch was refused whole, then each message went on its own.
    assert fake.refused == [
        ("SendBatchSms", "isv.MOBILE_NUMBER_ILLEGAL"),
        ("SendSms", "isv.MOBILE_NUMBER_ILLEGAL"),
    ]
    assert [(a.action, a.out_id, a.phone) for a in fake.accepted] == [
        ("SendSms", "1", "13800000001"),
        ("SendSms", "3", "13800000003"),
    ]


def test_a_throttled_batch_is_retryable_for_every_message(fake: FakeSmsProvider) -> None:
    fake.throttle_next(1)
    with gateway_for(fake) as gateway:
        results = gateway.send_many([remind(1, "13800000001"), remind(2, "13800000002")])

    assert [(r.code, r.retryable) for r in results if isinstance(r, GatewayError)] == [
        ("isv.BUSINESS_LIMIT_CONTROL", True),
        ("isv.BUSINESS_LIMIT_CONTROL", True),
    ]
    assert fake.accepted == []


def test_an_over_long_text_is_refused_before_any_request(fake: FakeSmsProvider) -> None:
    long_body = "您" * 71
    with gateway_for(fake) as gateway:
        with pytest.raises(GatewayError) as caught:
            gateway.send(remind(9, "13800000001", body=long_body))
        results = gateway.send_many([remind(10, "13800000001", body=long_body)])

    assert (caught.value.code, caught.value.retryable) == ("too_long", False)
    assert caught.value.reason == "SMS text has 71 characters, the provider takes at most 70"
    assert isinstance(results[0], GatewayError) and results[0].code == "too_long"
    assert fake.requests == 0
    assert fake.accepted == []


def test_the_provider_refuses_a_rendered_text_over_its_limit(fake: FakeSmsProvider) -> None:
    # Our body was short, but the provider's own rendering of the template is not.
    with gateway_for(fake) as gateway, pytest.raises(GatewayError) as caught:
        gateway.send(remind(11, "13800000001", name="很长的名字" * 10))

    assert (caught.value.code, caught.value.retryable) == ("isv.PARAM_LENGTH_LIMIT", False)
    assert fake.accepted == []


def test_an_unknown_template_code_is_permanent(fake: FakeSmsProvider) -> None:
    message = Outgoing(
        message_id=12, channel="sms", to="13800000001", body="x", provider_template_code="SMS_NOPE"
    )
    with gateway_for(fake) as gateway, pytest.raises(GatewayError) as caught:
        gateway.send(message)

    assert (caught.value.code, caught.value.retryable) == ("isv.SMS_TEMPLATE_ILLEGAL", False)


def test_missing_template_parameters_are_permanent(fake: FakeSmsProvider) -> None:
    message = Outgoing(
        message_id=13,
        channel="sms",
        to="13800000001",
        body="x",
        provider_template_code=COLLECT,
        variables={"name": "张三"},
    )
    with gateway_for(fake) as gateway, pytest.raises(GatewayError) as caught:
        gateway.send(message)

    assert (caught.value.code, caught.value.retryable) == ("isv.TEMPLATE_MISSING_PARAMETERS", False)


def test_a_message_without_a_provider_template_is_refused_before_any_request(fake: FakeSmsProvider) -> None:
    message = Outgoing(message_id=14, channel="sms", to="13800000001", body="x")
    with gateway_for(fake) as gateway, pytest.raises(GatewayError) as caught:
        gateway.send(message)

    assert (caught.value.code, caught.value.retryable) == ("no_template_code", False)
    assert fake.requests == 0


def test_an_unreachable_provider_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = HttpSmsGateway(url=f"http://127.0.0.1:{port}/", access_key_secret=SECRET, max_chars=70)
    with gateway, pytest.raises(GatewayError) as caught:
        gateway.send(remind(15, "13800000001"))

    assert (caught.value.code, caught.value.retryable) == ("connection", True)


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable"),
    [
        (503, b"Service Unavailable", "http_503", True),
        (200, b"<html>proxy</html>", "bad_response", True),
        (
            200,
            json.dumps({"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"}).encode(),
            "isp.SYSTEM_ERROR",
            True,
        ),
        (
            200,
            json.dumps({"Code": "isv.DAY_LIMIT_CONTROL", "Message": "日限流"}).encode(),
            "isv.DAY_LIMIT_CONTROL",
            True,
        ),
        (
            200,
            json.dumps({"Code": "isv.BLACK_KEY_CONTROL_LIMIT", "Message": "黑名单"}).encode(),
            "isv.BLACK_KEY_CONTROL_LIMIT",
            False,
        ),
    ],
)
def test_provider_answers_map_to_retryable_or_permanent(
    status: int, body: bytes, code: str, retryable: bool
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    gateway = HttpSmsGateway(
        url="http://sms.invalid/", access_key_secret=SECRET, max_chars=70, transport=transport
    )
    with gateway, pytest.raises(GatewayError) as caught:
        gateway.send(remind(16, "13800000001"))

    assert (caught.value.code, caught.value.retryable) == (code, retryable)


def test_a_timeout_is_retryable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    gateway = HttpSmsGateway(
        url="http://sms.invalid/", access_key_secret=SECRET, transport=httpx.MockTransport(slow)
    )
    with gateway, pytest.raises(GatewayError) as caught:
        gateway.send(remind(17, "13800000001"))

    assert (caught.value.code, caught.value.retryable) == ("timeout", True)


def test_the_fake_keeps_a_receipt_per_accepted_message_in_the_providers_shape(fake: FakeSmsProvider) -> None:
    fake.undeliverable("13800000002", "MK:0001", "用户关机")
    with gateway_for(fake) as gateway:
        gateway.send(remind(21, "13800000001"))
        gateway.send(remind(22, "13800000002"))

    receipts = fake.take_receipts()
    assert [
        (
            r["phone_number"],
            r["success"],
            r["err_code"],
            r["err_msg"],
            r["out_id"],
            r["biz_id"],
            r["sms_size"],
        )
        for r in receipts
    ] == [
        ("13800000001", True, "DELIVERED", "用户接收成功", "21", fake.accepted[0].biz_id, "1"),
        ("13800000002", False, "MK:0001", "用户关机", "22", fake.accepted[1].biz_id, "1"),
    ]
    assert set(receipts[0]) == {
        "phone_number",
        "send_time",
        "report_time",
        "success",
        "err_code",
        "err_msg",
        "sms_size",
        "biz_id",
        "out_id",
    }
    assert fake.take_receipts() == []


def test_the_cli_offers_the_fake_provider(capsys: pytest.CaptureFixture[str]) -> None:
    from arrears.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["fake-sms", "--help"])

    assert exited.value.code == 0
    assert "--receipts-url" in capsys.readouterr().out
