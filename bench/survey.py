"""Benchmark 12: the needs survey — 50,000 answers ingested and the results read at every level.

A national survey round over the VIIS stand-in's national register (about 600 schools in 43
municipalities, grades 1-12, every criterion asked) is set up by planning's own service code.
Then 50,000 guardians' answers go in through `survey_answers.put_answer`, the function the
`PUT …/answers/{learner}` endpoint calls (the learner looked up, the answer encrypted, its
aggregates upserted and its event queued in the outbox), `BATCH` answers a transaction, on
`WORKERS` connections at once (each its own schools, so their counts never wait on each other). The
results are then read by `survey_results.results` (the endpoint's function, complementary
suppression over the whole round included) nationally, for a municipality and for a school.
Beside the ingest: the same 50,000 answer rows copied by one raw `INSERT … SELECT`.

The learners are invented (the stand-in's national register has schools and pupil counts, no
people), so the learner directory (the gateway's enrolments in the service) answers from the
benchmark's own roster in-process; the round's schools and pupils come from the stand-in over
its HTTP protocol.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.infra import Infra
from bench.rawsql import asyncpg_dsn
from bench.report import Row
from bench.search import percentile
from planning_service.config import PlanningSettings
from planning_service.learners import Learner, LearnerCache
from planning_service.main import MIGRATIONS
from planning_service.schemas.survey import CRITERIA, AnswerWrite, RoundCreate
from planning_service.service import survey_answers, survey_results, survey_rounds
from planning_service.viis import PlanningViis
from shared_kit.auth import Principal
from shared_kit.db import create_engine, create_session_factory
from shared_kit.viis import (
    GradeCount,
    HttpViisDirectory,
    ViisInstitution,
    ViisMunicipality,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "dev"))
import viis_standin

ANSWERS = 50_000
BATCH = 250
WORKERS = 4
CALLS = 20
TARGET_ANSWERS_PER_S = 500.0
TARGET_P99_MS = 500.0
KEY = "bench"
DEVICE_ACCESS = ("none", "smartphone_only", "shared", "own", "own", "own")
INTERNET = ("yes", "yes", "yes", "mobile_only", "none")
RAW_COPY = """
INSERT INTO survey_answer (id, round_id, learner_id, institution_number, municipality_code,
                           grade, content, channel, submitted_by, submitted_at, updated_at, version)
SELECT gen_random_uuid(), round_id, 'RAW-' || learner_id, institution_number, municipality_code,
       grade, content, channel, submitted_by, submitted_at, updated_at, version
  FROM survey_answer
"""
Slot = tuple[str, int, int]  # (school, grade, n-th pupil)


def roster() -> list[Slot]:
    """ANSWERS pupils drawn (deterministically) from every school's grades."""
    slots = [
        (school.registration_number, grade, n)
        for school in viis_standin.national_institutions()
        for grade, pupils in school.pupils.items()
        for n in range(pupils)
    ]
    return random.Random(2027).sample(slots, ANSWERS)


def learner_id(slot: Slot) -> str:
    """The invented VIIS id of a pupil."""
    return f"BENCH-{slot[0]}-{slot[1]}-{slot[2]}"


class Register:
    """VIIS for the benchmark: schools and pupils from the stand-in (HTTP); the learners'
    enrolments from the roster (the stand-in knows no people at national scale)."""

    def __init__(self, directory: HttpViisDirectory, slots: Sequence[Slot]) -> None:
        self.directory = directory
        self.people = {learner_id(s): s for s in slots}

    async def enrolment(self, person_id: str, authorization: str) -> Learner | None:
        """A pupil of the roster (as the gateway would answer their guardian)."""
        slot = self.people.get(person_id)
        if slot is None:
            return None
        return Learner(person_id, f"Skolēns {slot[2]}", slot[0], slot[1])

    async def institutions(self, municipality_code: str | None = None) -> list[ViisInstitution]:
        """The stand-in's schools."""
        return await self.directory.institutions(municipality_code)

    async def institution_pupils(self, registration_number: str) -> list[GradeCount]:
        """The stand-in's pupils of a school."""
        return await self.directory.institution_pupils(registration_number)

    async def municipalities(self) -> list[ViisMunicipality]:
        """The stand-in's municipalities."""
        return await self.directory.municipalities()


