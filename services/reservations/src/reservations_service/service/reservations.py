"""Reservation use cases: request, decide, cancel, read, waitlist and availability.

States: `requested` → `waitlisted` / `approved` → `fulfilled`, or `cancelled`, `rejected`
(with a reason), `expired`; `approved` may also go back to `waitlisted` when its device
leaves service before pickup. Anything else is a 409 `illegal-transition`.

A new request is validated in full before anything is written (`requesting`). The limit
is counted under the learner's advisory lock, so two parallel requests cannot both pass it;
it applies to learners (staff reservations for teachers and classes are not limited).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service import events
from reservations_service.config import ReservationsSettings
from reservations_service.exceptions import (
    IllegalTransition,
    InstitutionNotFound,
    InvalidPeriod,
    NoDeviceFree,
    ReservationNotFound,
)
from reservations_service.models import Institution, Reservation, ReservationState
from reservations_service.repository import (
    DeviceRepository,
    InstitutionRepository,
    ReservationRepository,
)
from reservations_service.schemas import ApproveBody, DeviceCriteria, ReservationFilters
from reservations_service.service import access
from reservations_service.service.allocation import (
    allocate_named,
    bookings,
    device_view,
    lock_for,
    rebalance,
)
from reservations_service.service.allocation_rules import Criteria, is_free
from reservations_service.service.policies import effective_policy, school_year_end_after
from reservations_service.service.requesting import create_reservation, resolve_period
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match

# The use cases of `requesting`, here with the others for the router.
__all__ = ["create_reservation", "resolve_period"]

S = ReservationState
TRANSITIONS: dict[ReservationState, frozenset[ReservationState]] = {
    S.REQUESTED: frozenset({S.WAITLISTED, S.APPROVED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.WAITLISTED: frozenset({S.APPROVED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.FULFILLED, S.CANCELLED, S.EXPIRED, S.WAITLISTED}),
    S.FULFILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def ensure_transition(reservation: Reservation, to: ReservationState) -> None:
    """409 unless the state machine allows the move."""
    if to not in TRANSITIONS[reservation.state]:
        raise IllegalTransition(
            f"A reservation cannot go from {reservation.state.value} to {to.value}",
            current_state=reservation.state.value,
            allowed=sorted(s.value for s in TRANSITIONS[reservation.state]),
        )


# Reading ------------------------------------------------------------------------------------


async def get_reservation(
    *, session: AsyncSession, principal: Principal, reservation_id: uuid.UUID
) -> Reservation:
    """A reservation the principal may see (404 when missing, 403 outside their tenancy)."""
    reservation = await ReservationRepository(session).get(reservation_id)
    if reservation is None:
        raise ReservationNotFound(f"No reservation with id {reservation_id}")
    access.ensure_may_see(principal, reservation)
    return reservation


async def waitlist_position(session: AsyncSession, reservation: Reservation) -> int | None:
    """Place in the institution's waitlist, for a waitlisted reservation."""
    if reservation.state is not S.WAITLISTED:
        return None
    return await ReservationRepository(session).waitlist_position(reservation)


async def list_reservations(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: ReservationFilters,
    cursor: str | None,
    limit: int,
) -> Sequence[Reservation]:
    """Reservations inside the principal's scope that match the filters."""
    scope = access.scope_for(principal)
    return await ReservationRepository(session).page(filters, scope, cursor, limit)


async def get_institution(*, session: AsyncSession, number: str) -> Institution:
    """An institution of the read model (404 when no device has named it yet)."""
    institution = await InstitutionRepository(session).get(number)
    if institution is None:
        raise InstitutionNotFound(f"No institution {number} is known to reservations")
    return institution


async def waitlist(
    *,
    session: AsyncSession,
    principal: Principal,
    number: str,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Reservation], int]:
    """One page of an institution's waitlist and the position of its first entry."""
    institution = await get_institution(session=session, number=number)
    access.ensure_sees_institution(principal, number, institution.municipality_code)
    repo = ReservationRepository(session)
    rows = await repo.waitlist_page(number, cursor, limit)
    first = await repo.waitlist_position(rows[0]) if rows else 1
    return rows, first


