"""API models of the survey: rounds, tasks, answers, verifications, reads and results."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared_kit.fields import AtvkCode, RegNumber

Criterion = Literal["low_income", "single_parent", "large_family", "disabled_child"]
CRITERIA: tuple[Criterion, ...] = ("low_income", "single_parent", "large_family", "disabled_child")
DeviceAccess = Literal["none", "smartphone_only", "shared", "own"]
Internet = Literal["yes", "mobile_only", "none"]
RoundState = Literal["scheduled", "open", "closed"]
Grade = Annotated[int, Field(ge=1, le=12)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Band = Literal["1-3", "4-6", "7-9", "10-12"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(values: Sequence[object] | None, name: str) -> None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice")


class RoundCreate(_Body):
    """A new survey round."""

    title: Title
    scope: Literal["municipality", "national"]
    municipality_code: AtvkCode | None = None
    opens_on: dt.date
    closes_on: dt.date
    grades: list[Grade] = Field(min_length=1, max_length=12)
    institutions: list[RegNumber] | None = Field(None, min_length=1, max_length=2000)
    criteria: list[Criterion] = Field(default_factory=list, max_length=4)
    retention_months: int | None = Field(None, ge=1, le=120)

    @model_validator(mode="after")
    def _consistent(self) -> RoundCreate:
        if (self.scope == "municipality") != (self.municipality_code is not None):
            raise ValueError("municipality_code is required for, and only for, municipality scope")
        if self.closes_on < self.opens_on:
            raise ValueError("closes_on is before opens_on")
        _unique(self.grades, "grades")
        _unique(self.institutions, "institutions")
        _unique(self.criteria, "criteria")
        return self


class RoundUpdate(_Body):
    """Changes to a round (absent fields stay)."""

    title: Title | None = None
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    grades: list[Grade] | None = Field(None, min_length=1, max_length=12)
    institutions: list[RegNumber] | None = Field(None, min_length=1, max_length=2000)
    criteria: list[Criterion] | None = Field(None, max_length=4)

    @model_validator(mode="after")
    def _unique_lists(self) -> RoundUpdate:
        _unique(self.grades, "grades")
        _unique(self.institutions, "institutions")
        _unique(self.criteria, "criteria")
        return self


class RoundSchool(BaseModel):
    """A school of a round."""

    registration_number: str
    name: str
    municipality_code: str


class RoundRead(BaseModel):
    """A survey round."""

    id: uuid.UUID
    title: str
    scope: Literal["municipality", "national"]
    municipality_code: str | None
    opens_on: dt.date
    closes_on: dt.date
    state: RoundState
    grades: list[int]
    institutions: list[RoundSchool]
    criteria: list[Criterion]
    retention_months: int
    answers_delete_on: dt.date
    answers_deleted_at: dt.datetime | None
    version: int


class TaskRead(BaseModel):
    """A survey a guardian is asked to answer for a child."""

    round_id: uuid.UUID
    title: str
    closes_on: dt.date
    learner_id: str
    institution_number: str
    grade: int
    answered: bool
    criteria: list[Criterion]


class AnswerWrite(_Body):
    """A family's answer for a child."""

    device_access: DeviceAccess
    internet: Internet
    criteria: list[Criterion] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _unique_criteria(self) -> AnswerWrite:
        _unique(self.criteria, "criteria")
        return self


class CriterionRead(BaseModel):
    """A criterion the round asks about: declared, and what staff made of it."""

    criterion: Criterion
    declared: bool
    status: Literal["declared", "verified", "rejected"]
    source: Literal["verified_by_school", "welfare_data"] | None
    verified_at: dt.datetime | None


class AnswerRead(BaseModel):
    """A child's answer in a round."""

    round_id: uuid.UUID
    learner_id: str
    learner_name: str
    institution_number: str
    grade: int
    device_access: DeviceAccess
    internet: Internet
    criteria: list[CriterionRead]
    channel: Literal["portal", "paper"]
    submitted_at: dt.datetime
    updated_at: dt.datetime
    version: int


class VerificationCreate(_Body):
    """Staff's outcome on one criterion of a child's answer."""

    criterion: Criterion
    outcome: Literal["verified", "rejected"]


class AccessRead(BaseModel):
    """A staff read of a child's answer."""

    learner_id: str
    reader: str
    role: str
    what: Literal["answer", "list"]
    endpoint: str
    at: dt.datetime


class BandRow(BaseModel):
    """The figures of one grade band (hidden counts are null and named in `suppressed`)."""

    band: Band
    eligible_pupils: int
    responses: int | None
    without_suitable_device: int | None
    no_internet: int | None
    suppressed: list[str] = Field(default_factory=list)


class CriterionRow(BaseModel):
    """How many children have a criterion declared, and verified."""

    criterion: Criterion
    declared: int | None
    verified: int | None
    suppressed: list[str] = Field(default_factory=list)


class ResultRow(BaseModel):
    """The figures of one place (the nation, a municipality or a school); a count is hidden
    (null, named in `suppressed`) when it is 1-4 or would give such a count away."""

    level: Literal["national", "municipality", "institution"]
    code: str | None
    eligible_pupils: int
    responses: int | None
    response_rate: float | None
    by_grade_band: list[BandRow]
    criteria: list[CriterionRow]
    suppressed: list[str] = Field(default_factory=list)


class ResultsRead(ResultRow):
    """A round's results at one level, with a row per municipality or school below it."""

    round_id: uuid.UUID
    children: list[ResultRow]
