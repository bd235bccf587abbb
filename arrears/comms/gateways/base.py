"""The one interface every gateway implements, and the errors the sender understands.

The sender (`comms.services.outbox_send_due`) renders the message, asks the guard, then hands
an `Outgoing` to the gateway of its channel. The gateway either returns the provider's id
for the message or raises `GatewayError`; `retryable` tells the sender whether to try
again later (a timeout, a throttle) or to give up (an unknown number, a bounced address).

`Outgoing.message_id` is our outbox row id and is passed to the provider as its
idempotency key (the SMS `OutId`, the email `Message-ID`), so a retry after a lost answer
can be recognised on the provider's side too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    message_id: int
    channel: str  # "sms" | "email" | "letter"
    to: str  # a phone number in E.164, an email address, or a postal address
    body: str
    subject: str = ""
    # SMS providers in China send registered templates with parameters, not free text.
    provider_template_code: str = ""
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)
    recipient_name: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Sent:
    provider_message_id: str


class GatewayError(Exception):
    def __init__(self, reason: str, *, retryable: bool, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code


class Gateway(Protocol):
    name: str

    def send(self, message: Outgoing) -> Sent:
        """Send one message; raise GatewayError when it did not go."""
        ...


class BatchGateway(Gateway, Protocol):
    def send_many(self, messages: Sequence[Outgoing]) -> list[Sent | GatewayError]:
        """Send several messages at once; one result per message, in order."""
        ...
