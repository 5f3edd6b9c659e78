"""Benchmark 2: `GET /devices` with filters at a fixed request rate (open loop).

Beside it, at the same rate: the SQL statement the endpoint's own code sends for each request
of the mix (captured once in this process by calling the endpoint function with the caller's
principal), replayed over asyncpg — the same query without HTTP, authentication, the ORM or
JSON.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import inspect
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bench.dataset import API, PLACES, TOKEN_TTL_S, bearer, municipality_admin
from bench.infra import Server, cpu_seconds, profiled, quiet_heap
from bench.rawhttp import http_sender, pool, prepare
from bench.rawsql import Call, Send, captured, sql_pool, sql_sender
from bench.report import Row
from inventory_service.models import Category, DeviceStatus, OperatingSystem
from inventory_service.router import devices as inventory_router
from shared_kit.auth import Principal
from shared_kit.testing.tokens import TokenIssuer

RATE = 200  # requests per second: the target's rate
KNEE_RATE = 100  # a lighter rate too, to show where the tail starts to grow
RATES = (KNEE_RATE, RATE)
DURATION_S = 10.0
WARMUP_S = 2.0
CONNECTIONS = 50  # keep-alive connections of the raw load client
TIMEOUT_S = 5.0
TARGET_P99_MS = 50.0
TARGET_CPU_MS = 2.0  # server CPU per request at the target rate
CURSOR_PAGES = 10

RAW = "raw SQL: the endpoint's statement over asyncpg, same rate"
RAW_CPU = "raw SQL: the asyncpg client's own CPU per request, same rate"

Params = dict[str, Any]
Request = tuple[str, Any]  # label, what a sender sends (a prepared GET, SQL statements)


@dataclass(frozen=True)
class Kind:
    """One kind of search, asked with one caller's token; `pages` > 1 asks later pages."""

    label: str
    params: Params
    token: str
    pages: int = 1


@dataclass
class Sample:
    """One request: latency from its scheduled start, and whether it answered 200."""

    label: str
    latency_s: float
    ok: bool


Mix = list[tuple[Kind, list[Params]]]


def kinds(issuer: TokenIssuer) -> list[Kind]:
    """The searches of the mix, each asked equally often."""
    riga, valmiera = PLACES[0], PLACES[1]
    rix, vlm = municipality_admin(issuer, riga), municipality_admin(issuer, valmiera)
    analyst = issuer.mint(roles=["ministry_analyst"], ttl_s=TOKEN_TTL_S)
    return [
        Kind("municipality + status", {"municipality": riga.code, "status": "available"}, rix),
        Kind(
            "municipality + 2 statuses",
            {"municipality": valmiera.code, "status": ["in_stock", "available"]},
            vlm,
        ),
        Kind("institution", {"institution": riga.schools[0]}, rix),
        Kind("os (municipal admin)", {"os": "windows"}, rix),
        Kind(
            "category + municipality",
            {"category": "chromebook", "municipality": valmiera.code},
            vlm,
        ),
        Kind("os (ministry analyst, all)", {"os": "chromeos"}, analyst),
        Kind("q asset tag prefix", {"q": "rix-0500"}, rix),
        Kind("q serial prefix (analyst)", {"q": "SN00700"}, analyst),
        Kind("warranty_before", {"warranty_before": "2025-01-01", "municipality": riga.code}, rix),
        Kind(
            "cursor: municipality + status",
            {"municipality": riga.code, "status": "in_stock"},
            rix,
            CURSOR_PAGES,
        ),
        Kind("cursor: institution", {"institution": valmiera.schools[1]}, vlm, CURSOR_PAGES),
        Kind(
            "cursor: status, sort serial",
            {"status": "available", "sort": "serial_number"},
            vlm,
            CURSOR_PAGES,
        ),
    ]