def register_factory(http: httpx.AsyncClient, slots: Sequence[Slot]):
    """A VIIS factory opening the benchmark's register, and the register."""
    register = Register(HttpViisDirectory("http://viis", KEY, http=http), slots)

    @asynccontextmanager
    async def open_viis() -> AsyncIterator[PlanningViis]:
        yield register

    return open_viis, register


async def national_round(
    sessions: async_sessionmaker[AsyncSession], settings: PlanningSettings, open_viis, now
) -> uuid.UUID:
    """A national round over every school, grades 1-12, every criterion, open today."""
    manager = Principal(subject="bench-programme", roles=frozenset({"programme_manager"}))
    today, day = now.date(), dt.timedelta(days=1)
    data = RoundCreate(title="Datoru pieejamība (bench)", scope="national",
                       opens_on=today - day, closes_on=today + 30 * day,
                       grades=list(range(1, 13)), criteria=list(CRITERIA))  # fmt: skip
    async with sessions() as session, session.begin():
        round_, _ = await survey_rounds.create_round(
            session, principal=manager, data=data, now=now, settings=settings, open_viis=open_viis
        )
    return round_.id


def answer_of(n: int, rnd: random.Random) -> AnswerWrite:
    """The n-th family's answer (some criteria declared)."""
    criteria = [c for c in CRITERIA if rnd.random() < 0.12]
    return AnswerWrite(device_access=DEVICE_ACCESS[n % len(DEVICE_ACCESS)],
                       internet=INTERNET[n % len(INTERNET)],
                       criteria=criteria)  # fmt: skip


async def ingest(
    sessions: async_sessionmaker[AsyncSession],
    settings: PlanningSettings,
    learners: LearnerCache,
    round_id: uuid.UUID,
    slots: Sequence[Slot],
    now: dt.datetime,
) -> float:
    """Every answer through the service's code, WORKERS at once (each its own schools, as
    families of different schools answer side by side), BATCH a transaction; seconds taken."""
    rnd = random.Random(7)
    bodies = [answer_of(n, rnd) for n in range(len(slots))]
    schools = sorted({s[0] for s in slots})
    worker_of = {school: n % WORKERS for n, school in enumerate(schools)}
    shares: list[list[int]] = [[] for _ in range(WORKERS)]
    for n, slot in enumerate(slots):
        shares[worker_of[slot[0]]].append(n)

    async def work(share: list[int]) -> None:
        for first in range(0, len(share), BATCH):
            async with sessions() as session, session.begin():
                for n in share[first : first + BATCH]:
                    await answer(session, slots[n], bodies[n], n)

    async def answer(session: AsyncSession, slot: Slot, body: AnswerWrite, n: int) -> None:
        learner = learner_id(slot)
        guardian = Principal(subject=f"guardian-{n}", roles=frozenset({"guardian"}),
                             learners=frozenset({learner}))  # fmt: skip
        await survey_answers.put_answer(
            session, principal=guardian, round_id=round_id, learner_id=learner, body=body,
            if_match=None, now=now, settings=settings,
            learners=learners.of(guardian.subject, "Bearer bench"),
        )  # fmt: skip

    started = time.perf_counter()
    await asyncio.gather(*(work(share) for share in shares))
    return time.perf_counter() - started


async def result_times(
    sessions: async_sessionmaker[AsyncSession],
    round_id: uuid.UUID,
    principal: Principal,
    municipality: str | None = None,
    institution: str | None = None,
) -> list[float]:
    """Milliseconds of the results at one level, CALLS times (after one warm-up call)."""
    times = []
    for call in range(CALLS + 1):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await survey_results.results(
                session, principal=principal, round_id=round_id,
                municipality=municipality, institution=institution,
            )  # fmt: skip
        if call:
            times.append((time.perf_counter() - started) * 1000)
    return times


