"""SQL of the views: sums over the counter tables, grouped by municipality or institution.

Every query reads the (small) counter tables, never the per-aggregate state: a national view
sums a few thousand counter rows whatever the number of devices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service.config import GradeBand

Group = Literal["municipality_code", "institution_number"]
# Grouping by nothing: one row for the whole area, under the key ''.
AREA_TOTAL = "''"
DEVICE_DIMENSIONS = ("status", "os", "category", "funding_source")
OUT_OF_SERVICE_SQL = "('lost', 'stolen', 'written_off')"


@dataclass(frozen=True)
class Area:
    """The area a view sums: the country, one municipality or one institution.

    Not who may see it: that is the caller's tenancy `Scope` (`service.access`)."""

    municipality_code: str | None = None
    institution_number: str | None = None

    def where(self, alias: str = "") -> tuple[str, dict[str, Any]]:
        """SQL condition and parameters for a table whose columns carry `alias`."""
        prefix = f"{alias}." if alias else ""
        clauses, params = ["true"], {}
        if self.municipality_code is not None:
            clauses.append(f"{prefix}municipality_code = :area_municipality")
            params["area_municipality"] = self.municipality_code
        if self.institution_number is not None:
            clauses.append(f"{prefix}institution_number = :area_institution")
            params["area_institution"] = self.institution_number
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class DeviceFilter:
    """Device dimensions a view is restricted to (None = any)."""

    values: dict[str, str] = field(default_factory=dict)

    def where(self) -> tuple[str, dict[str, Any]]:
        """SQL condition and parameters."""
        clauses = [f"{name} = :device_{name}" for name in self.values]
        params = {f"device_{name}": value for name, value in self.values.items()}
        return " AND ".join(["true", *clauses]), params


