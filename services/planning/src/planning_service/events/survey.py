"""Survey events (`lv.datori.planning.survey…`, `…answer…`, `…criterion…`).

Rounds are keyed by the round id. An answer's events are keyed by the **learner id** (so one
child's answers and criteria stay in order across rounds) and say only that an answer exists,
how it came (`portal` from a guardian, `paper` recorded by school staff) and where the child
learns: never what the family answered. `criterion.verified` / `criterion.withdrawn` name the
learner's opaque id, the criterion and its source, nothing else: the reservations service uses
them for priority without the family declaring again. `withdrawn` says why: the family withdrew
the answer, staff rejected the criterion, or the answers were deleted at the end of the round's
retention period (`expired`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from planning_service.events.common import PREFIX

ROUND_CREATED = PREFIX + "survey.round_created.v1"
ROUND_UPDATED = PREFIX + "survey.round_updated.v1"
ROUND_CLOSED = PREFIX + "survey.round_closed.v1"
ANSWERS_DELETED = PREFIX + "survey.answers_deleted.v1"
ANSWER_SUBMITTED = PREFIX + "answer.submitted.v1"
ANSWER_WITHDRAWN = PREFIX + "answer.withdrawn.v1"
CRITERION_VERIFIED = PREFIX + "criterion.verified.v1"
CRITERION_WITHDRAWN = PREFIX + "criterion.withdrawn.v1"

Criterion = Literal["low_income", "single_parent", "large_family", "disabled_child"]
VerifiedSource = Literal["verified_by_school", "welfare_data"]


class SurveyRound(BaseModel):
    """A survey round as consumers need it (no answers)."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    title: str
    scope: Literal["municipality", "national"]
    municipality_code: str | None  # the municipality of a municipal round
    opens_on: dt.date
    closes_on: dt.date
    grades: list[int]
    institutions: list[str]  # VIIS registration numbers of the round's schools
    criteria: list[Criterion]  # the criteria the round asks about
    retention_months: int
    version: int


class SurveyRoundCreated(SurveyRound):
    """A round was set up."""


class SurveyRoundUpdated(SurveyRound):
    """A round's period, schools, grades or criteria changed."""


class SurveyRoundClosed(SurveyRound):
    """A round was closed before its last day."""

    closed_at: dt.datetime


class AnswersDeleted(BaseModel):
    """A round's answers were deleted at the end of its retention; its aggregates remain."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    deleted: int
    deleted_at: dt.datetime


class AnswerEvent(BaseModel):
    """That a child's answer exists in a round, never its content."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    learner_id: str
    institution_number: str
    municipality_code: str
    channel: Literal["portal", "paper"]
    at: dt.datetime


class AnswerSubmitted(AnswerEvent):
    """A guardian answered (or changed the answer), or staff recorded a paper answer."""


class AnswerWithdrawn(AnswerEvent):
    """The family withdrew the answer; it is deleted."""


class CriterionEvent(BaseModel):
    """A priority criterion of a child with its source, nothing else."""

    model_config = ConfigDict(extra="forbid")

    round_id: uuid.UUID
    learner_id: str
    institution_number: str
    municipality_code: str
    criterion: Criterion
    source: VerifiedSource
    at: dt.datetime


class CriterionVerified(CriterionEvent):
    """School staff attested, or the municipality verified from welfare data, a criterion."""


class CriterionWithdrawn(CriterionEvent):
    """A verified criterion no longer holds."""

    reason: Literal["answer_withdrawn", "rejected", "expired"]


PAYLOADS: dict[str, type[BaseModel]] = {
    ROUND_CREATED: SurveyRoundCreated,
    ROUND_UPDATED: SurveyRoundUpdated,
    ROUND_CLOSED: SurveyRoundClosed,
    ANSWERS_DELETED: AnswersDeleted,
    ANSWER_SUBMITTED: AnswerSubmitted,
    ANSWER_WITHDRAWN: AnswerWithdrawn,
    CRITERION_VERIFIED: CriterionVerified,
    CRITERION_WITHDRAWN: CriterionWithdrawn,
}
