"""The statistics service's figures as the dashboards show them: a view's charts (devices by
status, system, category, funding and warranty; activity and tickets over time), each also a
table and a CSV file, for a municipality, a school and the ministry alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from babel.dates import format_skeleton
from fastapi.responses import Response

from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_, Lang, translations
from portal_service.web.charts import Chart, Datum, bar_chart, csv_text, line_chart
from portal_service.web.labels import DEVICE_CATEGORIES, DEVICE_STATUSES, SYSTEMS
from shared_kit.downloads import download_headers

STATISTICS = "/api/v1/statistics"
SERIES_DAYS = 30  # the time series' window: the last 30 days
IDLE_DAYS = 60  # the programme's default: lendable and not lent for over 60 days
IDLE_CHOICES = (30, 60, 90, 180, 365)

FUNDING_SOURCES: dict[str, str] = {
    "react_eu": N_("REACT-EU"),
    "recovery_fund": N_("Recovery Fund"),
    "eu_funds_2021_2027": N_("EU funds 2021-2027"),
    "municipal_budget": N_("Municipal budget"),
    "other": N_("Other"),
}
WARRANTY_STATES: dict[str, str] = {
    "in_warranty": N_("Under warranty"),
    "expired": N_("Warranty ended"),
    "unknown": N_("Warranty end not known"),
}
OPERATING_SYSTEMS: dict[str, str] = {**SYSTEMS, "none": N_("No operating system")}
# A device chart: its figure's field, its title, the column naming the category, the labels.
DEVICE_CHARTS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "status": ("by_status", N_("Devices by status"), N_("Status"), DEVICE_STATUSES),
    "os": ("by_os", N_("Devices by operating system"), N_("Operating system"), OPERATING_SYSTEMS),
    "category": ("by_category", N_("Devices by category"), N_("Category"), DEVICE_CATEGORIES),
    "funding": (
        "by_funding_source",
        N_("Devices by funding programme"),
        N_("Funding programme"),
        FUNDING_SOURCES,
    ),
    "warranty": (
        "by_warranty_state",
        N_("Devices by warranty"),
        N_("Warranty"),
        WARRANTY_STATES,
    ),
}
# The time series' charts: their lines (a point's field, its label).
SERIES_CHARTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "activity": (
        N_("Reservations, waitlist and loans over the last 30 days"),
        [
            ("reservations_waiting", N_("Reservations waiting")),
            ("waitlisted", N_("On the waitlist")),
            ("active_loans", N_("Devices on loan")),
        ],
    ),
    "tickets": (
        N_("Problem reports over the last 30 days"),
        [("tickets_open", N_("Open problem reports")), ("sla_breaches", N_("SLA breaches"))],
    ),
}
CHART_KEYS = (*DEVICE_CHARTS, *SERIES_CHARTS, "coverage")
Gettext = Callable[[str], str]
T = TypeVar("T")


def series_range(today: dt.date) -> dict[str, str]:
    """The time series' query: the last `SERIES_DAYS` days up to today."""
    start = today - dt.timedelta(days=SERIES_DAYS - 1)
    return {"from": start.isoformat(), "to": today.isoformat()}


def device_chart(key: str, devices: dict[str, Any], _: Gettext) -> Chart:
    """One of the device charts: a bar per value the API counted, in the labels' order."""
    field, title, column, labels = DEVICE_CHARTS[key]
    counts: dict[str, int] = devices.get(field) or {}
    known = [k for k in labels if k in counts]
    ordered = known + sorted(k for k in counts if k not in labels)
    data = [Datum(k, _(labels[k]) if k in labels else k, counts[k]) for k in ordered]
    return bar_chart(key, _(title), [_("Code"), _(column), _("Devices")], data)


def series_chart(
    key: str, series: dict[str, Any], _: Gettext, lang_day: Callable[[dt.date], str]
) -> Chart:
    """One of the time series' charts: a line per field, a point per day."""
    title, lines = SERIES_CHARTS[key]
    points = series.get("points") or []
    dates = [dt.date.fromisoformat(p["date"]) for p in points]
    drawn = [(_(label), [int(p.get(field) or 0) for p in points]) for field, label in lines]
    columns = [_("Date"), *(name for name, _values in drawn)]
    texts = {d: lang_day(d) for d in dates}
    return line_chart(key, _(title), columns, dates, drawn, texts)


def coverage_chart(coverage: list[dict[str, Any]], _: Gettext) -> Chart:
    """The devices still needed to meet each grade band's target (the bands that have one; the
    coverage table beside it has every band)."""
    data = [
        Datum(str(b["band"]), _("Grades %(band)s") % {"band": b["band"]}, b.get("devices_needed"))
        for b in coverage
        if b.get("target_pupils_per_device") is not None
    ]
    return bar_chart(
        "coverage",
        _("Devices still needed to meet the target"),
        [_("Code"), _("Grade band"), _("Devices needed")],
        data,
    )


def charts(view: dict[str, Any], series: dict[str, Any], lang: Lang) -> dict[str, Chart]:
    """Every chart of a view and its time series, by key, in a language."""
    _ = translations(lang).gettext
    figures = view["figures"]
    made = {key: device_chart(key, figures["devices"], _) for key in DEVICE_CHARTS}
    day = partial(short_day, lang=lang)
    made.update({key: series_chart(key, series, _, day) for key in SERIES_CHARTS})
    made["coverage"] = coverage_chart(figures.get("coverage") or [], _)
    return made


def short_day(value: dt.date, lang: Lang) -> str:
    """A day under a chart's axis: `6. dec.`, `Dec 6`."""
    return format_skeleton("MMMd", value, locale=lang)


def dashboard(view: dict[str, Any], series: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """What a dashboard page shows of a view and its time series."""
    figures = view["figures"]
    return {
        "view": view,
        "figures": figures,
        "charts": charts(view, series, lang),
        "usage": figures.get("usage"),
        "as_of": dt.datetime.fromisoformat(view["as_of"]),
        "labels": {
            "funding": FUNDING_SOURCES,
            "categories": DEVICE_CATEGORIES,
            "systems": OPERATING_SYSTEMS,
        },
    }


async def optional(call: Awaitable[T]) -> T | None:
    """An API's answer, or None where it is not (yet) there: a part of a page that a service
    may not offer yet (404) is left out, not the page."""
    try:
        return await call
    except PageNotFound:
        return None


def csv_response(chart: Chart, name: str) -> Response:
    """A chart's numbers as a CSV download (`<name>-<chart>.csv`)."""
    return Response(
        csv_text(chart),
        media_type="text/csv; charset=utf-8",
        headers=download_headers(f"{name}-{chart.key}.csv"),
    )


def band_rows(coverage: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The coverage table's rows: each band as the API gives it."""
    return [dict(b) for b in coverage]
