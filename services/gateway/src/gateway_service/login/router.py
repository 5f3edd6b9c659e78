"""HTTP endpoints of the login: provider choice, redirect to a provider, the provider's callback;
logout, and Latvija.lv's single logout service.

These are pages a browser navigates to: every problem, raised or returned, is the gateway's
error page (in the person's language) for a browser that asks for HTML, else problem+json.
Parameters that fail validation are a 400 problem of the login or logout, like other bad input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError

from gateway_service.config import GatewaySettings
from gateway_service.deps import LoginRate, Settings, Viis
from gateway_service.exceptions import InvalidLoginRequest, InvalidLogoutRequest
from gateway_service.login import flow, latvija, pages, providers
from gateway_service.login import logout as logouts
from gateway_service.login.pages import Kind, Lang
from gateway_service.service.common import audit
from shared_kit.deps import ClientAddress, NowDep, SessionDep
from shared_kit.problems import (
    ProblemError,
    invalid_fields,
    problem_response,
    problem_responses,
    validation_errors,
)

NO_STORE = {"Cache-Control": "no-store"}


def requested_lang(request: Request) -> Lang:
    """The page language the request asks for (`lang=en`), else Latvian."""
    return "en" if request.query_params.get("lang") == "en" else "lv"


def page_context(request: Request) -> dict[str, str]:
    """What every page needs beyond its language: the response's CSP nonce, the portal."""
    settings: GatewaySettings = request.app.state.settings
    return {"nonce": request.state.csp_nonce, "portal_url": settings.portal_url}


def problem_answer(request: Request, exc: ProblemError, kind: Kind, lang: Lang) -> Response:
    """The error page for a browser that asks for HTML, else problem+json."""
    headers = {**NO_STORE, **exc.headers}
    if "text/html" in request.headers.get("accept", ""):
        html = pages.error_page(lang, exc.status, exc.type, kind, **page_context(request))
        return HTMLResponse(html, status_code=exc.status, headers=headers)
    return problem_response(
        exc.status, exc.type, exc.title, exc.detail, request.url.path, headers, **exc.extra
    )


class LoginPageRoute(APIRoute):
    """A route of the login: its raised problems (validation included) become error pages."""

    kind: Kind = "login"
    invalid: type[ProblemError] = InvalidLoginRequest

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, answering its problems with `problem_answer`."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                problem = self.bad_parameters(exc)
            except ProblemError as exc:
                problem = exc
            return problem_answer(request, problem, self.kind, requested_lang(request))

        return handle

    def bad_parameters(self, exc: RequestValidationError) -> ProblemError:
        """A 400 problem naming the parameters that failed validation."""
        errors = validation_errors(exc)
        detail = f"Invalid or missing parameters: {invalid_fields(errors)}"
        return self.invalid(detail, errors=errors)


class LogoutPageRoute(LoginPageRoute):
    """A route of the logout."""

    kind = "logout"
    invalid = InvalidLogoutRequest


login_router = APIRouter(
    tags=["login"], responses=problem_responses(400, 404), route_class=LoginPageRoute
)
logout_router = APIRouter(
    tags=["login"], responses=problem_responses(400), route_class=LogoutPageRoute
)

ReturnTo = Annotated[str, Query(max_length=2000, description="Where to send the code back")]
ClientState = Annotated[str | None, Query(alias="state", max_length=500)]
Challenge = Annotated[str, Query(max_length=128, description="PKCE S256 code challenge")]
ChallengeMethod = Annotated[str, Query(max_length=10)]
SamlParam = Annotated[str | None, Query(max_length=latvija.MAX_RESPONSE_CHARS)]
ShortParam = Annotated[str | None, Query(max_length=2000)]
FORM = "application/x-www-form-urlencoded"


class LogoutForm(BaseModel):
    """What an app sends to log a person out (a form, or JSON)."""

    refresh_token: str = Field(min_length=1, max_length=200)
    return_to: str = Field(min_length=1, max_length=2000, description="Where to land afterwards")
    state: str | None = Field(None, max_length=500, description="Handed back on return_to")


