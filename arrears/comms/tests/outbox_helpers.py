"""Small builders for the outbox tests: approved templates, account states, a recording gateway."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

from arrears.comms.gateways.base import GatewayError, Outgoing, Sent
from arrears.comms.models import Template, TemplateVersion, VersionStatus
from arrears.delinquency.models import AccountState
from arrears.portfolio.models import Account


def approved_template(
    code: str,
    body: str,
    *,
    channel: str = "sms",
    template_class: str = "collection",
    subject: str = "",
    language: str = "zh-hans",
) -> Template:
    template = Template.objects.create(
        code=code, language=language, name=code, channel=channel, template_class=template_class
    )
    version = TemplateVersion.objects.create(
        template=template,
        number=1,
        subject=subject,
        body=body,
        provider_template_code=f"SMS_{code}",
        status=VersionStatus.APPROVED,
        review_note="test",
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
    return template


def account_state(
    account: Account,
    *,
    as_of: dt.date,
    overdue_fen: int = 0,
    outstanding_fen: int = 1_000_000,
    delinquent_since: dt.date | None = None,
    bucket: str = "M0",
    next_due_date: dt.date | None = None,
) -> AccountState:
    return AccountState.objects.update_or_create(
        account=account,
        defaults={
            "as_of": as_of,
            "overdue_fen": overdue_fen,
            "outstanding_fen": outstanding_fen,
            "delinquent_since": delinquent_since,
            "bucket_code": bucket,
            "bucket_group": bucket,
            "next_due_date": next_due_date,
        },
    )[0]


class RecordingGateway:
    """Stands in for a provider: records what it was given, fails when told to."""

    name = "recording"
    idempotent = False

    def __init__(self, failures: Sequence[GatewayError] = ()) -> None:
        self.sent: list[Outgoing] = []
        self.failures = list(failures)
        self.lock = threading.Lock()

    def send(self, message: Outgoing) -> Sent:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append(message)
            return Sent(provider_message_id=f"R{message.message_id}")
