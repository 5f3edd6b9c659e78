"""Benchmark 6: loan contracts rendered to PDF and sealed (PAdES, pyHanko) — the CPU work a
countersignature costs.

One core: contracts rendered and sealed one after another, each timed (render + seal, and the
seal alone on an already rendered PDF). No database or broker: the service does this work in a
thread while the countersigning request waits, so this is the floor of its latency; a pod
with n cores seals about n times as many.
"""

from __future__ import annotations

import asyncio
import time

from bench.infra import Infra
from bench.report import Row
from contracts_service.bench import demo_sealer, render_and_seal, sample_contract
from contracts_service.document.render import render_pdf

WARMUP = 3
CONTRACTS = 60


def timed_runs(count: int, offset: int = 0) -> tuple[list[float], list[float]]:
    """Seconds of `count` render-and-seal runs and of sealing alone (in this process)."""
    sealer = demo_sealer()
    for n in range(WARMUP):
        render_and_seal(sample_contract(n), sealer)
    both, seal_only = [], []
    for n in range(offset, offset + count):
        data = sample_contract(n)
        started = time.perf_counter()
        render_and_seal(data, sealer)
        both.append(time.perf_counter() - started)
        pdf = render_pdf(data)
        started = time.perf_counter()
        sealer.seal(pdf, reason="benchmark", location="Rīga")
        seal_only.append(time.perf_counter() - started)
    return both, seal_only


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def benchmark(_: Infra) -> tuple[list[Row], list[str]]:
    """Render and seal, one core."""
    both, seal_only = await asyncio.to_thread(timed_runs, CONTRACTS)
    ms = [s * 1000 for s in both]
    seal_ms = [s * 1000 for s in seal_only]
    rows = [
        Row("Contracts: rendered and sealed, 1 core", len(both) / sum(both), "contracts/s"),
        Row("Contracts: render + seal p50", percentile(ms, 50), "ms"),
        Row("Contracts: render + seal p99", percentile(ms, 99), "ms"),
        Row("Contracts: seal alone p50", percentile(seal_ms, 50), "ms"),
        Row("Contracts: seal alone p99", percentile(seal_ms, 99), "ms"),
    ]
    notes = [
        f"contracts: {CONTRACTS} two-page loan agreements (DejaVu fonts, Latvian and English "
        "text) rendered with fpdf2 and sealed with pyHanko (PAdES B-B, ECDSA P-256 demo CA), "
        f"after {WARMUP} warm-up runs; 'seal alone' re-seals an already rendered PDF",
    ]
    return rows, notes
