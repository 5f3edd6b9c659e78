"""Events the inventory reads: reservations, loan contracts and repair tickets move devices.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory_service import service
from inventory_service.config import InventorySettings
from inventory_service.exceptions import DeviceNotFound
from inventory_service.models import Condition, Device, DeviceStatus
from inventory_service.repository import DeviceRepository
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.housekeeping import Purge
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

RESERVATION_APPROVED = "lv.datori.reservations.reservation.approved.v1"
RESERVATION_RELEASED = (
    "lv.datori.reservations.reservation.cancelled.v1",
    "lv.datori.reservations.reservation.expired.v1",
    "lv.datori.reservations.reservation.rejected.v1",
)
CONTRACT_ACTIVATED = "lv.datori.contracts.contract.activated.v1"
CONTRACT_RETURNED = "lv.datori.contracts.contract.returned.v1"
REPAIR_STARTED = "lv.datori.tickets.repair.started.v1"
REPAIR_COMPLETED = "lv.datori.tickets.repair.completed.v1"
DEVICE_LOST = "lv.datori.tickets.device.lost_confirmed.v1"
DEVICE_STOLEN = "lv.datori.tickets.device.stolen_confirmed.v1"


class DeviceRef(BaseModel):
    """Any event that names a device."""

    model_config = ConfigDict(extra="ignore")
    device_id: uuid.UUID | None = None


class ReservationRef(DeviceRef):
    """A reservation or contract event: the reservation that holds (or held) the device."""

    reservation_id: uuid.UUID | None = None


class ContractReturned(DeviceRef):
    """A loan ended with the device back; condition as recorded at the return."""

    condition: str | None = None


def _actor(evt: CloudEvent) -> str:
    return f"event:{evt.type}"


async def _device(session: AsyncSession, evt: CloudEvent) -> Device | None:
    ref = DeviceRef.model_validate(evt.data)
    if ref.device_id is None:
        return None
    device = await DeviceRepository(session).get(ref.device_id, for_update=True)
    if device is None:
        raise DeviceNotFound(f"No device {ref.device_id} (event {evt.id})")
    return device


async def _move(
    session: AsyncSession,
    evt: CloudEvent,
    to: DeviceStatus,
    only_from: tuple[DeviceStatus, ...] | None = None,
    condition: Condition | None = None,
) -> None:
    device = await _device(session, evt)
    if device is not None:
        await _move_device(session, device, evt, to, only_from, condition)


async def _move_device(
    session: AsyncSession,
    device: Device,
    evt: CloudEvent,
    to: DeviceStatus,
    only_from: tuple[DeviceStatus, ...] | None = None,
    condition: Condition | None = None,
) -> None:
    if device.status is to:
        return  # already there (a replay by another route)
    if only_from is not None and device.status not in only_from:
        logger.info("%s: device %s is %s, left as is", evt.type, device.id, device.status.value)
        return
    await service.apply_transition(
        session=session,
        device=device,
        to=to,
        reason=evt.type,
        actor=_actor(evt),
        condition=condition,
    )


async def _free_status(session: AsyncSession, device: Device) -> DeviceStatus:
    """Where a device goes when it comes back: reserved while a reservation still holds it."""
    held = await DeviceRepository(session).is_held(device.id)
    return DeviceStatus.RESERVED if held else DeviceStatus.AVAILABLE


def _reservation_of(evt: CloudEvent) -> uuid.UUID | None:
    return ReservationRef.model_validate(evt.data).reservation_id


def build_handlers() -> dict[str, Handler]:
    """Event type → handler."""

    async def reserved(session: AsyncSession, evt: CloudEvent) -> None:
        device = await _device(session, evt)
        reservation = _reservation_of(evt)
        if device is None:
            return
        if reservation is not None:
            await DeviceRepository(session).hold(device.id, reservation)
            if not await DeviceRepository(session).is_held(device.id):
                return  # its release or loan came first: the approval holds nothing
        # A device on loan or in repair keeps that status; the hold waits for its return.
        only = (DeviceStatus.AVAILABLE,)
        await _move_device(session, device, evt, DeviceStatus.RESERVED, only_from=only)

    async def released(session: AsyncSession, evt: CloudEvent) -> None:
        device = await _device(session, evt)
        reservation = _reservation_of(evt)
        if device is None:
            return
        if reservation is not None:
            await DeviceRepository(session).release(device.id, reservation)
        to = await _free_status(session, device)  # another reservation may hold it still
        await _move_device(session, device, evt, to, only_from=(DeviceStatus.RESERVED,))

    async def on_loan(session: AsyncSession, evt: CloudEvent) -> None:
        device = await _device(session, evt)
        reservation = _reservation_of(evt)
        if device is None:
            return
        if reservation is not None:  # the loan takes over from the reservation's hold
            await DeviceRepository(session).release(device.id, reservation)
        await _move_device(session, device, evt, DeviceStatus.ON_LOAN)

    async def returned(session: AsyncSession, evt: CloudEvent) -> None:
        # The condition recorded at the return rides on the same history entry and event.
        payload = ContractReturned.model_validate(evt.data)
        known = payload.condition in {c.value for c in Condition}
        condition = Condition(payload.condition) if known else None
        device = await _device(session, evt)
        if device is None:
            return
        was_on_loan = device.status is DeviceStatus.ON_LOAN
        in_repair_from_loan = device.status_before_repair is DeviceStatus.ON_LOAN
        if in_repair_from_loan:
            # Returned during a repair (or the repair's completion, on another topic, is still
            # on its way): the loan is over, so the repair must end where a return leaves it.
            device.status_before_repair = None
        to = await _free_status(session, device)
        only = (DeviceStatus.ON_LOAN,)
        await _move_device(session, device, evt, to, only_from=only, condition=condition)
        if condition is not None and in_repair_from_loan:
            # The condition the school recorded still counts, on an entry and event of its own.
            await service.record_condition(
                session=session, device=device, condition=condition, reason=evt.type,
                actor=_actor(evt),
            )  # fmt: skip
        if condition is Condition.DAMAGED and was_on_loan:
            # Back, but not lendable until repaired; the repair ends where the return left it.
            await _move_device(session, device, evt, DeviceStatus.IN_REPAIR)

    async def in_repair(session: AsyncSession, evt: CloudEvent) -> None:
        await _move(session, evt, DeviceStatus.IN_REPAIR)

    async def repaired(session: AsyncSession, evt: CloudEvent) -> None:
        device = await _device(session, evt)
        if device is None or device.status is not DeviceStatus.IN_REPAIR:
            return
        back = device.status_before_repair
        to = (
            back
            if back in (DeviceStatus.ON_LOAN, DeviceStatus.IN_STOCK)
            else await _free_status(session, device)
        )
        await service.apply_transition(
            session=session, device=device, to=to, reason=evt.type, actor=_actor(evt)
        )

    async def lost(session: AsyncSession, evt: CloudEvent) -> None:
        await _move(session, evt, DeviceStatus.LOST)

    async def stolen(session: AsyncSession, evt: CloudEvent) -> None:
        await _move(session, evt, DeviceStatus.STOLEN)

    handlers: dict[str, Any] = {
        RESERVATION_APPROVED: reserved,
        CONTRACT_ACTIVATED: on_loan,
        CONTRACT_RETURNED: returned,
        REPAIR_STARTED: in_repair,
        REPAIR_COMPLETED: repaired,
        DEVICE_LOST: lost,
        DEVICE_STOLEN: stolen,
    }
    handlers.update(dict.fromkeys(RESERVATION_RELEASED, released))
    return handlers


def hold_purge(retention_hours: int) -> Purge:
    """Housekeeping: forget released holds once no late event can still arrive for them."""

    async def purge(session: AsyncSession, at: dt.datetime) -> dict[str, int]:
        cutoff = at - dt.timedelta(hours=retention_hours)
        return {"device_holds": await DeviceRepository(session).purge_released_holds(cutoff)}

    return purge


def build_consumers(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> list[ConsumerRunner]:
    """The inventory's one consumer group over the topics it reads."""
    assert isinstance(settings, InventorySettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[settings.reservations_topic, settings.contracts_topic, settings.tickets_topic],
            handlers=build_handlers(),
            session_factory=sessions,
            settings=settings,
        )
    ]
