"""Needs-survey tables: rounds, their schools, the families' encrypted answers, verifications,
staff reads (audit) and the aggregates that outlive the answers.

- `survey_round`: the period, grades, criteria asked and retention of a round.
- `survey_round_institution`: the round's schools with their municipality and VIIS pupils per
  grade, taken when the school joined the round (the response rate's denominator).
- `survey_answer`: one per (round, learner). What the family said (device access, internet,
  declared criteria) and the child's name are one encrypted JSON document; only where the
  child learns (school, municipality, grade) is in clear.
- `criterion_verification`: per (answer, criterion) the staff's outcome, its source, who, when.
- `answer_access`: every staff read of an answer (kept after the answers are deleted).
- `survey_aggregate`: counts per (round, school, grade, metric), changed in the same transaction
  as the answers, so results never decrypt and survive the retention deletion unchanged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from planning_service.models.base import Base, db_enum
from shared_kit.db import Timestamps, UUIDKey, Versioned

CODE = String(20)
PERSON = String(200)


class RoundScope(StrEnum):
    """Who runs a round: a municipality for its schools, or the ministry nationally."""

    MUNICIPALITY = "municipality"
    NATIONAL = "national"


class Channel(StrEnum):
    """How an answer came: a guardian in the portal, or staff from a paper form."""

    PORTAL = "portal"
    PAPER = "paper"


class VerificationStatus(StrEnum):
    """Staff's outcome on a criterion."""

    VERIFIED = "verified"
    REJECTED = "rejected"


class VerificationSource(StrEnum):
    """Who vouches for a criterion: the school, or the municipality from welfare data."""

    SCHOOL = "verified_by_school"
    WELFARE = "welfare_data"


class SurveyRound(UUIDKey, Timestamps, Versioned, Base):
    """A survey round: period (local days), grades, criteria asked, retention."""

    __tablename__ = "survey_round"
    __table_args__ = (
        CheckConstraint("closes_on >= opens_on", name="period"),
        CheckConstraint(
            "(scope = 'national') = (municipality_code IS NULL)", name="municipality_of_scope"
        ),
    )

    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[RoundScope] = mapped_column(db_enum(RoundScope, "survey_scope"))
    municipality_code: Mapped[str | None] = mapped_column(CODE, index=True)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    grades: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    criteria: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    retention_months: Mapped[int] = mapped_column(SmallInteger)
    answers_delete_on: Mapped[dt.date] = mapped_column(Date)
    answers_deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(PERSON)


class SurveyRoundInstitution(Base):
    """A school of a round, with its VIIS pupils per grade (`{"1": 54, …}`)."""

    __tablename__ = "survey_round_institution"

    round_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    registration_number: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    municipality_code: Mapped[str] = mapped_column(CODE, index=True)
    pupils: Mapped[dict[str, int]] = mapped_column(JSONB)


class SurveyAnswer(UUIDKey, Versioned, Base):
    """A child's answer in a round; `content` is the encrypted JSON of what the family said."""

    __tablename__ = "survey_answer"
    __table_args__ = (UniqueConstraint("round_id", "learner_id"),)

    round_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_round.id", ondelete="CASCADE"))
    learner_id: Mapped[str] = mapped_column(PERSON, index=True)
    institution_number: Mapped[str] = mapped_column(CODE)
    municipality_code: Mapped[str] = mapped_column(CODE)
    grade: Mapped[int] = mapped_column(SmallInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    channel: Mapped[Channel] = mapped_column(db_enum(Channel, "answer_channel"))
    submitted_by: Mapped[str] = mapped_column(PERSON)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CriterionVerification(Base):
    """Staff's outcome on one criterion of one answer, with its source."""

    __tablename__ = "criterion_verification"

    answer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_answer.id", ondelete="CASCADE"), primary_key=True
    )
    criterion: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[VerificationStatus] = mapped_column(
        db_enum(VerificationStatus, "verification_status")
    )
    source: Mapped[VerificationSource] = mapped_column(
        db_enum(VerificationSource, "verification_source")
    )
    verified_by: Mapped[str] = mapped_column(PERSON)
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AnswerAccess(UUIDKey, Base):
    """A staff read of a child's answer: who, in which role, when, through which endpoint."""

    __tablename__ = "answer_access"
    __table_args__ = (Index("ix_answer_access_round_learner", "round_id", "learner_id", "at"),)

    round_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_round.id", ondelete="CASCADE"))
    learner_id: Mapped[str] = mapped_column(PERSON)
    institution_number: Mapped[str] = mapped_column(CODE)
    municipality_code: Mapped[str] = mapped_column(CODE)
    reader: Mapped[str] = mapped_column(PERSON)
    role: Mapped[str] = mapped_column(String(40))
    what: Mapped[str] = mapped_column(String(20))  # answer | list
    endpoint: Mapped[str] = mapped_column(String(300))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SurveyAggregate(Base):
    """How many children of a school and grade count for a metric in a round."""

    __tablename__ = "survey_aggregate"

    round_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    institution_number: Mapped[str] = mapped_column(CODE, primary_key=True)
    grade: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    metric: Mapped[str] = mapped_column(String(60), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(CODE)
    count: Mapped[int] = mapped_column(Integer)
