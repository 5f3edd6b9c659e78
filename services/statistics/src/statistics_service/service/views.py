"""National, municipality and institution views of the live read model.

A view is computed from the counter tables (sums over a few thousand rows) and kept in the
app's `ViewCache` under the projection epoch it was computed at: while the epoch has not moved,
nothing it shows has changed, so the same view is served again without recomputing it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from statistics_service.config import StatisticsSettings
from statistics_service.exceptions import InstitutionNotFound, MunicipalityNotFound
from statistics_service.repository.projection import epoch
from statistics_service.repository.views import Area, DeviceFilter, Group, ViewRepository
from statistics_service.schemas import AreaSummary, StatisticsView
from statistics_service.service import access
from statistics_service.service.figures import Raw, coverage, merged, publish, ratio, read_raw


class ViewCache:
    """Views by (level, code, filters, day), each with the epoch it was computed at."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[int, StatisticsView]] = OrderedDict()

    def get(self, key: tuple[Any, ...], at: int) -> StatisticsView | None:
        """The view computed at epoch `at`, if kept."""
        found = self._items.get(key)
        if found is None or found[0] != at:
            return None
        self._items.move_to_end(key)
        return found[1]

    def put(self, key: tuple[Any, ...], at: int, view: StatisticsView) -> None:
        """Keep a view computed at epoch `at` (the least recently used one goes)."""
        self._items[key] = (at, view)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


def local_date(now: dt.datetime, settings: StatisticsSettings) -> dt.date:
    """The programme's (Rīga) date at `now`."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()


async def national(
    session: AsyncSession,
    *,
    principal: Principal,
    settings: StatisticsSettings,
    now: dt.datetime,
    devices: DeviceFilter,
    cache: ViewCache | None = None,
    idle_days: int | None = None,
) -> StatisticsView:
    """The whole country, with a summary per municipality."""
    access.check_national(principal)
    return await _view(
        session,
        level="national",
        area=Area(),
        group="municipality_code",
        settings=settings,
        now=now,
        devices=devices,
        cache=cache,
        idle_days=idle_days or settings.idle_days,
    )


async def municipality(
    session: AsyncSession,
    *,
    principal: Principal,
    code: str,
    settings: StatisticsSettings,
    now: dt.datetime,
    devices: DeviceFilter,
    cache: ViewCache | None = None,
    idle_days: int | None = None,
) -> StatisticsView:
    """One municipality, with a summary per institution."""
    access.check_municipality(principal, code)
    repo = ViewRepository(session)
    if not await repo.municipality_known(code):
        raise MunicipalityNotFound(f"No statistics for municipality {code}")
    return await _view(
        session,
        level="municipality",
        area=Area(municipality_code=code),
        group="institution_number",
        settings=settings,
        now=now,
        devices=devices,
        cache=cache,
        idle_days=idle_days or settings.idle_days,
    )


async def institution(
    session: AsyncSession,
    *,
    principal: Principal,
    registration_number: str,
    settings: StatisticsSettings,
    now: dt.datetime,
    devices: DeviceFilter,
    cache: ViewCache | None = None,
    idle_days: int | None = None,
) -> StatisticsView:
    """One institution."""
    known = await ViewRepository(session).institution(registration_number)
    if known is None:
        raise InstitutionNotFound(f"No statistics for institution {registration_number}")
    access.check_institution(principal, registration_number, known.municipality_code)
    view = await _view(
        session,
        level="institution",
        area=Area(institution_number=registration_number),
        group="institution_number",
        settings=settings,
        now=now,
        devices=devices,
        cache=cache,
        idle_days=idle_days or settings.idle_days,
        children=False,
    )
    return view.model_copy(
        update={
            "code": registration_number,
            "name": known.name,
            "municipality_code": known.municipality_code,
        }
    )


async def _view(
    session: AsyncSession,
    *,
    level: str,
    area: Area,
    group: Group,
    settings: StatisticsSettings,
    now: dt.datetime,
    devices: DeviceFilter,
    cache: ViewCache | None,
    idle_days: int,
    children: bool = True,
) -> StatisticsView:
    today = local_date(now, settings)
    key = (level, area, tuple(sorted(devices.values.items())), today, idle_days)
    at = await epoch(session)
    if cache is not None and (kept := cache.get(key, at)) is not None:
        return kept
    view = await _compute(
        session,
        level=level,
        area=area,
        group=group,
        settings=settings,
        now=now,
        devices=devices,
        idle_days=idle_days,
        children=children,
    )
    if cache is not None:
        cache.put(key, at, view)
    return view


async def _compute(
    session: AsyncSession,
    *,
    level: str,
    area: Area,
    group: Group,
    settings: StatisticsSettings,
    now: dt.datetime,
    devices: DeviceFilter,
    idle_days: int,
    children: bool,
) -> StatisticsView:
    bands = settings.coverage_bands
    repo = ViewRepository(session)
    names = await repo.institution_names(area) if children and level == "municipality" else {}
    raws = await read_raw(
        repo,
        group=group,
        area=area,
        devices=devices,
        bands=bands,
        today=local_date(now, settings),
        summaries_only=children,
        idle_days=idle_days,
    )
    total = merged(raws.values())
    return StatisticsView(
        level=level,
        code=area.institution_number or area.municipality_code,
        name=None,
        municipality_code=area.municipality_code,
        as_of=now,
        filters=dict(devices.values),
        figures=publish(total, bands, settings.suppression_threshold, idle_days),
        children=_summaries(raws, names, settings) if children else [],
    )


def _summaries(
    raws: dict[str, Raw], names: dict[str, str | None], settings: StatisticsSettings
) -> list[AreaSummary]:
    # Devices assigned to no institution count in the totals, not as an area of their own.
    return [
        AreaSummary(
            code=code,
            name=names.get(code),
            devices_total=raw.devices_total,
            devices_in_service=raw.devices_in_service,
            active_loans=raw.active_loans,
            pupils=sum(raw.pupils.values()),
            coverage=coverage(raw, settings.coverage_bands),
            utilisation=ratio(raw.used("on_loan"), raw.used("lendable"), 4),
            idle=raw.used("idle"),
            never_lent=raw.used("never_lent"),
            tickets_open=raw.tickets["open"],
            sla_breaches=raw.tickets["sla_breaches"],
        )
        for code, raw in sorted(raws.items())
        if code
    ]


async def checked_area(
    session: AsyncSession,
    *,
    principal: Principal,
    municipality_code: str | None = None,
    institution_number: str | None = None,
) -> Area:
    """The area of a history request (series, export) after the tenancy check."""
    if institution_number is not None:
        known = await ViewRepository(session).institution(institution_number)
        if known is None:
            raise InstitutionNotFound(f"No statistics for institution {institution_number}")
        access.check_institution(principal, institution_number, known.municipality_code)
        return Area(institution_number=institution_number)
    if municipality_code is not None:
        access.check_municipality(principal, municipality_code)
        return Area(municipality_code=municipality_code)
    access.check_national(principal)
    return Area()
