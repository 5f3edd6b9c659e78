"""The end of a round's retention: its answers and verifications are deleted; the aggregates
(so the results) and the access log stay. Verified criteria are withdrawn (`expired`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.events import survey as events
from planning_service.events.common import publish
from planning_service.repository.survey import AnswerRepository, RoundRepository
from planning_service.service.survey_answers import withdrawn
from planning_service.service.survey_rounds import local_today


async def delete_expired_answers(
    session: AsyncSession, *, now: dt.datetime, timezone: str, limit: int
) -> dict[str, int]:
    """Delete the answers of up to `limit` rounds past their `answers_delete_on`."""
    rounds = await RoundRepository(session).due_for_deletion(local_today(now, timezone), limit)
    answers = AnswerRepository(session)
    deleted = 0
    for round_ in rounds:
        for answer, check in await answers.verified_in_round(round_.id):
            withdrawn(session, answer, check, "expired", now)
        count = await answers.remove_round(round_.id)
        round_.answers_deleted_at = now
        payload = events.AnswersDeleted(round_id=round_.id, deleted=count, deleted_at=now)
        publish(session, events.ANSWERS_DELETED, round_.id, round_.municipality_code, payload)
        deleted += count
    await session.flush()
    return {"survey_rounds_expired": len(rounds), "survey_answers_deleted": deleted}
