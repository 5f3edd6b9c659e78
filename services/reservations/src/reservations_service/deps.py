"""Dependencies of the reservations API: settings, roles, validated path objects."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from reservations_service.config import ReservationsSettings
from reservations_service.models import Reservation
from reservations_service.service import access
from reservations_service.service import reservations as service
from shared_kit.auth import Principal, require_roles
from shared_kit.deps import ReadSessionDep, SessionDep


async def get_settings(request: Request) -> ReservationsSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[ReservationsSettings, Depends(get_settings)]
Reader = Annotated[Principal, require_roles(*access.READ_ROLES, scope=access.READ_SCOPE)]
Writer = Annotated[Principal, require_roles(*access.READ_ROLES, scope=access.WRITE_SCOPE)]
AggregateReader = Annotated[
    Principal, require_roles(*access.AGGREGATE_ROLES, scope=access.READ_SCOPE)
]
PolicyAdmin = Annotated[Principal, require_roles(*access.POLICY_ROLES)]


async def valid_reservation(
    reservation_id: uuid.UUID, session: SessionDep, principal: Reader
) -> Reservation:
    """The reservation in the path, if it exists and the caller may see it."""
    return await service.get_reservation(
        session=session, principal=principal, reservation_id=reservation_id
    )


async def readable_reservation(
    reservation_id: uuid.UUID, session: ReadSessionDep, principal: Reader
) -> Reservation:
    """The same, read outside a transaction (no BEGIN and COMMIT), for pages that only read."""
    return await valid_reservation(reservation_id, session, principal)


ValidReservation = Annotated[Reservation, Depends(valid_reservation)]
ReadableReservation = Annotated[Reservation, Depends(readable_reservation)]
