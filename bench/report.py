"""Benchmark results: one `Row` per figure, printed and saved as a Markdown table."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
HEADER = (
    "Benchmark",
    "Figure",
    "Unit",
    "Baseline (same run, same unit)",
    "Ratio",
    "Target",
    "Result",
)
RIGHT = (1, 4)  # the right-aligned columns


@dataclass(frozen=True)
class Row:
    """One measured figure; `ok` is None for figures without a target.

    `baseline` is the same quantity measured in the same run without our code in the way (raw
    SQL, a raw producer, a bare HTTP round trip …), named by `baseline_name`, in the same
    `unit`; the table shows figure / baseline as the ratio.
    """

    name: str
    figure: float
    unit: str
    target: str = ""
    ok: bool | None = None
    baseline: float | None = None
    baseline_name: str = ""

    @property
    def ratio(self) -> float | None:
        """figure / baseline (None without a baseline, or a zero one)."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.figure / self.baseline


def verdict(ok: bool | None) -> str:
    """PASS, MISS or a dash for informational rows."""
    return "—" if ok is None else ("PASS" if ok else "MISS")


def format_figure(value: float) -> str:
    """Figures with as many decimals as their size deserves."""
    if value >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_ratio(ratio: float) -> str:
    """Three significant digits (a ratio of 0.005 must not print as 0.01), no exponent."""
    digits = f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.3g}"
    return f"{digits}\N{MULTIPLICATION SIGN}"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    cells = [HEADER] + [
        (
            r.name,
            format_figure(r.figure),
            r.unit,
            baseline_cell(r),
            "—" if r.ratio is None else format_ratio(r.ratio),
            r.target or "—",
            verdict(r.ok),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = [_line(cells[0], widths), _rule(widths), *(_line(c, widths) for c in cells[1:])]
    return "\n".join(lines)


def baseline_cell(row: Row) -> str:
    """The baseline's figure and what it is."""
    if row.baseline is None:
        return "—"
    return f"{format_figure(row.baseline)} ({row.baseline_name})"


def _line(cols: Sequence[str], widths: Sequence[int]) -> str:
    padded = [
        c.rjust(w) if i in RIGHT else c.ljust(w)
        for i, (c, w) in enumerate(zip(cols, widths, strict=True))
    ]
    return "| " + " | ".join(padded) + " |"


def _rule(widths: Sequence[int]) -> str:
    dashes = ["-" * (w + 1) + ":" if i in RIGHT else "-" * (w + 2) for i, w in enumerate(widths)]
    return "|" + "|".join(dashes) + "|"


def document(rows: Sequence[Row], elapsed_s: float, notes: Sequence[str] = ()) -> str:
    """The whole results file: when and where it ran, the table, and notes."""
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    machine = (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    parts = [f"# Benchmarks\n\n{when} · {machine} · total {elapsed_s:.1f} s", table(rows)]
    if notes:
        parts.append("\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"


def results_dir(root: Path = RESULTS) -> Path:
    """The results folder, created when missing (git ignores it: a fresh clone has none)."""
    root.mkdir(parents=True, exist_ok=True)
    return root


def save(text: str, name: str = "latest.md", root: Path = RESULTS) -> Path:
    """Write a results file under bench/results/."""
    path = results_dir(root) / name
    path.write_text(text, encoding="utf-8")
    return path


def keep_log(log_path: Path, benchmark: str, service: str, root: Path = RESULTS) -> Path:
    """Copy a service's server log under bench/results/ for a look afterwards: named after the
    service in its own benchmark (`tickets-server.log`), else after both
    (`journey-tickets-server.log`), so no benchmark overwrites another's."""
    name = service if benchmark == service else f"{benchmark}-{service}"
    return Path(shutil.copy(log_path, results_dir(root) / f"{name}-server.log"))