LOGOUT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        media: {"schema": LogoutForm.model_json_schema()} for media in (FORM, "application/json")
    },
}
LOGOUT_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": 'A JSON request: `{"redirect_to": …}` for the app to navigate to'},
    303: {"description": "A form post: on to Latvija.lv's single logout, or to return_to"},
}


@login_router.get("/login", response_class=HTMLResponse)
async def choose_provider(
    request: Request, settings: Settings, lang: Annotated[Lang, Query()] = "lv"
) -> HTMLResponse:
    """The provider-choice page (Latvian or English); the app's parameters pass through."""
    passed = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query = urlencode([*passed, ("lang", lang)])
    links = {
        providers.PROVIDER_LABELS.get(name, name): f"/login/{name}?{query}"
        for name in providers.providers(settings)
    }
    other = urlencode([*passed, ("lang", "en" if lang == "lv" else "lv")])
    html = pages.choice_page(lang, links, f"/login?{other}", **page_context(request))
    return HTMLResponse(html, headers=NO_STORE)


@login_router.get(
    "/login/{provider}",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[LoginRate],
    responses=problem_responses(429),
)
async def start_login(
    provider: str,
    session: SessionDep,
    settings: Settings,
    now: NowDep,
    return_to: ReturnTo,
    code_challenge: Challenge,
    client_state: ClientState = None,
    code_challenge_method: ChallengeMethod = "S256",
    lang: Annotated[Lang, Query(description="Language of the gateway's pages")] = "lv",
) -> RedirectResponse:
    """Send the person to the identity provider (an unknown `return_to` is a 400 problem)."""
    url = await flow.start_login(
        session=session,
        settings=settings,
        provider=providers.provider_named(settings, provider),
        return_to=return_to,
        client_state=client_state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        now=now,
        lang=lang,
    )
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


@login_router.get(
    "/login/{provider}/callback",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[LoginRate],
    responses=problem_responses(403, 429, 502, 503),
)
async def callback(
    provider: str,
    request: Request,
    session: SessionDep,
    settings: Settings,
    viis: Viis,
    address: ClientAddress,
    now: NowDep,
) -> Response:
    """The provider's callback: back to the app's `return_to` with a code, or a clear problem."""
    params = dict(request.query_params)
    return await _finish(request, session, settings, viis, address, now, provider, params)


@login_router.get("/login/latvija/metadata", response_class=Response)
async def latvija_metadata(settings: Settings) -> Response:
    """Our SAML 2.0 SP metadata for Latvija.lv (entity id, signing certificate, ACS, SLO)."""
    xml = latvija.sp_metadata(providers.saml_endpoints(settings))
    return Response(xml, media_type="application/samlmetadata+xml")


@login_router.post(
    "/login/latvija/acs",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[LoginRate],
    responses=problem_responses(429, 502, 503),
)
async def latvija_acs(
    request: Request,
    session: SessionDep,
    settings: Settings,
    viis: Viis,
    address: ClientAddress,
    now: NowDep,
    saml_response: Annotated[str, Form(alias="SAMLResponse", max_length=200_000)] = "",
    relay_state: Annotated[str, Form(alias="RelayState", max_length=500)] = "",
) -> Response:
    """The Assertion Consumer Service (HTTP-POST): the signed response, our state as RelayState."""
    params = {"state": relay_state, "SAMLResponse": saml_response}
    return await _finish(request, session, settings, viis, address, now, latvija.NAME, params)


@logout_router.post(
    "/logout",
    status_code=303,
    dependencies=[LoginRate],
    responses={**LOGOUT_ANSWERS, **problem_responses(429, 502, 503)},
    openapi_extra={"requestBody": LOGOUT_BODY},
)
async def logout(
    request: Request, session: SessionDep, settings: Settings, address: ClientAddress, now: NowDep
) -> Response:
    """End the session of a refresh token; a Latvija.lv session goes on to its single logout."""
    as_json = request.headers.get("content-type", "").startswith("application/json")
    try:
        body = await _logout_form(request, as_json)
        url = await logouts.start_logout(
            session=session,
            settings=settings,
            refresh_token=body.refresh_token,
            return_to=body.return_to,
            client_state=body.state,
            client_address=address,
            now=now,
        )
    except ProblemError as exc:
        # Returned, not raised: a revocation that happened before the failure must commit.
        return _logout_failed(request, session, address, now, exc)
    if as_json:
        return JSONResponse({"redirect_to": url}, headers=NO_STORE)
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


