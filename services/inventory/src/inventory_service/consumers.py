"""Events the inventory reads: reservations, loan contracts and repair tickets move devices.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. What each event does to a device is `service.lifecycle`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory_service.config import InventorySettings
from inventory_service.models import Condition, DeviceStatus
from inventory_service.service import lifecycle
from inventory_service.service.lifecycle import Cause
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.settings import ServiceSettings

RESERVATION_APPROVED = "lv.datori.reservations.reservation.approved.v1"
RESERVATION_RELEASED = (
    "lv.datori.reservations.reservation.cancelled.v1",
    "lv.datori.reservations.reservation.expired.v1",
    "lv.datori.reservations.reservation.rejected.v1",
    "lv.datori.reservations.reservation.device_withdrawn.v1",  # names the device given up
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

    def known_condition(self) -> Condition | None:
        """The condition, when it is one this service knows."""
        if self.condition in {c.value for c in Condition}:
            return Condition(self.condition)
        return None


class ReservationRule(Protocol):
    """A lifecycle rule about a device and the reservation behind the event (hold, release,
    loan)."""

    def __call__(
        self,
        *,
        session: AsyncSession,
        device_id: uuid.UUID,
        reservation_id: uuid.UUID | None,
        cause: Cause,
    ) -> Awaitable[None]: ...


def _cause(evt: CloudEvent) -> Cause:
    return Cause(event_id=evt.id, event_type=evt.type)


def on_reservation(rule: ReservationRule) -> Handler:
    """A handler that hands the event's device and reservation to a lifecycle rule."""

    async def handle(session: AsyncSession, evt: CloudEvent) -> None:
        ref = ReservationRef.model_validate(evt.data)
        if ref.device_id is not None:
            await rule(
                session=session,
                device_id=ref.device_id,
                reservation_id=ref.reservation_id,
                cause=_cause(evt),
            )

    return handle


async def returned(session: AsyncSession, evt: CloudEvent) -> None:
    """A loan contract ended with the device returned."""
    payload = ContractReturned.model_validate(evt.data)
    if payload.device_id is not None:
        await lifecycle.return_device(
            session=session,
            device_id=payload.device_id,
            condition=payload.known_condition(),
            cause=_cause(evt),
        )


async def repaired(session: AsyncSession, evt: CloudEvent) -> None:
    """A repair was completed."""
    ref = DeviceRef.model_validate(evt.data)
    if ref.device_id is not None:
        await lifecycle.finish_repair(session=session, device_id=ref.device_id, cause=_cause(evt))


def moves_to(status: DeviceStatus) -> Handler:
    """A handler that moves the event's device to `status` (repairs, confirmed losses)."""

    async def handle(session: AsyncSession, evt: CloudEvent) -> None:
        ref = DeviceRef.model_validate(evt.data)
        if ref.device_id is not None:
            await lifecycle.move_device(
                session=session, device_id=ref.device_id, to=status, cause=_cause(evt)
            )

    return handle


def build_handlers() -> dict[str, Handler]:
    """Event type → handler."""
    handlers: dict[str, Handler] = {
        RESERVATION_APPROVED: on_reservation(lifecycle.hold_device),
        CONTRACT_ACTIVATED: on_reservation(lifecycle.lend_device),
        CONTRACT_RETURNED: returned,
        REPAIR_STARTED: moves_to(DeviceStatus.IN_REPAIR),
        REPAIR_COMPLETED: repaired,
        DEVICE_LOST: moves_to(DeviceStatus.LOST),
        DEVICE_STOLEN: moves_to(DeviceStatus.STOLEN),
    }
    handlers.update(dict.fromkeys(RESERVATION_RELEASED, on_reservation(lifecycle.release_hold)))
    return handlers


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
