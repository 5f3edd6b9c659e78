"""Reading answers (every staff read audited), withdrawing them, and who read a child's answer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.config import PlanningSettings
from planning_service.events import survey as events
from planning_service.events.common import publish
from planning_service.exceptions import AnswerNotFound, SurveyForbidden
from planning_service.models.survey import AnswerAccess, SurveyAnswer, VerificationStatus
from planning_service.repository.survey import (
    AccessRepository,
    AnswerRepository,
    RoundRepository,
)
from planning_service.service import survey_access as access
from planning_service.service import survey_aggregates as agg
from planning_service.service.survey_answers import Shown, keys, verified, where, withdrawn
from planning_service.service.survey_rounds import get_round
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import actor_of


def audit(
    answers: Sequence[SurveyAnswer], principal: Principal, role: str, what: str, endpoint: str
) -> list[AnswerAccess]:
    """Reads of answers by a staff member, to record."""
    return [
        AnswerAccess(
            id=uuid.uuid4(),
            round_id=a.round_id,
            learner_id=a.learner_id,
            institution_number=a.institution_number,
            municipality_code=a.municipality_code,
            reader=actor_of(principal),
            role=role,
            what=what,
            endpoint=endpoint,
        )
        for a in answers
    ]


async def read_answer(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    learner_id: str,
    endpoint: str,
    now: dt.datetime,
    settings: PlanningSettings,
) -> Shown:
    """A child's answer for the guardian, or (audited) for the school's or municipality's staff."""
    shown = await answer_for(session, principal, round_id, learner_id, settings)
    answer = shown.answer
    role = access.staff_role(principal, answer.institution_number, answer.municipality_code)
    if not access.guardian_of(principal, learner_id) and role is not None:
        for read in audit([answer], principal, role, "answer", endpoint):
            read.at = now
            session.add(read)
    return shown


async def answer_for(
    session: AsyncSession,
    principal: Principal,
    round_id: uuid.UUID,
    learner_id: str,
    settings: PlanningSettings,
    *,
    lock: bool = False,
) -> Shown:
    """The answer if the caller is the child's guardian or staff of its school/municipality."""
    repo = AnswerRepository(session)
    answer = await repo.get(round_id, learner_id, lock=lock)
    if answer is None:
        raise AnswerNotFound()
    role = access.staff_role(principal, answer.institution_number, answer.municipality_code)
    if not access.guardian_of(principal, learner_id) and role is None:
        raise AnswerNotFound()
    round_ = await RoundRepository(session).get(round_id)
    assert round_ is not None  # an answer keeps its round
    checks = (await repo.verifications([answer.id]))[answer.id]
    return Shown(round_, answer, agg.unseal(keys(settings), answer.content), checks)


async def withdraw(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    learner_id: str,
    now: dt.datetime,
    settings: PlanningSettings,
) -> None:
    """The guardian withdraws a child's answer: it and its verifications are deleted."""
    shown = await answer_for(session, principal, round_id, learner_id, settings, lock=True)
    if not access.guardian_of(principal, learner_id):
        raise SurveyForbidden("Only the family withdraws its answer")
    answer = shown.answer
    for check in shown.verifications.values():
        if check.status is VerificationStatus.VERIFIED:
            withdrawn(session, answer, check, "answer_withdrawn", now)
    before = agg.metrics(shown.content, verified(shown.verifications))
    await agg.record(session, answer, before, agg.metrics(None))
    await AnswerRepository(session).remove(answer)
    payload = events.AnswerWithdrawn(**where(answer), channel=answer.channel.value, at=now)
    publish(session, events.ANSWER_WITHDRAWN, learner_id, answer.municipality_code, payload)


async def list_answers(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    institution: str | None,
    criterion: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
    endpoint: str,
    now: dt.datetime,
    settings: PlanningSettings,
) -> tuple[list[Shown], Sequence[SurveyAnswer]]:
    """A round's answers for school or municipality staff (each one shown is audited)."""
    scope = access.staff_scope(principal)
    if scope.is_empty:
        raise SurveyForbidden("Answers are read by the staff of the child's school or municipality")
    round_, _ = await get_round(session, principal=principal, round_id=round_id)
    repo = AnswerRepository(session)
    by_status = VerificationStatus(status) if status in ("verified", "rejected") else None
    rows = await repo.page(
        round_id,
        scope,
        institution=institution,
        criterion=criterion,
        status=by_status,
        cursor=cursor,
        limit=limit,
    )
    page = list(rows[:limit])
    checks = await repo.verifications([a.id for a in page])
    shown = [Shown(round_, a, agg.unseal(keys(settings), a.content), checks[a.id]) for a in page]
    if criterion is not None and by_status is None:
        # Declared criteria are inside the encrypted content: filtered here, so a page may be
        # shorter than the limit while `next_cursor` still leads on.
        shown = [s for s in shown if _declared_only(s, criterion, status)]
    for s in shown:
        role = access.staff_role(principal, s.answer.institution_number, s.answer.municipality_code)
        for read in audit([s.answer], principal, role or "", "list", endpoint):
            read.at = now
            session.add(read)
    return shown, rows


def _declared_only(shown: Shown, criterion: str, status: str | None) -> bool:
    declared = criterion in shown.content.criteria
    if status == "declared":
        return declared and criterion not in shown.verifications
    return declared or criterion in shown.verifications


async def access_log(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    learner_id: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[AnswerAccess]:
    """Who read answers of the round: a guardian for their child, a municipality for its own."""
    repo = AccessRepository(session)
    if learner_id is not None and access.guardian_of(principal, learner_id):
        return await repo.page(
            round_id, learners=[learner_id], municipalities=None, cursor=cursor, limit=limit
        )
    if access.person(principal) and principal.has(Role.MUNICIPALITY_ADMIN):
        await get_round(session, principal=principal, round_id=round_id)
        learners = [learner_id] if learner_id is not None else None
        return await repo.page(
            round_id,
            learners=learners,
            municipalities=principal.municipalities,
            cursor=cursor,
            limit=limit,
        )
    if principal.has(Role.GUARDIAN):
        raise AnswerNotFound()
    raise SurveyForbidden("The access log is for the family and the municipality")
