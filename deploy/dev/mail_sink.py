"""The local stack's mail sink: a real SMTP server that keeps what it receives, and its inbox.

For the tests and the local stack only; nothing here reaches a real mailbox. The SMTP side is
`shared_kit.testing.mailsink.MailSink` (aiosmtpd, STARTTLS on a self-signed certificate kept in
`MAIL_SINK_CERT_DIR`, default `$STACK_DATA_DIR/mail`, as `cert.pem`: the notifications service
trusts it through `NOTIFICATIONS_SMTP_CA_FILE`; valid for localhost, 127.0.0.1 and the host
names in `MAIL_SINK_CERT_NAMES`, space-separated). It listens on `MAIL_SINK_HOST` (127.0.0.1)
port `MAIL_SINK_SMTP_PORT` (8125) while the web app is served. Run it alone with

    uv run uvicorn --app-dir deploy/dev mail_sink:app --port 8195

- `GET /`: the inbox, newest first (to, subject, time), each linking to `/messages/{n}`.
- `GET /messages/{n}`: one message's headers and plain text; `/messages/{n}/html` its HTML
  part, served sandboxed (`Content-Security-Policy: sandbox; default-src 'none'; …`) so that
  its markup can run nothing and load nothing.
- `GET /api/messages[?to=address]`: JSON for tests and the benchmark, oldest first;
  `DELETE /api/messages` forgets everything.
- `POST /api/outage` `{"down": true}` makes the SMTP server answer 421 (up, but not accepting:
  a sender retries) until `{"down": false}`, as the SMS stand-in's `/api/v1/outage` does.

Messages live in memory: a restart empties the inbox.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sms_standin import Outage, page, problem, stylesheet

from shared_kit.testing.mailsink import MailSink, Received

DEFAULT_SMTP_PORT = 8125
# The HTML part of a message: no script, no request anywhere, not even same-origin.
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
SHOWN_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Content-Language")


def default_cert_dir() -> Path:
    """`MAIL_SINK_CERT_DIR`, else `mail/` in the stack's data directory."""
    configured = os.environ.get("MAIL_SINK_CERT_DIR")
    if configured:
        return Path(configured).resolve()
    data = os.environ.get("STACK_DATA_DIR")
    root = Path(data).resolve() if data else Path(__file__).resolve().parents[2] / ".data"
    return root / "mail"


def to_wire(number: int, received: Received) -> dict[str, Any]:
    """One message as `/api/messages` lists it (`n` is its number in the inbox)."""
    return {
        "n": number,
        "to": list(received.recipients),
        "from": received.mail_from,
        "subject": str(received.message.get("Subject", "")),
        "message_id": received.message_id,
        "text": received.text(),
        "html": received.html(),
        "received_at": received.received_at.isoformat(timespec="seconds"),
        "tls": received.tls,
    }


