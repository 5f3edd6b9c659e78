"""Verifying a child's criteria: the school attests, the municipality checks welfare data.

A verified criterion is published (`criterion.verified`, the learner, criterion and source only)
so reservations can use it; rejecting a verified one publishes `criterion.withdrawn`.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.config import PlanningSettings
from planning_service.events import survey as events
from planning_service.events.common import publish
from planning_service.exceptions import CriterionNotAsked, SurveyForbidden
from planning_service.models.survey import CriterionVerification, VerificationStatus
from planning_service.repository.survey import AnswerRepository
from planning_service.schemas.survey import VerificationCreate
from planning_service.service import survey_access as access
from planning_service.service import survey_aggregates as agg
from planning_service.service.survey_answers import Shown, verified, where, withdrawn
from planning_service.service.survey_reads import answer_for, audit
from shared_kit.auth import Principal
from shared_kit.problems import field_error
from shared_kit.tenancy import actor_of


async def verify(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    learner_id: str,
    body: VerificationCreate,
    endpoint: str,
    now: dt.datetime,
    settings: PlanningSettings,
) -> Shown:
    """Record staff's outcome on one criterion of a child's answer."""
    shown = await answer_for(session, principal, round_id, learner_id, settings, lock=True)
    answer = shown.answer
    role = access.staff_role(principal, answer.institution_number, answer.municipality_code)
    if role is None:
        raise SurveyForbidden("Criteria are verified by the school or the municipality")
    if body.criterion not in shown.round.criteria:
        raise CriterionNotAsked(
            f"The round does not ask about {body.criterion}",
            errors=[field_error(("body", "criterion"), "not asked in this round", "not_asked")],
        )
    checks = dict(shown.verifications)
    before = agg.metrics(shown.content, verified(checks))
    was_verified = body.criterion in verified(checks)
    check = checks.get(body.criterion)
    if was_verified and check is not None and body.outcome == "rejected":
        withdrawn(session, answer, check, "rejected", now)  # under the source that vouched
    if check is None:
        check = CriterionVerification(answer_id=answer.id, criterion=body.criterion)
        AnswerRepository(session).add_verification(check)
        checks[body.criterion] = check
    check.status = VerificationStatus(body.outcome)
    check.source = access.verification_source(role)
    check.verified_by, check.verified_at = actor_of(principal), now
    await session.flush()
    await agg.record(session, answer, before, agg.metrics(shown.content, verified(checks)))
    if check.status is VerificationStatus.VERIFIED:
        payload = events.CriterionVerified(
            **where(answer), criterion=check.criterion, source=check.source.value, at=now
        )
        publish(session, events.CRITERION_VERIFIED, learner_id, answer.municipality_code, payload)
    for read in audit([answer], principal, role, "answer", endpoint):
        read.at = now
        session.add(read)
    return Shown(shown.round, answer, shown.content, checks)
