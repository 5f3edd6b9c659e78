"""Dependencies of the planning API: settings, roles, validated path objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from planning_service.config import PlanningSettings
from planning_service.viis import ViisFactory


def get_settings(request: Request) -> PlanningSettings:
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[PlanningSettings, Depends(get_settings)]


def get_viis(request: Request) -> ViisFactory:
    """Opens a VIIS client (the app's factory: the real client, or the tests' stand-in)."""
    return request.app.state.viis


Viis = Annotated[ViisFactory, Depends(get_viis)]
