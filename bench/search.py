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
from bench.report import Row
from shared_kit.testing.tokens import TokenIssuer

RATE = 200  # requests per second
DURATION_S = 10.0
WARMUP_S = 2.0
POOL = 50
TIMEOUT_S = 5.0
TARGET_P99_MS = 50.0
CURSOR_PAGES = 10

Params = dict[str, Any]
Request = tuple[str, Params, dict[str, str]]  # label, query parameters, headers


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


def requests(mix: list[tuple[Kind, list[Params]]]) -> Iterator[Request]:
    """Endless round-robin over the kinds, each cycling through its own variants."""
    rounds = [(k.label, itertools.cycle(v), bearer(k.token)) for k, v in mix]
    for label, params, headers in itertools.cycle(rounds):
        yield label, next(params), headers


async def timed_get(
    client: httpx.AsyncClient, slots: asyncio.Semaphore, request: Request, due: float
) -> Sample:
    """Send one search; latency counts from when it was due, not when it went out."""
    label, params, headers = request
    async with slots:
        try:
            response = await client.get(f"{API}/devices", params=params, headers=headers)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
    return Sample(label, time.perf_counter() - due, ok)


async def open_loop(
    client: httpx.AsyncClient, source: Iterator[Request], rate: float, seconds: float
) -> list[Sample]:
    """Start one request every 1/rate seconds whether or not earlier ones have answered.

    Requests beyond the pool size wait their turn on a semaphore (cheap) rather than in
    httpcore's pool queue, whose cost grows with its length and would make the client the
    bottleneck; the wait still counts in their latency.
    """
    slots = asyncio.Semaphore(POOL)
    start = time.perf_counter() + 0.01
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed_get(client, slots, next(source), due)))
    return list(await asyncio.gather(*tasks))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def rows_for(samples: list[Sample]) -> list[Row]:
    """Latency percentiles and errors of the measured run."""
    ms = [s.latency_s * 1000 for s in samples]
    errors = sum(not s.ok for s in samples)
    p99 = percentile(ms, 99)
    name = f"GET /devices @ {RATE}/s, 100k devices"
    target = f"< {TARGET_P99_MS:.0f} ms"
    return [
        Row(f"{name}: p50", percentile(ms, 50), "ms"),
        Row(f"{name}: p95", percentile(ms, 95), "ms"),
        Row(f"{name}: p99", p99, "ms", target, p99 < TARGET_P99_MS),
        Row(f"{name}: errors of {len(samples):,}", errors, "", "0", errors == 0),
    ]


def by_kind(samples: list[Sample]) -> list[str]:
    """p50/p99 per kind of search, slowest first, for the notes."""
    groups: dict[str, list[float]] = {}
    for s in samples:
        groups.setdefault(s.label, []).append(s.latency_s * 1000)
    stats = sorted(
        ((percentile(v, 99), percentile(v, 50), k) for k, v in groups.items()), reverse=True
    )
    return [f"GET /devices {k}: p50 {p50:.1f} ms, p99 {p99:.1f} ms" for p99, p50, k in stats]


async def benchmark(base_url: str, issuer: TokenIssuer) -> tuple[list[Row], list[str]]:
    """Warm up, then measure at the target rate; rows plus per-kind notes."""
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TIMEOUT_S) as client:
        source = requests(await build_mix(client, issuer))
        await open_loop(client, source, RATE, WARMUP_S)
        samples = await open_loop(client, source, RATE, DURATION_S)
    return rows_for(samples), by_kind(samples)
