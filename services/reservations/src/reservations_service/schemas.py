"""Request and response models of the reservations API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from reservations_service.models import Beneficiary, ReservationState
from reservations_service.service.allocation_rules import Criterion, Source
from shared_kit.fields import AsciiDecimal, RegNumber
from shared_kit.schemas import ReadModel, Strict

OpaqueId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[!-~]+$"),
]
Word = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$"
    ),
]
ItemCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9._/-]+$",
    ),
]
Inches = Annotated[AsciiDecimal, Field(ge=5, le=40, decimal_places=1)]


def _plausible_year(value: dt.datetime) -> dt.datetime:
    # Checked before any arithmetic: year 1 or 9999 with an offset overflows datetime.
    if not 2000 <= value.year <= 2100:
        raise ValueError("the year must be between 2000 and 2100")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_plausible_year)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

PRIORITY_DESCRIPTION = (
    "Social criteria give priority when devices are scarce. Score = sum over claimed criteria "
    "of weight * source factor: low_income 40, single_parent 30, large_family 20, "
    "disabled_child 20; welfare_data and verified_by_school count fully, declared counts half. "
    "Waiting requests are served by score (highest first), then request time, then id. "
    "Guardians may only declare; school staff may also attest `verified_by_school`; "
    "municipal administrators and municipal platforms may also pass `welfare_data`. "
    "Criteria verified in the needs survey (school staff attested them, or the municipality "
    "checked them against welfare data) count too, fully, without the family declaring them "
    "again: they show in `verified_criteria`, and a waiting request is rescored as soon as "
    "one is verified or withdrawn. "
    "Loaners (replacements the tickets service requests while a learner's own device is in "
    "repair, lost or stolen) score 1000, above any combination of criteria."
)


class SocialCriterion(Strict):
    """A criterion of the programme and where the evidence for it comes from."""

    criterion: Criterion
    source: Source


class DeviceCriteria(Strict):
    """Which devices are acceptable; an empty object accepts any device of the institution."""

    category: Word | None = Field(None, examples=["laptop"])
    os: Word | None = Field(None, examples=["windows"])
    screen_inches: Inches | None = Field(None, description="Exact screen size")
    min_screen_inches: Inches | None = None
    max_screen_inches: Inches | None = None
    touch: bool | None = None
    catalogue_item_code: ItemCode | None = None

    @model_validator(mode="after")
    def _screen_range(self) -> DeviceCriteria:
        low, high = self.min_screen_inches, self.max_screen_inches
        if low is not None and high is not None and low > high:
            raise ValueError("min_screen_inches must not exceed max_screen_inches")
        return self


class ReservationCreate(Strict):
    """A reservation request (see the description of `social_criteria` for priority)."""

    learner_id: OpaqueId = Field(
        description="Opaque platform id of the learner (or of the teacher or class, for staff "
        "reservations); never a personal code"
    )
    beneficiary: Beneficiary = Beneficiary.LEARNER
    institution_number: RegNumber = Field(description="VIIS registration number")
    start: Instant | None = Field(None, description="Default: now")
    end: Instant | None = Field(
        None, description="Exclusive; default: the end of the school year (policy)"
    )
    device_id: uuid.UUID | None = Field(None, description="A specific device (or use criteria)")
    criteria: DeviceCriteria | None = None
    social_criteria: list[SocialCriterion] = Field(
        default_factory=list, max_length=len(Criterion), description=PRIORITY_DESCRIPTION
    )

    @field_validator("social_criteria")
    @classmethod
    def _unique_criteria(cls, value: list[SocialCriterion]) -> list[SocialCriterion]:
        names = [c.criterion for c in value]
        if len(names) != len(set(names)):
            raise ValueError("each criterion may be claimed once")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> ReservationCreate:
        if self.device_id is not None and self.criteria is not None:
            raise ValueError("name either a device_id or criteria, not both")
        if self.beneficiary is not Beneficiary.LEARNER and self.social_criteria:
            raise ValueError("social criteria apply to learners only")
        return self


class ApproveBody(Strict):
    """Approve: the service picks a device, or staff name one."""

    device_id: uuid.UUID | None = None
    waitlist_if_unavailable: bool = Field(
        False,
        description="When no matching device is free, put the request on the waitlist "
        "instead of answering 409",
    )


class RejectBody(Strict):
    """Reject with a reason the family will see."""

    reason: Reason


class CancelBody(Strict):
    """Cancel, optionally saying why."""

    reason: Reason | None = None


class ReservationRead(ReadModel):
    """A reservation."""

    id: uuid.UUID
    state: ReservationState
    municipality_code: str
    institution_number: str
    beneficiary: Beneficiary
    learner_id: str
    requested_by: str
    requested_device_id: uuid.UUID | None
    criteria: DeviceCriteria | None
    social_criteria: list[SocialCriterion]
    verified_criteria: list[SocialCriterion] = Field(
        default_factory=list,
        description="The learner's criteria verified in the needs survey that count in the "
        "score (kept current while the request waits)",
    )
    priority_score: int = Field(description=PRIORITY_DESCRIPTION)
    device_id: uuid.UUID | None = Field(description="The allocated device")
    start: dt.datetime
    end: dt.datetime
    pickup_deadline: dt.datetime | None
    reason: str | None
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    waitlist_position: int | None = Field(
        None, description="Place in the institution's waitlist (single reads only)"
    )
    loaner_ticket_id: uuid.UUID | None = Field(
        None,
        description="A loaner: the tickets service's ticket whose device it replaces "
        "(priority above every social criterion)",
    )
    version: int

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if isinstance(data, dict) or not hasattr(data, "period_start"):
            return data
        criteria = {name: getattr(data, name) for name in DeviceCriteria.model_fields}
        has_criteria = data.requested_device_id is None
        return {
            **{name: getattr(data, name, None) for name in cls.model_fields},
            "criteria": criteria if has_criteria else None,
            "start": data.period_start,
            "end": data.period_end,
        }


@dataclass
class ReservationFilters:
    """The filters of the reservation list (query parameters)."""

    states: list[ReservationState] = field(default_factory=list)
    institution_number: str | None = None
    learner_id: str | None = None
    municipality_code: str | None = None


class WaitlistEntry(BaseModel):
    """One waiting request and its place."""

    position: int
    reservation: ReservationRead


class Availability(BaseModel):
    """How many matching devices are free at an institution for a period."""

    institution_number: str
    start: dt.datetime
    end: dt.datetime
    matching: int = Field(description="Lendable devices that match the criteria")
    free: int = Field(description="Of those, devices with no allocation overlapping the period")


class OfferItem(BaseModel):
    """A catalogue item an institution lends, its kind, and how many are free for the period."""

    catalogue_item_code: str
    category: str
    os: str
    screen_inches: Decimal | None
    touch: bool
    matching: int = Field(description="Lendable devices of this item at the institution")
    free: int = Field(description="Of those, devices with no allocation overlapping the period")


class Offer(BaseModel):
    """What an institution lends for a period, by catalogue item (code order)."""

    institution_number: str
    start: dt.datetime
    end: dt.datetime
    items: list[OfferItem]


class PolicyWrite(Strict):
    """A municipality's reservation rules."""

    auto_approve: bool = Field(True, description="Allocate on request, or wait for staff")
    max_active_per_learner: int = Field(1, ge=1, le=20)
    max_period_days: int = Field(366, ge=1, le=800)
    pickup_days: int = Field(7, ge=1, le=90)
    school_year_end: str = Field(
        "06-01",
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="MM-DD: the default period ends at local midnight starting this day",
    )

    @field_validator("school_year_end")
    @classmethod
    def _real_day(cls, value: str) -> str:
        month, day = (int(p) for p in value.split("-"))
        dt.date(2001, month, day)  # not a leap year: 02-29 would give no end in most years
        return value


class PolicyRead(PolicyWrite):
    """A policy; `version` 0 means the municipality still uses the defaults."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    municipality_code: str
    version: int
