"""Dependencies of the tickets API: settings, roles, validated path objects."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from shared_kit.auth import Principal, require_roles
from shared_kit.deps import SessionDep
from tickets_service.config import TicketsSettings
from tickets_service.models import Ticket
from tickets_service.service import access
from tickets_service.service import tickets as service


async def get_settings(request: Request) -> TicketsSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[TicketsSettings, Depends(get_settings)]
Reader = Annotated[Principal, require_roles(*access.READ_ROLES, scope=access.READ_SCOPE)]
Writer = Annotated[Principal, require_roles(*access.READ_ROLES, scope=access.WRITE_SCOPE)]
PolicyAdmin = Annotated[Principal, require_roles(*access.POLICY_ROLES)]


async def valid_ticket(ticket_id: uuid.UUID, session: SessionDep, principal: Reader) -> Ticket:
    """The ticket in the path, if it exists and the caller may see it."""
    return await service.get_ticket(session=session, principal=principal, ticket_id=ticket_id)


ValidTicket = Annotated[Ticket, Depends(valid_ticket)]
