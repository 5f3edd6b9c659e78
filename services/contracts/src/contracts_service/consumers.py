"""Events contracts read, each translated into one service call.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. The rules live in the service package:

- `reservation.approved` drafts the contract (`reservations.approved`: the borrower and the
  learner's name from the gateway, retried while it or the device is not there yet);
- `reservation.cancelled` / `expired` / `rejected` cancel a contract that is not active yet
  (`reservations.released`); so does `reservation.device_withdrawn` for the contract of the
  device the reservation gave up (its next `approved` drafts a new contract);
- the inventory's device events keep the device read model (`readmodel.apply_snapshot`);
  fields its snapshot may not carry (manufacturer, model, accessories, purchase price) are
  read when present;
- the tickets service's `device.lost_confirmed` / `device.stolen_confirmed` are recorded on
  the contract the device is lent under (`lifecycle.record_device_loss`).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts_service.config import ContractsSettings
from contracts_service.document.press import Press
from contracts_service.gateway import GatewayPeopleDirectory, PeopleDirectory
from contracts_service.service import lifecycle, readmodel, reservations
from shared_kit.clock import Clock, system_clock
from shared_kit.crypto import RotatingCipher
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)

RESERVATION_APPROVED = "lv.datori.reservations.reservation.approved.v1"
RESERVATION_RELEASED = (
    "lv.datori.reservations.reservation.cancelled.v1",
    "lv.datori.reservations.reservation.expired.v1",
    "lv.datori.reservations.reservation.rejected.v1",
    "lv.datori.reservations.reservation.device_withdrawn.v1",
)
DEVICE_WITHDRAWN = RESERVATION_RELEASED[-1]
DEVICE_EVENTS = tuple(
    f"lv.datori.inventory.device.{name}.v1"
    for name in ("registered", "updated", "assigned", "status_changed")
)
DEVICE_LOST = "lv.datori.tickets.device.lost_confirmed.v1"
DEVICE_STOLEN = "lv.datori.tickets.device.stolen_confirmed.v1"
DEVICE_LOSSES = {DEVICE_LOST: "lost", DEVICE_STOLEN: "stolen"}
HANDLED = (RESERVATION_APPROVED, *RESERVATION_RELEASED, *DEVICE_EVENTS, *DEVICE_LOSSES)


class ReservationIn(BaseModel):
    """A reservation event, the fields drafting needs."""

    model_config = ConfigDict(extra="ignore")

    reservation_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    beneficiary: str | None = None
    requested_by: str | None = None
    period_start: dt.datetime
    period_end: dt.datetime

    def approval(self) -> reservations.Approval:
        """What the service needs of it."""
        return reservations.Approval(**self.model_dump())


class ReservationRef(BaseModel):
    """Any reservation event: which reservation (and the device it names, if any)."""

    model_config = ConfigDict(extra="ignore")
    reservation_id: uuid.UUID
    device_id: uuid.UUID | None = None


class DeviceSnapshotIn(BaseModel):
    """The inventory's device snapshot, the fields a contract prints."""

    model_config = ConfigDict(extra="ignore")

    device_id: uuid.UUID
    version: int
    asset_tag: str
    serial_number: str
    municipality_code: str
    institution_registration_number: str | None = None
    catalogue_item_code: str
    category: str
    manufacturer: str | None = None
    model: str | None = None
    accessories: list[str] = Field(default_factory=list)
    purchase_price: Decimal | None = None
    insured_until: dt.date | None = None
    status: str

    def snapshot(self) -> readmodel.Snapshot:
        """The read model's row."""
        return readmodel.Snapshot(
            id=self.device_id,
            inventory_version=self.version,
            asset_tag=self.asset_tag,
            serial_number=self.serial_number,
            municipality_code=self.municipality_code,
            institution_number=self.institution_registration_number,
            catalogue_item_code=self.catalogue_item_code,
            category=self.category,
            status=self.status,
            manufacturer=self.manufacturer,
            model=self.model,
            accessories=self.accessories,
            purchase_price=self.purchase_price,
            insured_until=self.insured_until,
        )


