"""A round's results as the pages show them: the figures of a level (national, a municipality,
a school) with its rows below, suppressed counts said as "fewer than 5", and the same table
as a CSV file (figures only; a suppressed count is an empty cell, as the API gives it)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.responses import Response

from portal_service.i18n import N_
from portal_service.planning.survey_labels import BANDS, CRITERIA_SHORT
from shared_kit.downloads import download_headers

Gettext = Callable[[str], str]
# The table's columns: (a row's field, heading).
COLUMNS: list[tuple[str, str]] = [
    ("eligible_pupils", N_("Pupils")),
    ("responses", N_("Answers")),
    ("response_rate", N_("Response rate")),
    ("without_suitable_device", N_("Without a suitable computer")),
    ("no_internet", N_("Without internet")),
]


def row_of(row: dict[str, Any]) -> dict[str, Any]:
    """A results row with the totals of its grade bands (the API gives them per band)."""
    bands = row.get("by_grade_band") or []
    view = {**row, "suppressed": list(row.get("suppressed") or [])}
    for name in ("without_suitable_device", "no_internet"):
        if name not in view:
            view[name] = _total(bands, name)
        if view[name] is None and name not in view["suppressed"]:
            view["suppressed"].append(name)
    return view


def _total(bands: list[dict[str, Any]], name: str) -> int | None:
    values = [b.get(name) for b in bands]
    counts = [int(v) for v in values if v is not None]
    return sum(counts) if counts and len(counts) == len(values) else None


def results_view(results: dict[str, Any], names: dict[str, str] | None = None) -> dict[str, Any]:
    """The level's figures, its bands, criteria and rows (each row's totals), each named from
    `names` (code → name) where known."""
    names = names or {}
    return {
        **results,
        "name": names.get(str(results.get("code"))),
        "total": row_of(results),
        "bands": [
            {**b, "label": BANDS.get(b.get("band", ""), b.get("band"))}
            for b in results.get("by_grade_band") or []
        ],
        "criteria_rows": [
            {**c, "label": CRITERIA_SHORT.get(c.get("criterion", ""), c.get("criterion"))}
            for c in results.get("criteria") or []
        ],
        "rows": [
            {**row_of(r), "name": names.get(str(r.get("code")))}
            for r in results.get("children") or []
        ],
    }


def rate(row: dict[str, Any]) -> str:
    """A response rate as a percentage ("" when suppressed)."""
    value = row.get("response_rate")
    return "" if value is None else f"{float(value) * 100:.0f} %"


def csv_response(
    results: dict[str, Any], names: dict[str, str], gettext: Gettext, name: str
) -> Response:
    """The results table as a CSV file: the level first, then each row."""
    view = results_view(results, names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([gettext(N_("Code")), gettext(N_("Name"))] + [gettext(h) for _, h in COLUMNS])
    for row in [{**view["total"], "name": view["name"]}, *view["rows"]]:
        cells = ["" if row.get(k) is None else row.get(k) for k, _ in COLUMNS]
        writer.writerow([row.get("code") or "", row.get("name") or "", *cells])

    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers=download_headers(f"{name}.csv"),
    )


def school_names(found: dict[str, Any]) -> dict[str, str]:
    """A round's schools: registration number → name."""
    return {
        str(i["registration_number"]): str(i.get("name") or i["registration_number"])
        for i in found.get("institutions") or []
        if isinstance(i, dict)
    }
