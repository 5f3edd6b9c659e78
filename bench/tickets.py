"""Benchmark 7: tickets — creation throughput, and the support queue with 100,000 tickets.

A tickets database gets 20,000 devices and 100,000 tickets (a fifth of them open) in bulk
(`bench.tickets_seed.seed`, SQL in the API's shape). A real tickets server (uvicorn, 2
workers) then takes 5,000 new tickets from technicians over 32 connections at once (creation
throughput and latency; a few seconds, so that the figures do not hang on one second of a shared
machine), and the municipality's open queue
(`GET /api/v1/tickets?open=true&limit=50`) is read open-loop at 100 requests/s (p50/p99).
Beside them: as many rows inserted by raw SQL, and the SQL statements the queue
endpoint's own code sends (captured in this process) replayed over asyncpg at the same rate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from bench.floor import floor_row, floor_server
from bench.infra import (
    WORKERS,
    Infra,
    cpu_seconds,
    postgres_cpu_seconds,
    postmaster_pid,
    profiled,
    quiet_heap,
    service_server,
)
from bench.rawhttp import http_sender, pool, prepare, prepare_post
from bench.rawsql import Statement, asyncpg_dsn, captured, sql_pool, sql_sender
from bench.report import Row
from bench.search import Sample, open_loop, percentile, principal_of
from bench.tickets_seed import Tenancy, device_id, seed
from tickets_service.config import TicketsSettings
from tickets_service.main import MIGRATIONS
from tickets_service.router import tickets as tickets_router

APP = "tickets_service.main:create_app"
PATH = "/api/v1/tickets"
TICKETS = 100_000
DEVICES = 20_000
NEW = 5_000
TARGET_PER_S = 1_000
# Creations before the measured ones, on other devices: every worker's first requests fetch
# the JWKS and build the route's state, and every connection prepares its statements.
WARM_UP = 64
CONNECTIONS = 32
QUEUE_RATE = 100
QUEUE_SECONDS = 5
QUEUE_CONNECTIONS = 16
QUEUE_LIMIT = 50
RIGA = "0010000"
SCHOOL = "3113900001"
TIMEOUT_S = 60.0
TARGET_CPU_MS = 2.0  # 1,000 creations/s on 2 cores: server, PostgreSQL and client together
T = TypeVar("T")
COLUMNS = """
    SELECT attname FROM pg_attribute WHERE attrelid = 'ticket'::regclass AND attnum > 0
       AND NOT attisdropped AND attgenerated = '' AND attidentity = '' AND attname <> 'id'
     ORDER BY attnum
"""


def technician(infra: Infra) -> str:
    """A technician of Rīga's token: may report for any seeded device and reads the queue."""
    return infra.issuer.mint("bench-tech", roles=["technician"], municipalities=[RIGA])


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Cpu:
    """CPU seconds spent during one phase: the server's workers, PostgreSQL's processes (exited
    backends included) and this process (the load generator)."""

    server: float
    postgres: float
    client: float

    def per(self, count: int) -> Cpu:
        """In ms per request."""
        ms = (self.server, self.postgres, self.client)
        return Cpu(*(seconds / count * 1000 for seconds in ms))

    @property
    def total(self) -> float:
        """All three together."""
        return self.server + self.postgres + self.client


async def measured(
    server_pid: int | None, postmaster: int | None, work: Callable[[], Awaitable[T]]
) -> tuple[T, Cpu]:
    """The result of `work` and the CPU each side spent on it (0 for a side not measurable)."""

    def readings() -> tuple[float, float, float]:
        server = cpu_seconds(server_pid) if server_pid else None
        postgres = postgres_cpu_seconds(postmaster) if postmaster else None
        return server or 0.0, postgres or 0.0, time.process_time()

    before = readings()
    result = await work()
    after = readings()
    return result, Cpu(*(a - b for a, b in zip(after, before, strict=True)))


async def creations(
    infra: Infra, url: str, devices: range = range(NEW)
) -> tuple[list[tuple[float, int]], float]:
    """A ticket for each of `devices` at once; each latency counts from its own send (not a
    common start)."""
    headers = bearer(technician(infra))
    requests = [
        prepare_post(url, PATH, json.dumps({
            "device_id": str(device_id(i % DEVICES)), "category": "screen",
            "description": "Ekrāns mirgo un paliek melns", "severity": "normal",
        }).encode(), headers)
        for i in devices
    ]  # fmt: skip
    async with pool(url, CONNECTIONS) as idle:

        async def timed(request: bytes) -> tuple[float, int]:
            connection = await idle.get()
            sent = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.get(request), TIMEOUT_S)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                status = 0
            idle.put_nowait(connection)
            return time.perf_counter() - sent, status

        with quiet_heap():
            started = time.perf_counter()
            results = await asyncio.gather(*(timed(r) for r in requests))
            span = time.perf_counter() - started
    return list(results), span