class DeviceLossIn(BaseModel):
    """A loss or theft the tickets service confirmed."""

    model_config = ConfigDict(extra="ignore")
    device_id: uuid.UUID
    ticket_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    confirmed_at: dt.datetime | None = None


class DeviceEventIn(BaseModel):
    """Any inventory device event."""

    model_config = ConfigDict(extra="ignore")
    device: DeviceSnapshotIn


def build_handlers(
    settings: ContractsSettings, people: PeopleDirectory, clock: Clock, press: Press
) -> dict[str, Handler]:
    """Event type → handler; each reads its payload and calls the service."""
    cipher = RotatingCipher(settings.personal_code_key)

    async def approved(session: AsyncSession, evt: CloudEvent) -> None:
        approval = ReservationIn.model_validate(evt.data).approval()
        await reservations.approved(
            session,
            settings=settings,
            cipher=cipher,
            press=press,
            people=people,
            approval=approval,
            now=clock(),
        )

    async def released(session: AsyncSession, evt: CloudEvent) -> None:
        ref = ReservationRef.model_validate(evt.data)
        reason = evt.type.removeprefix("lv.datori.reservations.").removesuffix(".v1")
        device = ref.device_id if evt.type == DEVICE_WITHDRAWN else None
        await reservations.released(
            session, reservation_id=ref.reservation_id, reason=reason, now=clock(), device=device
        )

    handlers: dict[str, Handler] = {RESERVATION_APPROVED: approved}
    handlers.update(dict.fromkeys(RESERVATION_RELEASED, released))
    handlers.update(dict.fromkeys(DEVICE_EVENTS, device))
    handlers.update(dict.fromkeys(DEVICE_LOSSES, device_loss))
    return handlers


async def device(session: AsyncSession, evt: CloudEvent) -> None:
    """An inventory device event: keep the read model."""
    await readmodel.apply_snapshot(
        session, DeviceEventIn.model_validate(evt.data).device.snapshot()
    )


async def device_loss(session: AsyncSession, evt: CloudEvent) -> None:
    """A loss or theft the tickets service confirmed: record it on the device's loan."""
    payload = DeviceLossIn.model_validate(evt.data)
    contract = await lifecycle.record_device_loss(
        session,
        device_id=payload.device_id,
        contract_id=payload.contract_id,
        kind=DEVICE_LOSSES[evt.type],
        ticket_id=payload.ticket_id,
        at=payload.confirmed_at or evt.time,
    )
    if contract is None:
        logger.info("%s: device %s is lent under no contract", evt.type, payload.device_id)


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    *,
    clock: Clock = system_clock,
    people: PeopleDirectory | None = None,
    press: Press,
) -> list[ConsumerRunner]:
    """Three consumer groups, one per topic, so that none can hold the others up.

    Drafting waits (retrying) for a device the read model does not know yet, and for the
    gateway when it is away; the inventory consumer meanwhile keeps the read model current.
    """
    assert isinstance(settings, ContractsSettings)
    handlers = build_handlers(
        settings, people or GatewayPeopleDirectory.from_settings(settings), clock, press
    )
    topics = {
        "reservations": (
            settings.reservations_topic,
            (RESERVATION_APPROVED, *RESERVATION_RELEASED),
        ),
        "inventory": (settings.inventory_topic, DEVICE_EVENTS),
        "tickets": (settings.tickets_topic, tuple(DEVICE_LOSSES)),
    }
    return [
        ConsumerRunner(
            name=f"{settings.consumer_group}.{name}",
            topics=[topic],
            handlers={t: handlers[t] for t in types},
            session_factory=sessions,
            settings=settings,
        )
        for name, (topic, types) in topics.items()
    ]
