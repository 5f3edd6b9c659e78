"""A real SMTP server that keeps what it receives: the tests' and `make run`'s mail sink.

It speaks SMTP (aiosmtpd) with STARTTLS on a self-signed certificate, so a client set to
require TLS works against it. Recipients at `REFUSED_DOMAIN` are refused for good (550), as a
real server refuses an unknown mailbox; `pause()` makes every command fail with 421 (a server
that is up but not accepting), and `stop()` closes the port (a server that is down).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import tempfile
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared_kit.testing.infra import free_port

REFUSED_DOMAIN = "refused.invalid"


@dataclass(frozen=True)
class Received:
    """One message as the sink accepted it."""

    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    received_at: dt.datetime
    tls: bool

    @property
    def message_id(self) -> str:
        """The Message-ID header (a sender's resend keeps it)."""
        return str(self.message.get("Message-ID", ""))

    def text(self) -> str:
        """The plain-text part."""
        part = self.message.get_body(preferencelist=("plain",))
        return "" if part is None else str(part.get_content())

    def html(self) -> str:
        """The HTML part, if any."""
        part = self.message.get_body(preferencelist=("html",))
        return "" if part is None else str(part.get_content())


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, _: list[str]
    ) -> str:
        if self.sink.paused:
            return "421 4.3.2 Service not available, try again later"
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.paused:
            return "421 4.3.2 Service not available, try again later"
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sink.keep(
            Received(
                mail_from=str(envelope.mail_from),
                recipients=tuple(envelope.rcpt_tos),
                message=parsed,
                received_at=dt.datetime.now(dt.UTC),
                tls=session.ssl is not None,
            )
        )
        return "250 Message accepted"


class MailSink:
    """An SMTP server on `host:port` keeping every accepted message in memory."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        starttls: bool = True,
        cert_dir: Path | None = None,
        cert_names: tuple[str, ...] = (),
    ) -> None:
        """`cert_dir`: keep the certificate there (reused while valid) instead of a new one in
        a temporary folder; `cert_names`: host names it is valid for besides localhost."""
        self.host, self.port = host, port
        self.paused = False
        self._messages: list[Received] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self.ca_file: str | None = None  # the certificate a client must trust for STARTTLS
        if starttls:
            self._tls, self.ca_file = _self_signed_context(cert_dir, cert_names)
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        """Open the port (again); messages kept so far stay."""
        kwargs: dict[str, Any] = {"tls_context": self._tls} if self._tls else {}
        self.port = self.port or free_port()  # aiosmtpd cannot bind port 0
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, ready_timeout=10, **kwargs
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Close the port: clients cannot connect until `start`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keep(self, received: Received) -> None:
        """Store an accepted message."""
        with self._lock:
            self._messages.append(received)

    @property
    def messages(self) -> list[Received]:
        """Every accepted message, oldest first."""
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[Received]:
        """Messages with `address` among their recipients."""
        return [m for m in self.messages if address in m.recipients]

    def clear(self) -> None:
        """Forget every message."""
        with self._lock:
            self._messages.clear()


def ensure_certificate(folder: Path, names: tuple[str, ...] = ()) -> Path:
    """A self-signed certificate for localhost (and `names`) in `folder` (`cert.pem`,
    `key.pem`): the one there while it is valid for another week and for those names, else a
    new one. The certificate's path."""
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    dns = ["localhost", *(n for n in names if n != "localhost")]
    if cert_file.exists() and key_file.exists():
        existing = x509.load_pem_x509_certificate(cert_file.read_bytes())
        valid = existing.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
        sans = existing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if valid and set(dns) <= set(sans.get_values_for_type(x509.DNSName)):
            return cert_file
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    *(x509.DNSName(name) for name in dns),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_file


def _self_signed_context(
    cert_dir: Path | None = None, names: tuple[str, ...] = ()
) -> tuple[ssl.SSLContext, str]:
    """A server context on a self-signed certificate, and the PEM file clients trust."""
    folder = cert_dir or Path(tempfile.mkdtemp(prefix="mailsink-"))
    cert_file = ensure_certificate(folder, names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, folder / "key.pem")
    return context, str(cert_file)
