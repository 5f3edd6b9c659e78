"""Learners as planning needs them: the school and grade VIIS has a child in now, asked of the
gateway by the platform's person id (the id guardians' tokens name their children by).

The gateway answers `GET /api/v1/gateway/people/{id}/enrolment` to those who may know the
learner (their guardians, the learner, the admins of their school or its municipality), so
planning forwards the caller's own bearer token: the gateway decides, planning never widens
anyone's view. `LearnerCache` keeps each answer per (caller, learner) for a few minutes, so a
guardian's home page does not ask again for every child and request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import BaseModel

from planning_service.config import PlanningSettings
from planning_service.exceptions import GatewayUnreachable

logger = logging.getLogger(__name__)

ENROLMENT_PATH = "/api/v1/gateway/people/{person_id}/enrolment"
LEARNER_TTL = dt.timedelta(minutes=10)
LEARNER_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Learner:
    """A learner as planning needs them: person id, name, school and grade."""

    person_id: str
    name: str
    institution_number: str
    grade: int


class Enrolment(BaseModel):
    """The gateway's answer (what planning reads of it)."""

    given_name: str
    family_name: str
    institution_number: str
    grade: int


class LearnerDirectory(Protocol):
    """Asks where a learner studies, as the caller (whose `Authorization` is forwarded)."""

    async def enrolment(self, person_id: str, authorization: str) -> Learner | None:
        """The learner, or None when the caller may not know them or they are no learner."""
        ...


class GatewayLearners:
    """The gateway's enrolment endpoint over HTTP."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout_s
        self._transport = transport

    @classmethod
    def from_settings(cls, settings: PlanningSettings) -> GatewayLearners:
        """The directory the settings describe."""
        return cls(settings.gateway_url, timeout_s=settings.gateway_timeout_s)

    async def enrolment(self, person_id: str, authorization: str) -> Learner | None:
        """The learner as the gateway shows them to the caller."""
        path = ENROLMENT_PATH.format(person_id=person_id)
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.get(path, headers={"Authorization": authorization})
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"The gateway is unreachable: {type(exc).__name__}") from exc
        if response.status_code in (404, 422):  # not theirs to know, or not a person id at all
            return None
        if response.status_code != 200:
            logger.warning("gateway answered %s to an enrolment read", response.status_code)
            raise GatewayUnreachable(f"The gateway answered {response.status_code}")
        found = Enrolment.model_validate(response.json())
        name = f"{found.given_name} {found.family_name}"
        return Learner(person_id, name, found.institution_number, found.grade)


class LearnerCache:
    """Learners per (caller, learner), kept for `LEARNER_TTL`."""

    def __init__(self, directory: LearnerDirectory) -> None:
        self._directory = directory
        self._known: dict[tuple[str, str], tuple[dt.datetime, Learner | None]] = {}

    def of(self, subject: str, authorization: str) -> CallerLearners:
        """The learners as this caller may see them."""
        return CallerLearners(self, subject, authorization)

    async def learner(
        self, subject: str, authorization: str, person_id: str, now: dt.datetime
    ) -> Learner | None:
        """The learner as the gateway shows them to the caller, or None."""
        key = (subject, person_id)
        cached = self._known.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._directory.enrolment(person_id, authorization)
        if len(self._known) >= LEARNER_CACHE_SIZE:
            self._known.pop(next(iter(self._known)))
        self._known[key] = (now + LEARNER_TTL, found)
        return found


@dataclass(frozen=True, slots=True)
class CallerLearners:
    """The cache bound to one request's caller."""

    cache: LearnerCache
    subject: str
    authorization: str

    async def learner(self, person_id: str, now: dt.datetime) -> Learner | None:
        """The learner with this person id as the caller may see them, or None."""
        return await self.cache.learner(self.subject, self.authorization, person_id, now)
