"""The dev console of the local stack: log in through the gateway and see your tokens.

A tiny web app standing where a municipal platform or a school's app would: it starts a login
at the gateway (authorization code + PKCE), takes the code back at `/callback`, redeems it, and
shows the access token, its claims and a `curl` line to call a service. `/token?role=…` mints a
token signed with the gateway's own key for scripts and seeding (role, municipality, institution
as asked), so the services trust one issuer. For the local stack only: it binds to 127.0.0.1,
and production never runs it.

Settings: CONSOLE_URL (its own base URL), CONSOLE_GATEWAY_URL, CONSOLE_SERVICES (space-separated
`name=url`), and the gateway's own `GATEWAY_*` environment (database URL, key-encryption key)
for minting.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway_service.config import GatewaySettings
from gateway_service.service.tokens import issue_access_token
from shared_kit.clock import system_clock
from shared_kit.db import create_engine, create_session_factory, session_scope

COOKIE = "console_session"
MAX_PENDING = 1000
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}pre,textarea{width:100%;font-size:.85rem;white-space:pre-wrap;"
    "word-break:break-all}a.button,button{font-size:1rem;padding:.5rem 1rem;margin:.25rem}"
)


class Console:
    """The console's settings and memory: pending logins (state → verifier) and sessions."""

    def __init__(self, base: str, gateway: str, services: dict[str, str]) -> None:
        self.base, self.gateway, self.services = base.rstrip("/"), gateway.rstrip("/"), services
        self.pending: dict[str, str] = {}
        self.sessions: dict[str, dict[str, Any]] = {}

    @property
    def callback(self) -> str:
        """Where the gateway sends the code back."""
        return f"{self.base}/callback"


def claims_of(token: str) -> dict[str, Any]:
    """The JWT's payload, for display only (the services verify it; we just show it)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def page(body: str, status: int = 200) -> HTMLResponse:
    """A plain, accessible page."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Datori dev console</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def signed_in(console: Console, tokens: dict[str, Any]) -> str:
    """The body of the page for a person who logged in."""
    access = tokens["access_token"]
    claims = json.dumps(claims_of(access), indent=2, ensure_ascii=False)
    name, url = next(iter(console.services.items()))
    curl = f"curl -H 'Authorization: Bearer {access}' {url}/docs"
    return (
        "<h1>Signed in</h1>"
        f'<h2>Claims</h2><pre id="claims">{escape(claims)}</pre>'
        '<h2><label for="access">Access token</label></h2>'
        f'<textarea id="access" rows="6" readonly>{escape(access)}</textarea>'
        '<h2><label for="refresh">Refresh token</label></h2>'
        f'<textarea id="refresh" rows="2" readonly>{escape(tokens.get("refresh_token", ""))}'
        "</textarea>"
        f"<h2>Call a service ({escape(name)})</h2><pre>{escape(curl)}</pre>"
        '<form method="post" action="/refresh"><button>Refresh the tokens</button></form>'
        '<form method="post" action="/logout"><button>Log out</button></form>'
    )


def signed_out() -> str:
    """The body of the page before login."""
    return (
        "<h1>Datori dev console</h1>"
        "<p>Log in as one of the demo people through Latvija.lv, E-klase or Mykoob (all "
        "stand-ins) and see the tokens the gateway issues.</p>"
        '<p><a class="button" id="login" href="/login">Log in (latviski)</a>'
        '<a class="button" href="/login?lang=en">Log in (English)</a></p>'
        "<p>Scripts: <code>curl '/token?role=municipality_admin&amp;municipality=0010000'"
        "</code></p>"
    )


def routes(console: Console) -> list[Route]:
    """The console's endpoints."""

    async def home(request: Request) -> Response:
        tokens = console.sessions.get(request.cookies.get(COOKIE, ""))
        return page(signed_in(console, tokens) if tokens else signed_out())

    async def login(request: Request) -> Response:
        verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        if len(console.pending) >= MAX_PENDING:
            console.pending.clear()
        console.pending[state] = verifier
        query = {
            "return_to": console.callback,
            "state": state,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "lang": request.query_params.get("lang", "lv"),
        }
        return RedirectResponse(f"{console.gateway}/login?{urlencode(query)}", status_code=302)

    async def callback(request: Request) -> Response:
        verifier = console.pending.pop(request.query_params.get("state", ""), None)
        code = request.query_params.get("code")
        if verifier is None or not code:
            return page("<h1>Login not finished</h1><p>Unknown or used state.</p>", 400)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": console.callback,
        }
        return await _token_request(console, request, form)

    async def refresh(request: Request) -> Response:
        tokens = console.sessions.get(request.cookies.get(COOKIE, ""))
        if not tokens:
            return RedirectResponse("/", status_code=303)
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        return await _token_request(console, request, form)

    async def logout(request: Request) -> Response:
        tokens = console.sessions.pop(request.cookies.get(COOKIE, ""), None)
        target = "/"
        if tokens:  # the gateway ends the session; a Latvija.lv one also at the IdP (SLO)
            body = {"refresh_token": tokens["refresh_token"], "return_to": f"{console.base}/"}
            async with httpx.AsyncClient(base_url=console.gateway, timeout=10) as client:
                answer = await client.post("/logout", json=body)
            if answer.status_code == 200:
                target = answer.json()["redirect_to"]
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def token(request: Request) -> Response:
        return JSONResponse(await _mint(request))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return [
        Route("/", home),
        Route("/login", login),
        Route("/callback", callback),
        Route("/refresh", refresh, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/token", token),
        Route("/healthz", healthz),
    ]


async def _token_request(console: Console, request: Request, form: dict[str, str]) -> Response:
    """POST to the gateway's token endpoint; keep the tokens in this browser's session."""
    async with httpx.AsyncClient(base_url=console.gateway, timeout=10) as client:
        answer = await client.post("/oauth/token", data=form)
    if answer.status_code != 200:
        return page(f"<h1>The gateway refused</h1><pre>{escape(answer.text)}</pre>", 400)
    sid = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    console.sessions[sid] = answer.json()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
    return response


async def _mint(request: Request) -> dict[str, Any]:
    """A token signed by the gateway's active key, with the roles and tenancy asked for."""

    def many(name: str) -> list[str]:
        return [v for value in request.query_params.getlist(name) for v in value.split(",") if v]

    settings: GatewaySettings = request.app.state.gateway_settings
    async for session in session_scope(request.app.state.gateway_sessions):
        issued = await issue_access_token(
            session=session,
            settings=settings,
            now=system_clock(),
            subject=request.query_params.get("sub") or "dev-console",
            roles=many("role"),
            municipalities=many("municipality"),
            institutions=many("institution"),
            learners=many("learner"),
        )
    return {"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}


def create_app() -> Starlette:
    """The console app, configured from the environment."""
    services = dict(pair.split("=", 1) for pair in os.environ.get("CONSOLE_SERVICES", "").split())
    console = Console(
        os.environ.get("CONSOLE_URL", "http://127.0.0.1:8109"),
        os.environ.get("CONSOLE_GATEWAY_URL", "http://127.0.0.1:8100"),
        services or {"inventory": "http://127.0.0.1:8101"},
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings = GatewaySettings()
        engine = create_engine(settings.database_url, pool_size=2)
        app.state.gateway_settings = settings
        app.state.gateway_sessions = create_session_factory(engine)
        yield
        await engine.dispose()

    return Starlette(routes=routes(console), lifespan=lifespan)


app = create_app()
