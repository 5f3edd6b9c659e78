"""SQL of the projection: per-aggregate state rows and counter deltas, in bulk.

Writes go through `INSERT … SELECT FROM unnest(arrays) ON CONFLICT …`: one statement per table
and batch, whatever the batch size, which is what makes ingestion and the rebuild fast. The
tables are passed in (`ProjectionTables`), so the rebuild writes the same way into its shadow
copies.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from statistics_service.facts import (
    AnyFact,
    ContractFact,
    DeviceFact,
    ReservationFact,
    TicketFact,
    Transition,
)
from statistics_service.models import PROJECTION_TABLES, Institution, ProjectionEpoch

# One writer at a time applies events (replicas and the rebuild's swap take turns): applying
# reads an aggregate's stored contribution and replaces it, which must not interleave.
PROJECTION_LOCK = 0x57A7_0001

# Counter table → (key columns, value columns).
COUNTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "device_count": (
        ("municipality_code", "institution_number", "status", "os", "category", "funding_source"),
        ("n",),
    ),
    "device_warranty_count": (
        (
            "municipality_code",
            "institution_number",
            "status",
            "os",
            "category",
            "funding_source",
            "warranty_ends_on",
        ),
        ("n",),
    ),
    "device_band_count": (("municipality_code", "institution_number", "levels_mask"), ("n",)),
    "reservation_count": (
        ("municipality_code", "institution_number", "state", "prioritised"),
        ("n",),
    ),
    "loan_count": (("municipality_code", "institution_number", "state", "overdue"), ("n",)),
    "loan_criterion_count": (("municipality_code", "institution_number", "criterion"), ("n",)),
    "ticket_count": (
        ("municipality_code", "institution_number", "is_open", "sla_breached"),
        ("n", "timed", "resolve_seconds"),
    ),
    "device_usage_count": (
        (
            "municipality_code",
            "institution_number",
            "funding_source",
            "status",
            "ever_available",
            "ever_lent",
            "since",
        ),
        ("n",),
    ),
    "loan_day_count": (
        ("municipality_code", "institution_number", "started_on", "ended_on"),
        ("n",),
    ),
    "device_order_count": (("municipality_code", "institution_number", "order_reference"), ("n",)),
}
# The counters of device use (`service.usage`), computed from each device's versions.
USAGE_COUNTERS = ("device_usage_count", "loan_day_count")

# Aggregate kind → (state table, id column, fact class).
KINDS: dict[type[Any], tuple[str, str]] = {
    DeviceFact: ("device_state", "device_id"),
    ReservationFact: ("reservation_state", "reservation_id"),
    ContractFact: ("contract_state", "contract_id"),
    TicketFact: ("ticket_state", "ticket_id"),
}

SHADOW_SUFFIX = "__shadow"
_INDEX_NAME = re.compile(r" INDEX (\S+) ON ")


@dataclass(frozen=True)
class ProjectionTables:
    """The tables one projection writes: the live ones, or the rebuild's shadow copies."""

    by_name: dict[str, Table]  # live name → table written

    @classmethod
    def live(cls) -> ProjectionTables:
        """The tables the API reads."""
        return cls({t.name: t for t in PROJECTION_TABLES})

    @classmethod
    def shadow(cls) -> ProjectionTables:
        """Copies named `<table>__shadow` (created by the rebuild, swapped in at its end)."""
        metadata = MetaData()
        return cls(
            {
                t.name: t.to_metadata(metadata, name=t.name + SHADOW_SUFFIX)
                for t in PROJECTION_TABLES
            }
        )

    def __getitem__(self, name: str) -> Table:
        return self.by_name[name]


LIVE = ProjectionTables.live()
_PG = postgresql.dialect()


@functools.cache
def _array_type(table: Table, column: str) -> str:
    return f"{table.c[column].type.compile(dialect=_PG)}[]"


def _encode(value: Any) -> Any:
    # Tuples of criterion names are stored comma-separated (an array column cannot be
    # unnested row by row).
    return ",".join(value) if isinstance(value, tuple) else value


def _decode(fact_type: type[Any], row: dict[str, Any]) -> AnyFact:
    if "criteria" in row:
        row["criteria"] = tuple(c for c in (row["criteria"] or "").split(",") if c)
    return fact_type(**row)


