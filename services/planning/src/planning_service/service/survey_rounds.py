"""Survey rounds: set up (schools and pupils from VIIS), listed, read, changed, closed."""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.config import PlanningSettings
from planning_service.events import survey as events
from planning_service.events.common import publish
from planning_service.exceptions import (
    AnswersExist,
    InvalidPeriod,
    RoundClosed,
    SurveyForbidden,
    SurveyRoundNotFound,
    UnknownInstitutions,
    ViisUnreachable,
)
from planning_service.models.survey import RoundScope, SurveyRound, SurveyRoundInstitution
from planning_service.repository.survey import AnswerRepository, RoundRepository
from planning_service.schemas.survey import RoundCreate, RoundRead, RoundSchool, RoundUpdate
from planning_service.service import survey_access as access
from planning_service.viis import PlanningViis, ViisFactory
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.problems import field_error
from shared_kit.tenancy import actor_of
from shared_kit.viis import UnknownInstitution, ViisError, ViisInstitution


def local_today(now: dt.datetime, timezone: str) -> dt.date:
    """The local day (Rīga) of a moment."""
    return now.astimezone(ZoneInfo(timezone)).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def state_of(round_: SurveyRound, today: dt.date) -> str:
    """scheduled before its first day, open through its last, closed after (or when closed)."""
    if round_.closed_at is not None or today > round_.closes_on:
        return "closed"
    return "open" if today >= round_.opens_on else "scheduled"


def last_day(round_: SurveyRound, timezone: str) -> dt.date:
    """The day the round stopped taking answers (its last day, or the day it was closed)."""
    if round_.closed_at is None:
        return round_.closes_on
    return min(round_.closes_on, local_today(round_.closed_at, timezone))


def round_read(
    round_: SurveyRound, schools: Sequence[SurveyRoundInstitution], today: dt.date
) -> RoundRead:
    """The API view of a round."""
    return RoundRead(
        id=round_.id,
        title=round_.title,
        scope=round_.scope.value,
        municipality_code=round_.municipality_code,
        opens_on=round_.opens_on,
        closes_on=round_.closes_on,
        state=state_of(round_, today),
        grades=sorted(round_.grades),
        institutions=[
            RoundSchool(
                registration_number=s.registration_number,
                name=s.name,
                municipality_code=s.municipality_code,
            )
            for s in schools
        ],
        criteria=list(round_.criteria),
        retention_months=round_.retention_months,
        answers_delete_on=round_.answers_delete_on,
        answers_deleted_at=round_.answers_deleted_at,
        version=round_.version,
    )


async def create_round(
    session: AsyncSession,
    *,
    principal: Principal,
    data: RoundCreate,
    now: dt.datetime,
    settings: PlanningSettings,
    open_viis: ViisFactory,
) -> tuple[SurveyRound, list[SurveyRoundInstitution]]:
    """Set a round up with its schools (every school teaching a grade, unless named)."""
    scope = RoundScope(data.scope)
    if not access.may_create(principal, scope, data.municipality_code):
        raise SurveyForbidden("Only the programme manager or the municipality runs this round")
    months = data.retention_months or settings.retention_months
    round_ = SurveyRound(
        id=uuid.uuid4(),
        title=data.title,
        scope=scope,
        municipality_code=data.municipality_code,
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        grades=sorted(data.grades),
        criteria=list(data.criteria),
        retention_months=months,
        answers_delete_on=add_months(data.closes_on, months),
        created_by=actor_of(principal),
    )
    schools = await schools_from_viis(
        open_viis,
        round_=round_,
        wanted=data.institutions,
        concurrency=settings.viis_concurrency,
    )
    RoundRepository(session).add(round_, schools)
    await session.flush()
    _publish(session, events.ROUND_CREATED, events.SurveyRoundCreated, round_, schools)
    return round_, schools


async def schools_from_viis(
    open_viis: ViisFactory,
    *,
    round_: SurveyRound,
    wanted: Sequence[str] | None,
    concurrency: int,
) -> list[SurveyRoundInstitution]:
    """The round's schools as VIIS lists them, with their pupils per grade."""
    try:
        async with open_viis() as viis:
            listed = await viis.institutions(round_.municipality_code)
            chosen = _choose(listed, round_.grades, wanted)
            return await _with_pupils(viis, round_.id, chosen, concurrency)
    except ViisError as exc:
        raise ViisUnreachable(f"VIIS could not list the schools: {exc}") from exc


