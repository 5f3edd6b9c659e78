"""How planning reaches VIIS: a factory that opens the kit's client (tests pass the stand-in)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from planning_service.config import PlanningSettings
from shared_kit.viis import (
    GradeCount,
    HttpViisDirectory,
    ViisInstitution,
    ViisMunicipality,
    ViisPerson,
)


@runtime_checkable
class ViisRegister(Protocol):
    """What planning asks VIIS: learners (survey), institutions and pupils (allocation)."""

    async def person_by_viis_id(self, viis_id: str) -> ViisPerson | None:
        """The person with this VIIS id, or None when VIIS does not know them."""
        ...

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """Every institution VIIS lists (of one municipality when a code is given)."""
        ...

    async def institution_pupils(self, registration_number: str) -> list[GradeCount]:
        """Pupil counts per grade; raises `UnknownInstitution` for an unknown number."""
        ...

    async def municipalities(self) -> list[ViisMunicipality]:
        """The municipalities whose institutions VIIS lists."""
        ...


ViisFactory = Callable[[], AbstractAsyncContextManager[ViisRegister]]


def http_viis(settings: PlanningSettings) -> ViisFactory:
    """Opens the kit's HTTP VIIS client with the settings' URL and key."""

    def open_client() -> AbstractAsyncContextManager[ViisRegister]:
        key = settings.viis_api_key.get_secret_value()
        return HttpViisDirectory(settings.viis_url, key, timeout_s=settings.viis_timeout_s)

    return open_client
