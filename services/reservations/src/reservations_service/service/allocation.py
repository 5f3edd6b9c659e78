"""Allocation against the database: who gets which device, under the institution's lock.

Every decision that gives or takes a device at an institution runs while holding that
institution's transaction-scoped advisory lock (`Locks.institution`), so decisions at one
institution happen one at a time and in priority order; new requests hold it in shared mode,
which keeps releases out while they decide (see `requesting`). The guarantee against double
booking is still the database's: the exclusion constraint on `(device_id, period)` over
`approved`/`fulfilled` rows. Each allocation is flushed in a savepoint; a violation
(SQLSTATE 23P01, possible only if a device changed institution between two decisions) rolls
back that one allocation, and the caller answers 409 `device-taken` or leaves the request
waiting.

`rebalance` is the one place that hands out free devices: after every release (cancel,
expiry, contract ended, device back in service) and for every new request when the policy
auto-approves, it runs the pure `allocation_rules` over the institution's waitlist and applies
the result. Approvals get an `approved` event; waitlisted requests that get a device also get an
`offered` event before it. The pickup deadline is `pickup_days` after the later of now and
the period start, but never after the period end.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service import events
from reservations_service.exceptions import (
    DeviceMismatch,
    DeviceNotAtInstitution,
    DeviceNotFound,
    DeviceTaken,
    DeviceUnavailable,
    IllegalTransition,
)
from reservations_service.models import Device, Reservation, ReservationState
from reservations_service.repository import (
    LENDABLE_STATUSES,
    DeviceRepository,
    Locks,
    ReservationRepository,
)
from reservations_service.service.allocation_rules import (
    Booking,
    Criteria,
    DeviceView,
    Request,
    assign,
    effective_start,
    is_free,
)
from reservations_service.service.policies import effective_policy

logger = logging.getLogger(__name__)

EXCLUSION_VIOLATION = "23P01"


@dataclass
class Outcome:
    """What one rebalance did."""

    allocated: list[Reservation] = field(default_factory=list)


def device_view(device: Device) -> DeviceView:
    """The rules' view of a read-model device."""
    return DeviceView(
        id=device.id,
        category=device.category,
        os=device.os,
        screen_inches=device.screen_inches,
        touch=device.touch,
        catalogue_item_code=device.catalogue_item_code,
    )


def criteria_of(reservation: Reservation) -> Criteria:
    """What the reservation accepts."""
    return Criteria(
        device_id=reservation.requested_device_id,
        category=reservation.category,
        os=reservation.os,
        screen_inches=reservation.screen_inches,
        min_screen_inches=reservation.min_screen_inches,
        max_screen_inches=reservation.max_screen_inches,
        touch=reservation.touch,
        catalogue_item_code=reservation.catalogue_item_code,
    )


def request_view(reservation: Reservation) -> Request:
    """The rules' view of a waiting reservation."""
    return Request(
        id=reservation.id,
        criteria=criteria_of(reservation),
        start=reservation.period_start,
        end=reservation.period_end,
        score=reservation.priority_score,
        requested_at=reservation.requested_at,
    )


async def bookings(
    session: AsyncSession, device_ids: Iterable[uuid.UUID], now: dt.datetime
) -> list[Booking]:
    """The allocations of these devices that have not ended yet."""
    rows = await ReservationRepository(session).booked_periods(device_ids, now)
    return [Booking(*row) for row in rows]


def _is_exclusion_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == EXCLUSION_VIOLATION


async def try_allocate(
    session: AsyncSession,
    reservation: Reservation,
    *,
    device_id: uuid.UUID,
    start: dt.datetime,
    now: dt.datetime,
    pickup_days: int,
) -> bool:
    """Approve with this device from `start`; False when the database says it is taken."""
    try:
        async with session.begin_nested():
            reservation.state = ReservationState.APPROVED
            reservation.device_id = device_id
            reservation.period_start = start
            reservation.pickup_deadline = min(
                max(now, start) + dt.timedelta(days=pickup_days), reservation.period_end
            )
            reservation.decided_at = now
            reservation.reason = None
            await session.flush()
    except IntegrityError as exc:
        if not _is_exclusion_violation(exc):
            raise
        await session.refresh(reservation)
        logger.info("allocation lost to a concurrent one", extra={"device_id": str(device_id)})
        return False
    return True


async def rebalance(
    session: AsyncSession,
    *,
    institution: str,
    now: dt.datetime,
    candidate: Reservation | None = None,
    requeued: frozenset[uuid.UUID] = frozenset(),
) -> Outcome:
    """Give free devices of an institution to its waiting requests, best first.

    `candidate` (a new or staff-approved request) competes with the waitlist at its own
    priority; `requeued` requests lost their device and get a plain `approved` when they get
    another one. The caller holds the institution's lock.
    """
    outcome = Outcome()
    repo = ReservationRepository(session)
    waiting = list(await repo.waitlisted(institution, now))
    if candidate is not None and candidate not in waiting:
        waiting.append(candidate)
    if not waiting:  # mostly: a device's every move at a school nobody waits at
        return outcome
    devices = await DeviceRepository(session).lendable_at(institution)
    if not devices:
        return outcome
    booked = await bookings(session, [d.id for d in devices], now)
    plan = assign(
        [request_view(r) for r in waiting], [device_view(d) for d in devices], booked, now
    )
    if not plan:
        return outcome
    by_id = {r.id: r for r in waiting}
    policy = await effective_policy(session, by_id[plan[0].request.id].municipality_code)
    for step in plan:
        reservation = by_id[step.request.id]
        was_waitlisted = reservation.state is ReservationState.WAITLISTED
        allocated = await try_allocate(
            session,
            reservation,
            device_id=step.device.id,
            start=step.start,
            now=now,
            pickup_days=policy.pickup_days,
        )
        if not allocated:
            continue
        if was_waitlisted and reservation is not candidate and reservation.id not in requeued:
            events.publish(session, events.OFFERED, reservation)
        events.publish(session, events.APPROVED, reservation)
        outcome.allocated.append(reservation)
    return outcome