async def _logout_form(request: Request, as_json: bool) -> LogoutForm:
    """The logout's parameters from a form or a JSON body (a 400 problem when unusable)."""
    try:
        data = await request.json() if as_json else dict(await request.form())
        return LogoutForm.model_validate(data)
    except (ValueError, ValidationError):
        raise InvalidLogoutRequest(
            "Send refresh_token and return_to (and optionally state) as a form or JSON"
        ) from None


@logout_router.get(
    "/login/latvija/slo",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[LoginRate],
    responses=problem_responses(429, 502, 503),
)
async def latvija_slo(
    request: Request,
    session: SessionDep,
    settings: Settings,
    address: ClientAddress,
    now: NowDep,
    saml_request: Annotated[SamlParam, Query(alias="SAMLRequest")] = None,
    saml_response: Annotated[SamlParam, Query(alias="SAMLResponse")] = None,
    relay_state: Annotated[ShortParam, Query(alias="RelayState")] = None,
    sig_alg: Annotated[ShortParam, Query(alias="SigAlg")] = None,
    signature: Annotated[ShortParam, Query(alias="Signature")] = None,
) -> Response:
    """Single Logout Service (HTTP-Redirect): the IdP's answer to our logout, or its own logout."""
    given = {
        "SAMLRequest": saml_request,
        "SAMLResponse": saml_response,
        "RelayState": relay_state,
        "SigAlg": sig_alg,
        "Signature": signature,
    }
    params = {name: value for name, value in given.items() if value is not None}
    try:
        url = await _single_logout(session, settings, address, now, params)
    except ProblemError as exc:
        return _logout_failed(request, session, address, now, exc)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


async def _single_logout(
    session: SessionDep,
    settings: Settings,
    address: str | None,
    now: dt.datetime,
    params: dict[str, str],
) -> str:
    """A LogoutResponse finishes our logout; a LogoutRequest is the IdP's own logout."""
    if "SAMLResponse" in params:
        return await logouts.finish_logout(
            session=session, settings=settings, params=params, client_address=address, now=now
        )
    if "SAMLRequest" in params:
        return await logouts.idp_logout(
            session=session, settings=settings, params=params, client_address=address, now=now
        )
    raise InvalidLogoutRequest("The single logout service needs SAMLRequest or SAMLResponse")


def _logout_failed(
    request: Request,
    session: SessionDep,
    address: str | None,
    now: dt.datetime,
    exc: ProblemError,
) -> Response:
    """Audit a failed logout; its problem for the caller."""
    audit(
        session,
        at=now,
        actor="anonymous",
        action="logout.failed",
        client_address=address,
        problem=exc.type,
    )
    return problem_answer(request, exc, "logout", requested_lang(request))


async def _finish(
    request: Request,
    session: SessionDep,
    settings: Settings,
    viis: Viis,
    address: str | None,
    now: dt.datetime,
    provider: str,
    params: dict[str, str],
) -> Response:
    """Complete the login through the shared flow; a problem is returned, not raised."""
    lang = await flow.login_lang(session, params.get("state")) or requested_lang(request)
    try:
        url = await flow.complete_login(
            session=session,
            settings=settings,
            provider=providers.provider_named(settings, provider),
            viis=viis,
            params=params,
            client_address=address,
            now=now,
        )
    except ProblemError as exc:
        # Returned, not raised: the used-up attempt and the audit record must commit.
        audit(
            session,
            at=now,
            actor="anonymous",
            action="login.failed",
            client_address=address,
            idp=provider[:40],
            problem=exc.type,
        )
        return problem_answer(request, exc, "login", lang)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)
