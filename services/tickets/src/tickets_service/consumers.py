"""Events tickets read: the inventory's devices and the contracts' loans and returns.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. Every inventory device event carries the full device snapshot, so all four
types are handled alike (the snapshot's `version` makes replays harmless). Contract events:
`activated` starts a loan (device → borrower and learner), `returned` and `terminated` end it;
a `returned` with condition `damaged` (or `accessories_missing`) also opens a ticket for the
institution, once per contract. Every handler runs once per event (the kit's inbox), and
each is idempotent on its own as well, so a replay through another route changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kit.clock import Clock, system_clock
from shared_kit.events import CloudEvent
from shared_kit.events.consumer import ConsumerRunner, Handler
from shared_kit.settings import ServiceSettings
from tickets_service.config import TicketsSettings
from tickets_service.service import readmodel, tickets

DEVICE_EVENTS = tuple(
    f"lv.datori.inventory.device.{name}.v1"
    for name in ("registered", "updated", "assigned", "status_changed")
)
CONTRACT_ACTIVATED = "lv.datori.contracts.contract.activated.v1"
CONTRACT_RETURNED = "lv.datori.contracts.contract.returned.v1"
CONTRACT_TERMINATED = "lv.datori.contracts.contract.terminated.v1"


class DeviceSnapshotIn(BaseModel):
    """The inventory's device snapshot, the fields this service keeps."""

    model_config = ConfigDict(extra="ignore")

    device_id: uuid.UUID
    version: int
    asset_tag: str
    municipality_code: str
    institution_registration_number: str | None = None
    category: str
    os: str
    status: str
    warranty_ends_on: dt.date | None = None
    insured_until: dt.date | None = None


class DeviceEventIn(BaseModel):
    """Any inventory device event."""

    model_config = ConfigDict(extra="ignore")
    device: DeviceSnapshotIn


class ContractIn(BaseModel):
    """Any contract event: the loan's device, tenant and people (opaque ids)."""

    model_config = ConfigDict(extra="ignore")

    contract_id: uuid.UUID
    number: str = ""
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    borrower_id: str


class ContractActivatedIn(ContractIn):
    """The device is with the family."""

    activated_at: dt.datetime | None = None


class ContractReturnedIn(ContractIn):
    """The device came back, in this condition."""

    returned_at: dt.datetime | None = None
    condition: str | None = None
    notes: str | None = None
    photo_ids: list[uuid.UUID] = Field(default_factory=list)


class ContractTerminatedIn(ContractIn):
    """The loan was ended early."""

    terminated_at: dt.datetime | None = None


def _loan(payload: ContractIn) -> readmodel.LoanFacts:
    return readmodel.LoanFacts(
        contract_id=payload.contract_id,
        device_id=payload.device_id,
        municipality_code=payload.municipality_code,
        institution_number=payload.institution_number,
        borrower_id=payload.borrower_id,
        learner_id=payload.learner_id,
    )


async def device_changed(session: AsyncSession, evt: CloudEvent) -> None:
    """Any inventory device event: keep its snapshot."""
    snap = DeviceEventIn.model_validate(evt.data).device
    await readmodel.apply_snapshot(
        session,
        readmodel.Snapshot(
            id=snap.device_id,
            inventory_version=snap.version,
            asset_tag=snap.asset_tag,
            municipality_code=snap.municipality_code,
            institution_number=snap.institution_registration_number,
            category=snap.category,
            os=snap.os,
            status=snap.status,
            warranty_ends_on=snap.warranty_ends_on,
            insured_until=snap.insured_until,
        ),
    )


async def contract_activated(session: AsyncSession, evt: CloudEvent) -> None:
    """A loan starts."""
    payload = ContractActivatedIn.model_validate(evt.data)
    await readmodel.loan_started(session, _loan(payload), payload.activated_at or evt.time)


async def contract_returned(session: AsyncSession, evt: CloudEvent, *, clock: Clock) -> None:
    """A loan ends with the device back, in some condition."""
    payload = ContractReturnedIn.model_validate(evt.data)
    facts = readmodel.ReturnFacts(
        loan=_loan(payload),
        contract_number=payload.number,
        condition=payload.condition,
        notes=payload.notes,
        photo_ids=tuple(payload.photo_ids),
    )
    at = payload.returned_at or evt.time
    await tickets.contract_returned(session, facts, at=at, now=clock())


async def contract_terminated(session: AsyncSession, evt: CloudEvent) -> None:
    """A loan ends early."""
    payload = ContractTerminatedIn.model_validate(evt.data)
    await readmodel.loan_ended(session, payload.contract_id, payload.terminated_at or evt.time)


def build_handlers(clock: Clock = system_clock) -> dict[str, Handler]:
    """Event type → handler; `clock` is the service's (tests move it)."""
    handlers: dict[str, Handler] = dict.fromkeys(DEVICE_EVENTS, device_changed)
    handlers[CONTRACT_ACTIVATED] = contract_activated
    handlers[CONTRACT_RETURNED] = partial(contract_returned, clock=clock)
    handlers[CONTRACT_TERMINATED] = contract_terminated
    return handlers


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[ConsumerRunner]:
    """The service's one consumer group over the inventory and contracts topics."""
    assert isinstance(settings, TicketsSettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[settings.inventory_topic, settings.contracts_topic],
            handlers=build_handlers(clock),
            session_factory=sessions,
            settings=settings,
        )
    ]
