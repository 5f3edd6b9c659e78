"""Security headers on every response, set in one place: a strict policy for HTML pages.

Pages load scripts, styles and images only from their own origin, plus at most one inline
script carrying the response's nonce (`request.state.csp_nonce`); no inline style, no framing;
forms post back to us (and to the origins a service names, e.g. where its logout redirects).
Everything else (JSON, problem+json, CSV, PDF, images …) is never a document that may run
anything, not even when a browser is sent to it directly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class PagePolicy:
    """What a service's pages may do beyond the strict default."""

    # Origins a form's navigation may reach (a logout form redirected on to an IdP).
    form_action: tuple[str, ...] = ()
    # `no-referrer` sends `Origin: null` on POSTs; a service that checks Origin on its own
    # forms needs `same-origin`.
    referrer: str = "no-referrer"
    # Pages that show a person's data are never kept by a browser or a proxy.
    no_store: bool = False
    hsts: bool = False

    def csp(self, nonce: str) -> str:
        """The page's Content-Security-Policy with this response's nonce."""
        forms = " ".join(dict.fromkeys(("'self'", *self.form_action)))
        # Swagger UI's stylesheet draws its icons from data: URIs.
        return (
            f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; "
            f"base-uri 'none'; form-action {forms}; frame-ancestors 'none'"
        )


class SecurityHeadersMiddleware:
    """Sets the headers on every HTTP response, replacing any a route set itself."""

    def __init__(self, app: ASGIApp, policy: PagePolicy | None = None) -> None:
        self.app = app
        self.policy = policy or PagePolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                add_security_headers(MutableHeaders(scope=message), self.policy, nonce)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_headers(headers: MutableHeaders, policy: PagePolicy, nonce: str) -> None:
    """The page set for HTML, the restrictive set for anything else."""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    headers["X-Content-Type-Options"] = "nosniff"
    if policy.hsts:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if media_type not in HTML_TYPES:
        headers["Content-Security-Policy"] = OTHER_POLICY
        return
    headers["Content-Security-Policy"] = policy.csp(nonce)
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = policy.referrer
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if policy.no_store:
        headers.setdefault("Cache-Control", "no-store")
