"""The read models: the inventory's devices and the contracts service's loans.

A device snapshot is applied only when its `version` is newer than the stored one, so
replayed and out-of-order events change nothing. A loan starts with `contract.activated`
(device → borrower and learner) and ends with `contract.returned` or `contract.terminated`;
contracts that never became active (`expired`, `cancelled`) lent nothing and are ignored.
Contract events are keyed by the contract, so one contract's events arrive in order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tickets_service.models import Loan
from tickets_service.repository import DeviceRepository, LoanRepository


@dataclass(frozen=True)
class Snapshot:
    """The fields of the inventory's device snapshot this service keeps."""

    id: uuid.UUID
    inventory_version: int
    asset_tag: str
    municipality_code: str
    institution_number: str | None
    category: str
    os: str
    status: str
    warranty_ends_on: dt.date | None
    insured_until: dt.date | None


@dataclass(frozen=True)
class LoanFacts:
    """What an activated contract says about a loan."""

    contract_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    borrower_id: str
    learner_id: str


@dataclass(frozen=True)
class ReturnFacts:
    """What a returned contract says: its loan, and the device's condition at the return."""

    loan: LoanFacts
    contract_number: str
    condition: str | None
    notes: str | None
    photo_ids: tuple[uuid.UUID, ...]


async def apply_snapshot(session: AsyncSession, snapshot: Snapshot) -> None:
    """Store a device snapshot if it is newer than the one we have."""
    await DeviceRepository(session).upsert_if_newer(asdict(snapshot))


async def loan_started(session: AsyncSession, facts: LoanFacts, at: dt.datetime) -> None:
    """A contract became active: the device is with the borrower's family."""
    repo = LoanRepository(session)
    if await repo.get(facts.contract_id) is not None:
        return  # a replay, or the loan already ended (an end never restarts it)
    repo.add(Loan(**asdict(facts), active=True, activated_at=at))


async def loan_ended(session: AsyncSession, contract_id: uuid.UUID, at: dt.datetime) -> Loan | None:
    """A loan is over (returned or terminated); the loan, if we knew it."""
    loan = await LoanRepository(session).get(contract_id)
    if loan is not None and loan.active:
        loan.active = False
        loan.ended_at = at
    return loan
