"""Dependencies of the notifications API: settings and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from notifications_service.config import NotificationsSettings
from shared_kit.auth import CurrentPrincipal, Principal, Role
from shared_kit.problems import Forbidden


def get_settings(request: Request) -> NotificationsSettings:
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[NotificationsSettings, Depends(get_settings)]


async def platform_admin(principal: CurrentPrincipal) -> Principal:
    """A platform administrator in person (a machine client is refused)."""
    if principal.client_id is not None or not principal.has(Role.PLATFORM_ADMIN):
        raise Forbidden("Deliveries are for platform administrators")
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
