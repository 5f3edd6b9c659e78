"""Dependencies of the planning API: settings, VIIS, the learners as the caller sees them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from planning_service.config import PlanningSettings
from planning_service.learners import CallerLearners, LearnerCache
from planning_service.viis import ViisFactory
from shared_kit.auth import CurrentPrincipal


async def get_settings(request: Request) -> PlanningSettings:  # async: no worker thread
    """The settings the app was built with."""
    return request.app.state.settings


def get_viis(request: Request) -> ViisFactory:
    """Opens a VIIS client (the app's; tests give the stand-in's)."""
    return request.app.state.viis


def get_learners(request: Request, principal: CurrentPrincipal) -> CallerLearners:
    """The learners as the caller may see them (the gateway is asked with their own token)."""
    cache: LearnerCache = request.app.state.learners
    return cache.of(principal.subject, request.headers.get("Authorization", ""))


Settings = Annotated[PlanningSettings, Depends(get_settings)]
Viis = Annotated[ViisFactory, Depends(get_viis)]
Learners = Annotated[CallerLearners, Depends(get_learners)]