async def warmed_up(infra: Infra, url: str) -> None:
    """WARM_UP creations on the last devices, not measured; all must answer 201."""
    warm_up, _ = await creations(infra, url, range(DEVICES - WARM_UP, DEVICES))
    if any(status != 201 for _, status in warm_up):
        raise RuntimeError(f"the warm-up creations at {url} were refused")


async def queue_reads(token: str, url: str) -> list[Sample]:
    """The open queue, open loop at QUEUE_RATE for QUEUE_SECONDS."""
    request = prepare(url, PATH, {"open": "true", "limit": QUEUE_LIMIT}, bearer(token))
    async with pool(url, QUEUE_CONNECTIONS) as idle:
        send = http_sender(idle, TIMEOUT_S)
        return await open_loop(
            send, itertools.repeat(("queue", request)), QUEUE_RATE, QUEUE_SECONDS
        )


async def queue_statements(token: str, database_url: str) -> list[Statement]:
    """The SQL the queue endpoint's own code sends for the technician's request."""
    principal, settings = principal_of(token), TicketsSettings()
    now = dt.datetime.now(dt.UTC)
    [statements] = await captured(database_url, [
        lambda session: tickets_router.list_tickets(
            session=session, principal=principal, settings=settings, now=now, open=True,
            limit=QUEUE_LIMIT,
        )
    ])  # fmt: skip
    return statements


async def raw_queue_reads(token: str, database_url: str) -> list[Sample]:
    """The queue's SQL over asyncpg, open loop at the same rate, connections and duration."""
    statements = await queue_statements(token, database_url)
    async with sql_pool(database_url, QUEUE_CONNECTIONS) as connections:
        send = sql_sender(connections, TIMEOUT_S)
        source = itertools.repeat(("queue", statements))
        return await open_loop(send, source, QUEUE_RATE, QUEUE_SECONDS)


async def raw_seconds(database_url: str) -> float:
    """Seconds to insert NEW ticket rows with one SQL statement (the floor)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        names = ", ".join(r["attname"] for r in await conn.fetch(COLUMNS))
        sql = (
            f"INSERT INTO ticket (id, {names}) SELECT gen_random_uuid(), {names} "
            "FROM ticket ORDER BY opened_at DESC LIMIT $1"
        )
        started = time.perf_counter()
        await conn.execute(sql, NEW)
        return time.perf_counter() - started
    finally:
        await conn.close()


def milliseconds(samples: list[Sample]) -> list[float]:
    """The latencies in ms."""
    return [s.latency_s * 1000 for s in samples]


def rows_for(
    created: list[tuple[float, int]], span: float, cpu: Cpu, raw_s: float, raw_cpu: Cpu
) -> list[Row]:
    """Creation throughput and CPU beside raw SQL's, and the answers."""
    ok_created = sum(status == 201 for _, status in created)
    raw = "raw SQL: one INSERT … SELECT of as many ticket rows"
    per, raw_per = cpu.per(NEW), raw_cpu.per(NEW)
    return [
        Row(f"Tickets: {NEW:,} created over {CONNECTIONS} connections", len(created) / span,
            "tickets/s", f"≥ {TARGET_PER_S:,}", len(created) / span >= TARGET_PER_S,
            baseline=NEW / raw_s, baseline_name=raw),
        Row("Tickets: CPU per creation (server + PostgreSQL + bench client)", per.total, "ms",
            f"≤ {TARGET_CPU_MS:.0f} ms", per.total <= TARGET_CPU_MS, baseline=raw_per.total,
            baseline_name=f"{raw} (PostgreSQL + client)"),
        Row(f"Tickets: created 201 of {NEW:,}", ok_created, "", f"{NEW:,}", ok_created == NEW),
    ]  # fmt: skip


def write_floor_rows(span: float, floor_cpu: Cpu) -> list[Row]:
    """The floor of a request that writes (`bench.floor`, `write=True`: the kit's app, the
    token check, the body model, BEGIN + one INSERT + COMMIT through the kit's session) on the
    same requests: the most creations this machine can take through the kit's stack."""
    name = "Tickets: the kit's floor with one write transaction"
    per = floor_cpu.per(NEW)
    return [
        Row(f"{name}: creations/s", NEW / span, "tickets/s", f"≥ {TARGET_PER_S:,} possible",
            NEW / span >= TARGET_PER_S),
        Row(f"{name}: CPU per creation (server + PostgreSQL + bench client)", per.total, "ms",
            f"≤ {TARGET_CPU_MS:.0f} ms possible", per.total <= TARGET_CPU_MS),
        Row(f"{name}: server CPU per creation", per.server, "ms"),
    ]  # fmt: skip


