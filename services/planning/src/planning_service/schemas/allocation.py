"""Request and response models of the allocation API."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from planning_service.models.allocation import AllocationState
from shared_kit.fields import AsciiDecimal, AtvkCode, RegNumber
from shared_kit.schemas import Strict

Band = Literal["1-3", "4-6", "7-9", "10-12"]
Criterion = Literal["low_income", "single_parent", "large_family", "disabled_child"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Ratio = Annotated[AsciiDecimal, Field(gt=0, le=1000, max_digits=8, decimal_places=3)]
SocialWeight = Annotated[AsciiDecimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]
SurveyWeight = Annotated[AsciiDecimal, Field(ge=0, le=1, max_digits=4, decimal_places=3)]
BandWeight = Annotated[AsciiDecimal, Field(ge=0, le=1_000_000, max_digits=14, decimal_places=6)]


class SizeBandBody(Strict):
    """The 2020 rule: schools whose eligible pupils fall in [min, max] weigh `weight`."""

    min_pupils: int = Field(ge=0, le=1_000_000)
    max_pupils: int | None = Field(None, ge=0, le=1_000_000, description="None: no upper end")
    weight: BandWeight

    @model_validator(mode="after")
    def _ordered(self) -> SizeBandBody:
        if self.max_pupils is not None and self.max_pupils < self.min_pupils:
            raise ValueError("max_pupils is below min_pupils")
        return self


class AllocationRoundCreate(Strict):
    """A procurement to spread by need, and the rule's parameters."""

    title: Title
    funding_programme: Title
    order_reference: Reference
    devices: int = Field(gt=0, le=10_000_000)
    grade_bands: list[Band] = Field(min_length=1, max_length=4)
    target_ratio: dict[Band, Ratio] = Field(
        default_factory=dict, description="Pupils per device; a band left out: one per pupil"
    )
    subtract_devices_held: bool = False
    survey_round_id: uuid.UUID | None = None
    survey_weight: SurveyWeight = Decimal(0)
    social_weights: dict[Criterion, SocialWeight] = Field(default_factory=dict)
    min_eligible_pupils: int = Field(0, ge=0, le=1_000_000)
    size_bands: list[SizeBandBody] = Field(default_factory=list, max_length=100)
    cap_per_school: int | None = Field(None, ge=1, le=10_000_000)
    municipalities: list[AtvkCode] = Field(default_factory=list, max_length=1000)
    institutions: list[RegNumber] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="after")
    def _consistent(self) -> AllocationRoundCreate:
        if len(set(self.grade_bands)) != len(self.grade_bands):
            raise ValueError("grade_bands lists a band twice")
        if extra := set(self.target_ratio) - set(self.grade_bands):
            raise ValueError(f"target_ratio names bands the round does not: {sorted(extra)}")
        if self.survey_weight > 0 and self.survey_round_id is None:
            raise ValueError("survey_weight needs a survey_round_id")
        bands = sorted(self.size_bands, key=lambda b: b.min_pupils)
        for low, high in itertools.pairwise(bands):
            if low.max_pupils is None or low.max_pupils >= high.min_pupils:
                raise ValueError("size_bands overlap")
        return self


class Totals(BaseModel):
    """A computed round's totals (allocated + unallocated = devices)."""

    devices: int
    allocated: int
    unallocated: int
    schools: int
    municipalities: int


class AllocationRoundRead(BaseModel):
    """A round with its parameters, state and totals."""

    id: uuid.UUID
    title: str
    funding_programme: str
    order_reference: str
    devices: int
    grade_bands: list[str]
    target_ratio: dict[str, str]
    subtract_devices_held: bool
    survey_round_id: uuid.UUID | None
    survey_weight: str
    social_weights: dict[str, str]
    min_eligible_pupils: int
    size_bands: list[dict[str, Any]]
    cap_per_school: int | None
    municipalities: list[str]
    institutions: list[str]
    state: AllocationState
    inputs_taken_at: dt.datetime | None
    computed_at: dt.datetime | None
    published_at: dt.datetime | None
    totals: Totals | None
    created_at: dt.datetime
    version: int


class MunicipalityRead(BaseModel):
    """A municipality's sums in a round; `pooled`: the devices its schools below the minimum
    would have had (a decimal string), gone to its other schools (or nationally)."""

    municipality_code: str
    name: str
    schools: int
    eligible_pupils: int
    need: int
    allocated: int
    pooled: str
    pooled_schools: int
    pooled_to: Literal["municipality", "national"] | None


class EligiblePupils(BaseModel):
    """Eligible pupils per band and in all."""

    by_band: dict[str, int]
    total: int


class LineRead(BaseModel):
    """A school's result in a round, with its explanation (see the rule in the API docs)."""

    municipality_code: str
    institution_number: str
    name: str
    eligible_pupils: EligiblePupils
    devices_held: dict[str, int]
    ratio_need: int
    survey_need: int
    need: int
    social_factor: str
    weight: str
    share: str = Field(description="Exact share, to six decimals")
    share_exact: str = Field(description="Exact share as a fraction p/q")
    floor: int
    remainder: str
    rounded_up: bool
    capped: bool
    pooled: bool
    computed: int
    adjustments: int
    moves: int
    allocated: int
    ordered: int | None


class InputRead(BaseModel):
    """A school's stored inputs."""

    institution_number: str
    municipality_code: str
    name: str
    pupils: dict[str, int]
    devices_held: dict[str, int]
    survey: dict[str, Any] | None


class TransferBody(Strict):
    """Devices from one school to another, and why."""

    from_institution: RegNumber
    to_institution: RegNumber
    quantity: int = Field(gt=0, le=10_000_000)
    reason: Reason

    @model_validator(mode="after")
    def _two_schools(self) -> TransferBody:
        if self.from_institution == self.to_institution:
            raise ValueError("from_institution and to_institution are the same school")
        return self


class TransferRead(BaseModel):
    """An adjustment or a move; `reason` and `actor` only for those who may read them."""

    id: uuid.UUID
    from_institution: str
    from_municipality: str
    to_institution: str
    to_municipality: str
    quantity: int
    reason: str | None
    actor: str | None
    at: dt.datetime


class OrderBody(Strict):
    """How many devices are ordered for the school under the round."""

    ordered: int = Field(ge=0, le=10_000_000)
