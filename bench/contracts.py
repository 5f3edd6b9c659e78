"""Benchmark 6: loan contracts rendered to PDF and sealed (PAdES, pyHanko) — the CPU work a
countersignature costs.

One core: contracts rendered and sealed one after another, each timed (render + seal, and the
seal alone on an already rendered PDF). No database or broker: the service does this work in a
thread while the countersigning request waits, so this is the floor of its latency; a pod
with n cores seals about n times as many.

The baseline, timed beside each contract: the same text (read back from the rendered PDF)
written by bare fpdf2 with the same two fonts, sealed by the same pyHanko sealer — the two
libraries' own cost without the contract's template and layout.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from fpdf import FPDF
from pypdf import PdfReader

from bench.contract_sample import demo_sealer, render_and_seal, sample_contract
from bench.infra import Infra
from bench.report import Row
from bench.search import percentile
from contracts_service.document.render import FONT, render_pdf
from contracts_service.document.seal import DocumentSealer
from contracts_service.document.typefaces import font_path

WARMUP = 3
CONTRACTS = 60
BARE = "bare fpdf2 render of the same text + the same pyHanko seal"


@dataclass
class Timings:
    """Seconds of each run."""

    both: list[float] = field(default_factory=list)  # render + seal, the service's code
    seal: list[float] = field(default_factory=list)  # the seal alone, of a rendered contract
    bare: list[float] = field(default_factory=list)  # the baseline


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def bare_render(pages: list[str]) -> bytes:
    """The pages' text as plain fpdf2 pages with the same fonts: no template, no layout."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", str(font_path("DejaVuSans.ttf")))
    pdf.add_font(FONT, "B", str(font_path("DejaVuSans-Bold.ttf")))
    for text in pages:
        title, _, body = text.partition("\n")
        pdf.add_page()
        pdf.set_font(FONT, "B", 12)
        pdf.multi_cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9.5)
        pdf.multi_cell(0, 4.5, body, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def bare_render_and_seal(pages: list[str], sealer: DocumentSealer) -> bytes:
    """The baseline's unit of work."""
    return sealer.seal(bare_render(pages), reason="benchmark", location="Rīga")


def timed(work: Callable[[], object]) -> float:
    """Seconds `work` takes."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def timed_runs(count: int) -> Timings:
    """`count` contracts in this process: render and seal, the seal alone, the baseline."""
    sealer = demo_sealer()
    for n in range(WARMUP):
        bare_render_and_seal(page_texts(render_and_seal(sample_contract(n), sealer)), sealer)
    timings = Timings()
    for n in range(count):
        data = sample_contract(n)
        timings.both.append(timed(partial(render_and_seal, data, sealer)))
        pdf = render_pdf(data)
        timings.seal.append(timed(partial(sealer.seal, pdf, reason="benchmark", location="Rīga")))
        timings.bare.append(timed(partial(bare_render_and_seal, page_texts(pdf), sealer)))
    return timings


async def benchmark(_: Infra) -> tuple[list[Row], list[str]]:
    """Render and seal, one core, beside the bare libraries."""
    timings = await asyncio.to_thread(timed_runs, CONTRACTS)
    ms, bare_ms, seal_ms = (
        [s * 1000 for s in t] for t in (timings.both, timings.bare, timings.seal)
    )
    rows = [
        Row("Contracts: rendered and sealed, 1 core", len(ms) / sum(timings.both), "contracts/s",
            baseline=len(bare_ms) / sum(timings.bare), baseline_name=BARE),
        Row("Contracts: render + seal p50", percentile(ms, 50), "ms",
            baseline=percentile(bare_ms, 50), baseline_name=BARE),
        Row("Contracts: render + seal p99", percentile(ms, 99), "ms",
            baseline=percentile(bare_ms, 99), baseline_name=BARE),
    ]  # fmt: skip
    notes = [
        f"contracts: {CONTRACTS} loan agreements of three pages (DejaVu fonts, Latvian and English "
        "text) rendered with fpdf2 and sealed with pyHanko (PAdES B-B, ECDSA P-256 demo CA), "
        f"after {WARMUP} warm-up runs; the seal alone (re-sealing an already rendered PDF) p50 "
        f"{percentile(seal_ms, 50):.1f} ms, p99 {percentile(seal_ms, 99):.1f} ms; baseline: "
        "each contract's text as pypdf reads it back, written by bare fpdf2 (a bold first "
        "line, the rest in multi_cell, same two fonts) and sealed by the same sealer",
    ]
    return rows, notes
