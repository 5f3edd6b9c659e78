"""SQL of device use: the usage counters summed per area, and the idle-devices lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.pagination import paginate
from statistics_service.models import DeviceUsage
from statistics_service.repository.views import AREA_TOTAL, Area, Group

LENDABLE_SQL = "('available', 'reserved', 'on_loan')"
OUT_OF_SERVICE_SQL = "('lost', 'stolen', 'written_off')"
IDLE_KEY = (DeviceUsage.idle_since, DeviceUsage.device_id)  # most idle first


class UsageRepository:
    """Reads `device_usage_count`, `loan_day_count` and `device_usage`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list((await self.session.execute(text(sql), params)).all())

    async def devices(
        self, group: Group | None, area: Area, *, idle_before: dt.date, repair_before: dt.date
    ) -> list[Any]:
        """(group, funding_source, lendable, on_loan, never_lent, idle, never_available,
        in_repair_long, lost_stolen_written_off)."""
        where, params = area.where()
        sql = (
            f"SELECT {group or AREA_TOTAL} AS g, funding_source, "
            f"COALESCE(SUM(n) FILTER (WHERE status IN {LENDABLE_SQL}), 0), "
            "COALESCE(SUM(n) FILTER (WHERE status = 'on_loan'), 0), "
            f"COALESCE(SUM(n) FILTER (WHERE status IN {LENDABLE_SQL} AND NOT ever_lent), 0), "
            "COALESCE(SUM(n) FILTER (WHERE status IN ('available', 'reserved') "
            "AND since < :idle_before), 0), "
            "COALESCE(SUM(n) FILTER (WHERE status = 'in_stock' AND NOT ever_available), 0), "
            "COALESCE(SUM(n) FILTER (WHERE status = 'in_repair' AND since < :repair_before), 0), "
            f"COALESCE(SUM(n) FILTER (WHERE status IN {OUT_OF_SERVICE_SQL}), 0) "
            f"FROM device_usage_count WHERE {where} GROUP BY 1, 2 HAVING SUM(n) <> 0"
        )
        bounds = {"idle_before": idle_before, "repair_before": repair_before}
        return await self._rows(sql, params | bounds)

    async def loan_days(
        self, group: Group | None, area: Area, today: dt.date, windows: Sequence[int]
    ) -> list[Any]:
        """(group, days in window 1, days in window 2, …): nights on loan within the last N
        days, of the loans of devices lendable now."""
        where, params = area.where()
        sums, bounds = [], {"today": today}
        for i, days in enumerate(windows):
            bounds[f"from_{i}"] = today - dt.timedelta(days=days)
            sums.append(
                "COALESCE(SUM(n * GREATEST(0, LEAST(ended_on, :today) "
                f"- GREATEST(started_on, :from_{i}))), 0)"
            )
        bounds["oldest"] = today - dt.timedelta(days=max(windows))
        sql = (
            f"SELECT {group or AREA_TOTAL} AS g, {', '.join(sums)} FROM loan_day_count "
            f"WHERE {where} AND ended_on > :oldest GROUP BY 1"
        )
        return await self._rows(sql, params | bounds)

    async def idle_devices(
        self,
        area: Area,
        *,
        idle_before: dt.date | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[DeviceUsage]:
        """Idle devices of an area, most idle first (`idle_before` None: the never lent ones,
        however long), one page plus one row."""
        u = DeviceUsage
        stmt = select(u).where(u.idle_since.is_not(None))
        if idle_before is None:
            stmt = stmt.where(~u.ever_lent)
        else:
            stmt = stmt.where(u.idle_since < idle_before)
        if area.municipality_code is not None:
            stmt = stmt.where(u.municipality_code == area.municipality_code)
        if area.institution_number is not None:
            stmt = stmt.where(u.institution_number == area.institution_number)
        result = await self.session.scalars(paginate(stmt, IDLE_KEY, cursor, limit))
        return result.all()
