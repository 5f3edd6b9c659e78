"""The history behind the daily snapshots: time series and the CSV export.

Both read only `institution_snapshot` / `snapshot_band`, so they show what was published for
each day (and what VIIS received), never a recomputation: a closed day's final records, and
today's provisional ones (marked `provisional`). The export has the same small-cell
suppression as the feed: a suppressed count is an empty cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from statistics_service.config import StatisticsSettings
from statistics_service.exceptions import InvalidDateRange
from statistics_service.repository.snapshots import (
    SERIES_COLUMNS,
    USAGE_COLUMNS,
    SnapshotRepository,
)
from statistics_service.repository.views import Area
from statistics_service.schemas import SeriesPoint, TimeSeries
from statistics_service.service.figures import SOCIAL_CRITERIA, Raw, coverage, ratio
from statistics_service.service.views import local_date

MAX_SERIES_DAYS = 3 * 366
MAX_EXPORT_DAYS = 366


def date_range(
    date_from: dt.date | None, date_to: dt.date | None, today: dt.date, max_days: int
) -> tuple[dt.date, dt.date]:
    """The requested range, defaulting to the last 30 days; 422 when reversed or too long."""
    end = date_to or today
    start = date_from or end - dt.timedelta(days=29)
    if start > end:
        raise InvalidDateRange("`from` is after `to`")
    if (end - start).days + 1 > max_days:
        raise InvalidDateRange(f"At most {max_days} days at once")
    return start, end


async def series(
    session: AsyncSession,
    *,
    area: Area,
    settings: StatisticsSettings,
    now: dt.datetime,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> TimeSeries:
    """The time series of an area (see `views.checked_area`), the last 30 days by default."""
    start, end = date_range(date_from, date_to, local_date(now, settings), MAX_SERIES_DAYS)
    return await time_series(
        session, level=_level(area), area=area, date_from=start, date_to=end, settings=settings
    )


def _level(area: Area) -> str:
    if area.institution_number is not None:
        return "institution"
    return "national" if area.municipality_code is None else "municipality"


async def time_series(
    session: AsyncSession,
    *,
    level: str,
    area: Area,
    date_from: dt.date,
    date_to: dt.date,
    settings: StatisticsSettings,
) -> TimeSeries:
    """Daily sums of the snapshots of an area."""
    repo = SnapshotRepository(session)
    bands: dict[dt.date, Raw] = {}
    for row in await repo.series_bands(area, date_from, date_to):
        needed = None if row.devices_needed is None else int(row.devices_needed)
        raw = bands.setdefault(row.snapshot_date, Raw())
        raw.bands[row.band] = [int(row.pupils), int(row.devices), needed]
    points = [
        SeriesPoint(
            date=row.snapshot_date,
            provisional=row.provisional,
            institutions=row.institutions,
            **{c: int(getattr(row, c) or 0) for c in (*SERIES_COLUMNS, *USAGE_COLUMNS)},
            utilisation=ratio(int(row.devices_on_loan or 0), int(row.devices_lendable or 0), 4),
            coverage=coverage(bands.get(row.snapshot_date, Raw()), settings.coverage_bands),
        )
        for row in await repo.series(area, date_from, date_to)
    ]
    return TimeSeries(
        level=level,
        code=area.institution_number or area.municipality_code,
        date_from=date_from,
        date_to=date_to,
        points=points,
    )


def csv_header(settings: StatisticsSettings, criteria: tuple[str, ...]) -> list[str]:
    """Columns of the export."""
    columns = ["snapshot_date", "municipality_code", "institution_registration_number"]
    columns += ["institution_name", "sequence", "provisional"]
    columns += [*SERIES_COLUMNS, "devices_with_warranty", *USAGE_COLUMNS]
    for band in settings.coverage_bands:
        columns += [f"pupils_{band.name}", f"devices_{band.name}", f"devices_needed_{band.name}"]
    columns += [f"active_loans_{c}" for c in criteria]
    return columns


def csv_row(
    record: dict[str, Any], settings: StatisticsSettings, criteria: tuple[str, ...]
) -> list[Any]:
    """One snapshot record as a CSV row (suppressed counts are empty cells)."""
    f = record["figures"]
    devices, loans = f["devices"], f["loans"]
    values: list[Any] = [
        record["snapshot_date"],
        record["municipality_code"],
        record["institution_registration_number"],
        record.get("institution_name") or "",
        record["sequence"],
        "true" if record["provisional"] else "false",
        devices["total"],
        devices["in_service"],
        loans["active"],
        loans["overdue"],
        f["reservations"]["waiting"],
        f["reservations"]["waitlisted"],
        f["tickets"]["open"],
        f["tickets"]["sla_breaches"],
        f["pupils"]["total"],
        devices["by_warranty_state"].get("in_warranty", 0),
        *_usage_cells(f.get("usage")),
    ]
    by_band = {b["band"]: b for b in f["coverage"]}
    for band in settings.coverage_bands:
        b = by_band.get(band.name, {})
        needed = b.get("devices_needed")
        values += [b.get("pupils", ""), b.get("devices", ""), "" if needed is None else needed]
    for c in criteria:
        cell = loans["by_social_criterion"].get(c, {"count": 0})
        values.append("" if cell["count"] is None else cell["count"])
    return values


def _usage_cells(usage: dict[str, Any] | None) -> list[Any]:
    """The usage columns of a record (empty cells for records from before schema 1.2.0)."""
    if usage is None:
        return [""] * len(USAGE_COLUMNS)
    days = usage["loan_days"]
    return [
        usage["lendable"],
        usage["on_loan"],
        usage["idle"],
        usage["never_lent"],
        *(days[w]["days"] for w in ("30", "90", "365")),
    ]


def export(
    sessions: async_sessionmaker[AsyncSession],
    *,
    area: Area,
    settings: StatisticsSettings,
    now: dt.datetime,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> tuple[str, AsyncIterator[str]]:
    """The file name and streamed CSV (`export_csv`) of an area, the last 30 days by default."""
    start, end = date_range(date_from, date_to, local_date(now, settings), MAX_EXPORT_DAYS)
    body = export_csv(sessions, area=area, date_from=start, date_to=end, settings=settings)
    return f"statistics-{start.isoformat()}-{end.isoformat()}.csv", body


async def export_csv(
    sessions: async_sessionmaker[AsyncSession],
    *,
    area: Area,
    date_from: dt.date,
    date_to: dt.date,
    settings: StatisticsSettings,
) -> AsyncIterator[str]:
    """The snapshot records of a range as CSV text, streamed a chunk at a time.

    It opens its own session: the response streams after the request's session is closed.
    """
    criteria = tuple(sorted(SOCIAL_CRITERIA))
    yield _line(csv_header(settings, criteria))
    async with sessions() as session:
        repo = SnapshotRepository(session)
        async for chunk in repo.records(area, date_from, date_to):
            yield "".join(_line(csv_row(r, settings, criteria)) for r in chunk)


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()
