"""Pupil counts from VIIS (the kit's client against the stand-in), and the scheduled jobs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kit.housekeeping import purge_once
from shared_kit.testing.clock import TestClock
from shared_kit.viis import HttpViisDirectory, ViisSchoolRegister
from statistics_service.config import StatisticsSettings
from statistics_service.main import pupils_job, snapshot_job
from statistics_service.service.pupils import refresh_pupils

from .conftest import RIGA, SCHOOL_1, VIIS_KEY, sql, standin, viis_factory

Sessions = async_sessionmaker[AsyncSession]


class TestClient:
    async def test_institutions_with_their_municipality(self) -> None:
        async with viis_factory()() as viis:
            listed = await viis.institutions()
            assert [(i.registration_number, i.municipality_code) for i in listed] == [
                ("3113900101", RIGA),
                ("3113900102", RIGA),
            ]
            assert listed[0].grades == tuple(range(1, 10))
            assert await viis.institutions("0940200") == []
            with pytest.raises(ValueError):
                await viis.institutions("riga")
            assert isinstance(viis, ViisSchoolRegister)

    async def test_national_dataset(self) -> None:
        async with viis_factory("national")() as viis:
            listed = await viis.institutions()
        assert len(listed) == 600
        assert len({i.municipality_code for i in listed}) == 43
        schools = standin.national_institutions()
        assert sum(sum(s.pupils.values()) for s in schools) == pytest.approx(220_000, rel=0.02)


class TestRefresh:
    async def test_refresh_stores_institutions_and_pupils(
        self, sessions: Sessions, engine: AsyncEngine, clock: TestClock
    ) -> None:
        async with viis_factory("national")() as viis, sessions() as session, session.begin():
            result = await refresh_pupils(session, viis=viis, now=clock())
        assert result["viis_institutions"] == 600
        total = await sql(engine, "SELECT sum(pupils) AS n FROM pupil_count")
        expected = sum(sum(s.pupils.values()) for s in standin.national_institutions())
        assert total[0].n == expected
        school = await sql(
            engine,
            "SELECT grades_mask, name FROM institution WHERE registration_number = :n",
            n=SCHOOL_1,
        )
        assert school[0].grades_mask == sum(1 << g for g in range(1, 10))

    async def test_job_runs_when_due_and_survives_viis_being_away(
        self,
        sessions: Sessions,
        engine: AsyncEngine,
        settings: StatisticsSettings,
        clock: TestClock,
    ) -> None:
        job = pupils_job(settings, clock, viis_factory())
        steps = [job, snapshot_job(settings, clock)]
        first = await purge_once(sessions, settings, clock(), steps)
        assert first["viis_institutions"] == 2 and first["snapshots"] == 2
        again = await purge_once(sessions, settings, clock(), steps)
        assert "viis_institutions" not in again and again["snapshots"] == 0  # not due yet

        @contextlib.asynccontextmanager
        async def away() -> AsyncIterator[ViisSchoolRegister]:
            transport = httpx.MockTransport(lambda request: httpx.Response(503))
            async with httpx.AsyncClient(transport=transport) as http:
                yield HttpViisDirectory("http://viis.test", VIIS_KEY, http=http)

        clock.advance(hours=7)
        failed = await purge_once(sessions, settings, clock(), [pupils_job(settings, clock, away)])
        assert failed["viis_refresh_failed"] == 1
        kept = await sql(engine, "SELECT count(*) AS n FROM pupil_count")
        assert kept[0].n == 9 + 12
