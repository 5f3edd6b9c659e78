"""The start page, logging in through the gateway (code + PKCE), logging out, the language."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service import service
from portal_service.deps import CurrentSession, Gateway, Person, Settings
from portal_service.exceptions import GatewayUnavailable
from portal_service.i18n import N_
from portal_service.notices.preferences import tell_language
from portal_service.web.cookies import clear_session_cookie, set_lang_cookie, set_session_cookie
from portal_service.web.pages import page_router, render_page
from shared_kit.deps import SessionDep

router = page_router()
Provider = Literal["latvija", "eklase", "mykoob"]
# The login choices, in the order the start page offers them.
PROVIDERS: tuple[tuple[str, str, str], ...] = (
    ("latvija", "Latvija.lv", N_("With an eID card, eParaksts mobile or an internet bank")),
    ("eklase", "E-klase", N_("With your E-klase account")),
    ("mykoob", "Mykoob", N_("With your Mykoob account")),
)
NextParam = Annotated[str | None, Query(alias="next", max_length=500)]


@router.get("/")
async def start(request: Request, web: CurrentSession, next_path: NextParam = None) -> Response:
    """What the service is, and the three ways to log in."""
    if web is not None and web.person_id is not None:
        return RedirectResponse(service.safe_next(next_path), status_code=303)
    nxt = service.safe_next(next_path)
    query = urlencode({"next": nxt})
    choices = [(name, label, hint, f"/login/{name}?{query}") for name, label, hint in PROVIDERS]
    return render_page(request, "start/index.html", choices=choices, returning=bool(next_path))


@router.get("/login/callback")
async def callback(
    request: Request,
    session: SessionDep,
    settings: Settings,
    web: CurrentSession,
    gateway: Gateway,
    code: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The gateway sends the person back here with a code; the session is renewed."""
    cookie, next_path = await service.complete_login(
        session=session, settings=settings, current=web, state=state, code=code, gateway=gateway
    )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, settings, cookie)
    return response


@router.get("/login/{provider}")
async def login(
    provider: Provider,
    session: SessionDep,
    settings: Settings,
    web: CurrentSession,
    next_path: NextParam = None,
    step_up: bool = False,
) -> Response:
    """Start a login at the gateway straight with the chosen identity provider (`step_up`: a
    stronger login of the person already logged in, e.g. to sign, who comes back to `next`)."""
    cookie, pending = await service.start_login(
        session=session,
        settings=settings,
        current=web,
        next_path=next_path or "/home",
        step_up=step_up,
    )
    query = {
        "return_to": f"{settings.public_url.rstrip('/')}/login/callback",
        "state": pending.state,
        "code_challenge": service.pkce_challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    gateway = settings.gateway_public_url.rstrip("/")
    response = RedirectResponse(f"{gateway}/login/{provider}?{urlencode(query)}", 303)
    set_session_cookie(response, settings, cookie)
    return response


@router.post("/logout")
async def logout(
    session: SessionDep, settings: Settings, person: Person, gateway: Gateway
) -> Response:
    """End this session and the gateway's (with Latvija.lv's single logout after its login)."""
    back = f"{settings.public_url.rstrip('/')}/logged-out"
    try:
        target = await service.end_session(
            session=session, settings=settings, row=person.session, gateway=gateway, return_to=back
        )
    except GatewayUnavailable:
        target = back  # ours has ended; the gateway's ends with its refresh token's lifetime
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response, settings)
    return response


@router.get("/logged-out")
async def logged_out(request: Request) -> Response:
    """Confirmation that the person has logged out."""
    return render_page(request, "start/logged_out.html")


@router.get("/language/{lang}")
async def language(
    request: Request,
    lang: Literal["lv", "en"],
    session: SessionDep,
    settings: Settings,
    web: CurrentSession,
    gateway: Gateway,
    next_path: NextParam = None,
) -> Response:
    """Switch the language and go back to the page the person was on (the notifications
    service hears of it too, for the person's messages)."""
    await tell_language(
        request, session=session, settings=settings, web=web, gateway=gateway, lang=lang
    )
    response = RedirectResponse(service.safe_next(next_path, "/"), status_code=303)
    set_lang_cookie(response, settings, lang)
    return response
