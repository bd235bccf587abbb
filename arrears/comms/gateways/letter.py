"""Letters are not sent one by one: the sender puts them in the print queue (this gateway)
and `letter_batches.letter_batch_print` prints the waiting ones as one PDF and a mailing
list. Accepting a letter twice changes nothing, so the gateway is idempotent."""

from __future__ import annotations

from collections.abc import Sequence

from arrears.comms.gateways.base import GatewayError, Outgoing, Sent


class PrintQueueGateway:
    name = "print"
    idempotent = True

    def send(self, message: Outgoing) -> Sent:
        if not message.to.strip():
            raise GatewayError("no postal address", retryable=False, code="no_address")
        return Sent(provider_message_id=f"print:{message.message_id}")

    def send_many(self, messages: Sequence[Outgoing]) -> list[Sent | GatewayError]:
        results: list[Sent | GatewayError] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except GatewayError as error:
                results.append(error)
        return results
