"""Events reservations read: the inventory's devices, the contracts' loans, loaners, and the
criteria verified in planning's needs survey.

Each payload model is this service's own tolerant copy: it reads the fields it needs and
ignores the rest. Every inventory device event carries the full device snapshot, so all four
types are handled alike (the snapshot's `version` makes replays harmless). Contract events
name the reservation they fulfil (`reservation_id`); one without it, or naming a reservation
this service does not know, is ignored. `activated` fulfils the reservation; `returned`,
`expired` and `terminated` (ended early) all end the loan. A contract's moment is its
`activated_at` / `returned_at` / `expired_at` / `terminated_at` field when present, else the
event's `time`. The tickets service's `loaner.requested` makes a top-priority reservation for
the learner whose device is in repair, lost or stolen (see `service/loaners.py`). Planning's
`criterion.verified` / `criterion.withdrawn` name a learner's criterion and its source; the
learner's waiting requests are rescored with it (see `service/verified.py`). The other planning
events are not for this service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reservations_service.config import ReservationsSettings
from reservations_service.service import lifecycle, loaners, readmodel, verified
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
CRITERION_VERIFIED = "lv.datori.planning.criterion.verified.v1"
CRITERION_WITHDRAWN = "lv.datori.planning.criterion.withdrawn.v1"


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

    def snapshot(self) -> readmodel.Snapshot:
        """The read model's snapshot of this device."""
        return readmodel.Snapshot(
            device_id=self.device_id,
            version=self.version,
            municipality_code=self.municipality_code,
            institution_number=self.institution_registration_number,
            catalogue_item_code=self.catalogue_item_code,
            category=self.category,
            os=self.os,
            screen_inches=self.screen_inches,
            touch=self.touch,
            status=self.status,
        )


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


class CriterionEventIn(BaseModel):
    """A learner's criterion verified (or withdrawn) in a survey round, with its source."""

    model_config = ConfigDict(extra="ignore")
    round_id: uuid.UUID
    learner_id: str
    criterion: str
    source: str
    at: dt.datetime | None = None

    def verification(self, fallback: dt.datetime) -> verified.Verification:
        """The service's view of it (the event's time when the payload has none)."""
        return verified.Verification(
            learner_id=self.learner_id,
            criterion=self.criterion,
            source=self.source,
            round_id=self.round_id,
            at=self.at or fallback,
        )


class ContractEventIn(BaseModel):
    """Any contract event: the reservation it belongs to, its device and its moment."""

    model_config = ConfigDict(extra="ignore")
    reservation_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    at: dt.datetime | None = None


class ContractActivatedIn(ContractEventIn):
    """A loan contract became active: the device is with the family."""

    at: dt.datetime | None = Field(None, validation_alias="activated_at")


class ContractReturnedIn(ContractEventIn):
    """A loan ended with the device back."""

    at: dt.datetime | None = Field(None, validation_alias="returned_at")


class ContractExpiredIn(ContractEventIn):
    """A loan contract's term ended."""

    at: dt.datetime | None = Field(None, validation_alias="expired_at")


class ContractTerminatedIn(ContractEventIn):
    """A loan contract was ended early."""

    at: dt.datetime | None = Field(None, validation_alias="terminated_at")


LOAN_ENDINGS: dict[str, type[ContractEventIn]] = {
    CONTRACT_RETURNED: ContractReturnedIn,
    CONTRACT_EXPIRED: ContractExpiredIn,
    CONTRACT_TERMINATED: ContractTerminatedIn,
}
HANDLED = (
    *DEVICE_EVENTS,
    CONTRACT_ACTIVATED,
    *LOAN_ENDINGS,
    LOANER_REQUESTED,
    CRITERION_VERIFIED,
    CRITERION_WITHDRAWN,
)


def build_handlers(
    settings: ReservationsSettings, clock: Clock = system_clock
) -> dict[str, Handler]:
    """Event type → handler; each reads its payload and makes one service call."""

    async def device(session: AsyncSession, evt: CloudEvent) -> None:
        snapshot = DeviceEventIn.model_validate(evt.data).device.snapshot()
        await readmodel.apply_snapshot(session, snapshot, now=clock())

    async def activated(session: AsyncSession, evt: CloudEvent) -> None:
        payload = ContractActivatedIn.model_validate(evt.data)
        await lifecycle.contract_activated(
            session,
            reservation_id=payload.reservation_id,
            device_id=payload.device_id,
            at=payload.at or evt.time,
            now=clock(),
        )

    async def ended(session: AsyncSession, evt: CloudEvent) -> None:
        payload = LOAN_ENDINGS[evt.type].model_validate(evt.data)
        await lifecycle.loan_ended(
            session, reservation_id=payload.reservation_id, at=payload.at or evt.time, now=clock()
        )

    async def loaner(session: AsyncSession, evt: CloudEvent) -> None:
        request = loaners.LoanerRequest(**LoanerRequestedIn.model_validate(evt.data).model_dump())
        await loaners.request_loaner(session, request, now=clock(), settings=settings)

    async def criterion_verified(session: AsyncSession, evt: CloudEvent) -> None:
        payload = CriterionEventIn.model_validate(evt.data)
        await verified.criterion_verified(session, payload.verification(evt.time))

    async def criterion_withdrawn(session: AsyncSession, evt: CloudEvent) -> None:
        payload = CriterionEventIn.model_validate(evt.data)
        await verified.criterion_withdrawn(session, payload.verification(evt.time))

    return {
        **dict.fromkeys(DEVICE_EVENTS, device),
        CONTRACT_ACTIVATED: activated,
        **dict.fromkeys(LOAN_ENDINGS, ended),
        LOANER_REQUESTED: loaner,
        CRITERION_VERIFIED: criterion_verified,
        CRITERION_WITHDRAWN: criterion_withdrawn,
    }


def build_consumers(
    sessions: async_sessionmaker[AsyncSession],
    settings: ServiceSettings,
    clock: Clock = system_clock,
) -> list[ConsumerRunner]:
    """The service's one consumer group over the inventory, contracts, tickets and planning
    topics."""
    assert isinstance(settings, ReservationsSettings)
    return [
        ConsumerRunner(
            name=settings.consumer_group,
            topics=[
                settings.inventory_topic,
                settings.contracts_topic,
                settings.tickets_topic,
                settings.planning_topic,
            ],
            handlers=build_handlers(settings, clock),
            session_factory=sessions,
            settings=settings,
        )
    ]