async def availability(
    *,
    session: AsyncSession,
    number: str,
    criteria: DeviceCriteria,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime,
    settings: ReservationsSettings,
) -> tuple[dt.datetime, dt.datetime, int, int]:
    """(start, end, matching lendable devices, free ones) at an institution for a period."""
    institution = await get_institution(session=session, number=number)
    start = start or now
    if end is None:
        policy = await effective_policy(session, institution.municipality_code)
        end = school_year_end_after(start, policy.school_year_end, settings.timezone)
    if end <= start:
        raise InvalidPeriod("The period must end after it starts")
    wanted = Criteria(**criteria.model_dump())
    devices = [
        device_view(d)
        for d in await DeviceRepository(session).lendable_at(number)
        if wanted.matches(device_view(d))
    ]
    booked = await bookings(session, [d.id for d in devices], now)
    begin = max(start, now)
    free = sum(1 for d in devices if begin < end and is_free(d.id, begin, end, booked))
    return start, end, len(devices), free


async def _waitlist(session: AsyncSession, reservation: Reservation) -> None:
    ensure_transition(reservation, S.WAITLISTED)
    reservation.state = S.WAITLISTED
    await session.flush()
    events.publish(session, events.WAITLISTED, reservation)


# Deciding -----------------------------------------------------------------------------------


async def _locked(session: AsyncSession, reservation: Reservation) -> Reservation:
    locked = await lock_for(session, reservation.id)
    if locked is None:  # deleted meanwhile: reservations are never deleted, but be exact
        raise ReservationNotFound(f"No reservation with id {reservation.id}")
    return locked


async def approve(
    *,
    session: AsyncSession,
    principal: Principal,
    reservation: Reservation,
    body: ApproveBody,
    if_match: str | None,
    now: dt.datetime,
) -> Reservation:
    """Staff approval: allocate the named device or the best free one (409 when none)."""
    access.ensure_may_decide(principal, reservation)
    reservation = await _locked(session, reservation)
    check_if_match(if_match, reservation.version)
    ensure_transition(reservation, S.APPROVED)
    if body.device_id is not None:
        await allocate_named(session, reservation, device_id=body.device_id, now=now)
        return reservation
    outcome = await rebalance(
        session,
        institution=reservation.institution_number,
        now=now,
        candidate=reservation,
    )
    if reservation in outcome.allocated:
        return reservation
    if not body.waitlist_if_unavailable:
        raise NoDeviceFree("No device matching this request is free for its period")
    if reservation.state is S.REQUESTED:
        await _waitlist(session, reservation)
    return reservation


async def reject(
    *,
    session: AsyncSession,
    principal: Principal,
    reservation: Reservation,
    reason: str,
    if_match: str | None,
    now: dt.datetime,
) -> Reservation:
    """Staff rejection of a request that holds no device."""
    access.ensure_may_decide(principal, reservation)
    reservation = await _locked(session, reservation)
    check_if_match(if_match, reservation.version)
    ensure_transition(reservation, S.REJECTED)
    reservation.state = S.REJECTED
    reservation.reason = reason
    reservation.decided_at = now
    await session.flush()
    events.publish(session, events.REJECTED, reservation)
    return reservation


async def cancel(
    *,
    session: AsyncSession,
    principal: Principal,
    reservation: Reservation,
    reason: str | None,
    if_match: str | None,
    now: dt.datetime,
) -> Reservation:
    """Cancel a request or an approval; a released device goes to the next in line."""
    access.ensure_may_cancel(principal, reservation)
    reservation = await _locked(session, reservation)
    check_if_match(if_match, reservation.version)
    if reservation.state is S.FULFILLED:
        raise IllegalTransition(
            "The loan contract is active: the device is returned through the contract",
            current_state=reservation.state.value,
            allowed=[],
        )
    ensure_transition(reservation, S.CANCELLED)
    held = reservation.state is S.APPROVED
    reservation.state = S.CANCELLED
    reservation.reason = reason or "cancelled"
    reservation.decided_at = now
    await session.flush()
    events.publish(session, events.CANCELLED, reservation)
    if held:
        await rebalance(session, institution=reservation.institution_number, now=now)
    return reservation
