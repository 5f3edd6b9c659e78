"""Reservation use cases: request, decide, cancel, read, waitlist and availability.

States: `requested` → `waitlisted` / `approved` → `fulfilled`, or `cancelled`, `rejected`
(with a reason), `expired`; `approved` may also go back to `waitlisted` when its device
leaves service before pickup. Anything else is a 409 `illegal-transition`.

A new request is validated in full before anything is written: the institution is known and
inside the caller's tenancy, the learner is the guardian's own child, the period is sane and
within the municipality's policy (a missing end defaults to the school year's end, clamped to
the policy's maximum), and the learner stays within the active-reservation limit. The limit
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
    ActiveLimitReached,
    DeviceNotAtInstitution,
    DeviceNotFound,
    IllegalTransition,
    InstitutionNotFound,
    InvalidPeriod,
    NoDeviceFree,
    PeriodInPast,
    PeriodTooLong,
    ReservationNotFound,
)
from reservations_service.models import (
    Beneficiary,
    Institution,
    Policy,
    Reservation,
    ReservationState,
)
from reservations_service.repository import (
    DeviceRepository,
    InstitutionRepository,
    Locks,
    ReservationRepository,
)
from reservations_service.schemas import (
    ApproveBody,
    DeviceCriteria,
    ReservationCreate,
    ReservationFilters,
)
from reservations_service.service import access
from reservations_service.service.allocation import (
    allocate_named,
    allocate_newcomer,
    bookings,
    device_view,
    lock_for,
    rebalance,
)
from reservations_service.service.allocation_rules import Criteria, is_free
from reservations_service.service.policies import effective_policy, school_year_end_after
from reservations_service.service.verified import score_of, verified_claims
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match

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


# Requesting ---------------------------------------------------------------------------------


def resolve_period(
    data: ReservationCreate, policy: Policy, now: dt.datetime, settings: ReservationsSettings
) -> tuple[dt.datetime, dt.datetime]:
    """The requested period, checked against the clock and the policy."""
    start = data.start or now
    if start < now - dt.timedelta(seconds=settings.past_start_tolerance_s):
        raise PeriodInPast("The period must not start in the past")
    longest = dt.timedelta(days=policy.max_period_days)
    if data.end is None:
        default = school_year_end_after(start, policy.school_year_end, settings.timezone)
        return start, min(default, start + longest)
    if data.end <= start:
        raise InvalidPeriod("The period must end after it starts")
    if data.end - start > longest:
        raise PeriodTooLong(
            f"The period may last at most {policy.max_period_days} days",
            max_period_days=policy.max_period_days,
        )
    return start, data.end


async def create_reservation(
    *,
    session: AsyncSession,
    principal: Principal,
    data: ReservationCreate,
    now: dt.datetime,
    settings: ReservationsSettings,
) -> Reservation:
    """Validate and record a request; with auto-approval, allocate or waitlist it at once."""
    institution = await get_institution(session=session, number=data.institution_number)
    access.ensure_may_request(
        principal,
        institution=institution.registration_number,
        municipality=institution.municipality_code,
        learner_id=data.learner_id,
        beneficiary=data.beneficiary,
        sources=[c.source for c in data.social_criteria],
    )
    policy = await effective_policy(session, institution.municipality_code)
    start, end = resolve_period(data, policy, now, settings)
    if data.device_id is not None:
        await _ensure_device_here(session, data.device_id, institution.registration_number)
    locks = Locks(session)
    verified: list[dict[str, str]] = []
    if data.beneficiary is Beneficiary.LEARNER:
        # Two parallel requests cannot both pass the limit, nor miss a verification arriving.
        await locks.learner(data.learner_id)
        await _ensure_below_limit(session, data.learner_id, policy, now)
        verified = await verified_claims(session, data.learner_id)
    reservation = _new_reservation(principal, data, institution, (start, end), verified, now)
    ReservationRepository(session).add(reservation)
    await session.flush()
    events.publish(session, events.REQUESTED, reservation)
    # Only the decision needs the institution's lock; a `requested` row is no one's business
    # until then (rebalance looks at waitlisted ones).
    await locks.institution(institution.registration_number)
    if policy.auto_approve and not await allocate_newcomer(session, reservation, now=now):
        await _waitlist(session, reservation)
    return reservation


async def _ensure_device_here(session: AsyncSession, device_id: uuid.UUID, number: str) -> None:
    device = await DeviceRepository(session).get(device_id)
    if device is None:
        raise DeviceNotFound(f"No device {device_id} is known to reservations")
    if device.institution_number != number:
        raise DeviceNotAtInstitution(f"Device {device_id} is not at institution {number}")


async def _ensure_below_limit(
    session: AsyncSession, learner_id: str, policy: Policy, now: dt.datetime
) -> None:
    active = await ReservationRepository(session).count_active(learner_id, now)
    if active >= policy.max_active_per_learner:
        raise ActiveLimitReached(
            f"The learner already has {active} active reservation(s); the limit is "
            f"{policy.max_active_per_learner}",
            limit=policy.max_active_per_learner,
        )


def _new_reservation(
    principal: Principal,
    data: ReservationCreate,
    institution: Institution,
    period: tuple[dt.datetime, dt.datetime],
    verified: list[dict[str, str]],
    now: dt.datetime,
) -> Reservation:
    wanted = data.criteria.model_dump() if data.criteria else {}
    claims = [c.model_dump(mode="json") for c in data.social_criteria]
    start, end = period
    return Reservation(
        id=uuid.uuid4(),
        municipality_code=institution.municipality_code,
        institution_number=institution.registration_number,
        beneficiary=data.beneficiary,
        learner_id=data.learner_id,
        requested_by=principal.client_id or principal.subject,
        requested_device_id=data.device_id,
        social_criteria=claims,
        verified_criteria=verified,
        priority_score=score_of(claims, verified),
        state=S.REQUESTED,
        period_start=start,
        period_end=end,
        requested_at=now,
        **wanted,
    )


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