def _choose(
    listed: Sequence[ViisInstitution], grades: Sequence[int], wanted: Sequence[str] | None
) -> list[ViisInstitution]:
    by_number = {s.registration_number: s for s in listed}
    if wanted is None:
        return [s for s in listed if set(s.grades) & set(grades)]
    unknown = sorted(set(wanted) - set(by_number))
    if unknown:
        raise UnknownInstitutions(
            f"VIIS lists no such school in the round's area: {', '.join(unknown)}",
            errors=[field_error(("body", "institutions"), "unknown school", "unknown")],
        )
    return [by_number[n] for n in sorted(set(wanted))]


async def _with_pupils(
    viis: PlanningViis, round_id: uuid.UUID, chosen: list[ViisInstitution], concurrency: int
) -> list[SurveyRoundInstitution]:
    limit = asyncio.Semaphore(concurrency)

    async def pupils(school: ViisInstitution) -> dict[str, int]:
        async with limit:
            try:
                counts = await viis.institution_pupils(school.registration_number)
            except UnknownInstitution:
                return {}
        return {str(c.grade): c.pupils for c in counts}

    counts = await asyncio.gather(*(pupils(s) for s in chosen))
    return [
        SurveyRoundInstitution(
            round_id=round_id,
            registration_number=s.registration_number,
            name=s.name,
            municipality_code=s.municipality_code,
            pupils=c,
        )
        for s, c in zip(chosen, counts, strict=True)
    ]


async def get_round(
    session: AsyncSession, *, principal: Principal, round_id: uuid.UUID, lock: bool = False
) -> tuple[SurveyRound, list[SurveyRoundInstitution]]:
    """A round the caller sees, with its schools; 404 otherwise."""
    repo = RoundRepository(session)
    round_ = await repo.get(round_id, lock=lock)
    if round_ is None:
        raise SurveyRoundNotFound()
    schools = await repo.schools(round_id)
    pairs = [(s.registration_number, s.municipality_code) for s in schools]
    if not access.sees_round(principal, round_, pairs):
        raise SurveyRoundNotFound()
    return round_, schools


async def update_round(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    data: RoundUpdate,
    if_match: str | None,
    now: dt.datetime,
    settings: PlanningSettings,
    open_viis: ViisFactory,
) -> tuple[SurveyRound, list[SurveyRoundInstitution]]:
    """Change a round's title, period, grades, schools or criteria; never shrink once answered."""
    round_, schools = await get_round(session, principal=principal, round_id=round_id, lock=True)
    if not access.may_manage(principal, round_):
        raise SurveyForbidden("Only whoever runs the round may change it")
    check_if_match(if_match, round_.version)
    if state_of(round_, local_today(now, settings.timezone)) == "closed":
        raise RoundClosed("A closed round does not change")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    await _refuse_shrinking(session, round_, schools, changes)
    _set_fields(round_, changes)
    if "institutions" in changes or "grades" in changes:
        schools = await _replace_schools(session, round_, schools, changes, settings, open_viis)
    round_.answers_delete_on = add_months(round_.closes_on, round_.retention_months)
    await session.flush()
    _publish(session, events.ROUND_UPDATED, events.SurveyRoundUpdated, round_, schools)
    return round_, schools


def _set_fields(round_: SurveyRound, changes: dict[str, Any]) -> None:
    opens = changes.get("opens_on", round_.opens_on)
    closes = changes.get("closes_on", round_.closes_on)
    if closes < opens:
        raise InvalidPeriod(
            "closes_on is before opens_on",
            errors=[field_error(("body", "closes_on"), "before opens_on", "period")],
        )
    round_.title = changes.get("title", round_.title)
    round_.opens_on, round_.closes_on = opens, closes
    if "grades" in changes:
        round_.grades = sorted(changes["grades"])
    if "criteria" in changes:
        round_.criteria = list(changes["criteria"])


