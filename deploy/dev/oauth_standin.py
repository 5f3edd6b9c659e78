"""The OAuth 2.0 authorization server behind the E-klase and Mykoob stand-ins.

Authlib's framework-neutral server (`authlib.oauth2.rfc6749.AuthorizationServer`, the
authorization-code grant, RFC 7636 PKCE) glued to Starlette, with in-memory storage: codes,
tokens and consents live as long as the process. For the tests and the local stack only;
production code never imports it. The tester picks a demo person (`viis_standin.DEMO_PEOPLE`)
on the authorize page and approves or denies.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from viis_standin import DEMO_PEOPLE, DemoPerson

# The stand-ins serve plain http on 127.0.0.1; Authlib refuses that unless told.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

CODE_TTL_S = 60
TOKEN_TTL_S = 3600


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    """The one registered client: the gateway (confidential, any 127.0.0.1 redirect)."""

    client_id: str
    client_secret: str
    redirect_prefixes: tuple[str, ...] = ()

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return not self.redirect_prefixes or redirect_uri.startswith(self.redirect_prefixes)

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    """An issued authorization code and what it was issued for."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    person_key: str
    school: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float = field(default_factory=lambda: time.time() + CODE_TTL_S)

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class Login:
    """Who an access token is for: the demo person and the school the provider reports."""

    person: DemoPerson
    school: str | None


class StarletteRequest(OAuth2Request):  # type: ignore[misc]
    """An Authlib request from an already-read Starlette request (query and form merged)."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str], data: dict[str, str]):
        super().__init__(method=method, uri=url, headers=headers)  # case-insensitive
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class Server(AuthorizationServer):  # type: ignore[misc]
    """In-memory authorization server; `handle_response` yields (status, body, headers)."""

    def __init__(self, client: Client, *, pkce_required: bool = False) -> None:
        super().__init__()
        self.client = client
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, tuple[Login, float]] = {}
        self.pending: dict[str, Login] = {}  # code → login, filled while the code is issued
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda *a, **k: secrets.token_urlsafe(32),
                expires_generator=lambda *a, **k: TOKEN_TTL_S,
            ),
        )
        self.register_grant(CodeGrant, [CodeChallenge(required=pkce_required)])

    def query_client(self, client_id: str) -> Client | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.tokens[token["access_token"]] = (request.user, time.time() + TOKEN_TTL_S)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def login_for(self, access_token: str) -> Login | None:
        """The login an unexpired access token stands for."""
        login, expires_at = self.tokens.get(access_token, (None, 0.0))
        return login if expires_at > time.time() else None


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization-code grant over the server's in-memory codes."""

    server: Server

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        login: Login = request.user
        data = request.payload.data
        self.server.codes[code] = Code(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri"),
            scope=request.scope or "",
            person_key=login.person.viis_id,
            school=login.school,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )
        self.server.pending[code] = login

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        item = self.server.codes.get(code)
        if item is None or item.client_id != client.client_id or item.expires_at < time.time():
            return None
        return item

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> Login | None:
        return self.server.pending.pop(authorization_code.code, None)


async def authlib_request(request: Request) -> StarletteRequest:
    """Query and (for POST) form parameters as one Authlib request."""
    data = dict(request.query_params)
    if request.method == "POST":
        data |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return StarletteRequest(request.method, str(request.url), request.headers, data)


def to_response(status: int, body: Any, headers: Any) -> Response:
    """An Authlib (status, body, headers) triple as a Starlette response."""
    hdrs = dict(headers or [])
    if status in (301, 302, 303) and "Location" in hdrs:
        return RedirectResponse(hdrs["Location"], status_code=302)
    hdrs.pop("Content-Type", None)
    return JSONResponse(body, status_code=status, headers=hdrs)


def school_of(person: DemoPerson) -> str | None:
    """The school key a school system would report for a demo person."""
    if person.learner is not None:
        return person.learner.institution_reg_no
    if person.staff:
        return person.staff[0][0]
    if person.guardian_of:
        return person.guardian_of[0][1]
    return None


def authorize_page(title: str, action: str, data: Mapping[str, str]) -> str:
    """The consent page: pick a demo person, optionally override the school, approve or deny."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in data.items()
    )
    options = "".join(
        f'<li><label><input type="radio" name="person" value="{escape(key)}"'
        f"{' checked' if i == 0 else ''}> {escape(p.given_name)} {escape(p.family_name)}"
        f" ({escape(key)})</label></li>"
        for i, (key, p) in enumerate(DEMO_PEOPLE.items())
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title></head><body><main><h1>{escape(title)} (stand-in)</h1>"
        f'<form method="post" action="{escape(action)}">{hidden}<fieldset><legend>Log in as'
        f"</legend><ul>{options}</ul></fieldset>"
        '<p><label>School the provider reports (blank: from VIIS) <input name="school">'
        "</label></p>"
        '<button name="decision" value="approve">Approve</button> '
        '<button name="decision" value="deny">Deny</button></form></main></body></html>'
    )


async def authorize_get(server: Server, title: str, request: Request) -> Response:
    """GET /authorize: validate the request, then show the consent page."""
    req = await authlib_request(request)
    try:
        server.get_consent_grant(request=req)
    except OAuth2Error as error:
        return JSONResponse(dict(error.get_body()), status_code=error.status_code)
    return HTMLResponse(authorize_page(title, request.url.path, req.payload.data))


async def authorize_post(server: Server, request: Request) -> Response:
    """POST /authorize: approve (a code) or deny (error=access_denied) back to the client."""
    req = await authlib_request(request)
    data = dict(req.payload.data)
    person = DEMO_PEOPLE.get(data.pop("person", ""))
    school = (data.pop("school", "") or "").strip()
    approved = data.pop("decision", "") == "approve" and person is not None
    req = StarletteRequest("GET", str(request.url), request.headers, data)
    try:
        grant = server.get_consent_grant(request=req)
    except OAuth2Error as error:
        return JSONResponse(dict(error.get_body()), status_code=error.status_code)
    user = Login(person, school or school_of(person)) if approved and person else None
    return to_response(*server.create_authorization_response(req, user, grant))


async def token_endpoint(
    server: Server, request: Request, render: Callable[[int, Any, Any], Response] = to_response
) -> Response:
    """POST /token: the authorization-code grant with client authentication (and PKCE)."""
    return render(*server.create_token_response(await authlib_request(request)))


def bearer_login(server: Server, request: Request) -> Login | None:
    """The login behind the request's `Authorization: Bearer` token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return server.login_for(token.strip()) if scheme.lower() == "bearer" else None


def unauthorized() -> Response:
    """RFC 6750 §3 error for a missing or bad token."""
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return JSONResponse({"error": "invalid_token"}, status_code=401, headers=headers)
