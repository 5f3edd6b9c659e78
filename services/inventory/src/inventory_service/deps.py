"""Dependencies of the inventory API: settings, roles, and validated path objects."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from inventory_service.config import InventorySettings
from inventory_service.models import CatalogueItem, Device, Institution, Municipality
from inventory_service.service import access, catalogue, devices, reference
from inventory_service.service.viis import ViisFactory
from shared_kit.auth import CurrentPrincipal, Principal, require_roles
from shared_kit.deps import ReadSessionDep, SessionDep


async def get_settings(request: Request) -> InventorySettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[InventorySettings, Depends(get_settings)]


def get_viis(request: Request) -> ViisFactory:
    """Opens the app's VIIS client."""
    return request.app.state.viis


Viis = Annotated[ViisFactory, Depends(get_viis)]
Reader = Annotated[Principal, require_roles(*access.READ_ROLES, scope=access.READ_SCOPE)]


async def valid_device(device_id: uuid.UUID, session: ReadSessionDep, principal: Reader) -> Device:
    """The device in the path, if it exists and the caller may see it (for endpoints that only
    read: they take the same `ReadSessionDep`)."""
    return await devices.get_device(session=session, principal=principal, device_id=device_id)


async def valid_device_for_update(
    device_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Device:
    """The device in the path, locked for the rest of this transaction."""
    return await devices.get_device(
        session=session, principal=principal, device_id=device_id, for_update=True
    )


async def valid_municipality(code: str, session: SessionDep, principal: Reader) -> Municipality:
    """The municipality in the path, if the caller may see it."""
    return await reference.visible_municipality(session=session, principal=principal, code=code)


async def valid_institution(number: str, session: SessionDep, principal: Reader) -> Institution:
    """The institution in the path, if the caller may see it."""
    return await reference.visible_institution(session=session, principal=principal, number=number)


async def valid_catalogue_item(code: str, session: SessionDep, _: Reader) -> CatalogueItem:
    """The catalogue item in the path."""
    return await catalogue.get_catalogue_item(session=session, code=code.upper())


ValidDevice = Annotated[Device, Depends(valid_device)]
LockedDevice = Annotated[Device, Depends(valid_device_for_update)]
ValidMunicipality = Annotated[Municipality, Depends(valid_municipality)]
ValidInstitution = Annotated[Institution, Depends(valid_institution)]
ValidCatalogueItem = Annotated[CatalogueItem, Depends(valid_catalogue_item)]
