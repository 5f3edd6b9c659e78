"""Benchmark 2: `GET /devices` with filters at a fixed request rate (open loop)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench.dataset import API, PLACES, TOKEN_TTL_S, bearer, municipality_admin
from bench.infra import Server, cpu_seconds
from bench.rawhttp import Connection, pool, prepare
from bench.report import Row
from shared_kit.testing.tokens import TokenIssuer

RATE = 200  # requests per second: the target's rate
KNEE_RATE = 100  # a lighter rate too, to show where the tail starts to grow
DURATION_S = 10.0
WARMUP_S = 2.0
CONNECTIONS = 50  # keep-alive connections of the raw load client
TIMEOUT_S = 5.0
TARGET_P99_MS = 50.0
CURSOR_PAGES = 10

Params = dict[str, Any]
Request = tuple[str, bytes]  # label, the prepared GET request


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


async def build_mix(
    client: httpx.AsyncClient, issuer: TokenIssuer
) -> list[tuple[Kind, list[Params]]]:
    """Every kind with its parameter variants."""
    return [(k, await variants(client, k)) for k in kinds(issuer)]


def requests(base_url: str, mix: list[tuple[Kind, list[Params]]]) -> Iterator[Request]:
    """Endless round-robin over the kinds, each cycling through its own prepared variants."""
    path = f"{API}/devices"
    rounds = [
        (k.label, itertools.cycle([prepare(base_url, path, p, bearer(k.token)) for p in v]))
        for k, v in mix
    ]
    for label, prepared in itertools.cycle(rounds):
        yield label, next(prepared)


async def timed_get(idle: asyncio.Queue[Connection], request: Request, due: float) -> Sample:
    """Send one search; latency counts from when it was due, not when it went out."""
    label, raw = request
    connection = await idle.get()  # waiting for a free connection counts in the latency
    try:
        ok = await asyncio.wait_for(connection.get(raw), TIMEOUT_S) == 200
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        ok = False
    idle.put_nowait(connection)
    return Sample(label, time.perf_counter() - due, ok)


async def open_loop(
    idle: asyncio.Queue[Connection], source: Iterator[Request], rate: float, seconds: float
) -> list[Sample]:
    """Start one request every 1/rate seconds whether or not earlier ones have answered."""
    start = time.perf_counter() + 0.01
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed_get(idle, next(source), due)))
    return list(await asyncio.gather(*tasks))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def rows_for(
    samples: list[Sample], span_s: float, server_cpu_s: float | None, rate: int
) -> list[Row]:
    """Latency percentiles, errors, the rate achieved and the server's CPU per request."""
    ms = [s.latency_s * 1000 for s in samples]
    errors = sum(not s.ok for s in samples)
    p99 = percentile(ms, 99)
    name = f"GET /devices @ {rate}/s, 100k devices"
    target = f"< {TARGET_P99_MS:.0f} ms" if rate == RATE else ""
    rows = [
        Row(f"{name}: p50", percentile(ms, 50), "ms"),
        Row(f"{name}: p95", percentile(ms, 95), "ms"),
        Row(f"{name}: p99", p99, "ms", target, p99 < TARGET_P99_MS if target else None),
        Row(f"{name}: errors of {len(samples):,}", errors, "", "0", errors == 0),
        Row(f"{name}: answered", len(samples) / span_s, "req/s"),
    ]
    if server_cpu_s is not None:
        rows.append(
            Row(f"{name}: server CPU per request", server_cpu_s / len(samples) * 1000, "ms")
        )
    return rows


def by_kind(samples: list[Sample]) -> list[str]:
    """p50/p99 per kind of search, slowest first, for the notes."""
    groups: dict[str, list[float]] = {}
    for s in samples:
        groups.setdefault(s.label, []).append(s.latency_s * 1000)
    stats = sorted(
        ((percentile(v, 99), percentile(v, 50), k) for k, v in groups.items()), reverse=True
    )
    return [f"GET /devices {k}: p50 {p50:.1f} ms, p99 {p99:.1f} ms" for p99, p50, k in stats]


async def measure(
    idle: asyncio.Queue[Connection], source: Iterator[Request], pid: int, rate: int
) -> tuple[list[Row], list[str]]:
    """One measured run: samples, how long they took, and the CPU spent meanwhile."""
    cpu_before, started, own_before = cpu_seconds(pid), time.perf_counter(), time.process_time()
    samples = await open_loop(idle, source, rate, DURATION_S)
    span, cpu_after = time.perf_counter() - started, cpu_seconds(pid)
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    own_ms = (time.process_time() - own_before) / len(samples) * 1000
    note = f"@ {rate}/s: load generator (this process) CPU per request: {own_ms:.2f} ms"
    notes = [note, *by_kind(samples)] if rate == RATE else [note]
    return rows_for(samples, span, server_cpu, rate), notes


async def benchmark(server: Server, issuer: TokenIssuer) -> tuple[list[Row], list[str]]:
    """Warm up, then measure at the target rate; rows plus per-kind notes."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT_S) as client:
        mix = await build_mix(client, issuer)
    source = requests(server.url, mix)
    async with pool(server.url, CONNECTIONS) as idle:
        await open_loop(idle, source, RATE, WARMUP_S)
        rows: list[Row] = []
        notes: list[str] = []
        for rate in (KNEE_RATE, RATE):
            more_rows, more_notes = await measure(idle, source, server.pid, rate)
            rows, notes = rows + more_rows, notes + more_notes
        return rows, notes
