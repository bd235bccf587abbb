"""Letters in the outbox as the sender leaves them: rendered, `sent` to the print queue."""

from __future__ import annotations

import datetime as dt

from arrears.cases.models import Case
from arrears.comms.models import Message, MessageChannel, MessageSource, MessageState, TemplateClass
from arrears.portfolio.models import ContactPoint
from arrears.tests.factories import ContactPointFactory

SENT_AT = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
LETTER_BODY = (
    "尊敬的${name}先生/女士：\n"
    "您在示范银行办理的现金贷（账户尾号${last4}）已逾期15天，逾期金额为人民币1,234.56元。"
    "请您在收到本函之日起7个工作日内，通过银行柜面或网上银行等正规渠道归还欠款。\n"
    "如已还款，请忽略本函。"
)


def address_point(
    case: Case,
    *,
    owner_role: str = "self",
    owner_name: str = "",
    value: str = "北京市朝阳区建国路88号现代城A座1201室 邮编：100022",
) -> ContactPoint:
    return ContactPointFactory(
        customer=case.customer, kind="address", owner_role=owner_role, owner_name=owner_name, value=value
    )


def sent_letter(
    case: Case,
    *,
    point: ContactPoint | None = None,
    state: str = MessageState.SENT,
    channel: str = MessageChannel.LETTER,
    gateway: str = "print",
    body: str | None = None,
    subject: str = "逾期还款提醒函",
    language: str = "zh-hans",
) -> Message:
    point = point or address_point(case)
    account_no = case.account.account_no
    text = body if body is not None else LETTER_BODY
    text = text.replace("${name}", case.customer.name).replace("${last4}", account_no[-4:])
    return Message.objects.create(
        account=case.account,
        customer=case.customer,
        case=case,
        contact_point=point,
        channel=channel,
        template_class=TemplateClass.COLLECTION,
        language=language,
        source=MessageSource.MANUAL,
        subject=subject,
        body=text,
        variables={"creditor_name": "示范银行", "hotline": "400-000-0000"},
        scheduled_at=SENT_AT,
        next_attempt_at=SENT_AT,
        state=state,
        attempts=1 if state == MessageState.SENT else 0,
        gateway=gateway if state == MessageState.SENT else "",
        provider_message_id="print:x" if state == MessageState.SENT else "",
        sent_at=SENT_AT if state == MessageState.SENT else None,
    )