async def allocate_newcomer(
    session: AsyncSession, reservation: Reservation, *, now: dt.datetime
) -> bool:
    """A new request under auto-approval: the best free device it accepts, if there is one.

    The waitlist needs no look: `rebalance` runs after every release, so no waiting request
    accepts a device that is free now, and a newcomer taking one passes nobody. This keeps a
    request's cost independent of the waitlist's length. The caller holds the institution's
    lock.
    """
    devices = await DeviceRepository(session).lendable_at(reservation.institution_number)
    if not devices:
        return False
    booked = await bookings(session, [d.id for d in devices], now)
    views = [device_view(d) for d in devices]
    plan = assign([request_view(reservation)], views, booked, now)
    if not plan:
        return False
    policy = await effective_policy(session, reservation.municipality_code)
    step = plan[0]
    allocated = await try_allocate(
        session,
        reservation,
        device_id=step.device.id,
        start=step.start,
        now=now,
        pickup_days=policy.pickup_days,
    )
    if allocated:
        events.publish(session, events.APPROVED, reservation)
    return allocated


async def allocate_named(
    session: AsyncSession,
    reservation: Reservation,
    *,
    device_id: uuid.UUID,
    now: dt.datetime,
) -> None:
    """Staff approval naming a device: it must be lendable here, match, and be free."""
    device = await DeviceRepository(session).get(device_id)
    if device is None:
        raise DeviceNotFound(f"No device {device_id} is known to reservations")
    if device.institution_number != reservation.institution_number:
        raise DeviceNotAtInstitution(
            f"Device {device_id} is not at institution {reservation.institution_number}"
        )
    if device.status not in LENDABLE_STATUSES:
        raise DeviceUnavailable(
            f"Device {device_id} is {device.status}", device_status=device.status
        )
    if not criteria_of(reservation).matches(device_view(device)):
        raise DeviceMismatch(f"Device {device_id} does not match what was requested")
    start = effective_start(request_view(reservation), now)
    if start >= reservation.period_end:
        raise IllegalTransition("The reservation's period has already ended")
    booked = await bookings(session, [device_id], now)
    if not is_free(device_id, start, reservation.period_end, booked):
        raise DeviceTaken(f"Device {device_id} is allocated for an overlapping period")
    policy = await effective_policy(session, reservation.municipality_code)
    if not await try_allocate(
        session,
        reservation,
        device_id=device_id,
        start=start,
        now=now,
        pickup_days=policy.pickup_days,
    ):
        raise DeviceTaken(f"Device {device_id} was just allocated for an overlapping period")
    events.publish(session, events.APPROVED, reservation)


async def requeue(
    session: AsyncSession,
    reservations: Sequence[Reservation],
    *,
    now: dt.datetime,
    reason: str,
) -> None:
    """Approved reservations lose their device: another free one, or back to the waitlist.

    They keep their original `requested_at`, so they keep their place. The caller holds the
    locks of their institutions.
    """
    await let_go(session, reservations, reason=reason)
    await offer_again(session, reservations, now=now)


async def let_go(
    session: AsyncSession, reservations: Sequence[Reservation], *, reason: str
) -> None:
    """Approved reservations give their device up (`device_withdrawn`) and wait again."""
    for reservation in reservations:
        reservation.state = ReservationState.WAITLISTED
        reservation.pickup_deadline = None
        reservation.reason = reason
        events.publish(session, events.DEVICE_WITHDRAWN, reservation)  # names the device
        reservation.device_id = None
    await session.flush()


async def offer_again(
    session: AsyncSession, reservations: Sequence[Reservation], *, now: dt.datetime
) -> None:
    """Reservations just let go: another free device (`approved`) or `waitlisted`."""
    ids = frozenset(r.id for r in reservations)
    allocated: set[uuid.UUID] = set()
    for institution in sorted({r.institution_number for r in reservations}):
        outcome = await rebalance(session, institution=institution, now=now, requeued=ids)
        allocated |= {r.id for r in outcome.allocated}
    for reservation in reservations:
        if reservation.id not in allocated:
            events.publish(session, events.WAITLISTED, reservation)


async def lock_for(session: AsyncSession, reservation_id: uuid.UUID) -> Reservation | None:
    """Take the lock of a reservation's institution, then the reservation's row, fresh."""
    repo = ReservationRepository(session)
    found = await repo.get(reservation_id)
    if found is None:
        return None
    await Locks(session).institution(found.institution_number)
    # Forget the copy read before the lock: a locking read of a row the session already holds
    # at an older version is refused (StaleDataError) rather than refreshed.
    session.expunge(found)
    return await repo.get(reservation_id, for_update=True)
