"""All SQL of the contracts service lives here."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from contracts_service.models import (
    Contract,
    ContractDocument,
    ContractReturn,
    ContractState,
    Device,
    Lender,
    LenderKind,
    ReturnPhoto,
    Signature,
)
from shared_kit.pagination import fetch_page
from shared_kit.readmodel import upsert_if_newer
from shared_kit.tenancy import Scope


@dataclass
class ContractFilters:
    """Search criteria for contracts."""

    states: Sequence[ContractState] = ()
    municipality_code: str | None = None
    institution_number: str | None = None
    device_id: uuid.UUID | None = None
    reservation_id: uuid.UUID | None = None
    overdue: bool | None = None


class ContractRepository:
    """Loan contracts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, contract_id: uuid.UUID, *, for_update: bool = False) -> Contract | None:
        stmt = select(Contract).where(Contract.id == contract_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def by_reservation(
        self, reservation_id: uuid.UUID, *, for_update: bool = False
    ) -> Contract | None:
        """The reservation's contract that is not cancelled (there is at most one)."""
        stmt = select(Contract).where(
            Contract.reservation_id == reservation_id, Contract.state != ContractState.CANCELLED
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    def add(self, contract: Contract) -> None:
        self.session.add(contract)

    async def lent_with(self, device_id: uuid.UUID) -> Contract | None:
        """The contract the device is lent under now (active, or terminated and not back)."""
        stmt = (
            select(Contract)
            .where(
                Contract.device_id == device_id,
                or_(
                    Contract.state == ContractState.ACTIVE,
                    and_(
                        Contract.state == ContractState.TERMINATED,
                        Contract.returned_at.is_(None),
                    ),
                ),
            )
            .order_by(Contract.activated_at.desc())
            .limit(1)
            .with_for_update()
        )
        return await self.session.scalar(stmt)

    async def page(
        self, scope: Scope, f: ContractFilters, cursor: str | None, limit: int
    ) -> Sequence[Contract]:
        stmt = select(Contract)
        condition = scope.condition(
            municipality=Contract.municipality_code,
            institution=Contract.institution_number,
            person=Contract.borrower_id,
        )
        if condition is not None:
            stmt = stmt.where(condition)
        if f.states:
            stmt = stmt.where(Contract.state.in_(list(f.states)))
        if f.municipality_code:
            stmt = stmt.where(Contract.municipality_code == f.municipality_code)
        if f.institution_number:
            stmt = stmt.where(Contract.institution_number == f.institution_number)
        if f.device_id:
            stmt = stmt.where(Contract.device_id == f.device_id)
        if f.reservation_id:
            stmt = stmt.where(Contract.reservation_id == f.reservation_id)
        if f.overdue is not None:
            stmt = stmt.where(
                Contract.overdue_since.is_not(None)
                if f.overdue
                else Contract.overdue_since.is_(None)
            )
        return await fetch_page(
            self.session, stmt, [Contract.created_at, Contract.id], cursor, limit
        )

    async def awaiting_lender_details(
        self, kind: LenderKind, code: str, states: Sequence[ContractState]
    ) -> Sequence[Contract]:
        """Contracts in `states` whose lender a change of this lender record may affect."""
        column = (
            Contract.institution_number
            if kind is LenderKind.INSTITUTION
            else (Contract.municipality_code)
        )
        stmt = (
            select(Contract)
            .where(column == code, Contract.state.in_(list(states)))
            .order_by(Contract.created_at, Contract.id)
            .with_for_update()
        )
        return (await self.session.scalars(stmt)).all()

    async def due_to_expire(
        self, now: dt.datetime, states: Sequence[ContractState], limit: int
    ) -> Sequence[Contract]:
        """Unsigned contracts past their signing deadline, locked (others skip them)."""
        stmt = (
            select(Contract)
            .where(Contract.state.in_(list(states)), Contract.sign_by <= now)
            .order_by(Contract.sign_by)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def due_overdue(self, now: dt.datetime, limit: int) -> Sequence[Contract]:
        """Active contracts whose period ended and that were not marked overdue yet."""
        stmt = (
            select(Contract)
            .where(
                Contract.state == ContractState.ACTIVE,
                Contract.period_end <= now,
                Contract.overdue_since.is_(None),
            )
            .order_by(Contract.period_end)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()


class DocumentRepository:
    """Immutable contract documents (insert only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, document: ContractDocument) -> None:
        self.session.add(document)

    async def get(self, contract_id: uuid.UUID, number: int) -> ContractDocument | None:
        return await self.session.scalar(
            select(ContractDocument).where(
                ContractDocument.contract_id == contract_id, ContractDocument.number == number
            )
        )

    async def by_sha256(self, contract_id: uuid.UUID, sha256: str) -> ContractDocument | None:
        return await self.session.scalar(
            select(ContractDocument).where(
                ContractDocument.contract_id == contract_id, ContractDocument.sha256 == sha256
            )
        )

    async def find_sha256(self, sha256: str) -> ContractDocument | None:
        """Any contract's document with this hash."""
        return await self.session.scalar(
            select(ContractDocument).where(ContractDocument.sha256 == sha256).limit(1)
        )

    async def listing(self, contract_id: uuid.UUID) -> Sequence[Any]:
        """Metadata of every document of a contract (no PDF bytes), oldest first."""
        rows = await self.session.execute(
            select(
                ContractDocument.number,
                ContractDocument.kind,
                ContractDocument.sha256,
                ContractDocument.size,
                ContractDocument.template_version,
                ContractDocument.created_at,
            )
            .where(ContractDocument.contract_id == contract_id)
            .order_by(ContractDocument.number)
        )
        return rows.all()

    async def next_number(self, contract_id: uuid.UUID) -> int:
        current = await self.session.scalar(
            select(func.max(ContractDocument.number)).where(
                ContractDocument.contract_id == contract_id
            )
        )
        return int(current or 0) + 1


class SignatureRepository:
    """Signature records."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, signature: Signature) -> None:
        self.session.add(signature)

    async def of(self, contract_id: uuid.UUID) -> Sequence[Signature]:
        stmt = (
            select(Signature)
            .options(selectinload(Signature.document))
            .where(Signature.contract_id == contract_id)
            .order_by(Signature.signed_at)
        )
        return (await self.session.scalars(stmt)).all()

    async def of_many(self, contract_ids: Sequence[uuid.UUID]) -> Sequence[Signature]:
        if not contract_ids:
            return []
        stmt = (
            select(Signature)
            .options(selectinload(Signature.document))
            .where(Signature.contract_id.in_(list(contract_ids)))
            .order_by(Signature.signed_at)
        )
        return (await self.session.scalars(stmt)).all()


class LenderRepository:
    """Lenders' legal details."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, lender: Lender) -> None:
        self.session.add(lender)

    async def get(self, kind: LenderKind, code: str) -> Lender | None:
        return await self.session.scalar(
            select(Lender).where(Lender.kind == kind, Lender.code == code)
        )

    async def page(self, scope: Scope, cursor: str | None, limit: int) -> Sequence[Lender]:
        """Lenders of the scope's municipalities (all for an unrestricted scope)."""
        stmt = select(Lender)
        condition = scope.condition(municipality=Lender.municipality_code)
        if condition is not None:
            stmt = stmt.where(condition)
        return await fetch_page(self.session, stmt, [Lender.kind, Lender.code], cursor, limit)


class DeviceRepository:
    """The device read model."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: uuid.UUID) -> Device | None:
        return await self.session.get(Device, device_id)

    async def upsert_if_newer(self, values: dict[str, Any]) -> bool:
        """Insert or update a device unless the stored version is as new; True when applied."""
        return await upsert_if_newer(self.session, Device, values, version="inventory_version")


class ReturnRepository:
    """Returns and their photos."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, record: ContractReturn | ReturnPhoto) -> None:
        self.session.add(record)

    async def of(self, contract_id: uuid.UUID) -> ContractReturn | None:
        return await self.session.scalar(
            select(ContractReturn).where(ContractReturn.contract_id == contract_id)
        )

    async def photos(self, return_id: uuid.UUID) -> Sequence[Any]:
        """Photo metadata (no bytes)."""
        rows = await self.session.execute(
            select(
                ReturnPhoto.id,
                ReturnPhoto.filename,
                ReturnPhoto.media_type,
                ReturnPhoto.size,
                ReturnPhoto.sha256,
                ReturnPhoto.created_at,
            )
            .where(ReturnPhoto.return_id == return_id)
            .order_by(ReturnPhoto.position)
        )
        return rows.all()

    async def photo(self, return_id: uuid.UUID, photo_id: uuid.UUID) -> ReturnPhoto | None:
        return await self.session.scalar(
            select(ReturnPhoto).where(
                ReturnPhoto.return_id == return_id, ReturnPhoto.id == photo_id
            )
        )
