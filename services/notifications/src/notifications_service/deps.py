"""Dependencies of the notifications API: settings and the caller (a person)."""

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


async def current_person(principal: CurrentPrincipal) -> Principal:
    """The caller, who must be a person: a machine client has no notices or contact points."""
    if principal.client_id is not None or principal.has(Role.SERVICE):
        raise Forbidden("Only a person has notifications; machine clients have none")
    return principal


Person = Annotated[Principal, Depends(current_person)]
