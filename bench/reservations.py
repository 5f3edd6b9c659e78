"""Benchmark 5: reservations under contention — many families at once, few devices.

Two scenarios, each on a fresh database, through a real reservations server (uvicorn, 2
workers) with the default policy (auto-approve); 2,000 guardians (one learner each, each with
their own token) ask at once for any Chromebook of their school, all for the same period:

- the national peak, the headline: 50 schools with 10 devices each, 40 families per school
  (every family of many schools at once);
- one school with 50 devices and all 2,000 families: allocation at one school is decided in
  priority order under its lock, so this is that serialisation's figure, reported beside it.

Before the measured attempts, 40 families of a school of its own reserve (not counted), as in a
server that has been up for a while. Every request must end as `approved` (one per device) or
`waitlisted` (the rest) — a 201 either way — and the database must hold no two approved
reservations of one device with overlapping periods: the count of such pairs is the double
bookings figure, read by SQL afterwards.

Beside each, in the same run and database, a raw SQL insert of the same 2,000 rows (asyncpg,
one statement per row in one pipeline) is the baseline of the API's throughput.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import resource
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from bench.floor import floor_row, floor_server
from bench.infra import (
    Infra,
    cpu_seconds,
    parent_pid,
    postgres_cpu_seconds,
    profiled,
    service_server,
    workers_started,
)
from bench.rawhttp import Connection, pool, prepare_post
from bench.rawsql import asyncpg_dsn
from bench.report import Row
from bench.search import percentile
from reservations_service.config import ReservationsSettings
from reservations_service.main import MIGRATIONS
from reservations_service.service import readmodel
from shared_kit.db import create_engine, create_session_factory

APP = "reservations_service.main:create_app"
PATH = "/api/v1/reservations"
ATTEMPTS = 2_000
CONNECTIONS = 100  # requests in flight at once; the rest queue for a connection
TIMEOUT_S = 60.0
TARGET_PER_S = 500
# Before the measured attempts, families of a school of its own reserve its few devices, not
# counted: every worker's first requests fetch the JWKS and build the route's state, and every
# connection prepares its statements, as in a server that has been up for a while.
WARM_UP = 40
WARM_UP_SCHOOL = "3113999999"
WARM_UP_DEVICES = 10
RIGA = "0010000"
START = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
END = START + dt.timedelta(days=90)
COLUMNS = """
    SELECT attname FROM pg_attribute WHERE attrelid = 'reservation'::regclass AND attnum > 0
       AND NOT attisdropped AND attgenerated = '' AND attname <> 'id' ORDER BY attnum
"""
# Sessions of this database that ended: each was a connection the server opened.
SESSIONS = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
OVERLAPS = """
    SELECT count(*) FROM reservation a JOIN reservation b
      ON a.device_id = b.device_id AND a.id < b.id AND a.period && b.period
     WHERE a.state IN ('approved', 'fulfilled') AND b.state IN ('approved', 'fulfilled')
"""
IN_STATE = f"""
    SELECT count(*) FROM reservation WHERE state = $1 AND institution_number <> '{WARM_UP_SCHOOL}'
"""


@dataclass(frozen=True)
class Scenario:
    """Schools with their devices; the 2,000 families spread evenly over the schools."""

    name: str
    schools: int
    devices_per_school: int
    target: bool  # whether the throughput target applies (else the figure is reported)

    @property
    def devices(self) -> int:
        """Devices in all."""
        return self.schools * self.devices_per_school

    @property
    def waiting(self) -> int:
        """Requests that must end on a waitlist."""
        return ATTEMPTS - self.devices

    def school(self, i: int) -> str:
        """Registration number of the i-th school."""
        return f"31139{i:05d}"

    @property
    def numbers(self) -> list[str]:
        """Every school's registration number."""
        return [self.school(i) for i in range(self.schools)]


SCENARIOS = (
    Scenario("50 schools of 10 devices", 50, 10, target=True),
    Scenario("one school of 50 devices", 1, 50, target=False),
)


@dataclass(frozen=True)
class Costs:
    """CPU seconds the run took in the server, PostgreSQL and this client; connections the
    server opened to PostgreSQL (sessions that ended during the run and just after)."""

    server: float | None
    postgres: float | None
    client: float
    connections: int | None


@dataclass(frozen=True)
class Outcome:
    """One attempt: its latency and HTTP status."""

    latency_s: float
    status: int


async def seed_devices(database_url: str, scenario: Scenario) -> None:
    """Available Chromebooks at every school, through the read model's own code."""
    engine = create_engine(database_url, pool_size=1)
    sessions = create_session_factory(engine, outbox_topic=ReservationsSettings().events_topic)
    try:
        async with sessions() as session, session.begin():
            schools = [scenario.school(i % scenario.schools) for i in range(scenario.devices)]
            for school in schools + [WARM_UP_SCHOOL] * WARM_UP_DEVICES:
                snapshot = readmodel.Snapshot(
                    device_id=uuid.uuid4(), version=1, municipality_code=RIGA,
                    institution_number=school,
                    catalogue_item_code="CB-116", category="chromebook", os="chromeos",
                    screen_inches=Decimal("11.6"), touch=True, status="available",
                )  # fmt: skip
                now = dt.datetime.now(dt.UTC)
                await readmodel.apply_snapshot(session, snapshot, now=now)
    finally:
        await engine.dispose()


