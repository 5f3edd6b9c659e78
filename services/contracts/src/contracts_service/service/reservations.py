"""What the reservations service's events do to contracts.

- An approved reservation drafts the contract, once per reservation (a replay or a second
  approval finds the existing one). The borrower is the reservation's `requested_by`, the
  platform person who asked (the guardian); without a person there the reservation cannot
  become a contract (`BorrowerUnknown`). Names and personal code come from the gateway; when
  it is unreachable `GatewayUnavailable` is raised and the consumer retries, so nothing is half
  drafted. The learner's name comes from there too when the learner is a person (their
  personal code is dropped at once); otherwise the contract shows the learner's platform id.
  A device not yet in the read model is waited for (`DeviceUnknown`, retried until the
  inventory's event arrives through the separate inventory consumer).
- A reservation that goes away (cancelled, expired, rejected) cancels a contract that is not
  active yet (`lifecycle.cancel`); so does a reservation that gave up its device (to a repair,
  another school or another family), for the contract naming that device. A reservation has
  at most one contract that is not cancelled: its next approval drafts a new one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.config import ContractsSettings
from contracts_service.document.press import Press
from contracts_service.exceptions import BorrowerUnknown, DeviceUnknown, PersonNotFound
from contracts_service.gateway import PeopleDirectory, PersonIdentity
from contracts_service.models import Contract
from contracts_service.repository import ContractRepository, DeviceRepository
from contracts_service.service import drafting, lifecycle
from shared_kit.crypto import RotatingCipher

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Approval:
    """What an approved reservation says: who asked, for whom, which device and when."""

    reservation_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    beneficiary: str | None
    requested_by: str | None
    period_start: dt.datetime
    period_end: dt.datetime


def _borrower_id(approval: Approval) -> uuid.UUID:
    try:
        return uuid.UUID(approval.requested_by or "")
    except ValueError:
        raise BorrowerUnknown(
            f"Reservation {approval.reservation_id} names no person in requested_by "
            "(a machine client or nobody); a contract needs the guardian who borrows"
        ) from None


async def _learner_name(people: PeopleDirectory, approval: Approval) -> str | None:
    if approval.beneficiary not in (None, "learner"):
        return None
    try:
        learner = await people.person(uuid.UUID(approval.learner_id))
    except (ValueError, PersonNotFound):
        return None
    return learner.full_name


async def _people(
    people: PeopleDirectory, borrower_id: uuid.UUID, approval: Approval
) -> tuple[PersonIdentity, str | None]:
    # Both lookups at once; a failure of the borrower's wins, as if asked one after the other.
    lookups = (people.person(borrower_id), _learner_name(people, approval))
    borrower, learner = await asyncio.gather(*lookups, return_exceptions=True)
    if isinstance(borrower, BaseException):
        raise borrower
    if isinstance(learner, BaseException):
        raise learner
    return borrower, learner


async def approved(
    session: AsyncSession,
    *,
    settings: ContractsSettings,
    cipher: RotatingCipher,
    press: Press,
    people: PeopleDirectory,
    approval: Approval,
    now: dt.datetime,
) -> Contract:
    """Draft the reservation's contract (the existing one when drafted before)."""
    existing = await ContractRepository(session).by_reservation(approval.reservation_id)
    if existing is not None:
        return existing
    device = await DeviceRepository(session).get(approval.device_id)
    if device is None:
        raise DeviceUnknown(f"Device {approval.device_id} is not known (yet)")
    borrower_id = _borrower_id(approval)
    borrower, learner_name = await _people(people, borrower_id, approval)
    facts = drafting.ReservationFacts(
        reservation_id=approval.reservation_id,
        device_id=approval.device_id,
        municipality_code=approval.municipality_code,
        institution_number=approval.institution_number,
        learner_id=approval.learner_id,
        borrower_id=borrower_id,
        period_start=approval.period_start,
        period_end=approval.period_end,
    )
    return await drafting.draft(
        session=session,
        settings=settings,
        cipher=cipher,
        press=press,
        facts=facts,
        device=device,
        borrower=borrower,
        learner_name=learner_name,
        now=now,
    )


async def released(
    session: AsyncSession,
    *,
    reservation_id: uuid.UUID,
    reason: str,
    now: dt.datetime,
    device: uuid.UUID | None = None,
) -> Contract | None:
    """Cancel the reservation's contract unless it is active already (with `device`: only a
    contract for that device); the contract, if any."""
    contract = await ContractRepository(session).by_reservation(reservation_id, for_update=True)
    if contract is None or device not in (None, contract.device_id):
        return None
    if not await lifecycle.cancel(session, contract, reason=reason, now=now):
        logger.info("%s: contract %s is %s, left as is", reason, contract.id, contract.state)
    return contract
