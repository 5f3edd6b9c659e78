"""Events contracts read: approved and released reservations, and the inventory's devices.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest.

- `reservation.approved` drafts the contract (one per reservation: a replay or a second
  approval finds the existing one). The borrower is the reservation's `requested_by`, the
  platform person who asked (the guardian); a reservation without a person there is
  dead-lettered (`BorrowerUnknown`). Names and personal code come from the gateway; when it is
  unreachable the handler raises `GatewayUnavailable` and the kit's runner retries, so nothing
  is half drafted. The learner's name comes from there too when the learner is a person (their
  personal code is dropped at once); otherwise the contract shows the learner's platform id.
  A device not yet in the read model is waited for (retried until the inventory's event
  arrives through the separate inventory consumer).
- `reservation.cancelled` / `expired` / `rejected` cancel a contract that is not active yet.
- The tickets service's `device.lost_confirmed` / `device.stolen_confirmed` are recorded on
  the contract the device is lent under (`lifecycle.record_device_loss`).
- Inventory device events keep the device read model; only a newer `version` is applied.
  Fields the inventory's snapshot may not carry (manufacturer, model, accessories, purchase
  price) are read when present.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts_service.config import ContractsSettings
from contracts_service.exceptions import BorrowerUnknown, DeviceUnknown, PersonNotFound
from contracts_service.gateway import GatewayPeopleDirectory, PeopleDirectory
from contracts_service.repository import ContractRepository, DeviceRepository
from contracts_service.service import drafting, lifecycle
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
)
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


class ReservationRef(BaseModel):
    """Any reservation event: which reservation."""

    model_config = ConfigDict(extra="ignore")
    reservation_id: uuid.UUID


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


def _borrower_id(reservation: ReservationIn) -> uuid.UUID:
    try:
        return uuid.UUID(reservation.requested_by or "")
    except ValueError:
        raise BorrowerUnknown(
            f"Reservation {reservation.reservation_id} names no person in requested_by "
            "(a machine client or nobody); a contract needs the guardian who borrows"
        ) from None


async def _learner_name(people: PeopleDirectory, reservation: ReservationIn) -> str | None:
    if reservation.beneficiary not in (None, "learner"):
        return None
    try:
        learner = await people.person(uuid.UUID(reservation.learner_id))
    except (ValueError, PersonNotFound):
        return None
    return learner.full_name


def build_handlers(
    settings: ContractsSettings, people: PeopleDirectory, clock: Clock
) -> dict[str, Handler]:
    """Event type → handler."""
    cipher = RotatingCipher(settings.personal_code_key)

    async def approved(session: AsyncSession, evt: CloudEvent) -> None:
        reservation = ReservationIn.model_validate(evt.data)
        if await ContractRepository(session).by_reservation(reservation.reservation_id):
            return  # drafted before: one contract per reservation
        device = await DeviceRepository(session).get(reservation.device_id)
        if device is None:
            raise DeviceUnknown(f"Device {reservation.device_id} is not known (yet)")
        borrower_id = _borrower_id(reservation)
        borrower = await people.person(borrower_id)
        learner_name = await _learner_name(people, reservation)
        facts = drafting.ReservationFacts(
            reservation_id=reservation.reservation_id,
            device_id=reservation.device_id,
            municipality_code=reservation.municipality_code,
            institution_number=reservation.institution_number,
            learner_id=reservation.learner_id,
            borrower_id=borrower_id,
            period_start=reservation.period_start,
            period_end=reservation.period_end,
        )
        await drafting.draft(
            session=session,
            settings=settings,
            cipher=cipher,
            facts=facts,
            device=device,
            borrower=borrower,
            learner_name=learner_name,
            now=clock(),
        )

    async def released(session: AsyncSession, evt: CloudEvent) -> None:
        ref = ReservationRef.model_validate(evt.data)
        contract = await ContractRepository(session).by_reservation(
            ref.reservation_id, for_update=True
        )
        if contract is None:
            return
        reason = evt.type.removeprefix("lv.datori.reservations.").removesuffix(".v1")
        changed = await lifecycle.cancel(session, contract, reason=reason, now=clock())
        if not changed:
            logger.info("%s: contract %s is %s, left as is", evt.type, contract.id, contract.state)

    async def device(session: AsyncSession, evt: CloudEvent) -> None:
        snapshot = DeviceEventIn.model_validate(evt.data).device
        await DeviceRepository(session).upsert_if_newer(
            {
                "id": snapshot.device_id,
                "inventory_version": snapshot.version,
                "asset_tag": snapshot.asset_tag,
                "serial_number": snapshot.serial_number,
                "municipality_code": snapshot.municipality_code,
                "institution_number": snapshot.institution_registration_number,
                "catalogue_item_code": snapshot.catalogue_item_code,
                "category": snapshot.category,
                "manufacturer": snapshot.manufacturer,
                "model": snapshot.model,
                "accessories": snapshot.accessories,
                "purchase_price": snapshot.purchase_price,
                "insured_until": snapshot.insured_until,
                "status": snapshot.status,
            }
        )

    async def device_loss(session: AsyncSession, evt: CloudEvent) -> None:
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

    handlers: dict[str, Any] = {RESERVATION_APPROVED: approved}
    handlers.update(dict.fromkeys(DEVICE_LOSSES, device_loss))
    handlers.update(dict.fromkeys(RESERVATION_RELEASED, released))
    handlers.update(dict.fromkeys(DEVICE_EVENTS, device))
    return handlers


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    *,
    clock: Clock = system_clock,
    people: PeopleDirectory | None = None,
) -> list[ConsumerRunner]:
    """Three consumer groups, one per topic, so that none can hold the others up.

    Drafting waits (retrying) for a device the read model does not know yet, and for the
    gateway when it is away; the inventory consumer meanwhile keeps the read model current.
    """
    assert isinstance(settings, ContractsSettings)
    handlers = build_handlers(
        settings, people or GatewayPeopleDirectory.from_settings(settings), clock
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
