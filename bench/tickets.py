"""Benchmark 7: tickets — creation throughput, and the support queue with 100,000 tickets.

A tickets database gets 20,000 devices and 100,000 tickets (a fifth of them open) in bulk
(`tickets_service.bench.seed`, SQL in the API's shape). A real tickets server (uvicorn, 2
workers) then takes 1,000 new tickets from technicians over 32 connections at once (creation
throughput and latency), and the municipality's open queue
(`GET /api/v1/tickets?open=true&limit=50`) is read open-loop at 100 requests/s (p50/p99).
Beside them, the same 1,000 rows inserted by raw SQL give the baseline ratio.
"""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg

from bench.infra import (
    Infra,
    cpu_seconds,
    service_server,
)
from bench.rawhttp import Connection, pool, prepare, prepare_post
from bench.report import Row
from bench.reservations import asyncpg_dsn, percentile
from tickets_service.bench import Tenancy, device_id, seed
from tickets_service.main import MIGRATIONS

APP = "tickets_service.main:create_app"
PATH = "/api/v1/tickets"
TICKETS = 100_000
DEVICES = 20_000
NEW = 1_000
CONNECTIONS = 32
QUEUE_RATE = 100
QUEUE_SECONDS = 5
RIGA = "0010000"
SCHOOL = "3113900001"
TIMEOUT_S = 60.0
COLUMNS = """
    SELECT attname FROM pg_attribute WHERE attrelid = 'ticket'::regclass AND attnum > 0
       AND NOT attisdropped AND attgenerated = '' AND attidentity = '' AND attname <> 'id'
     ORDER BY attnum
"""


def technician(infra: Infra) -> dict[str, str]:
    """A technician of Rīga: may report for any seeded device and reads the queue."""
    token = infra.issuer.mint("bench-tech", roles=["technician"], municipalities=[RIGA])
    return {"Authorization": f"Bearer {token}"}


async def send(
    idle: asyncio.Queue[Connection], request: bytes, started: float
) -> tuple[float, int]:
    """One request; its latency from `started` and its status (0 when it failed)."""
    connection = await idle.get()
    try:
        status = await asyncio.wait_for(connection.get(request), TIMEOUT_S)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        status = 0
    idle.put_nowait(connection)
    return time.perf_counter() - started, status


async def creations(infra: Infra, url: str) -> tuple[list[tuple[float, int]], float]:
    """NEW tickets at once; each latency counts from its own send (not a common start)."""
    headers = technician(infra)
    requests = [
        prepare_post(url, PATH, json.dumps({
            "device_id": str(device_id(i % DEVICES)), "category": "screen",
            "description": "Ekrāns mirgo un paliek melns", "severity": "normal",
        }).encode(), headers)
        for i in range(NEW)
    ]  # fmt: skip
    async with pool(url, CONNECTIONS) as idle:
        started = time.perf_counter()

        async def timed(request: bytes) -> tuple[float, int]:
            connection = await idle.get()
            sent = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.get(request), TIMEOUT_S)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                status = 0
            idle.put_nowait(connection)
            return time.perf_counter() - sent, status

        results = await asyncio.gather(*(timed(r) for r in requests))
        span = time.perf_counter() - started
    return list(results), span


async def queue_reads(infra: Infra, url: str) -> list[tuple[float, int]]:
    """The open queue, open loop at QUEUE_RATE for QUEUE_SECONDS."""
    request = prepare(url, PATH, {"open": "true", "limit": 50}, technician(infra))
    async with pool(url, 16) as idle:
        start = time.perf_counter() + 0.01
        tasks = []
        for i in range(QUEUE_RATE * QUEUE_SECONDS):
            due = start + i / QUEUE_RATE
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(send(idle, request, due)))
        return list(await asyncio.gather(*tasks))


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


def rows_for(
    created: list[tuple[float, int]], span: float, queue: list[tuple[float, int]], raw_s: float
) -> list[Row]:
    """Creation throughput and latency, queue latency, errors, the raw SQL ratio."""
    create_ms = [s * 1000 for s, _ in created]
    queue_ms = [s * 1000 for s, _ in queue]
    ok_created = sum(status == 201 for _, status in created)
    ok_queue = sum(status == 200 for _, status in queue)
    rate = len(created) / span
    queue_name = f"Tickets: open queue, {TICKETS:,} tickets, @{QUEUE_RATE}/s"
    answered = len(queue)
    return [
        Row(f"Tickets: {NEW:,} created over {CONNECTIONS} connections", rate, "tickets/s"),
        Row("Tickets: creation p50", percentile(create_ms, 50), "ms"),
        Row("Tickets: creation p99", percentile(create_ms, 99), "ms"),
        Row(f"Tickets: created 201 of {NEW:,}", ok_created, "", f"{NEW:,}", ok_created == NEW),
        Row("Tickets: raw SQL insert of as many rows", NEW / raw_s, "rows/s"),
        Row("Tickets: API / raw SQL throughput", rate / (NEW / raw_s) * 100, "%"),
        Row(f"{queue_name}: p50", percentile(queue_ms, 50), "ms"),
        Row(f"{queue_name}: p99", percentile(queue_ms, 99), "ms"),
        Row(
            f"{queue_name}: 200 of {answered:,}",
            ok_queue,
            "",
            f"{answered:,}",
            ok_queue == answered,
        ),
    ]


async def benchmark(infra: Infra) -> tuple[list[Row], list[str]]:
    """Seed, create, read the queue, insert raw."""
    async with infra.fresh_database("bench_tickets", MIGRATIONS) as url:
        started = time.perf_counter()
        await seed(url, tickets=TICKETS, devices=DEVICES, tenancies=[Tenancy(RIGA, SCHOOL)])
        seeded_s = time.perf_counter() - started
        await infra.settle(url)
        async with service_server(infra, "tickets", "TICKETS_", url) as server:
            cpu_before = cpu_seconds(server.pid)
            created, span = await creations(infra, server.url)
            cpu_after = cpu_seconds(server.pid)
            queue = await queue_reads(infra, server.url)
        raw_s = await raw_seconds(url)
    cpu = (cpu_after - cpu_before) / NEW * 1000 if cpu_before and cpu_after else None
    notes = [
        f"tickets: {TICKETS:,} tickets on {DEVICES:,} devices seeded by SQL in {seeded_s:.1f} s, "
        "then vacuumed; creation by a Rīga technician, 2 uvicorn workers; queue read open loop",
        f"tickets server CPU: {cpu:.2f} ms per creation" if cpu else "tickets server CPU: n/a",
    ]
    return rows_for(created, span, queue, raw_s), notes
