"""What happens to reservations without a request: expiry, loans starting and ending.

Expiry runs with the kit's housekeeping (every `housekeeping_interval_s`, a minute by default,
and once at start-up): approved reservations past their pickup deadline expire
(`not_picked_up`) and requests still waiting when their whole period has passed expire
(`period_ended`); then every institution with expired allocations or a waitlist is rebalanced,
which also offers devices whose earlier bookings have ended by now. Institution locks are taken
up front in sorted order, so the job never waits in a cycle with a request or a consumer.

Loans (events from the contracts service, keyed by `reservation_id`; a contract that names no
reservation, or one this service does not know, is ignored):
- `contract.activated` → `fulfilled`: the device is with the family, whatever was planned.
  A contract for a reservation that had meanwhile expired, been cancelled or lost its device
  (to a repair, say) is honoured; approved reservations that were to get the same device for
  an overlapping period (not picked up yet) let it go and get another free device or wait
  again (each a `device_withdrawn` event). When the family got another device than the one
  approved, the approved one is withdrawn and offered to the waitlist. Only a device already
  lent to someone else for that period refuses the event (dead-lettered for people to
  resolve);
- `contract.returned`, `contract.expired` and `contract.terminated` end the loan: the
  allocation's period ends at that moment (never before it began), and the device goes to
  the next in line as soon as the inventory lists it as lendable again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service import events
from reservations_service.exceptions import DeviceTaken
from reservations_service.models import ALLOCATING, Reservation, ReservationState
from reservations_service.repository import Locks, ReservationRepository
from reservations_service.service.allocation import (
    EXCLUSION_VIOLATION,
    let_go,
    lock_for,
    offer_again,
    rebalance,
)

logger = logging.getLogger(__name__)

S = ReservationState
NOT_PICKED_UP = "not_picked_up"
PERIOD_ENDED = "period_ended"
HANDED_TO_ANOTHER = "device handed to another"
OTHER_DEVICE = "another device handed out"


async def expire_overdue(
    session: AsyncSession, *, now: dt.datetime, limit: int = 500
) -> dict[str, int]:
    """Expire what is overdue, then offer freed devices; returns counts for the log."""
    repo = ReservationRepository(session)
    overdue = await repo.overdue(now, limit)
    waiting = await repo.institutions_with_waitlist()
    institutions = {number for _, number in overdue} | set(waiting)
    await Locks(session).institution(*institutions)
    expired = 0
    for reservation_id, _ in overdue:
        reservation = await repo.get(reservation_id, for_update=True)
        if reservation is not None and _expire(session, reservation, now):
            expired += 1
    await session.flush()
    offered = 0
    for number in sorted(institutions):
        outcome = await rebalance(session, institution=number, now=now)
        offered += len(outcome.allocated)
    return {"reservations_expired": expired, "reservations_offered": offered}


def _expire(session: AsyncSession, reservation: Reservation, now: dt.datetime) -> bool:
    deadline = reservation.pickup_deadline
    if reservation.state is S.APPROVED and deadline is not None and deadline <= now:
        reason = NOT_PICKED_UP
    elif reservation.state in (S.REQUESTED, S.WAITLISTED) and reservation.period_end <= now:
        reason = PERIOD_ENDED
    else:
        return False  # changed since it was selected
    reservation.state = S.EXPIRED
    reservation.reason = reason
    reservation.decided_at = now
    events.publish(session, events.EXPIRED, reservation)
    return True


async def contract_activated(
    session: AsyncSession,
    *,
    reservation_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
    at: dt.datetime,
    now: dt.datetime,
) -> None:
    """The family has the device: the reservation is fulfilled."""
    if reservation_id is None:
        return  # a contract made without a reservation is none of ours
    reservation = await lock_for(session, reservation_id)
    if reservation is None:
        logger.info("contract for unknown reservation %s ignored", reservation_id)
        return
    if reservation.state is S.FULFILLED:
        return
    previous = reservation.device_id if reservation.state is S.APPROVED else None
    device = device_id or reservation.device_id
    if device is None:
        raise DeviceTaken(
            f"Reservation {reservation_id} holds no device and the contract names none"
        )
    if reservation.state is not S.APPROVED:
        # Honour a contract signed for a reservation we had let go (a race with expiry).
        reservation.period_start = max(reservation.period_start, min(at, reservation.period_end))
    displaced = await _make_room(session, reservation, device)
    if previous is not None and previous != device:  # another device was handed out
        reservation.reason = OTHER_DEVICE
        events.publish(session, events.DEVICE_WITHDRAWN, reservation)  # names `previous`
    await _hold(session, reservation, device)
    events.publish(session, events.FULFILLED, reservation)
    if displaced:
        await offer_again(session, displaced, now=now)  # also offers the device we let go
    elif previous is not None and previous != device:  # another device was handed out
        await rebalance(session, institution=reservation.institution_number, now=now)


async def _make_room(
    session: AsyncSession, reservation: Reservation, device: uuid.UUID
) -> list[Reservation]:
    """Others approved with the device for an overlapping period let it go; which ones."""
    held = await ReservationRepository(session).approved_on(device)
    displaced = [
        r
        for r in held
        if r.id != reservation.id
        and r.period_start < reservation.period_end
        and reservation.period_start < r.period_end
    ]
    if displaced:
        await let_go(session, displaced, reason=HANDED_TO_ANOTHER)
    return displaced


async def _hold(session: AsyncSession, reservation: Reservation, device: uuid.UUID) -> None:
    try:
        async with session.begin_nested():
            reservation.state = S.FULFILLED
            reservation.device_id = device
            reservation.pickup_deadline = None
            await session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != EXCLUSION_VIOLATION:
            raise
        raise DeviceTaken(
            f"Device {device} is allocated to another reservation for an overlapping period"
        ) from exc


async def loan_ended(
    session: AsyncSession,
    *,
    reservation_id: uuid.UUID | None,
    at: dt.datetime,
    now: dt.datetime,
) -> None:
    """The loan is over: the allocation ends at `at`, the device goes to the next in line."""
    if reservation_id is None:
        return  # a contract made without a reservation is none of ours
    reservation = await lock_for(session, reservation_id)
    if reservation is None or reservation.state not in ALLOCATING:
        logger.info("end of loan for reservation %s ignored", reservation_id)
        return
    end = max(min(reservation.period_end, at), reservation.period_start)
    if end == reservation.period_end and reservation.state is S.FULFILLED:
        return  # already ended there (a replay through another route)
    missed_start = reservation.state is S.APPROVED
    reservation.state = S.FULFILLED  # the contract existed even if we missed its start
    reservation.pickup_deadline = None
    reservation.period_end = end
    await session.flush()
    if missed_start:
        events.publish(session, events.FULFILLED, reservation)
    await rebalance(session, institution=reservation.institution_number, now=now)