def attempts(
    infra: Infra, base_url: str, schools: list[str], count: int = ATTEMPTS, who: str = "bench"
) -> list[bytes]:
    """One prepared POST per guardian (`count` of them, spread over `schools`): their own
    learner, any device of their school."""
    prepared = []
    for i in range(count):
        learner = f"{who}-learner-{i:05d}"
        token = infra.issuer.mint(f"{who}-guardian-{i}", roles=["guardian"], learners=[learner])
        body = {
            "learner_id": learner,
            "institution_number": schools[i % len(schools)],
            "start": START.isoformat(),
            "end": END.isoformat(),
            "criteria": {"category": "chromebook"},
        }
        headers = {"Authorization": f"Bearer {token}"}
        prepared.append(prepare_post(base_url, PATH, json.dumps(body).encode(), headers))
    return prepared


async def attempt(idle: asyncio.Queue[Connection], request: bytes, started: float) -> Outcome:
    """Send one attempt; latency counts from the common start (queueing included)."""
    connection = await idle.get()
    try:
        status = await asyncio.wait_for(connection.get(request), TIMEOUT_S)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        status = 0
    idle.put_nowait(connection)
    return Outcome(time.perf_counter() - started, status)


async def warmed_up(infra: Infra, url: str, idle: asyncio.Queue[Connection]) -> None:
    """WARM_UP families of the warm-up school reserve at once, not measured; all answered 201."""
    requests = attempts(infra, url, [WARM_UP_SCHOOL], WARM_UP, who="warm-up")
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(attempt(idle, r, started) for r in requests))
    if any(o.status != 201 for o in outcomes):
        raise RuntimeError(f"the warm-up reservations at {url} were refused")


async def contention(
    infra: Infra, database_url: str, scenario: Scenario
) -> tuple[list[Outcome], float, Costs]:
    """All attempts at once; the outcomes, the wall time and what they cost."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        postmaster = parent_pid(await conn.fetchval("SELECT pg_backend_pid()"))
        async with service_server(
            infra, "reservations", "RESERVATIONS_", database_url, benchmark="reservations"
        ) as server:
            await workers_started(server.pid)
            requests = attempts(infra, server.url, scenario.numbers)
            async with pool(server.url, CONNECTIONS) as idle:
                await warmed_up(infra, server.url, idle)
                sessions_before = await conn.fetchval(SESSIONS)
                async with profiled(server.pid, f"reservations-{scenario.schools}-schools"):
                    before = _cpu(server.pid, postmaster)
                    started = time.perf_counter()
                    outcomes = await asyncio.gather(*(attempt(idle, r, started) for r in requests))
                    span = time.perf_counter() - started
                    after = _cpu(server.pid, postmaster)
            await asyncio.sleep(1.0)  # the pool closes its overflow as requests end
            sessions = await conn.fetchval(SESSIONS) - sessions_before
    finally:
        await conn.close()
    server_s, postgres_s, client_s = (_less(a, b) for a, b in zip(after, before, strict=True))
    return list(outcomes), span, Costs(server_s, postgres_s, client_s or 0.0, sessions)


def _cpu(server: int, postmaster: int | None) -> tuple[float | None, float | None, float]:
    """CPU seconds so far of the server, of PostgreSQL, and of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    postgres = postgres_cpu_seconds(postmaster) if postmaster else None
    return cpu_seconds(server), postgres, usage.ru_utime + usage.ru_stime


def _less(after: float | None, before: float | None) -> float | None:
    return after - before if after is not None and before is not None else None


