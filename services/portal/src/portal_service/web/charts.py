"""Charts drawn on the server: the geometry of inline SVG bar and line charts, and each chart's
data as a table and as CSV (`web/templates/charts.html` draws them).

A chart is an image with a name and a description (`role="img"`, `aria-labelledby`); its
numbers are also a table beside it and a CSV file, so nothing is said by the picture alone. The
drawing is `WIDTH` user units wide and scales to its column (`viewBox`, `width="100%"`): on a
320 px phone a unit is about a pixel, so its text stays readable there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 320
FONT = 16  # the text's size in user units (about pixels on a phone)
ROW = 50  # a bar's row: its label above, the bar below
BAR = 20  # a bar's thickness (the template draws it)
LABEL_CHARS = 34  # what fits a row at FONT; the table beside the chart has the whole label
VALUE_ROOM = 64  # right of the longest bar: its value
PLOT_TOP, PLOT_HEIGHT, PLOT_LEFT = 8, 150, 44
LEGEND_ROW = 22
# Each series drawn its own way (colour, dash and marker), so no meaning rests on colour alone.
STROKES = (
    ("#1d70b8", "", "circle"),
    ("#0b0c0c", "6 4", "square"),
    ("#d4351c", "2 3", "diamond"),
    ("#00703c", "10 3 2 3", "triangle"),
)

Number = int | float


@dataclass(frozen=True)
class Datum:
    """One labelled number of a chart: its code (as the API names it), its label, its value
    (None: the API withheld it, e.g. a suppressed small count)."""

    key: str
    label: str
    value: Number | None


@dataclass(frozen=True)
class Bar:
    """One bar of a horizontal bar chart, in user units."""

    label: str
    value: Number | None
    label_y: float
    bar_y: float
    width: float
    value_x: float


@dataclass(frozen=True)
class Tick:
    """A labelled line across the plot (or a date under it)."""

    text: str
    at: float


@dataclass(frozen=True)
class Line:
    """One series of a line chart: its polyline and marker points, and how it is drawn."""

    label: str
    points: list[tuple[float, float]]
    colour: str
    dash: str
    marker: str
    legend_y: float

    @property
    def path(self) -> str:
        """The `points` attribute of its polyline."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass
class Chart:
    """A chart's name, its numbers (rows of the table and the CSV) and how it is drawn."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[object]]
    kind: str = "bars"  # or "lines"
    height: float = 0
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    plot_top: float = 0
    plot_bottom: float = 0

    @property
    def empty(self) -> bool:
        """Nothing to draw: no rows, or only zeros and withheld numbers."""
        return not any(isinstance(v, int | float) and v for row in self.rows for v in row[1:])


def nice_ceiling(value: float) -> float:
    """The axis's top: the smallest 1, 2, 2.5 or 5 x 10^n at or above the value (1 for 0)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10


def shorten(label: str, limit: int = LABEL_CHARS) -> str:
    """A label that fits a row of the drawing (ending in … when cut)."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def bar_chart(key: str, title: str, columns: list[str], data: Sequence[Datum]) -> Chart:
    """A horizontal bar chart: one row per datum, its label above its bar, its value after it."""
    top = max((d.value or 0 for d in data), default=0)
    scale = (WIDTH - VALUE_ROOM) / top if top > 0 else 0
    bars = []
    for i, d in enumerate(data):
        width = max(0.0, float(d.value or 0) * scale)
        y = i * ROW
        bars.append(Bar(shorten(d.label), d.value, y + FONT, y + FONT + 6, width, width + 6))
    rows: list[list[object]] = [[d.key, d.label, d.value] for d in data]
    return Chart(key, title, columns, rows, "bars", height=max(ROW * len(data), ROW), bars=bars)


def line_chart(
    key: str,
    title: str,
    columns: list[str],
    dates: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[Number]]],
    date_text: dict[dt.date, str] | None = None,
) -> Chart:
    """A line chart of daily series: a legend line each, y gridlines, the first and last dates."""
    legend = LEGEND_ROW * len(series)
    top_y = PLOT_TOP + legend + FONT
    bottom_y = top_y + PLOT_HEIGHT
    top = nice_ceiling(max((v for _, values in series for v in values), default=0))
    right = WIDTH - 8
    step = (right - PLOT_LEFT) / (len(dates) - 1) if len(dates) > 1 else 0

    def x_of(i: int) -> float:
        return PLOT_LEFT + i * step if len(dates) > 1 else (PLOT_LEFT + right) / 2

    def y_of(v: Number) -> float:
        return bottom_y - float(v) / top * PLOT_HEIGHT

    lines = [
        Line(
            name,
            [(x_of(i), y_of(v)) for i, v in enumerate(values)],
            *STROKES[n % len(STROKES)],
            legend_y=PLOT_TOP + n * LEGEND_ROW + FONT / 2,
        )
        for n, (name, values) in enumerate(series)
    ]
    y_ticks = [Tick(_number(top * f / 4), y_of(top * f / 4)) for f in range(5)]
    shown = sorted({0, len(dates) - 1}) if dates else []
    text = date_text or {}
    x_ticks = [Tick(text.get(dates[i], dates[i].isoformat()), x_of(i)) for i in shown]
    rows: list[list[object]] = [
        [d.isoformat(), *(values[i] for _, values in series)] for i, d in enumerate(dates)
    ]
    chart = Chart(key, title, columns, rows, "lines", bottom_y + FONT + 12, lines=lines)
    chart.y_ticks, chart.x_ticks = y_ticks, x_ticks
    chart.plot_top, chart.plot_bottom = top_y, bottom_y
    return chart


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def csv_text(chart: Chart) -> str:
    """The chart's numbers as CSV: its columns, then a row per datum or day, as the API gave
    them (a withheld number is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(chart.columns)
    for row in chart.rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
