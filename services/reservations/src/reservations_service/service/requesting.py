"""A new request: validated in full, recorded and (with auto-approval) decided at once.

A request is validated before anything is written: the institution is known and inside the
caller's tenancy, the learner is the guardian's own child, the period is sane and within the
municipality's policy (a missing end defaults to the school year's end, clamped to the
policy's maximum), and the learner stays within the active-reservation limit.

It costs three statements (besides the pool's ping, BEGIN and COMMIT), because each reads or
writes all that its rules need at once (`repository.requests`):

1. the learner's lock, then the institution's lock in shared mode, with the institution and
   its policy;
2. under those locks: the learner's active reservations and verified criteria, and the
   institution's lendable devices with their bookings;
3. the reservation, inserted already decided: approved with the best free device it accepts
   (`allocation_rules`, as `allocate_newcomer` decides), or waitlisted — or `requested` when
   staff approve; the exclusion constraint refuses an allocation that another request made
   meanwhile, and then the request looks again; in the same statement, its events
   (`requested`, then `approved` or `waitlisted`) into the outbox, written only when the
   reservation is.

Why a shared institution lock is enough: what the lock protects is the waitlist's promise that
no one waits while a device they accept is free. Devices become free only under the
institution's exclusive lock (cancel, expiry, returns, inventory changes), which then hands
them to the waitlist (`rebalance`); a new request holds the shared lock from before its
reads until it commits, so no release happens between what it saw and its waitlisting, and a
release that follows sees it waiting. New requests at one school do not need each other's
exclusion: one that loses a device to another is refused by the constraint and looks again,
and one that waits saw no free device it accepts (bookings not yet committed are invisible,
so it would have tried those devices and waited for their outcome). As before, new requests
are served in arrival order: a newcomer passes nobody, because no one waits for a device that
is free (see `allocate_newcomer`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service import events
from reservations_service.config import ReservationsSettings
from reservations_service.exceptions import (
    ActiveLimitReached,
    DeviceNotAtInstitution,
    DeviceNotFound,
    InstitutionNotFound,
    InvalidPeriod,
    PeriodInPast,
    PeriodTooLong,
)
from reservations_service.models import Beneficiary, Policy, Reservation, ReservationState
from reservations_service.repository import DeviceRepository, Facts, RequestRepository
from reservations_service.schemas import ReservationCreate
from reservations_service.service import access
from reservations_service.service.allocation import request_view
from reservations_service.service.allocation_rules import Assignment, Booking, DeviceView, assign
from reservations_service.service.policies import default_policy, school_year_end_after
from reservations_service.service.verified import score_of
from shared_kit.auth import Principal
from shared_kit.events.outbox import outbox_values

S = ReservationState
# Inserted and decided in one statement, a request has the version it had after its
# decision was a second write (requested: 1, decided: 2); clients' ETags stay the same.
DECIDED_VERSION = 2


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
    repo = RequestRepository(session)
    number = data.institution_number
    learner = data.learner_id if data.beneficiary is Beneficiary.LEARNER else None
    opening = await repo.open(number, learner)
    if opening is None:
        raise InstitutionNotFound(f"No institution {number} is known to reservations")
    municipality = opening.municipality_code
    policy = opening.policy or default_policy(municipality)
    access.ensure_may_request(
        principal,
        institution=number,
        municipality=municipality,
        learner_id=data.learner_id,
        beneficiary=data.beneficiary,
        sources=[c.source for c in data.social_criteria],
    )
    period = resolve_period(data, policy, now, settings)
    if data.device_id is not None:
        await _ensure_device_here(session, data.device_id, number)
    facts = await repo.facts(number, data.learner_id, now)
    verified: list[dict[str, str]] = []
    if learner is not None:
        _ensure_below_limit(facts.active, policy)
        verified = [{"criterion": c, "source": s} for c, s in facts.verified]
    reservation = _new_reservation(principal, data, municipality, period, verified, now)
    requested = outbox_values(session, events.reservation_event(events.REQUESTED, reservation))
    if policy.auto_approve:
        await _decide(session, repo, reservation, requested, facts, policy, now)
    else:
        await repo.insert(reservation, [requested])
    return reservation


async def _decide(
    session: AsyncSession,
    repo: RequestRepository,
    reservation: Reservation,
    requested: dict[str, Any],
    facts: Facts,
    policy: Policy,
    now: dt.datetime,
) -> None:
    """Insert the request approved with the best free device, or waitlisted, with its events
    (`requested`, then the decision's)."""
    start = reservation.period_start
    while (step := _best_free(reservation, facts, now)) is not None:
        _allocate(reservation, step, now, policy.pickup_days)
        approved = events.reservation_event(events.APPROVED, reservation)
        if await repo.insert(reservation, [requested, outbox_values(session, approved)]):
            return
        # Another request took the device after we looked: look again (it is booked now).
        facts = await repo.facts(reservation.institution_number, reservation.learner_id, now)
    _waitlist(reservation, start)
    waitlisted = events.reservation_event(events.WAITLISTED, reservation)
    await repo.insert(reservation, [requested, outbox_values(session, waitlisted)])


def _best_free(reservation: Reservation, facts: Facts, now: dt.datetime) -> Assignment | None:
    devices = [DeviceView(*row[:6]) for row in facts.devices]
    booked = [
        Booking(row[0], start, end)
        for row in facts.devices
        for start, end in zip(row[6] or [], row[7] or [], strict=True)
    ]
    plan = assign([request_view(reservation)], devices, booked, now)
    return plan[0] if plan else None


def _allocate(reservation: Reservation, step: Assignment, now: dt.datetime, pickup: int) -> None:
    """Approved with the step's device from its start (as `allocation.try_allocate` does)."""
    reservation.state = S.APPROVED
    reservation.version = DECIDED_VERSION
    reservation.device_id = step.device.id
    reservation.period_start = step.start
    reservation.pickup_deadline = min(
        max(now, step.start) + dt.timedelta(days=pickup), reservation.period_end
    )
    reservation.decided_at = now


def _waitlist(reservation: Reservation, start: dt.datetime) -> None:
    """Waitlisted as requested (undoing an allocation that lost its race)."""
    reservation.state = S.WAITLISTED
    reservation.version = DECIDED_VERSION
    reservation.device_id = None
    reservation.period_start = start
    reservation.pickup_deadline = None
    reservation.decided_at = None


async def _ensure_device_here(session: AsyncSession, device_id: uuid.UUID, number: str) -> None:
    device = await DeviceRepository(session).get(device_id)
    if device is None:
        raise DeviceNotFound(f"No device {device_id} is known to reservations")
    if device.institution_number != number:
        raise DeviceNotAtInstitution(f"Device {device_id} is not at institution {number}")


def _ensure_below_limit(active: int, policy: Policy) -> None:
    if active >= policy.max_active_per_learner:
        raise ActiveLimitReached(
            f"The learner already has {active} active reservation(s); the limit is "
            f"{policy.max_active_per_learner}",
            limit=policy.max_active_per_learner,
        )


def _new_reservation(
    principal: Principal,
    data: ReservationCreate,
    municipality: str,
    period: tuple[dt.datetime, dt.datetime],
    verified: list[dict[str, str]],
    now: dt.datetime,
) -> Reservation:
    wanted = data.criteria.model_dump() if data.criteria else {}
    claims = [c.model_dump(mode="json") for c in data.social_criteria]
    start, end = period
    return Reservation(
        id=uuid.uuid4(),
        version=1,
        municipality_code=municipality,
        institution_number=data.institution_number,
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
