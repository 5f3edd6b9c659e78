"""The local mail sink: mail sent over STARTTLS shows in its JSON and its web inbox, and a
message's HTML part is served sandboxed."""

from __future__ import annotations

import importlib.util
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import aiosmtplib
import httpx
import pytest
from cryptography import x509

from notifications_service.channels import Outgoing, TemporaryFailure
from notifications_service.channels.email import EmailSender
from notifications_service.config import NotificationsSettings
from shared_kit.testing.client import serving
from shared_kit.testing.infra import free_port

DEV = Path(__file__).resolve().parents[1] / "deploy" / "dev"


def _load(name: str) -> ModuleType:
    """Import a module of deploy/dev (which import each other) from its file."""
    if str(DEV) not in sys.path:
        sys.path.insert(0, str(DEV))
    spec = importlib.util.spec_from_file_location(name, DEV / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


mail_sink = _load("mail_sink")


@dataclass
class Sink:
    """A running sink: its SMTP port, the certificate to trust, and a client of its web app."""

    smtp_port: int
    ca_file: str
    web: httpx.AsyncClient


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[Sink]:
    """A fresh sink: SMTP on a free port, certificate in this test's folder, web app served."""
    port = free_port()
    async with (
        serving(mail_sink.create_app(port, tmp_path / "mail")) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as web,
    ):
        health = (await web.get("/healthz")).json()
        assert health["smtp_port"] == port
        assert health["ca_file"] == str(tmp_path / "mail" / "cert.pem")
        yield Sink(port, health["ca_file"], web)


def message(
    to: str, subject: str, text: str, html: str | None = None, ref: str = "m-1"
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Datoru bibliotēka <noreply@datori.localhost>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{ref}@datori.localhost>"
    mail.set_content(text)
    if html:
        mail.add_alternative(html, subtype="html")
    return mail


async def send(sink: Sink, mail: EmailMessage) -> None:
    """Send over STARTTLS (required), trusting the sink's certificate only."""
    context = ssl.create_default_context(cafile=sink.ca_file)
    await aiosmtplib.send(
        mail, hostname="127.0.0.1", port=sink.smtp_port, start_tls=True, tls_context=context
    )


HOSTILE_HTML = '<p style="color:red">Līgums</p><script>alert(1)</script><img src="http://x/t">'


async def test_mail_sent_over_starttls_is_listed_as_json(sink: Sink) -> None:
    await send(sink, message("ilze@example.lv", "Līgums gaida", "Parakstiet.", "<p>Ā</p>"))
    await send(sink, message("other@example.lv", "Second", "Otrā.", ref="m-2"))
    listed = (await sink.web.get("/api/messages")).json()
    assert [m["subject"] for m in listed] == ["Līgums gaida", "Second"]
    first = listed[0]
    assert first["to"] == ["ilze@example.lv"] and first["n"] == 1
    assert first["from"] == "noreply@datori.localhost"
    assert first["message_id"] == "<m-1@datori.localhost>"
    assert first["text"].strip() == "Parakstiet." and "<p>Ā</p>" in first["html"]
    assert first["tls"] is True and first["received_at"]
    only = (await sink.web.get("/api/messages", params={"to": "other@example.lv"})).json()
    assert [m["subject"] for m in only] == ["Second"]
    assert (await sink.web.delete("/api/messages")).status_code == 204
    assert (await sink.web.get("/api/messages")).json() == []


async def test_the_notifications_sender_reaches_the_sink(sink: Sink) -> None:
    settings = NotificationsSettings(
        smtp_port=sink.smtp_port, smtp_starttls="require", smtp_ca_file=sink.ca_file
    )
    outgoing = Outgoing("delivery-9", "ilze@example.lv", "Atgādinājums", "Teksts", "<p>T</p>")
    await EmailSender(settings).send(outgoing)
    [received] = (await sink.web.get("/api/messages")).json()
    assert received["subject"] == "Atgādinājums" and received["tls"]
    assert received["message_id"].startswith("<delivery-9@")


async def test_an_outage_refuses_mail_for_a_while_and_the_inbox_says_so(sink: Sink) -> None:
    settings = NotificationsSettings(
        smtp_port=sink.smtp_port, smtp_starttls="require", smtp_ca_file=sink.ca_file
    )
    outgoing = Outgoing("delivery-7", "ilze@example.lv", "Atgādinājums", "Teksts", None)
    assert (await sink.web.post("/api/outage", json={"down": True})).json() == {"down": True}
    with pytest.raises(TemporaryFailure, match="421"):
        await EmailSender(settings).send(outgoing)
    assert "outage drill" in (await sink.web.get("/")).text
    assert (await sink.web.get("/api/messages")).json() == []
    assert (await sink.web.post("/api/outage", json={"down": False})).json() == {"down": False}
    await EmailSender(settings).send(outgoing)
    assert len((await sink.web.get("/api/messages")).json()) == 1
    assert "outage drill" not in (await sink.web.get("/")).text


async def test_a_malformed_outage_switch_is_400(sink: Sink) -> None:
    response = await sink.web.post("/api/outage", json={"down": "maybe"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_inbox_is_newest_first_escaped_and_without_script(sink: Sink) -> None:
    await send(sink, message("ilze@example.lv", "First", "1"))
    await send(sink, message("<b>x</b>@example.lv", "<script>alert(1)</script>", "2"))
    response = await sink.web.get("/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    page = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<style" not in page and "style=" not in page
    assert 'name="viewport"' in page
    assert page.index('href="/messages/2"') < page.index('href="/messages/1"')
    assert "ilze@example.lv" in page


async def test_a_message_page_shows_headers_and_text(sink: Sink) -> None:
    await send(sink, message("ilze@example.lv", "Līgums", "Parakstiet <līgumu>.", HOSTILE_HTML))
    response = await sink.web.get("/messages/1")
    assert response.status_code == 200
    page = response.text
    assert "Līgums" in page and "Parakstiet &lt;līgumu&gt;." in page
    assert "noreply@datori.localhost" in page and "over TLS" in page
    assert 'href="/messages/1/html"' in page
    assert "<script" not in page and "style=" not in page


async def test_the_html_part_is_served_sandboxed(sink: Sink) -> None:
    await send(sink, message("ilze@example.lv", "Līgums", "Parakstiet.", HOSTILE_HTML))
    response = await sink.web.get("/messages/1/html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp
    assert "script-src" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>alert(1)</script>" in response.text  # kept as sent; the CSP disarms it


@pytest.mark.parametrize("path", ["/messages/1", "/messages/0", "/messages/x", "/messages/1/html"])
async def test_a_missing_message_is_404(sink: Sink, path: str) -> None:
    response = await sink.web.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_text_only_message_has_no_html_view(sink: Sink) -> None:
    await send(sink, message("ilze@example.lv", "Plain", "Only text."))
    assert "/messages/1/html" not in (await sink.web.get("/messages/1")).text
    assert (await sink.web.get("/messages/1/html")).status_code == 404


async def test_the_certificate_is_kept_across_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    async with serving(mail_sink.create_app(free_port(), folder)):
        first = (folder / "cert.pem").read_bytes()
    async with serving(mail_sink.create_app(free_port(), folder)):
        assert (folder / "cert.pem").read_bytes() == first
    assert (folder / "key.pem").stat().st_mode & 0o077 == 0


async def test_a_certificate_for_another_host_name_replaces_the_kept_one(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    async with serving(mail_sink.create_app(free_port(), folder)):
        first = (folder / "cert.pem").read_bytes()
    async with serving(mail_sink.create_app(free_port(), folder, cert_names=("mail",))):
        cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "mail"]
    assert (folder / "cert.pem").read_bytes() != first
