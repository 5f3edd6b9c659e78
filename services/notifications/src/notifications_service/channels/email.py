"""E-mail over SMTP (aiosmtplib): STARTTLS, an optional login, connections kept and reused.

A connection's STARTTLS handshake costs more than a message, so each is kept for up to
`MESSAGES_PER_CONNECTION` messages (servers limit a session's messages) and reused by the
next send; there are as many as sends run at once. Any error closes the connection it
happened on, and a kept connection the server had closed is replaced once.

The MIME message is built with the `email.mime` classes and sent as bytes: the modern
`EmailMessage` parses every header it is given and flattens again on sending, which cost
about as much CPU as the SMTP exchange itself (the addresses are ASCII, see
`service.addresses`, and the non-ASCII texts are encoded here).
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from email import charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib

from notifications_service.channels import Outgoing, PermanentFailure, TemporaryFailure
from notifications_service.config import NotificationsSettings

MESSAGES_PER_CONNECTION = 100
# UTF-8 with quoted-printable headers and base64 bodies (binascii: the quoted-printable body
# encoder is pure Python and costs more than the rest of the message).
UTF8 = charset.Charset("utf-8")
UTF8.header_encoding = charset.QP
UTF8.body_encoding = charset.BASE64


class EmailSender:
    """Sends `Outgoing` messages through the configured SMTP server."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.tls_context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        name, address = parseaddr(settings.mail_from)
        self.address = address
        self.sender = formataddr((name, address), charset=UTF8)  # the name in RFC 2047 words
        self.domain = address.rpartition("@")[2] or "localhost"
        self._idle: list[_Connection] = []

    def compose(self, message: Outgoing) -> Message:
        """The MIME message: plain text, and HTML as its alternative."""
        text = _text(message.text, "plain")
        if message.html:
            mail: Message = MIMEMultipart("alternative")
            mail.attach(text)
            mail.attach(_text(message.html, "html"))
        else:
            mail = text
        mail["From"] = self.sender
        mail["To"] = message.to
        # A Header (not its text): folded knowing the field name, so no line starts empty.
        mail["Subject"] = Header(message.subject, UTF8, header_name="Subject")  # type: ignore[assignment]
        mail["Date"] = format_datetime(dt.datetime.now(dt.UTC))  # "+0000", not "unknown zone"
        # The same id on every attempt: a mail client shows a resent copy as one message.
        mail["Message-ID"] = f"<{message.reference}@{self.domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail["Content-Language"] = message.language
        return mail

    async def send(self, message: Outgoing) -> None:
        """Hand the message to the SMTP server; classify what it answers."""
        mail = (message.to, self.compose(message).as_bytes())
        try:
            try:
                await self._send_on(await self._connection(reuse=True), mail)
            except _Stale:  # a kept connection the server had closed: once on a new one
                await self._send_on(await self._connection(reuse=False), mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0] if exc.recipients else None
            if refusal is None:
                raise TemporaryFailure("recipient refused") from exc
            # The server's code and words only: the exception's text names the address.
            reason = f"{refusal.code} {refusal.message}"
            if 500 <= refusal.code < 600:
                raise PermanentFailure(reason) from exc
            raise TemporaryFailure(reason) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _connection(self, *, reuse: bool) -> _Connection:
        """A kept connection when one is free (and `reuse`), else a new one."""
        if reuse and self._idle:
            return self._idle.pop()
        mode = self.settings.smtp_starttls
        password = self.settings.smtp_password
        client = aiosmtplib.SMTP(
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
            use_tls=mode == "tls",
            start_tls={"require": True, "off": False}.get(mode),
            tls_context=self.tls_context,
            timeout=self.settings.smtp_timeout_s,
        )
        await client.connect()
        return _Connection(client)

    async def _send_on(self, connection: _Connection, mail: tuple[str, bytes]) -> None:
        """Send (recipient, message) on a connection; keep it for the next message unless
        anything went wrong."""
        to, data = mail
        try:
            await connection.client.sendmail(self.address, [to], data)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            connection.client.close()
            if connection.sent:  # nothing went on a connection the server had dropped
                raise _Stale from exc
            raise
        except BaseException:
            connection.client.close()  # a refusal may come with the server hanging up
            raise
        connection.sent += 1
        if connection.sent < MESSAGES_PER_CONNECTION:
            self._idle.append(connection)
        else:
            await _quit(connection)

    async def close(self) -> None:
        """Say goodbye on the kept connections."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await _quit(connection)


def _text(body: str, subtype: str) -> Message:
    """A text part in UTF-8."""
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, UTF8)
    return part


@dataclass
class _Connection:
    """An open SMTP session and how many messages went through it."""

    client: aiosmtplib.SMTP
    sent: int = 0


class _Stale(Exception):
    """A kept connection was closed by the server before this message went."""


async def _quit(connection: _Connection) -> None:
    try:
        await connection.client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        connection.client.close()
