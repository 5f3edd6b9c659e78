"""Events reservations read: the inventory's devices, the contracts' loans, and loaners.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. Every inventory device event carries the full device snapshot, so all four
types are handled alike (the snapshot's `version` makes replays harmless). Contract events
name the reservation they fulfil (`reservation_id`); one without it, or naming a reservation
this service does not know, is ignored. `activated` fulfils the reservation; `returned`,
`expired` and `terminated` (ended early) all end the loan. A contract's moment is its
`activated_at` / `returned_at` / `expired_at` / `terminated_at` field when present, else the
event's `time`. The tickets service's `loaner.requested` makes a top-priority reservation for
the learner whose device is in repair, lost or stolen (see `service/loaners.py`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reservations_service.config import ReservationsSettings
from reservations_service.service import lifecycle, loaners, readmodel
from shared_kit.clock import Clock, system_clock
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.settings import ServiceSettings

DEVICE_EVENTS = tuple(
    f"lv.datori.inventory.device.{name}.v1"
    for name in ("registered", "updated", "assigned", "status_changed")
)
CONTRACT_ACTIVATED = "lv.datori.contracts.contract.activated.v1"
CONTRACT_RETURNED = "lv.datori.contracts.contract.returned.v1"
CONTRACT_EXPIRED = "lv.datori.contracts.contract.expired.v1"
CONTRACT_TERMINATED = "lv.datori.contracts.contract.terminated.v1"
LOANER_REQUESTED = "lv.datori.tickets.loaner.requested.v1"
HANDLED = (
    *DEVICE_EVENTS,
    CONTRACT_ACTIVATED,
    CONTRACT_RETURNED,
    CONTRACT_EXPIRED,
    CONTRACT_TERMINATED,
    LOANER_REQUESTED,
)


class DeviceSnapshotIn(BaseModel):
    """The inventory's device snapshot, the fields this service keeps."""

    model_config = ConfigDict(extra="ignore")

    device_id: uuid.UUID
    version: int
    municipality_code: str
    institution_registration_number: str | None = None
    catalogue_item_code: str
    category: str
    os: str
    screen_inches: Decimal | None = None
    touch: bool = False
    status: str


class DeviceEventIn(BaseModel):
    """Any inventory device event."""

    model_config = ConfigDict(extra="ignore")
    device: DeviceSnapshotIn


class LoanerRequestedIn(BaseModel):
    """The tickets service asks for a replacement device for a learner."""

    model_config = ConfigDict(extra="ignore")
    ticket_id: uuid.UUID
    institution_number: str
    learner_id: str
    borrower_id: str | None = None
    requested_by: str
    category: str | None = None
    os: str | None = None


class ContractEventIn(BaseModel):
    """Any contract event: the reservation it belongs to and its device."""

    model_config = ConfigDict(extra="ignore")
    reservation_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None


class ContractActivatedIn(ContractEventIn):
    """A loan contract became active: the device is with the family."""

    activated_at: dt.datetime | None = None


class ContractReturnedIn(ContractEventIn):
    """A loan ended with the device back."""

    returned_at: dt.datetime | None = None


class ContractExpiredIn(ContractEventIn):
    """A loan contract's term ended."""

    expired_at: dt.datetime | None = None


class ContractTerminatedIn(ContractEventIn):
    """A loan contract was ended early."""

    terminated_at: dt.datetime | None = None


def build_handlers(
    settings: ReservationsSettings, clock: Clock = system_clock
) -> dict[str, Handler]:
    """Event type → handler."""

    async def device(session: AsyncSession, evt: CloudEvent) -> None:
        snap = DeviceEventIn.model_validate(evt.data).device
        snapshot = readmodel.Snapshot(
            device_id=snap.device_id,
            version=snap.version,
            municipality_code=snap.municipality_code,
            institution_number=snap.institution_registration_number,
            catalogue_item_code=snap.catalogue_item_code,
            category=snap.category,
            os=snap.os,
            screen_inches=snap.screen_inches,
            touch=snap.touch,
            status=snap.status,
        )
        await readmodel.apply_snapshot(session, snapshot, now=clock())

    async def activated(session: AsyncSession, evt: CloudEvent) -> None:
        payload = ContractActivatedIn.model_validate(evt.data)
        if payload.reservation_id is None:
            return
        await lifecycle.contract_activated(
            session,
            reservation_id=payload.reservation_id,
            device_id=payload.device_id,
            at=payload.activated_at or evt.time,
            now=clock(),
        )

    async def returned(session: AsyncSession, evt: CloudEvent) -> None:
        payload = ContractReturnedIn.model_validate(evt.data)
        await _ended(session, payload, payload.returned_at or evt.time)

    async def expired(session: AsyncSession, evt: CloudEvent) -> None:
        payload = ContractExpiredIn.model_validate(evt.data)
        await _ended(session, payload, payload.expired_at or evt.time)

    async def terminated(session: AsyncSession, evt: CloudEvent) -> None:
        payload = ContractTerminatedIn.model_validate(evt.data)
        await _ended(session, payload, payload.terminated_at or evt.time)

    async def _ended(session: AsyncSession, payload: ContractEventIn, at: dt.datetime) -> None:
        if payload.reservation_id is None:
            return
        await lifecycle.loan_ended(
            session, reservation_id=payload.reservation_id, at=at, now=clock()
        )

    async def loaner(session: AsyncSession, evt: CloudEvent) -> None:
        payload = LoanerRequestedIn.model_validate(evt.data)
        request = loaners.LoanerRequest(**payload.model_dump())
        await loaners.request_loaner(session, request, now=clock(), settings=settings)

    handlers: dict[str, Any] = dict.fromkeys(DEVICE_EVENTS, device)
    handlers.update(
        {
            CONTRACT_ACTIVATED: activated,
            CONTRACT_RETURNED: returned,
            CONTRACT_EXPIRED: expired,
            CONTRACT_TERMINATED: terminated,
            LOANER_REQUESTED: loaner,
        }
    )
    return handlers


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[ConsumerRunner]:
    """The service's one consumer group over the inventory and contracts topics."""
    assert isinstance(settings, ReservationsSettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[settings.inventory_topic, settings.contracts_topic, settings.tickets_topic],
            handlers=build_handlers(settings, clock),
            session_factory=sessions,
            settings=settings,
        )
    ]