class ViewRepository:
    """Grouped sums for the views and the daily snapshots."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list((await self.session.execute(text(sql), params)).all())

    async def devices(
        self,
        group: Group,
        area: Area,
        devices: DeviceFilter,
        per_area: tuple[str, ...] = DEVICE_DIMENSIONS,
    ) -> list[Any]:
        """(group, dimension, value, n) for each device dimension; dimensions not `per_area`
        are summed over the whole area (group NULL)."""
        where, params = area.where()
        filt, fparams = devices.where()
        picks = " ".join(f"WHEN GROUPING({d}) = 0 THEN '{d}'" for d in DEVICE_DIMENSIONS)
        values = ", ".join(DEVICE_DIMENSIONS)
        sets = ", ".join(f"(g, {d})" if d in per_area else f"({d})" for d in DEVICE_DIMENSIONS)
        source = f"(SELECT {group} AS g, * FROM device_count WHERE {where} AND {filt}) AS c"
        if group == "municipality_code":
            # Many institutions per group: collapsing them first leaves the grouping sets far
            # fewer rows to hash (the national view).
            source = (
                f"(SELECT {group} AS g, {values}, SUM(n) AS n FROM device_count "
                f"WHERE {where} AND {filt} GROUP BY 1, {values}) AS c"
            )
        sql = (
            f"SELECT g, CASE {picks} END AS dimension, COALESCE({values}) AS value, "
            f"SUM(n) AS n FROM {source} GROUP BY GROUPING SETS ({sets}) HAVING SUM(n) <> 0"
        )
        return await self._rows(sql, params | fparams)

    async def warranty(
        self, group: Group | None, area: Area, devices: DeviceFilter, today: dt.date
    ) -> list[Any]:
        """(group, in_warranty, expired) among devices with a known warranty end."""
        where, params = area.where()
        filt, fparams = devices.where()
        sql = (
            f"SELECT {group or AREA_TOTAL} AS g, "
            "COALESCE(SUM(n) FILTER (WHERE warranty_ends_on >= :today), 0) AS in_warranty, "
            "COALESCE(SUM(n) FILTER (WHERE warranty_ends_on < :today), 0) AS expired "
            f"FROM device_warranty_count WHERE {where} AND {filt} GROUP BY 1"
        )
        return await self._rows(sql, params | fparams | {"today": today})

    async def loans(self, group: Group | None, area: Area) -> list[Any]:
        """(group, state, overdue, n)."""
        return await self._grouped("loan_count", group, area, ("state", "overdue"))

    async def loan_criteria(self, group: Group | None, area: Area) -> list[Any]:
        """(group, criterion, n) of active loans."""
        return await self._grouped("loan_criterion_count", group, area, ("criterion",))

    async def reservations(self, group: Group | None, area: Area) -> list[Any]:
        """(group, state, prioritised, n)."""
        return await self._grouped("reservation_count", group, area, ("state", "prioritised"))

    async def tickets(self, group: Group | None, area: Area) -> list[Any]:
        """(group, is_open, sla_breached, n, timed, resolve_seconds)."""
        where, params = area.where()
        sql = (
            f"SELECT {group or AREA_TOTAL} AS g, is_open, sla_breached, SUM(n) AS n, "
            "SUM(timed) AS timed, SUM(resolve_seconds) AS resolve_seconds "
            f"FROM ticket_count WHERE {where} GROUP BY 1, 2, 3 HAVING SUM(n) <> 0"
        )
        return await self._rows(sql, params)

    async def _grouped(
        self, table: str, group: Group | None, area: Area, columns: tuple[str, ...]
    ) -> list[Any]:
        where, params = area.where()
        cols = ", ".join(columns)
        positions = ", ".join(str(i + 2) for i in range(len(columns)))
        sql = (
            f"SELECT {group or AREA_TOTAL} AS g, {cols}, SUM(n) AS n FROM {table} WHERE {where} "
            f"GROUP BY 1, {positions} HAVING SUM(n) <> 0"
        )
        return await self._rows(sql, params)

    async def pupils(self, group: Group, area: Area) -> list[Any]:
        """(group, grade, pupils) of the institutions in the area."""
        where, params = area.where("i")
        where = where.replace("i.institution_number", "i.registration_number")
        g = "i.municipality_code" if group == "municipality_code" else "i.registration_number"
        sql = (
            f"SELECT {g} AS g, p.grade, SUM(p.pupils) AS pupils FROM pupil_count p "
            "JOIN institution i ON i.registration_number = p.institution_number "
            f"WHERE {where} GROUP BY 1, 2"
        )
        return await self._rows(sql, params)

    async def coverage(
        self, group: Group, area: Area, bands: list[GradeBand]
    ) -> list[tuple[str, str, int, int, int | None]]:
        """(group, band, pupils, devices, devices_needed) summed over institutions.

        Per institution and band: pupils in the band's grades; devices in service meant for a
        grade of the band that the institution teaches (a device without school levels is
        meant for all of them); devices needed = max(0, ceil(pupils / target) - devices).
        One pass per table with a column per band, no join per grade.
        """
        where, params = area.where("i")
        where = where.replace("i.institution_number", "i.registration_number")
        g = "i.municipality_code" if group == "municipality_code" else "i.registration_number"
        pupils, devices, sums = [], [], []
        for n, band in enumerate(bands):
            params |= {f"mask_{n}": band.mask, f"ratio_{n}": band.pupils_per_device}
            mask = f"CAST(:mask_{n} AS int)"
            pupils.append(f"SUM(pupils) FILTER (WHERE ({mask} >> grade) & 1 = 1) AS p{n}")
            devices.append(f"SUM(n) FILTER (WHERE meant & {mask} <> 0) AS d{n}")
            p_n, d_n = f"COALESCE(p.p{n}, 0)", f"COALESCE(d.d{n}, 0)"
            needed = f"GREATEST(0, CEIL({p_n} / CAST(:ratio_{n} AS numeric)) - {d_n})"
            sums.append(
                f"SUM({p_n}) AS pupils_{n}, SUM({d_n}) AS devices_{n}, "
                f"SUM(CASE WHEN CAST(:ratio_{n} AS numeric) IS NOT NULL THEN {needed} END) "
                f"AS needed_{n}"
            )
        sql = f"""
            WITH inst AS (
                SELECT i.registration_number AS r, i.grades_mask, {g} AS g
                FROM institution i WHERE {where}
            ), p AS (
                SELECT institution_number AS r, {", ".join(pupils)} FROM pupil_count
                WHERE institution_number IN (SELECT r FROM inst) GROUP BY 1
            ), d AS (
                SELECT r, {", ".join(devices)} FROM (
                    SELECT c.institution_number AS r, c.n,
                           CASE WHEN c.levels_mask = 0 THEN inst.grades_mask
                                ELSE c.levels_mask & inst.grades_mask END AS meant
                    FROM device_band_count c JOIN inst ON inst.r = c.institution_number
                ) AS meant_for GROUP BY 1
            )
            SELECT inst.g, {", ".join(sums)}
            FROM inst LEFT JOIN p ON p.r = inst.r LEFT JOIN d ON d.r = inst.r GROUP BY inst.g
        """
        out = []
        for row in await self._rows(sql, params):
            for n, band in enumerate(bands):
                needed = row._mapping[f"needed_{n}"]
                out.append(
                    (
                        row.g,
                        band.name,
                        int(row._mapping[f"pupils_{n}"]),
                        int(row._mapping[f"devices_{n}"]),
                        None if needed is None else int(needed),
                    )
                )
        return out

    async def institution(self, registration_number: str) -> Any:
        """Registration number, municipality and name of an institution we know."""
        rows = await self._rows(
            "SELECT registration_number, municipality_code, name FROM institution "
            "WHERE registration_number = :n",
            {"n": registration_number},
        )
        return rows[0] if rows else None

    async def institution_names(self, area: Area) -> dict[str, str | None]:
        """Names of the institutions in the area, by registration number."""
        where, params = area.where("i")
        where = where.replace("i.institution_number", "i.registration_number")
        rows = await self._rows(
            f"SELECT registration_number, name FROM institution i WHERE {where}", params
        )
        return {r.registration_number: r.name for r in rows}

    async def municipality_known(self, code: str) -> bool:
        """Whether any institution or counter names this municipality."""
        rows = await self._rows(
            "SELECT 1 FROM institution WHERE municipality_code = :m "
            "UNION ALL SELECT 1 FROM device_count WHERE municipality_code = :m LIMIT 1",
            {"m": code},
        )
        return bool(rows)