async def database_counts(database_url: str) -> tuple[int, int, int]:
    """Double-booked pairs, approved and waitlisted reservations."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        overlaps = await conn.fetchval(OVERLAPS)
        approved = await conn.fetchval(IN_STATE, "approved")
        waiting = await conn.fetchval(IN_STATE, "waitlisted")
    finally:
        await conn.close()
    return int(overlaps), int(approved), int(waiting)


async def raw_insert_seconds(database_url: str) -> float:
    """Seconds to insert 2,000 rows shaped like the API's (copied, new ids) in one pipeline."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            "CREATE TEMP TABLE model AS SELECT * FROM reservation WHERE state = 'waitlisted'"
        )
        columns = [r["attname"] for r in await conn.fetch(COLUMNS)]
        rows = [tuple(r[c] for c in columns) for r in await conn.fetch("SELECT * FROM model")]
        rows = (rows * (ATTEMPTS // max(1, len(rows)) + 1))[:ATTEMPTS]
        names = ", ".join(columns)
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        sql = f"INSERT INTO reservation (id, {names}) VALUES (gen_random_uuid(), {marks})"
        started = time.perf_counter()
        async with conn.transaction():
            await conn.executemany(sql, rows)
        return time.perf_counter() - started
    finally:
        await conn.close()


def rows_for(
    scenario: Scenario,
    outcomes: list[Outcome],
    span: float,
    counts: tuple[int, int, int],
    raw_s: float,
) -> list[Row]:
    """Throughput beside raw SQL's, answers and double bookings."""
    overlaps, approved, waiting = counts
    created = sum(o.status == 201 for o in outcomes)
    rate = len(outcomes) / span
    name = f"Reservations: {ATTEMPTS:,} at once, {scenario.name}"
    target = f"≥ {TARGET_PER_S}" if scenario.target else "reported"
    ok = rate >= TARGET_PER_S if scenario.target else None
    devices, rest = scenario.devices, scenario.waiting
    return [
        Row(f"{name}: throughput", rate, "reservations/s", target, ok,
            baseline=ATTEMPTS / raw_s, baseline_name="raw SQL: asyncpg INSERTs of the same rows"),
        Row(f"{name}: answered 201", created, "", f"{ATTEMPTS:,}", created == ATTEMPTS),
        Row(f"{name}: approved", approved, "", f"{devices}", approved == devices),
        Row(f"{name}: waitlisted", waiting, "", f"{rest:,}", waiting == rest),
        Row(f"{name}: double bookings", overlaps, "", "0", overlaps == 0),
    ]  # fmt: skip


def notes_for(scenario: Scenario, outcomes: list[Outcome], costs: Costs) -> list[str]:
    """How the attempts were sent, their latency, and the CPU they cost."""
    ms = [o.latency_s * 1000 for o in outcomes]
    statuses = sorted({o.status for o in outcomes})

    def per_request(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds / len(outcomes) * 1000:.2f} ms"

    return [
        f"reservations, {scenario.name}: {ATTEMPTS:,} POSTs from {ATTEMPTS:,} guardians (own "
        f"token and learner each, {ATTEMPTS // scenario.schools:,} per school) over "
        f"{CONNECTIONS} keep-alive connections to 2 uvicorn workers, all started at once; "
        f"latency from that common start, queueing included: p50 {percentile(ms, 50):,.0f} ms, "
        f"p99 {percentile(ms, 99):,.0f} ms; statuses seen {statuses}; server CPU per request "
        f"{per_request(costs.server)} (after {WARM_UP} warm-up reservations at a school of "
        "their own), PostgreSQL's "
        f"{per_request(costs.postgres)}, the bench client's {per_request(costs.client)}; "
        f"connections the server opened to PostgreSQL: {costs.connections}; auto-approve "
        "policy; the exclusion constraint is the guarantee",
        f"reservations baseline, {scenario.name}: {ATTEMPTS:,} INSERTs of rows copied from the "
        "API's waitlisted ones (new ids), asyncpg executemany in one transaction",
    ]


async def run(infra: Infra, scenario: Scenario) -> tuple[list[Row], list[str]]:
    """One scenario on a fresh database: the contention run and the raw insert beside it."""
    async with infra.fresh_database("bench_reservations", MIGRATIONS) as url:
        await seed_devices(url, scenario)
        outcomes, span, costs = await contention(infra, url, scenario)
        counts = await database_counts(url)
        raw_s = await raw_insert_seconds(url)
        floor_s = await floor_seconds(infra, url, scenario) if scenario.target else None
    rows = rows_for(scenario, outcomes, span, counts, raw_s)
    if floor_s is not None and costs.server is not None:
        name = f"Reservations: {ATTEMPTS:,} at once, {scenario.name}: server CPU per request"
        rows.append(floor_row(name, costs.server * 1000 / ATTEMPTS, floor_s * 1000 / ATTEMPTS))
    return rows, notes_for(scenario, outcomes, costs)


async def floor_seconds(infra: Infra, database_url: str, scenario: Scenario) -> float | None:
    """CPU seconds the kit's floor app (`bench.floor`) spends on the same attempts (new
    families' tokens, same bodies, same connections)."""
    async with floor_server(infra, "reservations", database_url, benchmark="reservations") as floor:
        await workers_started(floor.pid)
        requests = attempts(infra, floor.url, scenario.numbers)
        async with pool(floor.url, CONNECTIONS) as idle:
            await warmed_up(infra, floor.url, idle)
            before = cpu_seconds(floor.pid)
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(attempt(idle, r, started) for r in requests))
            after = cpu_seconds(floor.pid)
    if any(o.status != 201 for o in outcomes):
        raise RuntimeError("the floor app refused some of the reservations' requests")
    return _less(after, before)


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Every scenario in turn, the headline first."""
    rows: list[Row] = []
    notes: list[str] = []
    for scenario in SCENARIOS:
        more_rows, more_notes = await run(infra, scenario)
        rows, notes = rows + more_rows, notes + more_notes
    return rows, notes
