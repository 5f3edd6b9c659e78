"""Loaners: a replacement device while a learner's own is in repair, lost or stolen.

The tickets service asks for one (`loaner.requested`, once per ticket); this service makes a
reservation for the learner at the institution, at `LOANER_SCORE` (above every social
criterion, see `allocation_rules`), for a device of the broken one's category and OS, from now to
the default end (the school year's end, within the policy's longest period). The borrower is
the guardian of the broken device's loan (`borrower_id`), so the contracts service drafts the
replacement's contract for them; without one, whoever asked. The learner's active-reservation
limit does not apply: the loaner stands in for a loan they already have. A second request for
the same ticket finds the first reservation (`loaner_ticket_id` is unique) and does nothing.
With auto-approval the reservation gets a free matching device at once or waits first in line;
otherwise it waits, first in line, for staff to approve it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service import events
from reservations_service.config import ReservationsSettings
from reservations_service.exceptions import InstitutionNotFound
from reservations_service.models import Beneficiary, Reservation, ReservationState
from reservations_service.repository import InstitutionRepository, Locks, ReservationRepository
from reservations_service.service.allocation import allocate_newcomer
from reservations_service.service.allocation_rules import LOANER_SCORE
from reservations_service.service.policies import effective_policy, school_year_end_after


@dataclass(frozen=True)
class LoanerRequest:
    """What the tickets service asks for."""

    ticket_id: uuid.UUID
    institution_number: str
    learner_id: str
    borrower_id: str | None
    requested_by: str
    category: str | None
    os: str | None


async def request_loaner(
    session: AsyncSession,
    request: LoanerRequest,
    *,
    now: dt.datetime,
    settings: ReservationsSettings,
) -> Reservation | None:
    """Make the loaner reservation (None when this ticket has one already)."""
    repo = ReservationRepository(session)
    if await repo.by_loaner_ticket(request.ticket_id) is not None:
        return None
    institution = await InstitutionRepository(session).get(request.institution_number)
    if institution is None:
        raise InstitutionNotFound(
            f"No institution {request.institution_number} is known to reservations"
        )
    policy = await effective_policy(session, institution.municipality_code)
    end = min(
        school_year_end_after(now, policy.school_year_end, settings.timezone),
        now + dt.timedelta(days=policy.max_period_days),
    )
    reservation = Reservation(
        id=uuid.uuid4(),
        municipality_code=institution.municipality_code,
        institution_number=institution.registration_number,
        beneficiary=Beneficiary.LEARNER,
        learner_id=request.learner_id,
        requested_by=request.borrower_id or request.requested_by,
        category=request.category,
        os=request.os,
        social_criteria=[],
        priority_score=LOANER_SCORE,
        state=ReservationState.REQUESTED,
        period_start=now,
        period_end=end,
        requested_at=now,
        loaner_ticket_id=request.ticket_id,
    )
    repo.add(reservation)
    await session.flush()
    events.publish(session, events.REQUESTED, reservation)
    await Locks(session).institution(institution.registration_number)
    if policy.auto_approve and not await allocate_newcomer(session, reservation, now=now):
        reservation.state = ReservationState.WAITLISTED
        await session.flush()
        events.publish(session, events.WAITLISTED, reservation)
    return reservation
