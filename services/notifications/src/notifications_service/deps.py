"""Dependencies of the notifications API: settings, the caller and the senders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from notifications_service.channels import Sender, build_senders
from notifications_service.config import NotificationsSettings
from notifications_service.kinds import Channel
from shared_kit.auth import CurrentPrincipal, Principal
from shared_kit.problems import Forbidden


def get_settings(request: Request) -> NotificationsSettings:
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[NotificationsSettings, Depends(get_settings)]


def person(principal: CurrentPrincipal) -> Principal:
    """The caller, who must be a person: `/me` endpoints act on the token's own subject."""
    if principal.client_id is not None:
        raise Forbidden("These endpoints are a person's own; a machine client has none")
    return principal


Person = Annotated[Principal, Depends(person)]


def get_senders(request: Request) -> dict[Channel, Sender]:
    """The app's one set of senders, made on first use (requests send verification codes)."""
    senders: dict[Channel, Sender] | None = getattr(request.app.state, "senders", None)
    if senders is None:
        senders = request.app.state.senders = build_senders(request.app.state.settings)
    return senders


Senders = Annotated[dict[Channel, Sender], Depends(get_senders)]
