"""What other services' events do to a device: reservations hold it, loans take it out,
returns bring it back (reserved while another reservation holds it), repairs and confirmed
losses move it.

Each rule tolerates replays and events of two topics arriving in either order: a device
already where an event would put it stays, and one in a status the event does not expect is
left as it is. A released hold stays as a tombstone until `hold_purge` forgets it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from inventory_service.exceptions import DeviceNotFound
from inventory_service.models import Condition, Device, DeviceStatus
from inventory_service.repository import DeviceRepository
from inventory_service.service import states
from shared_kit.housekeeping import Purge

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cause:
    """The event that moves a device: its id (for errors) and its type (the reason)."""

    event_id: str
    event_type: str

    @property
    def actor(self) -> str:
        """How the device's history names the event."""
        return f"event:{self.event_type}"


async def hold_device(
    *, session: AsyncSession, device_id: uuid.UUID, reservation_id: uuid.UUID | None, cause: Cause
) -> None:
    """An approved reservation holds the device; an available device becomes reserved."""
    device = await _locked(session, device_id, cause)
    holds = DeviceRepository(session)
    if reservation_id is not None:
        await holds.hold(device.id, reservation_id)
        if not await holds.is_held(device.id):
            return  # its release or loan came first: the approval holds nothing
    # A device on loan or in repair keeps that status; the hold waits for its return.
    only = (DeviceStatus.AVAILABLE,)
    await _move(session, device, cause, DeviceStatus.RESERVED, only_from=only)


async def release_hold(
    *, session: AsyncSession, device_id: uuid.UUID, reservation_id: uuid.UUID | None, cause: Cause
) -> None:
    """A reservation ended without a loan, or gave the device up; the device is free unless
    another one holds it. Its events come in order (one key), so no tombstone is kept: the same
    reservation approved again with the device holds it again."""
    device = await _locked(session, device_id, cause)
    if reservation_id is not None:
        await DeviceRepository(session).drop(device.id, reservation_id)
    to = await _free_status(session, device)  # another reservation may hold it still
    await _move(session, device, cause, to, only_from=(DeviceStatus.RESERVED,))


async def lend_device(
    *, session: AsyncSession, device_id: uuid.UUID, reservation_id: uuid.UUID | None, cause: Cause
) -> None:
    """A loan contract took effect: the device is on loan."""
    device = await _locked(session, device_id, cause)
    if reservation_id is not None:  # the loan takes over from the reservation's hold
        await DeviceRepository(session).release(device.id, reservation_id)
    await _move(session, device, cause, DeviceStatus.ON_LOAN)


async def return_device(
    *, session: AsyncSession, device_id: uuid.UUID, condition: Condition | None, cause: Cause
) -> None:
    """A loan ended with the device back, in the condition recorded at the return."""
    device = await _locked(session, device_id, cause)
    was_on_loan = device.status is DeviceStatus.ON_LOAN
    in_repair_from_loan = device.status_before_repair is DeviceStatus.ON_LOAN
    if in_repair_from_loan:
        # Returned during a repair (or the repair's completion, on another topic, is still
        # on its way): the loan is over, so the repair must end where a return leaves it.
        device.status_before_repair = None
    to = await _free_status(session, device)
    # The condition recorded at the return rides on the same history entry and event.
    only = (DeviceStatus.ON_LOAN,)
    await _move(session, device, cause, to, only_from=only, condition=condition)
    if condition is not None and in_repair_from_loan:
        # The condition the school recorded still counts, on an entry and event of its own.
        await states.record_condition(
            session=session,
            device=device,
            condition=condition,
            reason=cause.event_type,
            actor=cause.actor,
        )
    if condition is Condition.DAMAGED and was_on_loan:
        # Back, but not lendable until repaired; the repair ends where the return left it.
        await _move(session, device, cause, DeviceStatus.IN_REPAIR)


async def move_device(
    *, session: AsyncSession, device_id: uuid.UUID, to: DeviceStatus, cause: Cause
) -> None:
    """Move the device where the event says (a repair started, a loss or theft confirmed)."""
    device = await _locked(session, device_id, cause)
    await _move(session, device, cause, to)


async def finish_repair(*, session: AsyncSession, device_id: uuid.UUID, cause: Cause) -> None:
    """A repair is done: the device goes back to its loan or stock, or is free again."""
    device = await _locked(session, device_id, cause)
    if device.status is not DeviceStatus.IN_REPAIR:
        return
    back = device.status_before_repair
    to = (
        back
        if back in (DeviceStatus.ON_LOAN, DeviceStatus.IN_STOCK)
        else await _free_status(session, device)
    )
    await states.apply_transition(
        session=session, device=device, to=to, reason=cause.event_type, actor=cause.actor
    )


def hold_purge(retention_hours: int) -> Purge:
    """Housekeeping: forget released holds once no late event can still arrive for them."""

    async def purge(session: AsyncSession, at: dt.datetime) -> dict[str, int]:
        cutoff = at - dt.timedelta(hours=retention_hours)
        return {"device_holds": await DeviceRepository(session).purge_released_holds(cutoff)}

    return purge


async def _locked(session: AsyncSession, device_id: uuid.UUID, cause: Cause) -> Device:
    device = await DeviceRepository(session).get(device_id, for_update=True)
    if device is None:
        raise DeviceNotFound(f"No device {device_id} (event {cause.event_id})")
    return device


async def _move(
    session: AsyncSession,
    device: Device,
    cause: Cause,
    to: DeviceStatus,
    only_from: tuple[DeviceStatus, ...] | None = None,
    condition: Condition | None = None,
) -> None:
    if device.status is to:
        return  # already there (a replay by another route)
    if only_from is not None and device.status not in only_from:
        logger.info(
            "%s: device %s is %s, left as is", cause.event_type, device.id, device.status.value
        )
        return
    await states.apply_transition(
        session=session,
        device=device,
        to=to,
        reason=cause.event_type,
        actor=cause.actor,
        condition=condition,
    )


async def _free_status(session: AsyncSession, device: Device) -> DeviceStatus:
    """Where a device goes when it comes back: reserved while a reservation still holds it."""
    held = await DeviceRepository(session).is_held(device.id)
    return DeviceStatus.RESERVED if held else DeviceStatus.AVAILABLE
