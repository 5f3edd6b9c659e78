"""VIIS as planning asks it: a learner's school and grade, the schools, their pupils per grade.

The app holds a `ViisFactory` (`app.state.viis`) that opens the kit's HTTP client; tests give
one that reaches the stand-in in-process. `LearnerCache` keeps what VIIS said about a learner
for a few minutes, so a guardian's home page does not ask VIIS again for every child and request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from planning_service.config import PlanningSettings
from planning_service.exceptions import ViisUnreachable
from shared_kit.viis import (
    GradeCount,
    HttpViisDirectory,
    ViisError,
    ViisInstitution,
    ViisMunicipality,
    ViisPerson,
)

LEARNER_TTL = dt.timedelta(minutes=10)
LEARNER_CACHE_SIZE = 50_000


@runtime_checkable
class PlanningViis(Protocol):
    """What planning asks VIIS."""

    async def person_by_viis_id(self, viis_id: str) -> ViisPerson | None:
        """The person with this VIIS id, or None."""
        ...

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


@dataclass(frozen=True, slots=True)
class Learner:
    """A learner as planning needs them: name, school and grade (None: not enrolled)."""

    viis_id: str
    name: str
    institution_number: str | None
    grade: int | None


class LearnerCache:
    """Learners by VIIS id, kept for `LEARNER_TTL`; VIIS failures become 503 problems."""

    def __init__(self, open_viis: ViisFactory) -> None:
        self._open = open_viis
        self._known: dict[str, tuple[dt.datetime, Learner | None]] = {}

    async def learner(self, viis_id: str, now: dt.datetime) -> Learner | None:
        """The learner with this VIIS id, or None when VIIS does not know them."""
        cached = self._known.get(viis_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            async with self._open() as viis:
                person = await viis.person_by_viis_id(viis_id)
        except ValueError:
            person = None  # not a VIIS id at all
        except ViisError as exc:
            raise ViisUnreachable(f"VIIS could not be asked about the learner: {exc}") from exc
        found = None if person is None else _learner(person)
        if len(self._known) >= LEARNER_CACHE_SIZE:
            self._known.pop(next(iter(self._known)))
        self._known[viis_id] = (now + LEARNER_TTL, found)
        return found


def _learner(person: ViisPerson) -> Learner:
    enrolment = person.learner
    return Learner(
        viis_id=person.viis_id,
        name=f"{person.given_name} {person.family_name}",
        institution_number=enrolment.institution_reg_no if enrolment else None,
        grade=enrolment.grade if enrolment else None,
    )
