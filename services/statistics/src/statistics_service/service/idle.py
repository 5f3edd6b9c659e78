"""The idle-devices lists: lendable devices idle for more than N days, or never lent, most idle
first (keyset pages over `device_usage`'s partial indexes). Tenancy as the views'."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.pagination import page_of
from statistics_service.config import StatisticsSettings
from statistics_service.exceptions import MunicipalityNotFound
from statistics_service.models import DeviceUsage
from statistics_service.repository.usage import UsageRepository
from statistics_service.repository.views import Area, ViewRepository
from statistics_service.schemas import IdleDevice
from statistics_service.service import views

Kind = Literal["idle", "never_lent"]


async def checked_area(
    session: AsyncSession,
    *,
    principal: Principal,
    municipality_code: str | None = None,
    institution_number: str | None = None,
) -> Area:
    """The area of a list after the views' tenancy checks (an unknown area is 404)."""
    area = await views.checked_area(
        session,
        principal=principal,
        municipality_code=municipality_code,
        institution_number=institution_number,
    )
    if municipality_code is not None and not await ViewRepository(session).municipality_known(
        municipality_code
    ):
        raise MunicipalityNotFound(f"No statistics for municipality {municipality_code}")
    return area


async def idle_devices(
    session: AsyncSession,
    *,
    area: Area,
    settings: StatisticsSettings,
    now: dt.datetime,
    idle_days: int | None,
    kind: Kind,
    cursor: str | None,
    limit: int,
) -> tuple[list[IdleDevice], str | None]:
    """One page of an area's idle (or never lent) devices, most idle first."""
    today = views.local_date(now, settings)
    threshold = idle_days or settings.idle_days
    idle_before = None if kind == "never_lent" else today - dt.timedelta(days=threshold)
    rows = await UsageRepository(session).idle_devices(
        area, idle_before=idle_before, cursor=cursor, limit=limit
    )
    kept, next_cursor = page_of(rows, limit, lambda r: (r.idle_since, r.device_id))
    return [_item(r, today) for r in kept], next_cursor


def _item(row: DeviceUsage, today: dt.date) -> IdleDevice:
    idle_since = row.idle_since or today
    return IdleDevice(
        device_id=row.device_id,
        municipality_code=row.municipality_code,
        institution_number=row.institution_number or None,
        category=row.category,
        os=row.os,
        funding_source=row.funding_source,
        status=row.status,
        delivered_on=row.delivered_on,
        age_days=(today - row.delivered_on).days,
        last_loan_ended_on=row.last_loan_ended_on,
        idle_days=(today - idle_since).days,
    )
