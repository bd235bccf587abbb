"""Email over real SMTP (``ARREARS_SMTP_HOST``/``PORT``/``USER``/``PASSWORD``/``STARTTLS``,
sender ``ARREARS_EMAIL_FROM``).

Each message is a UTF-8 text email whose ``Message-ID`` is derived from our outbox id
(``<arrears-message-<id>@<sender's domain>>``): a retry after a lost answer carries the
same id, and a bounce or a reply that quotes it can be traced back to the message.

Answers: a 5xx on RCPT or DATA is permanent (code ``bounced``: the address does not take
our mail); a 4xx, a refused connection, a dropped connection or a timeout is retryable.
The sender being refused or the login failing is the operator's to fix, so retryable too
(codes ``sender_refused``, ``auth``). One connection is kept open and reused between
sends (re-opened once when the server has dropped it).
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from django.conf import settings

from arrears.comms.gateways.base import GatewayError, Outgoing, Sent


def message_id_for(message_id: int, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "arrears.invalid"
    return f"<arrears-message-{message_id}@{domain}>"


def _smtp_error(code: int, reply: bytes | str, *, stage: str) -> GatewayError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    reason = f"{stage} {code} {text}".strip()[:300]
    if 500 <= code < 600:
        return GatewayError(reason, retryable=False, code="bounced")
    return GatewayError(reason, retryable=True, code=f"smtp_{code}")


class SmtpGateway:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        user: str | None = None,
        password: str | None = None,
        starttls: bool | None = None,
        sender: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host = host or settings.ARREARS_SMTP_HOST
        self.port = port or settings.ARREARS_SMTP_PORT
        self.user = settings.ARREARS_SMTP_USER if user is None else user
        self.password = settings.ARREARS_SMTP_PASSWORD if password is None else password
        self.starttls = settings.ARREARS_SMTP_STARTTLS if starttls is None else starttls
        self.sender = sender or settings.ARREARS_EMAIL_FROM
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    # --- the connection ------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.user:
                connection.login(self.user, self.password)
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def __enter__(self) -> SmtpGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending -------------------------------------------------------------------------

    def build(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = (
            formataddr((message.recipient_name, message.to)) if message.recipient_name else message.to
        )
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = message_id_for(message.message_id, self.sender)
        email["X-Arrears-Message"] = str(message.message_id)
        email.set_content(message.body, charset="utf-8")
        return email

    def send(self, message: Outgoing) -> Sent:
        local, _, domain = message.to.rpartition("@")
        if not local or not domain or any(ch.isspace() for ch in message.to):
            raise GatewayError(f"not an email address: {message.to!r}", retryable=False, code="bad_address")
        try:
            Address(addr_spec=message.to)
        except (ValueError, IndexError) as error:
            raise GatewayError(
                f"not an email address: {error}", retryable=False, code="bad_address"
            ) from error
        email = self.build(message)
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._connection is None:
                        self._connection = self._connect()
                    self._connection.send_message(email, from_addr=self.sender, to_addrs=[message.to])
                    break
                except smtplib.SMTPServerDisconnected as error:
                    # A kept connection the server has closed meanwhile: open a new one, once.
                    self._connection = None
                    if attempt == 2:
                        raise GatewayError(
                            f"SMTP server disconnected: {error}", retryable=True, code="connection"
                        ) from error
                except smtplib.SMTPRecipientsRefused as error:
                    code, reply = next(iter(error.recipients.values()))
                    self._reset()
                    raise _smtp_error(code, reply, stage="RCPT") from error
                except smtplib.SMTPDataError as error:
                    self._reset()
                    raise _smtp_error(error.smtp_code, error.smtp_error, stage="DATA") from error
                except smtplib.SMTPSenderRefused as error:
                    self._reset()
                    raise GatewayError(
                        f"MAIL FROM {error.smtp_code} {error.smtp_error!r}"[:300],
                        retryable=True,
                        code="sender_refused",
                    ) from error
                except smtplib.SMTPAuthenticationError as error:
                    self._drop()
                    raise GatewayError(f"SMTP login refused: {error}", retryable=True, code="auth") from error
                except smtplib.SMTPNotSupportedError as error:
                    self._drop()
                    raise GatewayError(
                        f"SMTP: {error}"[:300], retryable=False, code="not_supported"
                    ) from error
                except smtplib.SMTPResponseException as error:
                    self._drop()
                    raise GatewayError(
                        f"SMTP {error.smtp_code} {error.smtp_error!r}"[:300],
                        retryable=True,
                        code=f"smtp_{error.smtp_code}",
                    ) from error
                except (smtplib.SMTPException, OSError) as error:
                    self._connection = None
                    raise GatewayError(
                        f"SMTP connection failed: {error}"[:300], retryable=True, code="connection"
                    ) from error
        return Sent(provider_message_id=email["Message-ID"])

    def _reset(self) -> None:
        """After a refused transaction the connection is still good: RSET and keep it."""
        if self._connection is None:
            return
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self._connection.close()
            self._connection = None

    def send_many(self, messages: Sequence[Outgoing]) -> list[Sent | GatewayError]:
        results: list[Sent | GatewayError] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except GatewayError as error:
                results.append(error)
        return results
