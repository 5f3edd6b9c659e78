"""Repositories of tickets, devices, loans, policies, comments, photos and claims."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared_kit.pagination import fetch_page
from shared_kit.readmodel import upsert_if_newer
from tickets_service.models import (
    Comment,
    Device,
    InsuranceClaim,
    Loan,
    Photo,
    Severity,
    SlaPolicy,
    Ticket,
    TicketSource,
    TicketState,
    Transition,
    Visibility,
)


@dataclass
class QueueCounts:
    """Counts of one municipality's queue."""

    by_state: dict[str, int]
    open_by_severity: dict[str, int]
    open_by_assignee: dict[str | None, int]
    oldest_open: Ticket | None
    response_breached_open: int
    resolution_breached_open: int


# Literal, as in the open-queue index's predicate: with bind parameters a generic prepared
# plan could not prove that the partial index applies.
OPEN = text("ticket.state NOT IN ('resolved', 'closed')")


class DeviceRepository:
    """Devices of the read model."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: uuid.UUID) -> Device | None:
        """A device by id."""
        return await self.session.get(Device, device_id)

    async def many(self, device_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Device]:
        """Devices by id (one query)."""
        ids = list(set(device_ids))
        if not ids:
            return {}
        rows = await self.session.scalars(select(Device).where(Device.id.in_(ids)))
        return {d.id: d for d in rows}

    async def by_asset_tag(self, asset_tag: str) -> Sequence[Device]:
        """Devices with this asset tag (at most 20)."""
        stmt = select(Device).where(Device.asset_tag == asset_tag).order_by(Device.id).limit(20)
        return (await self.session.scalars(stmt)).all()

    async def upsert_if_newer(self, values: dict[str, Any]) -> bool:
        """Insert or replace a device, unless the stored snapshot is as new; True if applied."""
        return await upsert_if_newer(self.session, Device, values, version="inventory_version")


class LoanRepository:
    """Loans of the read model."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, contract_id: uuid.UUID) -> Loan | None:
        """A loan by its contract id."""
        return await self.session.get(Loan, contract_id)

    async def active_for(self, device_id: uuid.UUID) -> Loan | None:
        """The device's current loan (the latest activated, if the events ever overlap)."""
        stmt = (
            select(Loan)
            .where(Loan.device_id == device_id, Loan.active)
            .order_by(Loan.activated_at.desc())
            .limit(1)
        )
        return await self.session.scalar(stmt)

    def add(self, loan: Loan) -> None:
        """Stage a new loan."""
        self.session.add(loan)


class PolicyRepository:
    """SLA policies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, municipality_code: str, severity: Severity, *, for_update: bool = False
    ) -> SlaPolicy | None:
        """A municipality's stored policy for one severity (locked for update if asked)."""
        return await self.session.get(
            SlaPolicy,
            (municipality_code, severity),
            with_for_update=for_update,
            populate_existing=for_update,
        )

    async def of_municipality(self, municipality_code: str) -> Sequence[SlaPolicy]:
        """A municipality's stored policies."""
        stmt = select(SlaPolicy).where(SlaPolicy.municipality_code == municipality_code)
        return (await self.session.scalars(stmt)).all()

    def add(self, policy: SlaPolicy) -> None:
        """Stage a new policy."""
        self.session.add(policy)


