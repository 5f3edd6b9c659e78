"""E-mail over SMTP (aiosmtplib): STARTTLS, an optional login, one message per send."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from notifications_service.channels import Outgoing, PermanentFailure, TemporaryFailure
from notifications_service.config import NotificationsSettings


class EmailSender:
    """Sends `Outgoing` messages through the configured SMTP server."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.tls_context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        _, address = parseaddr(settings.mail_from)
        self.domain = address.rpartition("@")[2] or "localhost"

    def compose(self, message: Outgoing) -> EmailMessage:
        """The MIME message: plain text, and HTML as its alternative."""
        mail = EmailMessage()
        mail["From"] = self.settings.mail_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        # The same id on every attempt: a mail client shows a resent copy as one message.
        mail["Message-ID"] = f"<{message.reference}@{self.domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        # After the body: set_content and add_alternative drop the Content-* headers set before.
        mail["Content-Language"] = message.language
        return mail

    async def send(self, message: Outgoing) -> None:
        """Hand the message to the SMTP server; classify what it answers."""
        mode = self.settings.smtp_starttls
        password = self.settings.smtp_password
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=self.settings.smtp_host,
                port=self.settings.smtp_port,
                username=self.settings.smtp_username,
                password=None if password is None else password.get_secret_value(),
                use_tls=mode == "tls",
                start_tls={"require": True, "off": False}.get(mode),
                tls_context=self.tls_context,
                timeout=self.settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0] if exc.recipients else None
            if refusal is not None and 500 <= refusal.code < 600:
                raise PermanentFailure(f"{refusal.code} {refusal.message}") from exc
            raise TemporaryFailure(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        """Nothing held between sends."""
