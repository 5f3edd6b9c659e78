"""Benchmark 1: CSV import of 10,000 devices through `POST /devices/imports`."""

from __future__ import annotations

import time

import httpx

from bench.dataset import delivery, import_delivery
from bench.report import Row
from shared_kit.testing.tokens import TokenIssuer

ROWS_PER_IMPORT = 10_000
IMPORTS = 10
TARGET_S = 5.0


async def timed_import(client: httpx.AsyncClient, issuer: TokenIssuer, batch: int) -> float:
    """Seconds one 10k-row import takes, request to response."""
    d = delivery(issuer, batch, ROWS_PER_IMPORT)
    started = time.perf_counter()
    await import_delivery(client, d)
    return time.perf_counter() - started


async def load_devices(client: httpx.AsyncClient, issuer: TokenIssuer) -> list[float]:
    """Import all deliveries in turn; the seconds each took."""
    durations = []
    for batch in range(IMPORTS):
        durations.append(await timed_import(client, issuer, batch))
        print(f"  import {batch + 1}/{IMPORTS}: {durations[-1]:.2f} s", flush=True)
    return durations


def rows_for(durations: list[float]) -> list[Row]:
    """The first import (empty table), the last one (90k devices already), and the total."""
    total = ROWS_PER_IMPORT * len(durations)
    present = total - ROWS_PER_IMPORT
    return [
        timed_row("CSV import 10k devices (empty table)", durations[0]),
        timed_row(f"CSV import 10k devices ({present:,} present)", durations[-1]),
        Row(f"CSV load of {total:,} devices ({len(durations)} imports)", sum(durations), "s"),
    ]


def timed_row(name: str, seconds: float) -> Row:
    """An import duration against the target."""
    return Row(name, seconds, "s", f"< {TARGET_S:.0f} s", seconds < TARGET_S)


async def benchmark(client: httpx.AsyncClient, issuer: TokenIssuer) -> list[Row]:
    """Load the database with all deliveries, timing each import."""
    return rows_for(await load_devices(client, issuer))