class TicketRepository:
    """Tickets and their transitions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, ticket: Ticket) -> None:
        """Stage a new ticket."""
        self.session.add(ticket)

    def add_transition(self, transition: Transition) -> None:
        """Stage a transition (the audit trail)."""
        self.session.add(transition)

    async def get(self, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket | None:
        """A ticket by id (locked for update if asked)."""
        return await self.session.get(
            Ticket, ticket_id, with_for_update=for_update, populate_existing=for_update
        )

    async def from_return(self, contract_id: uuid.UUID) -> Ticket | None:
        """The ticket opened automatically for a returned contract."""
        stmt = select(Ticket).where(
            Ticket.contract_id == contract_id, Ticket.source == TicketSource.CONTRACT_RETURN
        )
        return await self.session.scalar(stmt)

    async def flag_due(
        self, clock: str, now: dt.datetime, limit: int
    ) -> Sequence[tuple[uuid.UUID, dt.datetime]]:
        """Flag up to `limit` clocks past their deadline as breached at that deadline;
        (ticket id, deadline) of each. Rows another transaction holds are left for the next
        run (SKIP LOCKED). A bulk UPDATE: the ticket's `version` (its ETag) is untouched, as
        the flag is bookkeeping, not a change anyone could have based a decision on."""
        due: InstrumentedAttribute[dt.datetime | None]
        if clock == "response":
            due, flag = Ticket.response_due_at, Ticket.response_breached_at
            pending = [Ticket.first_response_at.is_(None), flag.is_(None), due < now]
        else:
            due, flag = Ticket.resolution_due_at, Ticket.resolution_breached_at
            pending = [due.is_not(None), flag.is_(None), due < now]
        ids = (
            select(Ticket.id)
            .where(*pending)
            .order_by(due)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(Ticket)
            .where(Ticket.id.in_(ids), *pending)
            .values({flag: due})
            .returning(Ticket.id, due)
            .execution_options(synchronize_session=False)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(row[0], cast(dt.datetime, row[1])) for row in rows]  # `due < now`: never NULL

    async def many(self, ids: Iterable[uuid.UUID]) -> Sequence[Ticket]:
        """Tickets by id, freshly read (bulk updates bypass the identity map)."""
        stmt = (
            select(Ticket)
            .where(Ticket.id.in_(list(ids)))
            .order_by(Ticket.id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def queue(self, municipality_code: str) -> QueueCounts:
        """Counts of a municipality's queue, its oldest open ticket and its open breaches."""
        mine = Ticket.municipality_code == municipality_code
        by_state = await self._count_by(Ticket.state, mine)
        by_severity = await self._count_by(Ticket.severity, mine, OPEN)
        oldest = await self.session.scalar(
            select(Ticket).where(mine, OPEN).order_by(Ticket.opened_at, Ticket.id).limit(1)
        )
        breaches = (
            await self.session.execute(
                select(
                    func.count().filter(Ticket.response_breached_at.is_not(None)),
                    func.count().filter(Ticket.resolution_breached_at.is_not(None)),
                ).where(mine, OPEN)
            )
        ).one()
        return QueueCounts(
            by_state={s.value: by_state.get(s, 0) for s in TicketState},
            open_by_severity={s.value: by_severity.get(s, 0) for s in Severity},
            open_by_assignee=await self._count_by(Ticket.assignee_id, mine, OPEN),
            oldest_open=oldest,
            response_breached_open=int(breaches[0]),
            resolution_breached_open=int(breaches[1]),
        )

    async def _count_by(self, column: Any, *where: Any) -> dict[Any, int]:
        stmt = select(column, func.count()).where(*where).group_by(column)
        return {key: int(n) for key, n in await self.session.execute(stmt)}


class CommentRepository:
    """Comments."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, comment: Comment) -> None:
        """Stage a new comment."""
        self.session.add(comment)

    async def page(
        self,
        ticket_id: uuid.UUID,
        visibilities: Sequence[Visibility],
        cursor: str | None,
        limit: int,
    ) -> Sequence[Comment]:
        """One page of a ticket's comments of these visibilities, oldest first."""
        stmt = select(Comment).where(
            Comment.ticket_id == ticket_id, Comment.visibility.in_(visibilities)
        )
        columns = [Comment.created_at, Comment.id]
        return await fetch_page(self.session, stmt, columns, cursor, limit)


class PhotoRepository:
    """Photos of tickets."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, photo: Photo) -> None:
        """Stage a new photo."""
        self.session.add(photo)

    async def count(self, ticket_id: uuid.UUID) -> int:
        """How many photos a ticket has."""
        stmt = select(func.count()).where(Photo.ticket_id == ticket_id)
        return int(await self.session.scalar(stmt) or 0)

    async def listing(self, ticket_id: uuid.UUID) -> Sequence[Any]:
        """Metadata of a ticket's photos, in upload order (without their content)."""
        stmt = (
            select(
                Photo.id,
                Photo.position,
                Photo.filename,
                Photo.media_type,
                Photo.size,
                Photo.sha256,
                Photo.created_at,
            )
            .where(Photo.ticket_id == ticket_id)
            .order_by(Photo.position)
        )
        return (await self.session.execute(stmt)).all()

    async def get(self, ticket_id: uuid.UUID, photo_id: uuid.UUID) -> Photo | None:
        """One photo of a ticket."""
        stmt = select(Photo).where(Photo.ticket_id == ticket_id, Photo.id == photo_id)
        return await self.session.scalar(stmt)


class ClaimRepository:
    """Insurance claims."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, claim: InsuranceClaim) -> None:
        """Stage a new claim."""
        self.session.add(claim)

    async def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[InsuranceClaim]:
        """A ticket's claims, oldest first."""
        stmt = (
            select(InsuranceClaim)
            .where(InsuranceClaim.ticket_id == ticket_id)
            .order_by(InsuranceClaim.filed_at, InsuranceClaim.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def get(
        self, ticket_id: uuid.UUID, claim_id: uuid.UUID, *, for_update: bool = False
    ) -> InsuranceClaim | None:
        """One claim of a ticket (locked for update if asked)."""
        stmt = select(InsuranceClaim).where(
            InsuranceClaim.ticket_id == ticket_id, InsuranceClaim.id == claim_id
        )
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(stmt)

    async def exists(self, insurer: str, claim_number: str) -> bool:
        """Whether this insurer's claim number is already recorded."""
        stmt = select(InsuranceClaim.id).where(
            InsuranceClaim.insurer == insurer, InsuranceClaim.claim_number == claim_number
        )
        return (await self.session.scalar(stmt)) is not None