class ProjectionRepository:
    """Reads and writes the projection tables of one `ProjectionTables`."""

    def __init__(self, session: AsyncSession, tables: ProjectionTables = LIVE) -> None:
        self.session, self.tables = session, tables

    async def lock(self) -> None:
        """Wait for the projection's writer lock (released at the end of the transaction)."""
        await self.session.execute(text(f"SELECT pg_advisory_xact_lock({PROJECTION_LOCK})"))

    async def load(self, fact_type: type[Any], ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """Stored facts of these aggregates, by id."""
        wanted = list(ids)
        if not wanted:
            return {}
        name, id_column = KINDS[fact_type]
        table = self.tables[name]
        stmt = select(table).where(
            text(f"{id_column} = ANY(CAST(:ids AS uuid[]))").bindparams(ids=wanted)
        )
        rows = (await self.session.execute(stmt)).mappings().all()
        return {row[id_column]: _decode(fact_type, dict(row)) for row in rows}

    async def contracts_of(self, reservation_ids: Iterable[uuid.UUID]) -> list[ContractFact]:
        """Stored contracts of these reservations."""
        wanted = list(reservation_ids)
        if not wanted:
            return []
        table = self.tables["contract_state"]
        stmt = select(table).where(
            text("reservation_id = ANY(CAST(:ids AS uuid[]))").bindparams(ids=wanted)
        )
        rows = (await self.session.execute(stmt)).mappings().all()
        return [_decode(ContractFact, dict(row)) for row in rows]  # type: ignore[misc]

    async def save(self, facts: Sequence[AnyFact]) -> None:
        """Insert or replace the state rows of these facts (all of one kind)."""
        if not facts:
            return
        name, id_column = KINDS[type(facts[0])]
        columns = [f.name for f in dataclasses.fields(facts[0])]
        values = {c: [_encode(getattr(f, c)) for f in facts] for c in columns}
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != id_column)
        await self._unnest_insert(name, columns, values, f"({id_column}) DO UPDATE SET {updates}")

    async def add_to_counters(self, name: str, rows: dict[tuple[Any, ...], list[int]]) -> None:
        """Add value deltas to a counter's rows (creating rows that do not exist yet)."""
        keys, value_columns = COUNTERS[name]
        changed = [(k, v) for k, v in rows.items() if any(v)]
        if not changed:
            return
        columns = [*keys, *value_columns]
        values: dict[str, list[Any]] = {c: [] for c in columns}
        for key, deltas in changed:
            for column, value in zip(columns, (*key, *deltas), strict=True):
                values[column].append(value)
        table = self.tables[name].name
        updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in value_columns)
        await self._unnest_insert(
            name, columns, values, f"({', '.join(keys)}) DO UPDATE SET {updates}"
        )

    async def add_versions(
        self, rows: Sequence[Transition], devices: Iterable[uuid.UUID]
    ) -> tuple[set[tuple[uuid.UUID, int]], dict[uuid.UUID, list[Transition]]]:
        """Store device versions not stored yet, in one statement with the read of every
        version of `devices` (and of the devices of the added ones); returns the (device,
        version) pairs added and the versions by device, oldest first."""
        wanted = [*devices, *(t.device_id for t in rows)]  # repeats are harmless in ANY()
        if not wanted:
            return set(), {}
        table = self.tables["device_status_change"].name
        # The outer SELECT sees the table as it was before the WITH's INSERT: stored versions
        # come from it, the added ones from RETURNING. A version repeated in `rows` (a
        # redelivery in the same batch) is added once: DO NOTHING skips the repeat.
        result = await self.session.execute(
            text(
                f"WITH added AS (INSERT INTO {table} (device_id, version, at, status) "
                "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS bigint[]), "
                "CAST(:ats AS timestamptz[]), CAST(:statuses AS varchar[])) "
                "ON CONFLICT (device_id, version) DO NOTHING "
                "RETURNING device_id, version, at, status) "
                "SELECT device_id, version, at, status, true FROM added UNION ALL "
                f"SELECT device_id, version, at, status, false FROM {table} "
                "WHERE device_id = ANY(CAST(:wanted AS uuid[]))"
            ),
            {
                "ids": [t.device_id for t in rows],
                "versions": [t.version for t in rows],
                "ats": [t.at for t in rows],
                "statuses": [t.status for t in rows],
                "wanted": wanted,
            },
        )
        added: set[tuple[uuid.UUID, int]] = set()
        history: dict[uuid.UUID, list[Transition]] = {}
        for device_id, version, at, status, is_new in result:
            if is_new:
                added.add((device_id, version))
            history.setdefault(device_id, []).append(Transition(device_id, version, at, status))
        for versions in history.values():
            versions.sort(key=lambda t: t.version)
        return added, history

    async def save_usage(self, rows: Sequence[Any]) -> None:
        """Insert or replace `device_usage` rows (`service.usage.Usage`, loans left out)."""
        if not rows:
            return
        columns = [c.name for c in self.tables["device_usage"].columns]
        values = {c: [getattr(r, c) for r in rows] for c in columns}
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "device_id")
        await self._unnest_insert(
            "device_usage", columns, values, f"(device_id) DO UPDATE SET {updates}"
        )

    async def bump_epoch(self) -> None:
        """Mark that what the views show has changed (see `ProjectionEpoch`)."""
        await bump_epoch(self.session)

    async def remember_institutions(self, seen: dict[str, str]) -> None:
        """Institutions (registration number → municipality) met in events, if new."""
        if not seen:
            return
        numbers, municipalities = list(seen), list(seen.values())
        await self.session.execute(
            text(
                f"INSERT INTO {Institution.__tablename__} "
                "(registration_number, municipality_code, grades_mask, in_viis) "
                "SELECT n, m, 0, false FROM unnest("
                "CAST(:numbers AS varchar[]), CAST(:municipalities AS varchar[])) AS u(n, m) "
                "ON CONFLICT (registration_number) DO NOTHING"
            ),
            {"numbers": numbers, "municipalities": municipalities},
        )

    async def _unnest_insert(
        self, name: str, columns: list[str], values: dict[str, list[Any]], conflict: str
    ) -> None:
        table = self.tables[name]
        arrays = ", ".join(f"CAST(:{c} AS {_array_type(table, c)})" for c in columns)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({arrays}) ON CONFLICT {conflict}"
        )
        await self.session.execute(text(sql), values)

    async def create_shadow_tables(self) -> None:
        """Empty `<table>__shadow` copies of the projection tables (replacing leftovers)."""
        for table in PROJECTION_TABLES:
            shadow = table.name + SHADOW_SUFFIX
            await self.session.execute(text(f"DROP TABLE IF EXISTS {shadow}"))
            await self.session.execute(
                text(f"CREATE TABLE {shadow} (LIKE {table.name} INCLUDING ALL)")
            )

    async def swap_in_shadow_tables(self) -> None:
        """Replace each projection table by its shadow, keeping the live index names."""
        for table in PROJECTION_TABLES:
            live, shadow = table.name, table.name + SHADOW_SUFFIX
            live_names = {_shape(d, live): n for n, d in await self._indexes(live)}
            shadow_indexes = await self._indexes(shadow)
            await self.session.execute(text(f"DROP TABLE {live}"))
            await self.session.execute(text(f"ALTER TABLE {shadow} RENAME TO {live}"))
            for name, definition in shadow_indexes:
                target = live_names.get(_shape(definition, shadow))
                if target is not None and target != name:
                    # Renaming a constraint's index renames the constraint (the primary key).
                    await self.session.execute(text(f'ALTER INDEX "{name}" RENAME TO "{target}"'))

    async def _indexes(self, table: str) -> list[tuple[str, str]]:
        rows = await self.session.execute(
            text(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass)"
            ),
            {"t": table},
        )
        return [(r[0], r[1]) for r in rows]


async def bump_epoch(session: AsyncSession) -> None:
    """Advance the projection epoch (creating its row the first time)."""
    stmt = postgresql.insert(ProjectionEpoch).values(id=1, version=1)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ProjectionEpoch.id],
            set_={"version": ProjectionEpoch.version + 1},
        )
    )


async def epoch(session: AsyncSession) -> int:
    """The projection epoch now (0 before anything was applied)."""
    return int(await session.scalar(select(ProjectionEpoch.version)) or 0)


def _shape(definition: str, table: str) -> str:
    """An index definition without its name, with the table named `T` (to match copies)."""
    unnamed = _INDEX_NAME.sub(" INDEX ON ", definition)
    return re.sub(rf"\b{re.escape(table)}\b", "T", unnamed)
