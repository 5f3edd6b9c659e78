"""Dependencies of the notifications API: settings, the caller and the senders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from notifications_service.channels import Sender, build_senders
from notifications_service.config import NotificationsSettings
from notifications_service.kinds import Channel
from shared_kit.auth import CurrentPrincipal, Principal, Role
from shared_kit.problems import Forbidden


async def get_settings(request: Request) -> NotificationsSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[NotificationsSettings, Depends(get_settings)]


async def current_person(principal: CurrentPrincipal) -> Principal:
    """The caller, who must be a person: a machine client has no notices or contact points."""
    if principal.client_id is not None or principal.has(Role.SERVICE):
        raise Forbidden("Only a person has notifications; machine clients have none")
    return principal


Person = Annotated[Principal, Depends(current_person)]


def get_senders(request: Request) -> dict[Channel, Sender]:
    """The app's one set of senders, made on first use (requests send verification codes)."""
    senders: dict[Channel, Sender] | None = getattr(request.app.state, "senders", None)
    if senders is None:
        senders = request.app.state.senders = build_senders(request.app.state.settings)
    return senders


Senders = Annotated[dict[Channel, Sender], Depends(get_senders)]


async def platform_admin(principal: CurrentPrincipal) -> Principal:
    """A platform administrator in person (a machine client is refused)."""
    if principal.client_id is not None or not principal.has(Role.PLATFORM_ADMIN):
        raise Forbidden("Deliveries are for platform administrators")
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