async def cursors(client: httpx.AsyncClient, kind: Kind) -> list[str]:
    """Walk the first pages of a search; the cursors of the pages after the first."""
    found: list[str] = []
    cursor: str | None = None
    for _ in range(kind.pages - 1):
        params = {**kind.params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{API}/devices", params=params, headers=bearer(kind.token))
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
        found.append(cursor)
    return found


async def variants(client: httpx.AsyncClient, kind: Kind) -> list[Params]:
    """The parameter sets a kind cycles through: its first page, or its later pages."""
    if kind.pages == 1:
        return [kind.params]
    return [{**kind.params, "cursor": c} for c in await cursors(client, kind)]


async def build_mix(client: httpx.AsyncClient, issuer: TokenIssuer) -> Mix:
    """Every kind with its parameter variants."""
    return [(k, await variants(client, k)) for k in kinds(issuer)]


def rounds(payloads: list[tuple[str, list[Any]]]) -> Iterator[Request]:
    """Endless round-robin over the kinds, each cycling through its own payloads."""
    cycles = [(label, itertools.cycle(each)) for label, each in payloads]
    for label, cycle in itertools.cycle(cycles):
        yield label, next(cycle)


def http_requests(base_url: str, mix: Mix) -> Iterator[Request]:
    """The mix as prepared GET requests."""
    path = f"{API}/devices"
    return rounds(
        [(k.label, [prepare(base_url, path, p, bearer(k.token)) for p in v]) for k, v in mix]
    )


async def sql_requests(database_url: str, mix: Mix) -> Iterator[Request]:
    """The mix as the SQL statements the endpoint sends for each of its requests."""
    found = iter(await captured(database_url, [endpoint_call(k, p) for k, v in mix for p in v]))
    return rounds([(k.label, [next(found) for _ in v]) for k, v in mix])


def endpoint_call(kind: Kind, params: Params) -> Call:
    """The endpoint function called with a session, as FastAPI calls it for this request."""
    principal, arguments = principal_of(kind.token), typed(params)
    filters = {k: v for k, v in arguments.items() if k in FILTERS}
    rest = {k: v for k, v in arguments.items() if k not in FILTERS}

    async def call(session: AsyncSession) -> object:
        return await inventory_router.search_devices(
            request=None,  # type: ignore[arg-type]  # only a CSV export reads it
            session=session,
            principal=principal,
            filters=await inventory_router.device_filters(**filters),
            **rest,
        )

    return call


def principal_of(token: str) -> Principal:
    """The principal the service makes of one of our tokens (no need to check our signature)."""
    payload = token.split(".")[1]
    return Principal.from_claims(json.loads(base64.urlsafe_b64decode(payload + "==")))


def statuses(value: str | list[str]) -> list[DeviceStatus]:
    """One status or several, as the endpoint takes them."""
    return [DeviceStatus(s) for s in ([value] if isinstance(value, str) else value)]


CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "status": statuses,
    "os": OperatingSystem,
    "category": Category,
    "warranty_before": dt.date.fromisoformat,
}


# The query parameters the endpoint takes through its `device_filters` dependency.
FILTERS = frozenset(inspect.signature(inventory_router.device_filters).parameters)


def typed(params: Params) -> dict[str, Any]:
    """Query parameters converted as FastAPI converts them for the endpoint function."""
    return {k: CONVERSIONS.get(k, lambda v: v)(v) for k, v in params.items()}


async def timed(send: Send, request: Request, due: float) -> Sample:
    """Send one request; latency counts from when it was due, not when it went out."""
    label, payload = request
    ok = await send(payload)
    return Sample(label, time.perf_counter() - due, ok)


async def open_loop(
    send: Send, source: Iterator[Request], rate: float, seconds: float
) -> list[Sample]:
    """Start one request every 1/rate seconds whether or not earlier ones have answered."""
    with quiet_heap():
        start = time.perf_counter() + 0.01
        tasks = []
        for i in range(int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(timed(send, next(source), due)))
        return list(await asyncio.gather(*tasks))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def milliseconds(samples: list[Sample]) -> list[float]:
    """The latencies in ms."""
    return [s.latency_s * 1000 for s in samples]


@dataclass(frozen=True)
class Run:
    """One measured HTTP run: its samples, how long it took, and the CPU spent meanwhile."""

    samples: list[Sample]
    span_s: float
    server_cpu_s: float | None
    own_cpu_s: float  # this process's: the load generator


async def run(send: Send, source: Iterator[Request], rate: int, pid: int) -> Run:
    """DURATION_S of requests at `rate`, with the server's and our own CPU time (and the
    server's profile with BENCH_PROFILE)."""
    async with profiled(pid, f"search-{rate}"):
        cpu_before, started, own_before = cpu_seconds(pid), time.perf_counter(), time.process_time()
        samples = await open_loop(send, source, rate, DURATION_S)
        span, cpu_after = time.perf_counter() - started, cpu_seconds(pid)
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Run(samples, span, server_cpu, time.process_time() - own_before)


