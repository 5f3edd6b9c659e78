"""Security headers on every response: a strict CSP with a per-response nonce for pages."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal_service.config import PortalSettings, origin_of

# Everything that is not a page (CSS, JS, images, JSON) may never run anything itself.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"


def page_policy(settings: PortalSettings, nonce: str) -> str:
    """The CSP of a page: our own files, one nonce'd inline script (GOV.UK's `js-enabled`)."""
    # A form's navigation may be redirected on: logout goes to the gateway (and, after a
    # Latvija.lv login, through the IdP's single logout) before it comes back.
    forms = " ".join(
        dict.fromkeys(
            ["'self'", origin_of(settings.gateway_public_url)]
            + [origin_of(o) for o in settings.logout_origins]
        )
    )
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
        "img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; "
        f"base-uri 'none'; form-action {forms}; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """Puts a fresh nonce in `request.state.csp_nonce` and the headers on the response."""

    def __init__(self, app: ASGIApp, settings: PortalSettings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                self._add(MutableHeaders(scope=message), nonce)
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, headers: MutableHeaders, nonce: str) -> None:
        page = headers.get("content-type", "").startswith("text/html")
        headers["Content-Security-Policy"] = (
            page_policy(self.settings, nonce) if page else OTHER_POLICY
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if page:
            headers["X-Frame-Options"] = "DENY"
            headers["Cross-Origin-Opener-Policy"] = "same-origin"
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
            # Pages show a person's data: never kept by a browser or a proxy.
            headers.setdefault("Cache-Control", "no-store")
        if self.settings.secure_cookies:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
