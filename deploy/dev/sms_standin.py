"""A stand-in for the SMS provider: the HTTP API `notifications_service.channels.sms` speaks.

For the tests and the local stack only; production code never imports it. It sends nothing: it
keeps every message in memory and lists them on a web page. Run it alone with

    uv run uvicorn --app-dir deploy/dev sms_standin:app --port 8196

or in-process in a test: `async with shared_kit.testing.client.serving(create_app(key)) as url`.

- `POST /api/v1/messages` with `Authorization: Bearer <key>` (`SMS_STANDIN_API_KEY`, default
  `dev-sms-key`, the notifications service's development key) and JSON `{to, from, text,
  reference}`: 201 `{id, reference}`. The same `reference` again: 200 with the first id, and
  nothing is sent again. A wrong or missing key: 401. A malformed body: 400. A `to` that is
  not an E.164 number, or one of the unreachable numbers +37120000000 to +37120000099
  (invented, for tests of a permanent failure): 422. All errors are problem+json.
- `POST /api/v1/outage` `{"down": true}` makes sending answer 503 until `{"down": false}`.
- `GET /api/v1/messages`: every message sent, oldest first; `DELETE /api/v1/messages` forgets
  them (and the references). These and the outage switch need no key: they are for tests.
- `GET /`: a page listing the messages, newest first.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import asdict, dataclass
from html import escape
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_API_KEY = "dev-sms-key"
PROBLEM_JSON = "application/problem+json"
UNREACHABLE = "urn:datori:sms:unreachable-number"
OUTAGE = "urn:datori:sms:outage"

E164 = re.compile(r"\+[1-9]\d{7,14}")
# Invented numbers the stand-in cannot reach (a permanent failure): +37120000000 to …099.
UNREACHABLE_NUMBERS = re.compile(r"\+371200000\d\d")

# The pages' only CSP: nothing but our own stylesheet; no script, no inline style, no frames.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
STYLESHEET = """\
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:50rem;padding:.5rem 1rem;
line-height:1.45;color:#111;background:#fff}
h1{font-size:1.3rem}
ol{list-style:none;padding:0;margin:0}
li{border-top:1px solid #ccc;padding:.6rem 0}
.meta{color:#444;font-size:.9rem;overflow-wrap:anywhere}
.text,pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0 0}
pre{font-size:.9rem;background:#f4f4f4;padding:.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;overflow-wrap:anywhere}
dt{font-weight:600}
dd{margin:0;min-width:0}
a{color:#0645ad}
"""


def page(title: str, body: str) -> HTMLResponse:
    """A small HTML page: escaped by the caller, styled by `/style.css`, no script."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/style.css"></head>'
        f"<body><main>{body}</main></body></html>"
    )
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
    return HTMLResponse(html, headers=headers)


def stylesheet() -> Response:
    """The pages' stylesheet."""
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "no-cache"})


def problem(status: int, title: str, problem_type: str = "about:blank") -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": problem_type, "title": title, "status": status}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class NotAuthenticated(Exception):
    """The request lacks the right API key."""


class Outgoing(BaseModel):
    """A message to send, as the provider's API takes it."""

    model_config = ConfigDict(populate_by_name=True)

    to: str
    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=2000)
    reference: str = Field(min_length=1, max_length=200)


class Outage(BaseModel):
    """Body of the outage switch."""

    down: bool


@dataclass(frozen=True)
class Sent:
    """A message the stand-in accepted."""

    id: str
    to: str
    sender: str
    text: str
    reference: str
    sent_at: str

    def to_wire(self) -> dict[str, Any]:
        """The listing's JSON (`from`, as the API names the sender)."""
        wire = asdict(self)
        wire["from"] = wire.pop("sender")
        return wire


class Outbox:
    """Messages sent so far, by reference; whether the provider is down."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.by_reference: dict[str, Sent] = {}
        self.down = False

    def send(self, message: Outgoing) -> tuple[Sent, bool]:
        """Keep the message unless its reference was seen; the message and whether it is new."""
        seen = self.by_reference.get(message.reference)
        if seen is not None:
            return seen, False
        sent = Sent(
            id=f"sms-{secrets.token_hex(8)}",
            to=message.to,
            sender=message.sender,
            text=message.text,
            reference=message.reference,
            sent_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        self.sent.append(sent)
        self.by_reference[sent.reference] = sent
        return sent, True

    def clear(self) -> None:
        """Forget every message and reference."""
        self.sent.clear()
        self.by_reference.clear()


def unreachable(number: str) -> bool:
    """Whether the stand-in refuses the number for good (not E.164, or reserved)."""
    return not E164.fullmatch(number) or bool(UNREACHABLE_NUMBERS.fullmatch(number))


def create_app(api_key: str = DEFAULT_API_KEY) -> FastAPI:
    """The stand-in, accepting `Authorization: Bearer <api_key>` for sending."""
    outbox = Outbox()

    def authenticated(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = f"Bearer {api_key}".encode()
        if not secrets.compare_digest((authorization or "").encode(), expected):
            raise NotAuthenticated

    app = FastAPI(title="SMS stand-in", version="1", docs_url=None, redoc_url=None)
    app.state.outbox = outbox
    _install_error_handlers(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.post("/api/v1/messages", dependencies=[Depends(authenticated)], response_model=None)
    async def send(body: Outgoing) -> JSONResponse:
        """Send once per reference: 201 the first time, 200 with the same id after."""
        if outbox.down:
            return problem(503, "The SMS provider is down (outage drill)", OUTAGE)
        if unreachable(body.to):
            return problem(422, "The number cannot be reached", UNREACHABLE)
        sent, new = outbox.send(body)
        return JSONResponse({"id": sent.id, "reference": sent.reference}, 201 if new else 200)

    @app.get("/api/v1/messages")
    async def listing() -> list[dict[str, Any]]:
        """Every message sent, oldest first."""
        return [sent.to_wire() for sent in outbox.sent]

    @app.delete("/api/v1/messages", status_code=204)
    async def clear() -> None:
        """Forget every message."""
        outbox.clear()

    @app.post("/api/v1/outage")
    async def outage(body: Outage) -> dict[str, bool]:
        """Take the provider down (503 on sending) or bring it back."""
        outbox.down = body.down
        return {"down": outbox.down}

    @app.get("/style.css", include_in_schema=False)
    async def style() -> Response:
        """The page's stylesheet."""
        return stylesheet()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def inbox() -> HTMLResponse:
        """The messages sent, newest first."""
        return page("SMS sent", _listing_html(outbox))

    return app


def _listing_html(outbox: Outbox) -> str:
    status = " The provider is down (outage drill)." if outbox.down else ""
    items = "".join(
        f'<li><div class="meta">to {escape(sent.to)} · from {escape(sent.sender)} · '
        f'<time datetime="{escape(sent.sent_at)}">{escape(sent.sent_at)}</time></div>'
        f'<p class="text">{escape(sent.text)}</p></li>'
        for sent in reversed(outbox.sent)
    )
    return (
        f"<h1>SMS sent ({len(outbox.sent)})</h1>"
        f"<p>Nothing here reaches a phone: this is the local SMS stand-in.{status}</p>"
        + (f"<ol>{items}</ol>" if items else "<p>No SMS yet.</p>")
    )


def _install_error_handlers(app: FastAPI) -> None:
    """401 for a missing or wrong key; 400 for bad bodies without echoing their input."""

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        return problem(401, "Missing or wrong API key")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(400, "Malformed request")


app = create_app(os.environ.get("SMS_STANDIN_API_KEY", DEFAULT_API_KEY))
