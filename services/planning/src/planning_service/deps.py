"""Dependencies of the planning API: settings, roles, validated path objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from planning_service.config import PlanningSettings


def get_settings(request: Request) -> PlanningSettings:
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[PlanningSettings, Depends(get_settings)]
