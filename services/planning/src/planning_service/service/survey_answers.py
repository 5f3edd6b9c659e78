"""The families' answers: tasks, answering (portal or paper), reading (audited), withdrawing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.config import PlanningSettings
from planning_service.events import survey as events
from planning_service.events.common import publish
from planning_service.exceptions import (
    CriterionNotAsked,
    LearnerNotInRound,
    RoundNotOpen,
    SurveyRoundNotFound,
)
from planning_service.learners import CallerLearners
from planning_service.models.survey import (
    Channel,
    CriterionVerification,
    SurveyAnswer,
    SurveyRound,
    VerificationStatus,
)
from planning_service.repository.survey import AnswerRepository, RoundRepository
from planning_service.schemas.survey import AnswerRead, AnswerWrite, CriterionRead, TaskRead
from planning_service.service import survey_access as access
from planning_service.service import survey_aggregates as agg
from planning_service.service.survey_rounds import local_today, state_of
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.problems import field_error
from shared_kit.tenancy import actor_of


@dataclass(frozen=True, slots=True)
class Shown:
    """An answer with what it says and its verifications, ready to show."""

    round: SurveyRound
    answer: SurveyAnswer
    content: agg.Content
    verifications: Mapping[str, CriterionVerification]


def keys(settings: PlanningSettings) -> str:
    """The answers' key list."""
    return settings.answers_key.get_secret_value()


def answer_read(shown: Shown) -> AnswerRead:
    """The API view of an answer: every criterion the round asks, declared or not."""
    answer, content = shown.answer, shown.content
    asked = list(dict.fromkeys([*shown.round.criteria, *content.criteria, *shown.verifications]))
    return AnswerRead(
        round_id=answer.round_id,
        learner_id=answer.learner_id,
        learner_name=content.learner_name,
        institution_number=answer.institution_number,
        grade=answer.grade,
        device_access=content.device_access,
        internet=content.internet,
        criteria=[_criterion(c, content, shown.verifications.get(c)) for c in asked],
        channel=answer.channel.value,
        submitted_at=answer.submitted_at,
        updated_at=answer.updated_at,
        version=answer.version,
    )


def _criterion(
    criterion: str, content: agg.Content, verification: CriterionVerification | None
) -> CriterionRead:
    return CriterionRead(
        criterion=criterion,
        declared=criterion in content.criteria,
        status=verification.status.value if verification else "declared",
        source=verification.source.value if verification else None,
        verified_at=verification.verified_at if verification else None,
    )


def verified(verifications: Mapping[str, CriterionVerification]) -> set[str]:
    """The criteria whose verification holds."""
    return {c for c, v in verifications.items() if v.status is VerificationStatus.VERIFIED}


async def tasks(
    session: AsyncSession,
    *,
    principal: Principal,
    now: dt.datetime,
    settings: PlanningSettings,
    learners: CallerLearners,
) -> list[TaskRead]:
    """For each child of the guardian, the open rounds covering the child's school and grade."""
    today = local_today(now, settings.timezone)
    found: list[TaskRead] = []
    for learner_id in sorted(principal.learners):
        learner = await learners.learner(learner_id, now)
        if learner is None:
            continue
        rounds = await RoundRepository(session).open_for(
            learner.institution_number, learner.grade, today
        )
        done = await AnswerRepository(session).answered([r.id for r in rounds], learner_id)
        found += [
            TaskRead(
                round_id=r.id,
                title=r.title,
                closes_on=r.closes_on,
                learner_id=learner_id,
                institution_number=learner.institution_number,
                grade=learner.grade,
                answered=r.id in done,
                criteria=list(r.criteria),
            )
            for r in rounds
        ]
    return found


async def put_answer(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    learner_id: str,
    body: AnswerWrite,
    if_match: str | None,
    now: dt.datetime,
    settings: PlanningSettings,
    learners: CallerLearners,
) -> tuple[Shown, bool]:
    """Answer for a child (guardian: portal; school or municipality staff: paper), or change
    the answer while the round is open; True when the answer is new."""
    round_ = await RoundRepository(session).get(round_id)
    if round_ is None:
        raise SurveyRoundNotFound()
    repo = AnswerRepository(session)
    answer, name = await repo.get(round_id, learner_id, lock=True), None
    if answer is None:
        answer, name = await _new_answer(session, round_, learner_id, now, learners)
    channel = _channel(principal, answer)
    if state_of(round_, local_today(now, settings.timezone)) != "open":
        raise RoundNotOpen("Answers are taken only while the round is open")
    _check_criteria(round_, body.criteria)
    if name is None:
        check_if_match(if_match, answer.version)
    written = Written(body, channel, actor_of(principal), name)
    return await _write(session, round_, answer, written, now, settings), name is not None


