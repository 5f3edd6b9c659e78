"""Request and response models of the tickets API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared_kit.fields import AsciiDecimal
from shared_kit.schemas import ReadModel, Strict
from tickets_service.models import (
    Category,
    ClaimStatus,
    ContactPreference,
    ReporterKind,
    Severity,
    TicketSource,
    TicketState,
    Visibility,
)

OpaqueId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[!-~]+$"),
]
AssetTag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._/-]+$"
    ),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
PoliceReport = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9./ -]+$"
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ClaimNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S.*$")
]


@dataclass
class TicketFilters:
    """The list's filters (query parameters)."""

    states: list[TicketState] = field(default_factory=list)
    severities: list[Severity] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    open: bool | None = None
    breached: bool | None = None
    municipality_code: str | None = None
    institution_number: str | None = None
    device_id: uuid.UUID | None = None
    assignee_id: str | None = None
    unassigned: bool = False


class TicketCreate(Strict):
    """A problem report for one device, named by its id or its asset tag."""

    device_id: uuid.UUID | None = Field(None, description="The device (or give asset_tag)")
    asset_tag: AssetTag | None = Field(None, description="The sticker on the device")
    category: Category
    description: Text
    severity: Severity = Severity.NORMAL
    contact_preference: ContactPreference = ContactPreference.APP
    police_report_number: PoliceReport | None = Field(
        None, description="For a theft: the State Police report number, if there is one"
    )
    repair: bool | None = Field(
        None,
        description="Whether the device will need the workshop; default by category "
        "(does not start, screen, keyboard, damage). Reporting changes nothing on the device: "
        "it goes to the workshop when support moves the ticket to `in_repair`",
    )

    @model_validator(mode="after")
    def _one_device(self) -> TicketCreate:
        if (self.device_id is None) == (self.asset_tag is None):
            raise ValueError("name the device by exactly one of device_id and asset_tag")
        if self.police_report_number is not None and self.category is not Category.STOLEN:
            raise ValueError("a police report number belongs to a theft (category stolen)")
        if self.repair and self.category in (Category.LOST, Category.STOLEN):
            raise ValueError("a lost or stolen device cannot go in for repair")
        return self


class TransitionBody(Strict):
    """Move a ticket to another state (see the API description for who may do which)."""

    to: TicketState
    note: Note | None = Field(None, description="Kept in the ticket's history")
    resolution: Note | None = Field(None, description="What was done (when resolving)")
    repair: bool | None = Field(
        None,
        description="Support staff: whether the device needs the workshop (it goes there when "
        "the ticket moves to `in_repair`, which sets this)",
    )
    severity: Severity | None = Field(
        None, description="Support staff: re-triage (the SLA targets follow)"
    )

    @model_validator(mode="after")
    def _taking_in_is_a_repair(self) -> TransitionBody:
        if self.to is TicketState.IN_REPAIR and self.repair is False:
            raise ValueError("moving to in_repair takes the device in: repair cannot be false")
        return self


class AssignBody(Strict):
    """Assign to a technician (their platform person id), or unassign with null."""

    assignee_id: OpaqueId | None


class CommentCreate(Strict):
    """A comment; internal ones are for support staff only."""

    body: Text
    visibility: Visibility = Visibility.PUBLIC


class ConfirmLossBody(Strict):
    """Confirm a loss or theft (the inventory and the loan contract record it)."""

    police_report_number: PoliceReport | None = None


class ClaimCreate(Strict):
    """An insurance claim filed with the device's insurer."""

    insurer: Name
    claim_number: ClaimNumber
    status: ClaimStatus = ClaimStatus.FILED


class ClaimUpdate(Strict):
    """The claim moved on: new status, the outcome, a payout."""

    status: ClaimStatus
    outcome: Note | None = None
    payout_amount: AsciiDecimal | None = Field(None, ge=0, le=100_000, decimal_places=2)


class DeviceInfo(BaseModel):
    """The device as the inventory last described it, with its warranty and insurance."""

    status: str
    category: str
    os: str
    warranty_ends_on: dt.date | None
    under_warranty: bool
    insured_until: dt.date | None
    insured: bool


class SlaSummary(BaseModel):
    """Deadlines and breach flags (the full clocks are at `/sla`)."""

    response_due_at: dt.datetime
    resolution_due_at: dt.datetime | None = Field(
        description="Null while the clock is paused or stopped"
    )
    response_breached: bool
    resolution_breached: bool


