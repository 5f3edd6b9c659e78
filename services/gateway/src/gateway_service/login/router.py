"""HTTP endpoints of the login: provider choice, redirect to a provider, the provider's callback."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway_service.deps import ClientAddress, LoginRate, Settings, Viis
from gateway_service.login import flow, latvija, pages
from gateway_service.login.pages import Lang
from gateway_service.service.common import audit
from shared_kit.deps import SessionDep
from shared_kit.problems import ProblemError, problem_response, problem_responses

NO_STORE = {"Cache-Control": "no-store"}

login_router = APIRouter(tags=["login"], responses=problem_responses(400, 404))

ReturnTo = Annotated[str, Query(max_length=2000, description="Where to send the code back")]
ClientState = Annotated[str | None, Query(alias="state", max_length=500)]
Challenge = Annotated[str, Query(max_length=128, description="PKCE S256 code challenge")]
ChallengeMethod = Annotated[str, Query(max_length=10)]


@login_router.get("/login", response_class=HTMLResponse)
async def choose_provider(
    request: Request, settings: Settings, lang: Annotated[Lang, Query()] = "lv"
) -> HTMLResponse:
    """The provider-choice page (Latvian or English); the app's parameters pass through."""
    passed = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query = urlencode(passed)
    links = {
        flow.PROVIDER_LABELS.get(name, name): f"/login/{name}?{query}"
        for name in flow.providers(settings)
    }
    other = urlencode([*passed, ("lang", "en" if lang == "lv" else "lv")])
    return HTMLResponse(pages.choice_page(lang, links, f"/login?{other}"), headers=NO_STORE)


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
    return_to: ReturnTo,
    code_challenge: Challenge,
    client_state: ClientState = None,
    code_challenge_method: ChallengeMethod = "S256",
) -> RedirectResponse:
    """Send the person to the identity provider (an unknown `return_to` is a 400 problem)."""
    url = await flow.start_login(
        session=session,
        settings=settings,
        provider=flow.provider_named(settings, provider),
        return_to=return_to,
        client_state=client_state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
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
) -> Response:
    """The provider's callback: back to the app's `return_to` with a code, or a clear problem."""
    return await _finish(
        request, session, settings, viis, address, provider, dict(request.query_params)
    )


@login_router.get("/login/latvija/metadata", response_class=Response)
async def latvija_metadata(settings: Settings) -> Response:
    """Our SAML 2.0 SP metadata for Latvija.lv (entity id, signing certificate, ACS)."""
    xml = latvija.sp_metadata(flow.saml_endpoints(settings))
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
    saml_response: Annotated[str, Form(alias="SAMLResponse", max_length=200_000)] = "",
    relay_state: Annotated[str, Form(alias="RelayState", max_length=500)] = "",
) -> Response:
    """The Assertion Consumer Service (HTTP-POST): the signed response, our state as RelayState."""
    params = {"state": relay_state, "SAMLResponse": saml_response}
    return await _finish(request, session, settings, viis, address, latvija.NAME, params)


async def _finish(
    request: Request,
    session: SessionDep,
    settings: Settings,
    viis: Viis,
    address: str | None,
    provider: str,
    params: dict[str, str],
) -> Response:
    """Complete the login through the shared flow; a problem is returned, not raised."""
    try:
        url = await flow.complete_login(
            session=session,
            settings=settings,
            provider=flow.provider_named(settings, provider),
            viis=viis,
            params=params,
            client_address=address,
        )
    except ProblemError as exc:
        # Returned, not raised: the used-up attempt and the audit record must commit.
        audit(
            session,
            actor="anonymous",
            action="login.failed",
            client_address=address,
            idp=provider[:40],
            problem=exc.type,
        )
        return _problem(request, exc)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


def _problem(request: Request, exc: ProblemError) -> Response:
    """problem+json, or an HTML page for a browser that asks for one."""
    if "text/html" in request.headers.get("accept", ""):
        lang: Lang = "en" if request.query_params.get("lang") == "en" else "lv"
        html = pages.error_page(lang, exc.status, exc.title, exc.detail)
        return HTMLResponse(html, status_code=exc.status, headers=NO_STORE)
    return problem_response(exc.status, exc.type, exc.title, exc.detail, headers=NO_STORE)
