"""Insurance claims for damage and theft: insurer, claim number, status and outcome.

Support and the school's administrators record claims on `damage` and `stolen` tickets of a
device that is insured (its `insured_until` not past, as the inventory reports it; a device
the inventory has not described yet is given the benefit of the doubt). A claim number is
unique per insurer. Status: `filed` → `in_review` → `approved` → `paid`, or `rejected` /
`withdrawn`; `decided_at` is set when it is approved, rejected or withdrawn.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.problems import Unprocessable
from shared_kit.tenancy import actor_of
from tickets_service.exceptions import (
    ClaimNotFound,
    DuplicateClaim,
    IllegalTransition,
    NotApplicable,
)
from tickets_service.models import INSURANCE_CATEGORIES, ClaimStatus, InsuranceClaim, Ticket
from tickets_service.repository import ClaimRepository, DeviceRepository
from tickets_service.schemas import ClaimCreate, ClaimUpdate
from tickets_service.service import access

C = ClaimStatus
CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    C.FILED: frozenset({C.IN_REVIEW, C.APPROVED, C.REJECTED, C.WITHDRAWN}),
    C.IN_REVIEW: frozenset({C.APPROVED, C.REJECTED, C.WITHDRAWN}),
    C.APPROVED: frozenset({C.PAID}),
    C.REJECTED: frozenset(),
    C.PAID: frozenset(),
    C.WITHDRAWN: frozenset(),
}
INITIAL = (C.FILED, C.IN_REVIEW)
DECIDED = (C.APPROVED, C.REJECTED, C.WITHDRAWN)


async def list_claims(session: AsyncSession, ticket: Ticket) -> Sequence[InsuranceClaim]:
    """The ticket's claims, oldest first."""
    return await ClaimRepository(session).of_ticket(ticket.id)


async def create_claim(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    data: ClaimCreate,
    today: dt.date,
    now: dt.datetime,
) -> InsuranceClaim:
    """Record a claim filed with the insurer."""
    access.ensure_staff_action(principal, ticket, "record insurance claims")
    if ticket.category not in INSURANCE_CATEGORIES:
        raise NotApplicable("Insurance claims are for damage and theft")
    device = await DeviceRepository(session).get(ticket.device_id)
    if device is not None and (device.insured_until is None or device.insured_until < today):
        raise NotApplicable(
            "The device is not insured", insured_until=str(device.insured_until or "") or None
        )
    if data.status not in INITIAL:
        raise Unprocessable("A new claim is filed or in review", allowed=[s.value for s in INITIAL])
    repo = ClaimRepository(session)
    if await repo.exists(data.insurer, data.claim_number):
        raise DuplicateClaim(f"{data.insurer} claim {data.claim_number} is already recorded")
    claim = InsuranceClaim(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        insurer=data.insurer,
        claim_number=data.claim_number,
        status=data.status,
        filed_at=now,
        created_by=actor_of(principal),
    )
    repo.add(claim)
    await session.flush()
    return claim


async def update_claim(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    claim_id: uuid.UUID,
    data: ClaimUpdate,
    if_match: str | None,
    now: dt.datetime,
) -> InsuranceClaim:
    """Move a claim on: its status, the outcome, a payout."""
    access.ensure_staff_action(principal, ticket, "update insurance claims")
    claim = await ClaimRepository(session).get(ticket.id, claim_id, for_update=True)
    if claim is None:
        raise ClaimNotFound(f"No insurance claim {claim_id} on ticket {ticket.number}")
    check_if_match(if_match, claim.version)
    if data.status is not claim.status:
        if data.status not in CLAIM_TRANSITIONS[claim.status]:
            raise IllegalTransition(
                f"A claim cannot go from {claim.status.value} to {data.status.value}",
                current_state=claim.status.value,
                allowed=sorted(s.value for s in CLAIM_TRANSITIONS[claim.status]),
            )
        claim.status = data.status
        if data.status in DECIDED:
            claim.decided_at = now
    if data.payout_amount is not None and claim.status not in (C.APPROVED, C.PAID):
        raise Unprocessable("A payout belongs to an approved or paid claim")
    if data.outcome is not None:
        claim.outcome = data.outcome
    if data.payout_amount is not None:
        claim.payout_amount = data.payout_amount
    await session.flush()
    return claim