def create_app(
    smtp_port: int = DEFAULT_SMTP_PORT,
    cert_dir: Path | None = None,
    host: str = "127.0.0.1",
    cert_names: tuple[str, ...] = (),
) -> FastAPI:
    """The inbox app; it runs the SMTP server on `host:smtp_port` while it is served, with a
    certificate for localhost and `cert_names`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        folder = cert_dir or default_cert_dir()
        sink = MailSink(host, smtp_port, cert_dir=folder, cert_names=cert_names)
        app.state.sink = await asyncio.to_thread(sink.start)
        try:
            yield
        finally:
            await asyncio.to_thread(sink.stop)

    app = FastAPI(title="Mail sink", version="1", docs_url=None, redoc_url=None, lifespan=lifespan)
    _install_routes(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path == "/api/outage":
            return problem(400, 'Send {"down": true} or {"down": false}')
        return problem(404, "No such message")

    return app


def _sink(request: Request) -> MailSink:
    sink: MailSink = request.app.state.sink
    return sink


def _message(request: Request, n: int) -> Received | None:
    messages = _sink(request).messages
    return messages[n - 1] if 1 <= n <= len(messages) else None


def _install_routes(app: FastAPI) -> None:
    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness, with the SMTP port and the certificate to trust."""
        sink = _sink(request)
        return {"status": "ok", "smtp_port": sink.port, "ca_file": sink.ca_file}

    @app.get("/api/messages")
    async def listing(request: Request, to: str | None = None) -> list[dict[str, Any]]:
        """Every message (to one address when `to` is given), oldest first."""
        numbered = enumerate(_sink(request).messages, start=1)
        return [to_wire(n, m) for n, m in numbered if to is None or to in m.recipients]

    @app.delete("/api/messages", status_code=204)
    async def clear(request: Request) -> None:
        """Forget every message."""
        _sink(request).clear()

    @app.post("/api/outage")
    async def outage(request: Request, body: Outage) -> dict[str, bool]:
        """Stop accepting mail (421 to every sender) or accept it again."""
        _sink(request).paused = body.down
        return {"down": _sink(request).paused}

    @app.get("/style.css", include_in_schema=False)
    async def style() -> Response:
        """The pages' stylesheet."""
        return stylesheet()

    @app.get("/", response_class=HTMLResponse)
    async def inbox(request: Request) -> HTMLResponse:
        """The inbox, newest first."""
        sink = _sink(request)
        return page("Mail sink", _inbox_html(sink.messages, down=sink.paused))

    @app.get("/messages/{n}", response_class=HTMLResponse)
    async def message(request: Request, n: int) -> Response:
        """One message: its headers and plain text."""
        found = _message(request, n)
        if found is None:
            return problem(404, "No such message")
        return page(f"Message {n}", _message_html(n, found))

    @app.get("/messages/{n}/html", response_class=HTMLResponse)
    async def message_html(request: Request, n: int) -> Response:
        """The message's HTML part, sandboxed."""
        found = _message(request, n)
        if found is None or not found.html():
            return problem(404, "No such message, or it has no HTML part")
        headers = {
            "Content-Security-Policy": SANDBOX_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(found.html(), headers=headers)


def _inbox_html(messages: list[Received], *, down: bool = False) -> str:
    items = "".join(
        f'<li><a href="/messages/{n}">{escape(str(m.message.get("Subject", "")) or "(none)")}'
        f'</a><div class="meta">to {escape(", ".join(m.recipients))} · '
        f"{_time(m)}{'' if m.tls else ' · without TLS'}</div></li>"
        for n, m in reversed(list(enumerate(messages, start=1)))
    )
    return (
        f"<h1>Mail sink ({len(messages)})</h1>"
        "<p>Nothing here reaches a mailbox: this is the local SMTP sink."
        + (" It refuses mail for now (421, outage drill)." if down else "")
        + "</p>"
        + (f"<ol>{items}</ol>" if items else "<p>No mail yet.</p>")
    )


def _message_html(n: int, m: Received) -> str:
    rows = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(str(m.message[name]))}</dd>"
        for name in SHOWN_HEADERS
        if m.message.get(name) is not None
    )
    rows += f"<dt>Envelope to</dt><dd>{escape(', '.join(m.recipients))}</dd>"
    rows += f"<dt>Received</dt><dd>{_time(m)} ({'over TLS' if m.tls else 'without TLS'})</dd>"
    html_link = (
        f'<p><a href="/messages/{n}/html">The HTML part</a> (sandboxed)</p>' if m.html() else ""
    )
    return (
        f'<p><a href="/">← Inbox</a></p><h1>{escape(str(m.message.get("Subject", "")))}</h1>'
        f"<dl>{rows}</dl>{html_link}<h2>Text</h2><pre>{escape(m.text())}</pre>"
    )


def _time(m: Received) -> str:
    stamp = m.received_at.isoformat(timespec="seconds")
    return f'<time datetime="{stamp}">{stamp}</time>'


app = create_app(
    int(os.environ.get("MAIL_SINK_SMTP_PORT", DEFAULT_SMTP_PORT)),
    host=os.environ.get("MAIL_SINK_HOST", "127.0.0.1"),
    cert_names=tuple(os.environ.get("MAIL_SINK_CERT_NAMES", "").split()),
)
