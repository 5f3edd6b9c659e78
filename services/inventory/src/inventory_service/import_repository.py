"""SQL of the imports: their records, the list of a municipality's, and the background jobs'
claims and leases."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.models import DeviceImport, ImportState
from shared_kit.pagination import decode_cursor

PENDING = (ImportState.QUEUED, ImportState.RUNNING)


@dataclass(frozen=True)
class ClaimedJob:
    """A background import a worker holds the lease of."""

    id: uuid.UUID
    lease_owner: uuid.UUID


class ImportRepository:
    """Import records and background import jobs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, record: DeviceImport) -> None:
        """Add an import record to the session."""
        self.session.add(record)

    async def get(self, import_id: uuid.UUID) -> DeviceImport | None:
        """An import record by id."""
        return await self.session.get(DeviceImport, import_id)

    async def newest_first(
        self, municipality_ids: Sequence[uuid.UUID] | None, cursor: str | None, limit: int
    ) -> Sequence[DeviceImport]:
        """A page of imports, the newest first (None: every municipality's)."""
        key = (DeviceImport.created_at, DeviceImport.id)
        stmt = select(DeviceImport).where(DeviceImport.dry_run.is_(False))
        if municipality_ids is not None:
            stmt = stmt.where(DeviceImport.municipality_id.in_(municipality_ids))
        if cursor:
            stmt = stmt.where(tuple_(*key) < tuple_(*decode_cursor(cursor, key)))
        stmt = stmt.order_by(key[0].desc(), key[1].desc()).limit(limit + 1)
        return (await self.session.scalars(stmt)).all()

    async def claim(self, now: dt.datetime, lease: dt.timedelta) -> ClaimedJob | None:
        """Take the oldest queued job, or a running one whose worker's lease ran out."""
        pending = (
            select(DeviceImport.id)
            .where(DeviceImport.state.in_(PENDING))
            .where((DeviceImport.lease_until.is_(None)) | (DeviceImport.lease_until < now))
            .order_by(DeviceImport.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        owner = uuid.uuid4()
        claimed = await self.session.scalar(
            update(DeviceImport)
            .where(DeviceImport.id == pending)
            .values(state=ImportState.RUNNING, lease_owner=owner, lease_until=now + lease)
            .returning(DeviceImport.id)
        )
        return ClaimedJob(claimed, owner) if claimed is not None else None

    async def held(self, job: ClaimedJob) -> DeviceImport | None:
        """The job's record, locked, while the worker still holds its lease."""
        return await self.session.scalar(
            select(DeviceImport)
            .where(DeviceImport.id == job.id, DeviceImport.lease_owner == job.lease_owner)
            .where(DeviceImport.state == ImportState.RUNNING)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def content(self, import_id: uuid.UUID) -> bytes | None:
        """A background import's file (kept until it is done)."""
        return await self.session.scalar(
            select(DeviceImport.content).where(DeviceImport.id == import_id)
        )

    async def release(self, job: ClaimedJob) -> None:
        """Hand a job back (a worker stopping): another takes it at once."""
        await self.session.execute(
            update(DeviceImport)
            .where(DeviceImport.id == job.id, DeviceImport.lease_owner == job.lease_owner)
            .values(lease_owner=None, lease_until=None)
        )