def rows_for(rate: int, http: Run, raw: list[Sample]) -> list[Row]:
    """p50 and p99 beside raw SQL's, and errors."""
    ms, raw_ms = milliseconds(http.samples), milliseconds(raw)
    p99, errors = percentile(ms, 99), sum(not s.ok for s in http.samples)
    name = f"GET /devices @ {rate}/s, 100k devices"
    target = f"< {TARGET_P99_MS:.0f} ms" if rate == RATE else ""
    return [
        Row(f"{name}: p50", percentile(ms, 50), "ms",
            baseline=percentile(raw_ms, 50), baseline_name=RAW),
        Row(f"{name}: p99", p99, "ms", target, p99 < TARGET_P99_MS if target else None,
            baseline=percentile(raw_ms, 99), baseline_name=RAW),
        Row(f"{name}: errors of {len(ms):,}", errors, "", "0", errors == 0),
    ]  # fmt: skip


def notes_for(rate: int, http: Run, raw: list[Sample]) -> list[str]:
    """p95, the rate achieved, CPU per request, raw SQL errors; per kind at the target rate."""
    count = len(http.samples)
    cpu = "n/a" if http.server_cpu_s is None else f"{http.server_cpu_s / count * 1000:.2f} ms"
    note = (
        f"GET /devices @ {rate}/s: p95 {percentile(milliseconds(http.samples), 95):.1f} ms "
        f"(raw SQL {percentile(milliseconds(raw), 95):.1f} ms); answered {count / http.span_s:.0f}"
        f" req/s; server CPU per request {cpu}; load generator (this process) CPU per request "
        f"{http.own_cpu_s / count * 1000:.2f} ms; raw SQL errors {sum(not s.ok for s in raw)}"
    )
    return [note, *by_kind(http.samples)] if rate == RATE else [note]


def by_kind(samples: list[Sample]) -> list[str]:
    """p50/p99 per kind of search, slowest first, for the notes."""
    groups: dict[str, list[float]] = {}
    for s in samples:
        groups.setdefault(s.label, []).append(s.latency_s * 1000)
    stats = sorted(
        ((percentile(v, 99), percentile(v, 50), k) for k, v in groups.items()), reverse=True
    )
    return [f"GET /devices {k}: p50 {p50:.1f} ms, p99 {p99:.1f} ms" for p99, p50, k in stats]


async def benchmark(
    server: Server, issuer: TokenIssuer, database_url: str
) -> tuple[list[Row], list[str]]:
    """Warm up, then each rate over HTTP, then the same as raw SQL; rows plus notes."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT_S) as client:
        mix = await build_mix(client, issuer)
    http_source = http_requests(server.url, mix)
    sql_source = await sql_requests(database_url, mix)
    async with pool(server.url, CONNECTIONS) as idle:
        http = http_sender(idle, TIMEOUT_S)
        await open_loop(http, http_source, RATE, WARMUP_S)
        runs = {rate: await run(http, http_source, rate, server.pid) for rate in RATES}
    # After the HTTP runs, not between them: idle keep-alive connections would time out.
    async with sql_pool(database_url, CONNECTIONS) as connections:
        sql = sql_sender(connections, TIMEOUT_S)
        await open_loop(sql, sql_source, RATE, WARMUP_S)
        raws, raw_cpu = {}, {}
        for rate in RATES:
            own_before = time.process_time()
            raws[rate] = await open_loop(sql, sql_source, rate, DURATION_S)
            raw_cpu[rate] = (time.process_time() - own_before) / len(raws[rate])
    notes = [
        "GET /devices baseline: the endpoint's SQL for each request of the mix, captured in "
        f"this process, replayed over {CONNECTIONS} asyncpg connections open loop at the same "
        "rates after the HTTP runs"
    ]
    rows: list[Row] = []
    for rate in RATES:
        rows += rows_for(rate, runs[rate], raws[rate])
        notes += notes_for(rate, runs[rate], raws[rate])
    return [*rows, *cpu_row(runs[RATE], raw_cpu[RATE])], notes


def cpu_row(http: Run, raw_cpu_s: float) -> list[Row]:
    """The server's CPU per request at the target rate, beside the raw SQL client's."""
    if http.server_cpu_s is None:
        return []
    cpu_ms = http.server_cpu_s / len(http.samples) * 1000
    name = f"GET /devices @ {RATE}/s: server CPU per request"
    target = f"≤ {TARGET_CPU_MS:.0f} ms"
    return [
        Row(name, cpu_ms, "ms", target, cpu_ms <= TARGET_CPU_MS,
            baseline=raw_cpu_s * 1000, baseline_name=RAW_CPU),
    ]  # fmt: skip
