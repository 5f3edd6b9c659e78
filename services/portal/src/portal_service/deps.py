"""Dependencies of the pages: settings, the gateway client, the web session, CSRF, the person,
and the services' APIs with the person's token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from portal_service import service
from portal_service.config import PortalSettings, origin_of
from portal_service.exceptions import CsrfRejected, LoginRequired
from portal_service.models import WebSession
from portal_service.web.api import ServiceApi
from portal_service.web.gateway import GatewayClient, Profile
from portal_service.web.pages import here
from portal_service.web.unread import start_count
from shared_kit.deps import SessionDep

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_settings(request: Request) -> PortalSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[PortalSettings, Depends(get_settings)]


def get_gateway(request: Request, settings: Settings) -> GatewayClient:
    """The gateway's API client on the app's shared HTTP client."""
    return GatewayClient(request.app.state.http, settings.gateway_url)


Gateway = Annotated[GatewayClient, Depends(get_gateway)]


async def current_session(
    request: Request, session: SessionDep, settings: Settings
) -> WebSession | None:
    """The browser's live web session, if any (also kept on `request.state` for the layout)."""
    cookie = request.cookies.get(settings.session_cookie)
    row = await service.load_session(session=session, settings=settings, cookie=cookie)
    request.state.web_session = row
    if row is not None:
        request.state.profile = service.profile_of(row, settings)
    return row


CurrentSession = Annotated[WebSession | None, Depends(current_session)]


async def check_csrf(request: Request, web: CurrentSession, settings: Settings) -> None:
    """Every unsafe request carries the session's CSRF token and comes from our own pages."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin != origin_of(settings.public_url):
        raise CsrfRejected("the form came from another site")
    token = (await request.form()).get("csrf_token")
    if web is None or not isinstance(token, str) or not token:
        raise CsrfRejected("the form has no valid token")
    if not hmac.compare_digest(token.encode(), web.csrf_token.encode()):
        raise CsrfRejected("the form has no valid token")


@dataclass(frozen=True)
class SignedIn:
    """A logged-in person's session and profile."""

    session: WebSession
    profile: Profile
    access_token: str


async def signed_in(
    request: Request,
    session: SessionDep,
    web: CurrentSession,
    settings: Settings,
    gateway: Gateway,
) -> SignedIn:
    """The logged-in person with a live access token (refreshed when about to expire, which
    also notices a session the gateway has ended); anyone else logs in and comes back here."""
    back = here(request) if request.method == "GET" else "/home"
    profile = service.profile_of(web, settings) if web is not None else None
    if web is None or profile is None:
        raise LoginRequired(back)
    token = await service.access_token(
        session=session, settings=settings, row=web, gateway=gateway, next_path=back
    )
    notifications = ServiceApi(
        request.app.state.http, "notifications", settings.notifications_url, token
    )
    start_count(request, notifications)  # the header's unread count, beside the page's calls
    return SignedIn(web, profile, token)


Person = Annotated[SignedIn, Depends(signed_in)]


@dataclass(frozen=True)
class Apis:
    """The services' APIs with the logged-in person's own access token."""

    inventory: ServiceApi
    reservations: ServiceApi
    contracts: ServiceApi
    tickets: ServiceApi
    statistics: ServiceApi
    notifications: ServiceApi
    planning: ServiceApi
    gateway: ServiceApi


def apis_of(request: Request, settings: PortalSettings, token: str) -> Apis:
    """Every service's API client for one token, on the app's shared HTTP client."""
    http = request.app.state.http
    urls = {name: getattr(settings, f"{name}_url") for name in Apis.__dataclass_fields__}
    return Apis(**{name: ServiceApi(http, name, url, token) for name, url in urls.items()})


def person_apis(request: Request, person: Person, settings: Settings) -> Apis:
    """The services' APIs as the logged-in person."""
    return apis_of(request, settings, person.access_token)


PersonApis = Annotated[Apis, Depends(person_apis)]
