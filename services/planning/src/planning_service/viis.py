"""VIIS as planning asks it: the schools and their pupils per grade.

The app holds a `ViisFactory` (`app.state.viis`) that opens the kit's HTTP client; tests give
one that reaches the stand-in in-process. A learner's school and grade come from the gateway
(`planning_service.learners`), which knows children by the platform's person ids.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from planning_service.config import PlanningSettings
from shared_kit.viis import GradeCount, HttpViisDirectory, ViisInstitution, ViisMunicipality


@runtime_checkable
class PlanningViis(Protocol):
    """What planning asks VIIS."""

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """Every institution VIIS lists (of one municipality when a code is given)."""
        ...

    async def institution_pupils(self, registration_number: str) -> list[GradeCount]:
        """Pupil counts per grade of one institution."""
        ...

    async def municipalities(self) -> list[ViisMunicipality]:
        """The municipalities whose institutions VIIS lists (their names)."""
        ...


ViisFactory = Callable[[], AbstractAsyncContextManager[PlanningViis]]


def http_viis(settings: PlanningSettings) -> ViisFactory:
    """Opens the kit's HTTP VIIS client."""

    def open_client() -> AbstractAsyncContextManager[PlanningViis]:
        key = settings.viis_api_key.get_secret_value()
        return HttpViisDirectory(settings.viis_url, key, timeout_s=settings.viis_timeout_s)

    return open_client