@dataclass(frozen=True, slots=True)
class Written:
    """What is being written: the body, how it came, by whom; the name for a new answer."""

    body: AnswerWrite
    channel: Channel
    actor: str
    new_name: str | None


async def _new_answer(
    session: AsyncSession,
    round_: SurveyRound,
    learner_id: str,
    now: dt.datetime,
    learners: CallerLearners,
) -> tuple[SurveyAnswer, str]:
    """An empty answer where the child learns, if VIIS places the child in the round."""
    learner = await learners.learner(learner_id, now)
    if learner is None or learner.institution_number is None:
        raise LearnerNotInRound()
    school = learner.institution_number
    municipality = await RoundRepository(session).school_place(round_.id, school)
    if municipality is None or learner.grade not in round_.grades:
        raise LearnerNotInRound()
    answer = SurveyAnswer(
        id=uuid.uuid4(),
        round_id=round_.id,
        learner_id=learner_id,
        institution_number=school,
        municipality_code=municipality,
        grade=learner.grade,
        content=b"",
        submitted_at=now,
        updated_at=now,
    )
    return answer, learner.name


def _channel(principal: Principal, answer: SurveyAnswer) -> Channel:
    if access.guardian_of(principal, answer.learner_id):
        return Channel.PORTAL
    if access.staff_role(principal, answer.institution_number, answer.municipality_code):
        return Channel.PAPER
    raise LearnerNotInRound()


def _check_criteria(round_: SurveyRound, criteria: Sequence[str]) -> None:
    extra = sorted(set(criteria) - set(round_.criteria))
    if extra:
        raise CriterionNotAsked(
            f"The round does not ask about: {', '.join(extra)}",
            errors=[field_error(("body", "criteria"), "not asked in this round", "not_asked")],
        )


async def _write(
    session: AsyncSession,
    round_: SurveyRound,
    answer: SurveyAnswer,
    written: Written,
    now: dt.datetime,
    settings: PlanningSettings,
) -> Shown:
    repo, body = AnswerRepository(session), written.body
    old = None if written.new_name is not None else agg.unseal(keys(settings), answer.content)
    checks = {} if old is None else (await repo.verifications([answer.id]))[answer.id]
    before = agg.metrics(old, verified(checks))
    for criterion in sorted(verified(checks) - set(body.criteria)):
        # Dropping a verified criterion withdraws it: the family no longer claims it.
        check = checks.pop(criterion)
        await repo.remove_verification(check)
        withdrawn(session, answer, check, "answer_withdrawn", now)
    name = written.new_name if old is None else old.learner_name
    content = agg.Content(body.device_access, body.internet, list(body.criteria), name or "")
    answer.content = agg.seal(keys(settings), content)
    answer.channel, answer.submitted_by, answer.updated_at = written.channel, written.actor, now
    if old is None:
        repo.add(answer)
    payload = events.AnswerSubmitted(**where(answer), channel=written.channel.value, at=now)
    publish(session, events.ANSWER_SUBMITTED, answer.learner_id, answer.municipality_code, payload)
    await session.flush()  # the answer and its event in one flush; the version for the ETag
    await agg.record(session, answer, before, agg.metrics(content, verified(checks)))
    return Shown(round_, answer, content, checks)


def where(answer: SurveyAnswer) -> dict[str, Any]:
    """The fields every answer and criterion event shares."""
    return {
        "round_id": answer.round_id,
        "learner_id": answer.learner_id,
        "institution_number": answer.institution_number,
        "municipality_code": answer.municipality_code,
    }


def withdrawn(
    session: AsyncSession,
    answer: SurveyAnswer,
    check: CriterionVerification,
    reason: str,
    now: dt.datetime,
) -> None:
    """Publish that a verified criterion no longer holds."""
    payload = events.CriterionWithdrawn(
        **where(answer),
        criterion=check.criterion,
        source=check.source.value,
        reason=reason,
        at=now,
    )
    publish(
        session, events.CRITERION_WITHDRAWN, answer.learner_id, answer.municipality_code, payload
    )
