"""Criteria verified in planning's needs survey: kept per learner, counted in priority.

Planning publishes `criterion.verified` and `criterion.withdrawn` (the learner's opaque id, the
criterion, its source and the round; never the answers). A verified criterion counts fully in
the priority score (its source is `verified_by_school` or `welfare_data`, see
`allocation_rules`) of the learner's new requests and, at once, of their waiting ones
(`requested`, `waitlisted`: the states the waitlist orders); a withdrawal takes it out again
unless another round or source still verifies it. The family never declares it again: a
criterion both declared and verified counts once, at the verified weight. Approved and ended
reservations keep what counted when they were decided; loaners keep their fixed score.

No event is published for a new score: no reservation event describes one (the waitlist and
each reservation's read show it). The learner's advisory lock is taken first, as a new request
takes it, so a request and a verification of the same child never miss each other; the
institutions' locks come next, so a rescore never interleaves with an allocation there.
Criteria or sources this service does not know are ignored (a newer producer may add some).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.models import LearnerCriterion
from reservations_service.repository import LearnerCriterionRepository, Locks, ReservationRepository
from reservations_service.service.allocation_rules import Criterion, Source, priority_score

VERIFIED_SOURCES = frozenset({Source.WELFARE_DATA.value, Source.VERIFIED_BY_SCHOOL.value})
KNOWN_CRITERIA = frozenset(c.value for c in Criterion)


@dataclass(frozen=True, slots=True)
class Verification:
    """One criterion of a learner, verified (or withdrawn) in one survey round."""

    learner_id: str
    criterion: str
    source: str
    round_id: uuid.UUID
    at: dt.datetime

    @property
    def known(self) -> bool:
        """Whether this service knows the criterion and the source counts as verified."""
        return self.criterion in KNOWN_CRITERIA and self.source in VERIFIED_SOURCES

    def row(self) -> LearnerCriterion:
        """The table's row for it."""
        return LearnerCriterion(
            learner_id=self.learner_id,
            criterion=self.criterion,
            source=self.source,
            round_id=self.round_id,
            verified_at=self.at,
        )


async def criterion_verified(session: AsyncSession, verification: Verification) -> int:
    """Keep the verification and rescore the learner's waiting requests; how many changed."""
    if not verification.known:
        return 0
    await Locks(session).learner(verification.learner_id)
    await LearnerCriterionRepository(session).record(verification.row())
    return await rescore(session, verification.learner_id)


async def criterion_withdrawn(session: AsyncSession, verification: Verification) -> int:
    """Forget the verification and rescore the learner's waiting requests; how many changed."""
    if not verification.known:
        return 0
    await Locks(session).learner(verification.learner_id)
    await LearnerCriterionRepository(session).remove(verification.row())
    return await rescore(session, verification.learner_id)


async def verified_claims(session: AsyncSession, learner_id: str) -> list[dict[str, str]]:
    """The learner's verified (criterion, source) pairs as a reservation keeps them."""
    pairs = await LearnerCriterionRepository(session).of_learner(learner_id)
    return [{"criterion": criterion, "source": source} for criterion, source in pairs]


def score_of(declared: Iterable[dict[str, Any]], verified: Iterable[dict[str, Any]]) -> int:
    """The priority score of the family's claims together with the verified criteria."""
    return priority_score((str(c["criterion"]), str(c["source"])) for c in [*declared, *verified])


async def rescore(session: AsyncSession, learner_id: str) -> int:
    """Bring the learner's waiting requests up to their verified criteria (learner locked)."""
    verified = await verified_claims(session, learner_id)
    repo = ReservationRepository(session)
    seen = await repo.waiting_of_learner(learner_id, lock=False)
    await Locks(session).institution(*(r.institution_number for r in seen))
    changed = 0
    for reservation in await repo.waiting_of_learner(learner_id, lock=True):
        score = score_of(reservation.social_criteria or [], verified)
        if reservation.verified_criteria == verified and reservation.priority_score == score:
            continue
        reservation.verified_criteria = verified
        reservation.priority_score = score
        changed += 1
    await session.flush()
    return changed
