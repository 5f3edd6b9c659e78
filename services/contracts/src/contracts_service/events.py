"""Events contracts publish, as versioned payload models (JSON Schemas come from these).

Every event carries the contract as consumers need it, keyed by the contract id: the
reservation it fulfils, the device, the tenant, the learner and the borrower as opaque
platform ids (never a personal code), the state and the current document's version and hash.
`returned` carries the condition (a damaged return is what the tickets service opens a repair
ticket from, with the notes and the ids of the photos it can fetch); `terminated` the reason.
`device_loss` (`lost` / `stolen`) is set on every event after the tickets service confirmed the
device lost or stolen during the loan.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from contracts_service.models import Contract, ContractDocument, ReturnCondition
from contracts_service.schemas import PERIOD_END
from shared_kit.events import CloudEvent, add_event
from shared_kit.observability import correlation_id

SOURCE = "/datori/contracts"
PREFIX = "lv.datori.contracts.contract."

DRAFTED = PREFIX + "drafted.v1"
SIGNED_BY_BORROWER = PREFIX + "signed_by_borrower.v1"
ACTIVATED = PREFIX + "activated.v1"
RETURNED = PREFIX + "returned.v1"
TERMINATED = PREFIX + "terminated.v1"
EXPIRED = PREFIX + "expired.v1"
OVERDUE = PREFIX + "overdue.v1"
CANCELLED = PREFIX + "cancelled.v1"


class ContractPayload(BaseModel):
    """The contract as consumers need it."""

    model_config = ConfigDict(extra="forbid")

    contract_id: uuid.UUID
    number: str
    reservation_id: uuid.UUID
    device_id: uuid.UUID
    municipality_code: str
    institution_number: str
    learner_id: str
    borrower_id: uuid.UUID
    state: str
    period_start: dt.datetime
    period_end: dt.datetime = Field(description=PERIOD_END)
    document_version: int
    document_sha256: str
    device_loss: Literal["lost", "stolen"] | None = None


class ContractDrafted(ContractPayload):
    """A version of the contract was rendered; `lender_complete` False means not yet signable."""

    sign_by: dt.datetime
    lender_complete: bool


class ContractSignedByBorrower(ContractPayload):
    """The borrower signed; the lender countersigns next."""

    signed_at: dt.datetime


class ContractActivated(ContractPayload):
    """Both parties signed and the final PDF is sealed: the device is on loan."""

    activated_at: dt.datetime


class ContractReturned(ContractPayload):
    """The device came back, in this condition."""

    returned_at: dt.datetime
    condition: ReturnCondition
    notes: str | None
    photo_ids: list[uuid.UUID]


class ContractTerminated(ContractPayload):
    """The loan was ended early by the lender."""

    terminated_at: dt.datetime
    reason: str


class ContractExpired(ContractPayload):
    """Not signed in time; the reservation can be released."""

    expired_at: dt.datetime


class ContractOverdue(ContractPayload):
    """The period ended and the device is not back (emitted once)."""

    overdue_since: dt.datetime


class ContractCancelled(ContractPayload):
    """The reservation went away before the contract became active."""

    cancelled_at: dt.datetime
    reason: str


PAYLOADS: dict[str, type[ContractPayload]] = {
    DRAFTED: ContractDrafted,
    SIGNED_BY_BORROWER: ContractSignedByBorrower,
    ACTIVATED: ContractActivated,
    RETURNED: ContractReturned,
    TERMINATED: ContractTerminated,
    EXPIRED: ContractExpired,
    OVERDUE: ContractOverdue,
    CANCELLED: ContractCancelled,
}


def contract_event(
    type_: str, contract: Contract, document: ContractDocument, **fields: Any
) -> CloudEvent:
    """A CloudEvent describing the contract as it is now."""
    payload = PAYLOADS[type_](
        contract_id=contract.id,
        number=contract.number,
        reservation_id=contract.reservation_id,
        device_id=contract.device_id,
        municipality_code=contract.municipality_code,
        institution_number=contract.institution_number,
        learner_id=contract.learner_id,
        borrower_id=contract.borrower_id,
        state=contract.state.value,
        period_start=contract.period_start,
        period_end=contract.period_end,
        document_version=document.number,
        document_sha256=document.sha256,
        device_loss=contract.device_loss,
        **fields,
    )
    return CloudEvent(
        type=type_,
        source=SOURCE,
        subject=str(contract.id),
        data=payload.model_dump(mode="json"),
        municipality=contract.municipality_code,
        correlationid=correlation_id.get(),
    )


def publish(
    session: AsyncSession, type_: str, contract: Contract, document: ContractDocument, **fields: Any
) -> None:
    """Queue a contract event in the outbox of the caller's transaction."""
    add_event(session, contract_event(type_, contract, document, **fields))
