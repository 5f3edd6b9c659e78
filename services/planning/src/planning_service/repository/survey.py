"""All SQL of the survey: rounds and their schools, answers, verifications, reads, aggregates."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SmallInteger,
    any_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.models.survey import (
    AnswerAccess,
    CriterionVerification,
    SurveyAggregate,
    SurveyAnswer,
    SurveyRound,
    SurveyRoundInstitution,
    VerificationStatus,
)
from shared_kit.db import any_of
from shared_kit.pagination import fetch_page
from shared_kit.tenancy import Scope


def _round_condition(scope: Scope) -> ColumnElement[bool] | None:
    """Rounds of the scope's municipalities, or with a school of the scope."""
    if scope.everything:
        return None
    school = select(SurveyRoundInstitution.round_id).where(
        SurveyRoundInstitution.round_id == SurveyRound.id
    )
    inside = scope.condition(
        municipality=SurveyRoundInstitution.municipality_code,
        institution=SurveyRoundInstitution.registration_number,
    )
    parts: list[ColumnElement[bool]] = [exists(school.where(inside))]  # type: ignore[arg-type]
    if scope.municipality_codes:
        parts.append(SurveyRound.municipality_code.in_(sorted(scope.municipality_codes)))
    return or_(*parts)


class RoundRepository:
    """Survey rounds and their schools."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, round_: SurveyRound, schools: Iterable[SurveyRoundInstitution]) -> None:
        """A new round with its schools."""
        self.session.add(round_)
        self.session.add_all(list(schools))

    async def get(self, round_id: uuid.UUID, *, lock: bool = False) -> SurveyRound | None:
        """A round by id (locked for update when asked)."""
        stmt = select(SurveyRound).where(SurveyRound.id == round_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def schools(self, round_id: uuid.UUID) -> list[SurveyRoundInstitution]:
        """A round's schools by registration number."""
        stmt = (
            select(SurveyRoundInstitution)
            .where(SurveyRoundInstitution.round_id == round_id)
            .order_by(SurveyRoundInstitution.registration_number)
        )
        return list((await self.session.scalars(stmt)).all())

    async def school_place(self, round_id: uuid.UUID, registration_number: str) -> str | None:
        """The municipality of one of a round's schools (None: not in the round)."""
        stmt = select(SurveyRoundInstitution.municipality_code).where(
            SurveyRoundInstitution.round_id == round_id,
            SurveyRoundInstitution.registration_number == registration_number,
        )
        return await self.session.scalar(stmt)

    async def schools_of(self, round_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
        """The schools of several rounds (one query)."""
        found: dict[uuid.UUID, list[Any]] = {r: [] for r in round_ids}
        if not round_ids:
            return found
        stmt = (
            select(SurveyRoundInstitution)
            .where(any_of(SurveyRoundInstitution.round_id, round_ids))
            .order_by(SurveyRoundInstitution.registration_number)
        )
        for school in await self.session.scalars(stmt):
            found[school.round_id].append(school)
        return found

    async def remove_schools(self, round_id: uuid.UUID, numbers: Iterable[str]) -> None:
        """Take schools out of a round."""
        await self.session.execute(
            delete(SurveyRoundInstitution).where(
                SurveyRoundInstitution.round_id == round_id,
                any_of(SurveyRoundInstitution.registration_number, list(numbers)),
            )
        )

    async def page(
        self,
        scope: Scope,
        *,
        municipality: str | None,
        institution: str | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[SurveyRound]:
        """Rounds the scope sees, newest opening first, optionally of a municipality / school."""
        stmt = select(SurveyRound)
        if (condition := _round_condition(scope)) is not None:
            stmt = stmt.where(condition)
        if municipality is not None:
            stmt = stmt.where(_round_condition(Scope.of(municipalities=[municipality])))  # type: ignore[arg-type]
        if institution is not None:
            stmt = stmt.where(_round_condition(Scope.of(institutions=[institution])))  # type: ignore[arg-type]
        keys = [SurveyRound.opens_on, SurveyRound.id]
        return await fetch_page(self.session, stmt, keys, cursor, limit, descending=True)

    async def open_for(self, institution: str, grade: int, today: dt.date) -> Sequence[SurveyRound]:
        """Open rounds covering a school and grade on a local day."""
        stmt = (
            select(SurveyRound)
            .join(SurveyRoundInstitution, SurveyRoundInstitution.round_id == SurveyRound.id)
            .where(
                SurveyRoundInstitution.registration_number == institution,
                literal(grade, SmallInteger) == any_(SurveyRound.grades),
                SurveyRound.opens_on <= today,
                SurveyRound.closes_on >= today,
                SurveyRound.closed_at.is_(None),
            )
            .order_by(SurveyRound.closes_on, SurveyRound.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def due_for_deletion(self, today: dt.date, limit: int) -> Sequence[SurveyRound]:
        """Rounds whose answers are due for deletion (locked, others' skipped)."""
        stmt = (
            select(SurveyRound)
            .where(SurveyRound.answers_delete_on <= today, SurveyRound.answers_deleted_at.is_(None))
            .order_by(SurveyRound.answers_delete_on, SurveyRound.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(stmt)).all()


class AnswerRepository:
    """The families' answers and the staff's verifications."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, round_id: uuid.UUID, learner_id: str, *, lock: bool = False
    ) -> SurveyAnswer | None:
        """A child's answer in a round."""
        stmt = select(SurveyAnswer).where(
            SurveyAnswer.round_id == round_id, SurveyAnswer.learner_id == learner_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    def add(self, answer: SurveyAnswer) -> None:
        """A new answer."""
        self.session.add(answer)

    async def remove(self, answer: SurveyAnswer) -> None:
        """Delete an answer (its verifications go with it)."""
        await self.session.execute(delete(SurveyAnswer).where(SurveyAnswer.id == answer.id))

    async def count(self, round_id: uuid.UUID) -> int:
        """How many answers a round has."""
        stmt = select(func.count()).where(SurveyAnswer.round_id == round_id)
        return int(await self.session.scalar(stmt) or 0)

    async def counts_by_school_grade(self, round_id: uuid.UUID) -> list[tuple[str, int]]:
        """(school, grade) pairs that have answers."""
        stmt = (
            select(SurveyAnswer.institution_number, SurveyAnswer.grade)
            .where(SurveyAnswer.round_id == round_id)
            .distinct()
        )
        return [(r[0], r[1]) for r in (await self.session.execute(stmt)).all()]

    async def answered(self, round_ids: Sequence[uuid.UUID], learner_id: str) -> set[uuid.UUID]:
        """Which of the rounds have an answer for the learner."""
        if not round_ids:
            return set()
        stmt = select(SurveyAnswer.round_id).where(
            any_of(SurveyAnswer.round_id, round_ids), SurveyAnswer.learner_id == learner_id
        )
        return set((await self.session.scalars(stmt)).all())

    async def page(
        self,
        round_id: uuid.UUID,
        scope: Scope,
        *,
        institution: str | None,
        criterion: str | None,
        status: VerificationStatus | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[SurveyAnswer]:
        """A round's answers inside the scope, by school and learner."""
        stmt = select(SurveyAnswer).where(SurveyAnswer.round_id == round_id)
        condition = scope.condition(
            municipality=SurveyAnswer.municipality_code, institution=SurveyAnswer.institution_number
        )
        if condition is not None:
            stmt = stmt.where(condition)
        if institution is not None:
            stmt = stmt.where(SurveyAnswer.institution_number == institution)
        if criterion is not None and status is not None:
            verified = select(CriterionVerification.answer_id).where(
                CriterionVerification.answer_id == SurveyAnswer.id,
                CriterionVerification.criterion == criterion,
                CriterionVerification.status == status,
            )
            stmt = stmt.where(exists(verified))
        keys = [SurveyAnswer.institution_number, SurveyAnswer.learner_id]
        return await fetch_page(self.session, stmt, keys, cursor, limit)

    async def verifications(
        self, answer_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, CriterionVerification]]:
        """The verifications of answers, by answer and criterion."""
        found: dict[uuid.UUID, dict[str, CriterionVerification]] = {a: {} for a in answer_ids}
        if not answer_ids:
            return found
        stmt = select(CriterionVerification).where(
            any_of(CriterionVerification.answer_id, answer_ids)
        )
        for row in await self.session.scalars(stmt):
            found[row.answer_id][row.criterion] = row
        return found

    def add_verification(self, verification: CriterionVerification) -> None:
        """A new verification."""
        self.session.add(verification)

    async def remove_verification(self, verification: CriterionVerification) -> None:
        """Drop a verification."""
        await self.session.delete(verification)

    async def verified_in_round(
        self, round_id: uuid.UUID
    ) -> list[tuple[SurveyAnswer, CriterionVerification]]:
        """Every verified criterion of a round with its answer."""
        stmt = (
            select(SurveyAnswer, CriterionVerification)
            .join(CriterionVerification, CriterionVerification.answer_id == SurveyAnswer.id)
            .where(
                SurveyAnswer.round_id == round_id,
                CriterionVerification.status == VerificationStatus.VERIFIED,
            )
            .order_by(SurveyAnswer.learner_id, CriterionVerification.criterion)
        )
        return [(a, v) for a, v in (await self.session.execute(stmt)).all()]

    async def remove_round(self, round_id: uuid.UUID) -> int:
        """Delete every answer of a round (verifications cascade); how many."""
        result = await self.session.execute(
            delete(SurveyAnswer).where(SurveyAnswer.round_id == round_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class AccessRepository:
    """The audit of staff reads."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_all(self, reads: Iterable[AnswerAccess]) -> None:
        """Record reads."""
        self.session.add_all(list(reads))

    async def page(
        self,
        round_id: uuid.UUID,
        *,
        learners: Iterable[str] | None,
        municipalities: Iterable[str] | None,
        cursor: str | None,
        limit: int,
    ) -> Sequence[AnswerAccess]:
        """Reads of a round's answers, newest first, of some learners or municipalities."""
        stmt = select(AnswerAccess).where(AnswerAccess.round_id == round_id)
        if learners is not None:
            stmt = stmt.where(any_of(AnswerAccess.learner_id, list(learners)))
        if municipalities is not None:
            stmt = stmt.where(any_of(AnswerAccess.municipality_code, list(municipalities)))
        keys = [AnswerAccess.at, AnswerAccess.id]
        return await fetch_page(self.session, stmt, keys, cursor, limit, descending=True)


_INSERT_COUNTS = insert(SurveyAggregate)
_ADD_COUNTS = _INSERT_COUNTS.on_conflict_do_update(
    index_elements=["round_id", "institution_number", "grade", "metric"],
    set_={"count": SurveyAggregate.count + _INSERT_COUNTS.excluded.count},
)


class AggregateRepository:
    """Counts per (round, school, grade, metric)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        round_id: uuid.UUID,
        *,
        institution: str,
        municipality: str,
        grade: int,
        deltas: Mapping[str, int],
    ) -> None:
        """Add signed deltas to a school and grade's counts (creating them at zero)."""
        rows = [
            {
                "round_id": round_id,
                "institution_number": institution,
                "municipality_code": municipality,
                "grade": grade,
                "metric": metric,
                "count": delta,
            }
            for metric, delta in sorted(deltas.items())
            if delta
        ]
        if rows:
            # One statement with the rows as parameters: compiled once, sent as one (the rows
            # in metric order, so concurrent answers lock the counts in the same order).
            await self.session.execute(_ADD_COUNTS, rows)

    async def of_round(
        self, round_id: uuid.UUID, *, municipality: str | None, institution: str | None
    ) -> Sequence[SurveyAggregate]:
        """A round's counts, optionally of one municipality or school."""
        stmt = select(SurveyAggregate).where(
            SurveyAggregate.round_id == round_id, SurveyAggregate.count != 0
        )
        if municipality is not None:
            stmt = stmt.where(SurveyAggregate.municipality_code == municipality)
        if institution is not None:
            stmt = stmt.where(SurveyAggregate.institution_number == institution)
        return (await self.session.scalars(stmt)).all()

    async def by_school_band(self, round_id: uuid.UUID) -> list[tuple[str, int, str, int]]:
        """A round's non-zero counts per (school, band index (0: grades 1-3 … 3: 10-12),
        metric), without the `any:` ones the results do not show."""
        band = (SurveyAggregate.grade - 1) // 3
        stmt = (
            select(
                SurveyAggregate.institution_number,
                band,
                SurveyAggregate.metric,
                func.sum(SurveyAggregate.count),
            )
            .where(
                SurveyAggregate.round_id == round_id,
                SurveyAggregate.count != 0,
                SurveyAggregate.metric.not_like("any:%"),
            )
            .group_by(SurveyAggregate.institution_number, band, SurveyAggregate.metric)
        )
        return [(r[0], int(r[1]), r[2], int(r[3])) for r in (await self.session.execute(stmt))]