async def raw_copy_seconds(url: str) -> tuple[float, int]:
    """Seconds to copy every answer row with one statement (the floor), and how many rows."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        status = await conn.execute(RAW_COPY)
        return time.perf_counter() - started, int(status.split()[-1])
    finally:
        await conn.close()


def readers(slots: Sequence[Slot]) -> list[tuple[str, Principal, str | None, str | None]]:
    """(level, principal, municipality, institution) of the results read."""
    school = slots[0][0]
    schools = {s.registration_number: s for s in viis_standin.national_institutions()}
    riga = viis_standin.RIGA
    return [
        ("national", Principal(subject="bench-analyst", roles=frozenset({"ministry_analyst"})),
         None, None),
        ("municipality (Rīga, ~120 schools)",
         Principal(subject="bench-riga", roles=frozenset({"municipality_admin"}),
                   municipalities=frozenset({riga})), None, None),
        ("school", Principal(subject="bench-school", roles=frozenset({"institution_admin"}),
                             institutions=frozenset({school})), None, None),
        ("another municipality, asked by the programme",
         Principal(subject="bench-programme", roles=frozenset({"programme_manager"})),
         schools[school].municipality_code, None),
    ]  # fmt: skip


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Set the round up, ingest, read the results, then the raw copy."""
    slots = roster()
    async with infra.fresh_database("bench_planning", MIGRATIONS) as url:
        settings = PlanningSettings(database_url=url, kafka_bootstrap_servers=infra.bootstrap)
        engine = create_engine(url, pool_size=WORKERS + 1)
        sessions = create_session_factory(engine, outbox_topic=settings.events_topic)
        app = viis_standin.create_app(KEY, "national")
        now = dt.datetime.now(dt.UTC)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
                open_viis, register = register_factory(http, slots)
                round_id = await national_round(sessions, settings, open_viis, now)
                print(f"  {ANSWERS:,} answers …", flush=True)
                ingest_s = await ingest(
                    sessions, settings, LearnerCache(register), round_id, slots, now
                )
            await infra.settle(url)
            levels = [
                (level, await result_times(sessions, round_id, who, muni, school))
                for level, who, muni, school in readers(slots)
            ]
        finally:
            await engine.dispose()
        raw_s, copied = await raw_copy_seconds(url)
    return rows_for(ingest_s, raw_s, copied, levels), notes_for(ingest_s)


def rows_for(
    ingest_s: float, raw_s: float, copied: int, levels: list[tuple[str, list[float]]]
) -> list[Row]:
    """Ingest beside the raw copy; each level's p50 and p99."""
    per_s = ANSWERS / ingest_s
    rows = [
        Row(f"Survey: {ANSWERS:,} answers by the service code, {WORKERS} connections",
            per_s, "answers/s", f"> {TARGET_ANSWERS_PER_S:.0f}/s", per_s > TARGET_ANSWERS_PER_S,
            copied / raw_s, "raw SQL: one INSERT … SELECT of as many answer rows"),
        Row("Survey: per answer (lookup, encryption, aggregates, event)", ingest_s / ANSWERS * 1000,
            "ms", baseline=raw_s / copied * 1000, baseline_name="raw SQL: per row of the copy"),
    ]  # fmt: skip
    for level, times in levels:
        p99 = percentile(times, 99)
        rows += [
            Row(f"Survey results, {level}: p50", percentile(times, 50), "ms"),
            Row(f"Survey results, {level}: p99", p99, "ms", f"< {TARGET_P99_MS:.0f} ms",
                p99 < TARGET_P99_MS),
        ]  # fmt: skip
    return rows


def notes_for(ingest_s: float) -> list[str]:
    """How it ran."""
    schools = len(viis_standin.national_institutions())
    return [
        f"survey: a national round over the stand-in's {schools} schools (grades 1-12, four "
        f"criteria); {ANSWERS:,} guardians' answers by `put_answer` in {ingest_s:.1f} s, "
        f"{BATCH} a transaction on {WORKERS} connections (learners from the benchmark's roster "
        f"in-process, schools and pupils from the VIIS stand-in over HTTP); results by "
        f"`survey_results.results` with "
        f"complementary suppression over the whole round, {CALLS} calls a level after a warm-up",
    ]
