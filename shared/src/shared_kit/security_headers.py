"""Security headers on every response, set in one place: a strict policy for HTML pages."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages load scripts, styles and images only from their own origin (Swagger UI's files are
# served by the service itself); no inline script or style, no framing, forms post only back
# to us (the login pages have no form: a provider is reached by a link and redirects).
# Swagger UI's stylesheet draws its icons from data: URIs.
HTML_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Everything else (JSON, problem+json, CSV, PDF, images …) is never a document that may run
# anything, not even when a browser is sent to it directly.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"

HTML_HEADERS = {
    "Content-Security-Policy": HTML_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
OTHER_HEADERS = {
    "Content-Security-Policy": OTHER_POLICY,
    "X-Content-Type-Options": "nosniff",
}
HTML_TYPES = ("text/html", "application/xhtml+xml")


class SecurityHeadersMiddleware:
    """Sets the headers above on every HTTP response, replacing any a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                add_security_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_headers(headers: MutableHeaders) -> None:
    """The HTML set for a page, the restrictive set for anything else."""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    chosen = HTML_HEADERS if media_type in HTML_TYPES else OTHER_HEADERS
    for name, value in chosen.items():
        headers[name] = value