async def _refuse_shrinking(
    session: AsyncSession,
    round_: SurveyRound,
    schools: Sequence[SurveyRoundInstitution],
    changes: dict[str, Any],
) -> None:
    if await AnswerRepository(session).count(round_.id) == 0:
        return
    dropped: dict[str, set[int] | set[str]] = {
        "grades": set(round_.grades) - set(changes.get("grades", round_.grades)),
        "criteria": set(round_.criteria) - set(changes.get("criteria", round_.criteria)),
        "institutions": {s.registration_number for s in schools}
        - set(changes.get("institutions", [s.registration_number for s in schools])),
    }
    for name, values in dropped.items():
        if values:
            raise AnswersExist(
                f"The round has answers; {name} cannot lose {', '.join(map(str, sorted(values)))}",
                errors=[field_error(("body", name), "would shrink", "answers_exist")],
            )


async def _replace_schools(
    session: AsyncSession,
    round_: SurveyRound,
    schools: list[SurveyRoundInstitution],
    changes: dict[str, Any],
    settings: PlanningSettings,
    open_viis: ViisFactory,
) -> list[SurveyRoundInstitution]:
    """The round's schools after a change: named ones, or those teaching its new grades."""
    wanted = changes.get("institutions", [s.registration_number for s in schools])
    current = {s.registration_number: s for s in schools}
    repo = RoundRepository(session)
    await repo.remove_schools(round_.id, set(current) - set(wanted))
    missing = sorted(set(wanted) - set(current))
    added = (
        await schools_from_viis(
            open_viis, round_=round_, wanted=missing, concurrency=settings.viis_concurrency
        )
        if missing
        else []
    )
    session.add_all(added)
    kept = [current[n] for n in wanted if n in current]
    return sorted([*kept, *added], key=lambda s: s.registration_number)


async def close_round(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    if_match: str | None,
    now: dt.datetime,
    settings: PlanningSettings,
) -> tuple[SurveyRound, list[SurveyRoundInstitution]]:
    """Close a round before its last day; its retention runs from the day it closed."""
    round_, schools = await get_round(session, principal=principal, round_id=round_id, lock=True)
    if not access.may_manage(principal, round_):
        raise SurveyForbidden("Only whoever runs the round may close it")
    check_if_match(if_match, round_.version)
    if state_of(round_, local_today(now, settings.timezone)) == "closed":
        raise RoundClosed("The round is already closed")
    round_.closed_at = now
    round_.answers_delete_on = add_months(
        last_day(round_, settings.timezone), round_.retention_months
    )
    await session.flush()
    payload = events.SurveyRoundClosed(**_round_fields(round_, schools), closed_at=now)
    publish(session, events.ROUND_CLOSED, round_.id, round_.municipality_code, payload)
    return round_, schools


def _round_fields(round_: SurveyRound, schools: Sequence[SurveyRoundInstitution]) -> dict[str, Any]:
    return {
        "round_id": round_.id,
        "title": round_.title,
        "scope": round_.scope.value,
        "municipality_code": round_.municipality_code,
        "opens_on": round_.opens_on,
        "closes_on": round_.closes_on,
        "grades": sorted(round_.grades),
        "institutions": [s.registration_number for s in schools],
        "criteria": list(round_.criteria),
        "retention_months": round_.retention_months,
        "version": round_.version,
    }


def _publish(
    session: AsyncSession,
    type_: str,
    model: type[BaseModel],
    round_: SurveyRound,
    schools: Sequence[SurveyRoundInstitution],
) -> None:
    payload = model(**_round_fields(round_, schools))
    publish(session, type_, round_.id, round_.municipality_code, payload)


async def list_rounds(
    session: AsyncSession,
    *,
    principal: Principal,
    municipality: str | None,
    institution: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[SurveyRound]:
    """Rounds the caller sees (plus one, to tell whether more follow)."""
    return await RoundRepository(session).page(
        access.round_scope(principal),
        municipality=municipality,
        institution=institution,
        cursor=cursor,
        limit=limit,
    )


async def schools_of(
    session: AsyncSession, round_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[SurveyRoundInstitution]]:
    """The schools of several rounds."""
    return await RoundRepository(session).schools_of(round_ids)
