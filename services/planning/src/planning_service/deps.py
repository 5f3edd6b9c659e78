"""Dependencies of the planning API: settings, VIIS, the learner cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from planning_service.config import PlanningSettings
from planning_service.viis import LearnerCache, ViisFactory


def get_settings(request: Request) -> PlanningSettings:
    """The settings the app was built with."""
    return request.app.state.settings


def get_viis(request: Request) -> ViisFactory:
    """Opens a VIIS client (the app's; tests give the stand-in's)."""
    return request.app.state.viis


def get_learners(request: Request) -> LearnerCache:
    """The app's cache of what VIIS said about learners."""
    return request.app.state.learners


Settings = Annotated[PlanningSettings, Depends(get_settings)]
Viis = Annotated[ViisFactory, Depends(get_viis)]
Learners = Annotated[LearnerCache, Depends(get_learners)]
