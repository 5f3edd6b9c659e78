"""Dependencies of the statistics API: settings, roles, device filters, VIIS."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from shared_kit.auth import Principal, require_roles
from statistics_service.config import StatisticsSettings
from statistics_service.repository.views import DeviceFilter
from statistics_service.service import access
from statistics_service.service.pupils import ViisFactory
from statistics_service.service.views import ViewCache

DIMENSION = r"^[a-z0-9_]{1,40}$"


async def get_settings(request: Request) -> StatisticsSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


def get_viis(request: Request) -> ViisFactory:
    """Opens a VIIS client (the app's factory; tests put the stand-in behind it)."""
    return request.app.state.viis


def get_view_cache(request: Request) -> ViewCache:
    """The app's cache of computed views."""
    return request.app.state.view_cache


def device_filter(
    status: Annotated[str | None, Query(pattern=DIMENSION, description="Device status")] = None,
    os: Annotated[str | None, Query(pattern=DIMENSION, description="Operating system")] = None,
    category: Annotated[str | None, Query(pattern=DIMENSION, description="Category")] = None,
    funding_source: Annotated[
        str | None, Query(pattern=DIMENSION, description="Funding programme")
    ] = None,
) -> DeviceFilter:
    """Device dimensions the device figures are restricted to."""
    given = {"status": status, "os": os, "category": category, "funding_source": funding_source}
    return DeviceFilter({k: v for k, v in given.items() if v is not None})


IdleDays = Annotated[
    int | None,
    Query(
        ge=1,
        le=3650,
        description="Days without a loan after which a lendable device is idle "
        "(default `STATISTICS_IDLE_DAYS`, 60)",
    ),
]
Settings = Annotated[StatisticsSettings, Depends(get_settings)]
Viis = Annotated[ViisFactory, Depends(get_viis)]
Devices = Annotated[DeviceFilter, Depends(device_filter)]
Cache = Annotated[ViewCache, Depends(get_view_cache)]
Reader = Annotated[Principal, require_roles(*access.READ_ROLES, scope=access.READ_SCOPE)]
FeedReader = Annotated[Principal, require_roles(*access.FEED_ROLES, scope=access.FEED_SCOPE)]
Operator = Annotated[Principal, require_roles(*access.OPERATOR_ROLES)]