def queue_rows(queue: list[Sample], cpu: Cpu, raw: list[Sample], raw_cpu: Cpu) -> list[Row]:
    """Queue latency and server CPU beside the raw SQL's, and the answers."""
    ms, raw_ms = milliseconds(queue), milliseconds(raw)
    name = f"Tickets: open queue, {TICKETS:,} tickets, @{QUEUE_RATE}/s"
    baseline = "raw SQL: the endpoint's statements over asyncpg, same rate"
    ok, answered = sum(s.ok for s in queue), len(queue)
    return [
        Row(f"{name}: p50", percentile(ms, 50), "ms",
            baseline=percentile(raw_ms, 50), baseline_name=baseline),
        Row(f"{name}: p99", percentile(ms, 99), "ms",
            baseline=percentile(raw_ms, 99), baseline_name=baseline),
        Row(f"{name}: server CPU per request", cpu.per(answered).server, "ms",
            baseline=raw_cpu.per(len(raw)).client,
            baseline_name=f"{baseline}: the asyncpg client's CPU per request"),
        Row(f"{name}: 200 of {answered:,}", ok, "", f"{answered:,}", ok == answered),
    ]  # fmt: skip


def notes_for(
    seeded_s: float,
    created: list[tuple[float, int]],
    cpu: Cpu,
    queue: tuple[int, Cpu],
    raw: list[Sample],
) -> list[str]:
    """How it ran, creation latency, where the CPU went, the baselines."""
    create_ms = [s * 1000 for s, _ in created]
    per, (reads, queue_cpu) = cpu.per(NEW), queue
    read = queue_cpu.per(reads)
    return [
        f"tickets: {TICKETS:,} tickets on {DEVICES:,} devices seeded by SQL in {seeded_s:.1f} s, "
        "then vacuumed; creation by a Rīga technician, 2 uvicorn workers: p50 "
        f"{percentile(create_ms, 50):.1f} ms, p99 {percentile(create_ms, 99):.1f} ms (each from "
        f"its own send); CPU per creation: server {per.server:.2f} ms, PostgreSQL "
        f"{per.postgres:.2f} ms, bench client {per.client:.2f} ms; queue read open loop over "
        f"{QUEUE_CONNECTIONS} connections, CPU per read: server {read.server:.2f} ms, PostgreSQL "
        f"{read.postgres:.2f} ms",
        f"tickets baselines: the creation's copies the latest {NEW:,} tickets in one statement "
        "(new ids); the queue's replays the one statement the endpoint sends (page and devices), "
        f"captured in this process, on {QUEUE_CONNECTIONS} asyncpg connections "
        f"({sum(not s.ok for s in raw)} errors)",
    ]


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Seed, create, read the queue, then the same in raw SQL."""
    token = technician(infra)
    async with infra.fresh_database("bench_tickets", MIGRATIONS) as url:
        started = time.perf_counter()
        await seed(url, tickets=TICKETS, devices=DEVICES, tenancies=[Tenancy(RIGA, SCHOOL)])
        seeded_s = time.perf_counter() - started
        await infra.settle(url)
        postmaster = await postmaster_pid(url)
        async with service_server(infra, "tickets", "TICKETS_", url, benchmark="tickets") as server:
            await warmed_up(infra, server.url)
            async with profiled(server.pid, "tickets-creations"):
                (created, span), cpu = await measured(
                    server.pid, postmaster, lambda: creations(infra, server.url)
                )
            async with profiled(server.pid, "tickets-queue"):
                queue, queue_cpu = await measured(
                    server.pid, postmaster, lambda: queue_reads(token, server.url)
                )
        async with floor_server(
            infra, "tickets", url, benchmark="tickets", workers=WORKERS
        ) as floor:
            await warmed_up(infra, floor.url)
            (floor_created, _), floor_cpu = await measured(
                floor.pid, None, lambda: creations(infra, floor.url)
            )
        async with floor_server(
            infra, "tickets", url, benchmark="tickets", workers=WORKERS, write=True
        ) as floor:
            await warmed_up(infra, floor.url)
            (written, written_span), written_cpu = await measured(
                floor.pid, postmaster, lambda: creations(infra, floor.url)
            )
        if any(status != 201 for _, status in [*floor_created, *written]):
            raise RuntimeError("the floor app refused some of the tickets' requests")
        raw_queue, raw_queue_cpu = await measured(None, None, lambda: raw_queue_reads(token, url))
        raw_s, raw_cpu = await measured(None, postmaster, lambda: raw_seconds(url))
    rows = rows_for(created, span, cpu, raw_s, raw_cpu)
    rows.append(floor_row("Tickets: server CPU per creation", cpu.per(NEW).server,
                          floor_cpu.per(NEW).server))  # fmt: skip
    rows += write_floor_rows(written_span, written_cpu)
    rows += queue_rows(queue, queue_cpu, raw_queue, raw_queue_cpu)
    notes = notes_for(seeded_s, created, cpu, (len(queue), queue_cpu), raw_queue)
    at_floor = written_cpu.per(NEW)
    notes.append(
        "tickets' floor with one write transaction (the kit's app, the technician's token check "
        "and TicketCreate, then BEGIN, one INSERT of the body as jsonb, COMMIT through the "
        f"kit's request session), the same {NEW:,} requests: CPU per creation server "
        f"{at_floor.server:.2f} ms, PostgreSQL {at_floor.postgres:.2f} ms, bench client "
        f"{at_floor.client:.2f} ms"
    )
    return rows, notes
