"""Pupil counts per institution and grade from VIIS (the same client the gateway uses).

A refresh lists the institutions (with their municipality), asks each for its pupils per grade
with bounded concurrency, then replaces what is stored in one transaction. An institution whose
count cannot be read keeps its previous counts; VIIS being away postpones the whole refresh.
The grades an institution teaches (`grades_mask`) are those with pupils (the grades VIIS lists
when the counts cannot be read): a device without school levels counts for exactly those.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.viis import GradeCount, UnknownInstitution, ViisError, ViisSchoolRegister
from statistics_service.exceptions import ViisUnreachable
from statistics_service.repository.reference import ReferenceRepository

logger = logging.getLogger(__name__)
ViisFactory = Callable[[], AbstractAsyncContextManager[ViisSchoolRegister]]


async def refresh_due(session: AsyncSession, *, now: dt.datetime, interval_s: float) -> bool:
    """Whether the stored pupil counts are older than the refresh interval."""
    last = await ReferenceRepository(session).last_refresh()
    return last is None or (now - last).total_seconds() >= interval_s


async def refresh_when_due(
    session: AsyncSession,
    *,
    open_viis: ViisFactory,
    now: dt.datetime,
    interval_s: float,
    concurrency: int = 8,
) -> dict[str, int]:
    """The scheduled refresh: only when due, and postponed (not failed) while VIIS is away."""
    if not await refresh_due(session, now=now, interval_s=interval_s):
        return {}
    try:
        return await refresh_from_viis(
            session, open_viis=open_viis, now=now, concurrency=concurrency
        )
    except ViisUnreachable as exc:
        logger.warning("pupil refresh postponed: %s", exc)
        return {"viis_refresh_failed": 1}


async def refresh_from_viis(
    session: AsyncSession, *, open_viis: ViisFactory, now: dt.datetime, concurrency: int = 8
) -> dict[str, int]:
    """Open a VIIS client and refresh (`refresh_pupils`); ViisUnreachable when VIIS fails."""
    try:
        async with open_viis() as viis:
            return await refresh_pupils(session, viis=viis, now=now, concurrency=concurrency)
    except ViisError as exc:
        raise ViisUnreachable(f"Pupil counts could not be read: {exc}") from exc


async def refresh_pupils(
    session: AsyncSession,
    *,
    viis: ViisSchoolRegister,
    now: dt.datetime,
    concurrency: int = 8,
) -> dict[str, int]:
    """Read institutions and pupils from VIIS and store them; counts of what changed."""
    listed = await viis.institutions()
    limit = asyncio.Semaphore(concurrency)

    async def pupils_of(reg_no: str) -> list[GradeCount] | None:
        async with limit:
            try:
                return await viis.institution_pupils(reg_no)
            except UnknownInstitution:
                return None

    counts = await asyncio.gather(*(pupils_of(i.registration_number) for i in listed))
    institutions, pupils, refreshed = [], [], []
    for inst, grades in zip(listed, counts, strict=True):
        taught = [g.grade for g in grades if g.pupils > 0] if grades is not None else inst.grades
        mask = sum(1 << g for g in set(taught) if 1 <= g <= 12)
        institutions.append(
            {
                "registration_number": inst.registration_number,
                "municipality_code": inst.municipality_code,
                "name": inst.name,
                "grades_mask": mask,
                "in_viis": True,
                "pupils_refreshed_at": now,
            }
        )
        if grades is not None:
            refreshed.append(inst.registration_number)
            pupils += [
                {
                    "institution_number": inst.registration_number,
                    "grade": g.grade,
                    "pupils": g.pupils,
                }
                for g in grades
            ]
    repo = ReferenceRepository(session)
    await repo.save_institutions(institutions)
    await repo.replace_pupils(refreshed, pupils)
    gone = await repo.forget_missing([i.registration_number for i in listed])
    await repo.changed()
    return {"viis_institutions": len(listed), "pupil_counts": len(pupils), "viis_gone": gone}