class TicketRead(BaseModel):
    """A ticket."""

    id: uuid.UUID
    number: int
    state: TicketState
    device_id: uuid.UUID
    asset_tag: str | None
    device: DeviceInfo | None = Field(description="Null while the inventory has not told us")
    municipality_code: str
    institution_number: str | None
    category: Category
    severity: Severity
    description: str
    contact_preference: ContactPreference
    police_report_number: str | None
    source: TicketSource
    reporter_id: str
    reporter_kind: ReporterKind
    contract_id: uuid.UUID | None
    learner_id: str | None
    repair: bool
    warranty_claim: bool
    return_photo_ids: list[uuid.UUID]
    assignee_id: str | None
    assigned_at: dt.datetime | None
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution: str | None
    closed_at: dt.datetime | None
    repair_started_at: dt.datetime | None
    repair_completed_at: dt.datetime | None
    loss_confirmed_at: dt.datetime | None
    loaner_requested_at: dt.datetime | None
    sla: SlaSummary
    version: int

    @classmethod
    def of(cls, ticket: Any, device: DeviceInfo | None) -> TicketRead:
        """From a ticket row and its device's info."""
        fields = {k: getattr(ticket, k) for k in cls.model_fields if hasattr(ticket, k)}
        sla = SlaSummary(
            response_due_at=ticket.response_due_at,
            resolution_due_at=ticket.resolution_due_at,
            response_breached=ticket.response_breached_at is not None,
            resolution_breached=ticket.resolution_breached_at is not None,
        )
        return cls(**{**fields, "device": device, "sla": sla})


class CommentRead(ReadModel):
    """A comment."""

    id: uuid.UUID
    author_id: str
    author_is_staff: bool
    visibility: Visibility
    body: str
    created_at: dt.datetime


class PhotoRead(ReadModel):
    """A photo's metadata (the content is at its own URL)."""

    id: uuid.UUID
    position: int
    filename: str | None
    media_type: str
    size: int
    sha256: str
    created_at: dt.datetime


class ClaimRead(ReadModel):
    """An insurance claim."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    insurer: str
    claim_number: str
    status: ClaimStatus
    outcome: str | None
    payout_amount: Decimal | None
    filed_at: dt.datetime
    decided_at: dt.datetime | None
    version: int


class ClockRead(BaseModel):
    """One SLA clock (durations in seconds; `remaining` is negative once breached)."""

    target_minutes: int
    state: str = Field(description="running, paused or stopped")
    elapsed_seconds: int
    remaining_seconds: int
    paused_seconds: int
    due_at: dt.datetime | None = Field(description="Null while paused or stopped")
    breached: bool
    breached_at: dt.datetime | None = Field(description="When the target was exceeded (flagged)")


class SlaRead(BaseModel):
    """Both SLA clocks of a ticket at the moment of the request."""

    ticket_id: uuid.UUID
    severity: Severity
    state: TicketState
    at: dt.datetime
    response: ClockRead
    resolution: ClockRead


class OldestOpen(BaseModel):
    """The ticket waiting longest."""

    id: uuid.UUID
    number: int
    opened_at: dt.datetime
    age_seconds: int


class QueueSummary(BaseModel):
    """A municipality's support queue at a glance."""

    municipality_code: str
    at: dt.datetime
    by_state: dict[str, int]
    open_total: int
    open_by_severity: dict[str, int]
    open_by_assignee: dict[str, int] = Field(description='Unassigned tickets under "unassigned"')
    oldest_open: OldestOpen | None
    open_response_breached: int
    open_resolution_breached: int


class SlaTargets(Strict):
    """Targets of one severity, in minutes of wall-clock time."""

    response_minutes: int = Field(ge=1, le=60 * 24 * 90)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365)

    @model_validator(mode="after")
    def _order(self) -> SlaTargets:
        if self.resolution_minutes < self.response_minutes:
            raise ValueError("resolution_minutes must not be shorter than response_minutes")
        return self


class SlaPolicyRead(SlaTargets):
    """A severity's targets in a municipality; `version` 0 means the defaults."""

    model_config = ConfigDict(extra="ignore")

    municipality_code: str
    severity: Severity
    version: int
