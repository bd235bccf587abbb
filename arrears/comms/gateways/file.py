"""The embedded default gateway: each message is written as a file under `var/outbox/`.

So `make demo` shows what would have been sent without any provider. The file name is the
outbox id, so a retry overwrites the same file instead of sending twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from arrears.comms.gateways.base import GatewayError, Outgoing, Sent


class FileGateway:
    name = "file"
    # The file is named by the message id: writing it again replaces it.
    idempotent = True

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory or settings.ARREARS_OUTBOX_DIR)

    def send(self, message: Outgoing) -> Sent:
        folder = self.directory / message.channel
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{message.message_id:012d}.json"
            record = {
                "message_id": message.message_id,
                "channel": message.channel,
                "to": message.to,
                "recipient_name": message.recipient_name,
                "subject": message.subject,
                "body": message.body,
                "provider_template_code": message.provider_template_code,
                "variables": dict(message.variables),
            }
            # Written under a temporary name then renamed: a reader never sees half a file.
            partial = path.with_suffix(".part")
            partial.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
            os.replace(partial, path)
        except OSError as error:
            raise GatewayError(f"cannot write {error.filename}: {error.strerror}", retryable=True) from error
        return Sent(provider_message_id=f"file:{message.channel}:{message.message_id}")

    def send_many(self, messages: Sequence[Outgoing]) -> list[Sent | GatewayError]:
        results: list[Sent | GatewayError] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except GatewayError as error:
                results.append(error)
        return results
