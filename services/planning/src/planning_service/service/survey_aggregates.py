"""What one answer adds to its round's counts, and the encrypted document it is stored as.

Every change to an answer or a verification adds (after minus before) to the aggregates in the same
transaction, so results read counts only and stay as they were when the answers are deleted.
Metrics: `responses`, `without_suitable_device` (none, smartphone only or shared), `no_internet`,
and per criterion `declared:<c>`, `verified:<c>` and `any:<c>` (declared or verified).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.models.survey import SurveyAnswer
from planning_service.repository.survey import AggregateRepository
from shared_kit.crypto import RotatingCipher

WITHOUT_SUITABLE_DEVICE = frozenset({"none", "smartphone_only", "shared"})
BANDS: dict[str, range] = {
    "1-3": range(1, 4),
    "4-6": range(4, 7),
    "7-9": range(7, 10),
    "10-12": range(10, 13),
}


def band_of(grade: int) -> str:
    """The grade band of a grade."""
    return next(name for name, grades in BANDS.items() if grade in grades)


@dataclass(frozen=True, slots=True)
class Content:
    """What a family said about a child, and the child's name: the encrypted part."""

    device_access: str
    internet: str
    criteria: list[str] = field(default_factory=list)
    learner_name: str = ""


@cache
def cipher(keys: str) -> RotatingCipher:
    """The answers' cipher for a key list (built once per key list)."""
    return RotatingCipher(keys)


def seal(keys: str, content: Content) -> bytes:
    """The encrypted JSON of an answer's content."""
    return cipher(keys).encrypt(json.dumps(asdict(content), sort_keys=True))


def unseal(keys: str, token: bytes) -> Content:
    """An answer's content from its encrypted JSON."""
    return Content(**json.loads(cipher(keys).decrypt(token)))


def metrics(content: Content | None, verified: Iterable[str] = ()) -> Counter[str]:
    """What an answer (None: no answer) counts for."""
    counts: Counter[str] = Counter()
    if content is None:
        return counts
    verified = set(verified)
    counts["responses"] = 1
    counts["without_suitable_device"] = int(content.device_access in WITHOUT_SUITABLE_DEVICE)
    counts["no_internet"] = int(content.internet == "none")
    for criterion in content.criteria:
        counts[f"declared:{criterion}"] = 1
    for criterion in verified:
        counts[f"verified:{criterion}"] = 1
    for criterion in verified | set(content.criteria):
        counts[f"any:{criterion}"] = 1
    return counts


async def record(
    session: AsyncSession, answer: SurveyAnswer, before: Counter[str], after: Counter[str]
) -> None:
    """Add an answer's change (after minus before) to its school and grade's counts."""
    deltas = {m: after.get(m, 0) - before.get(m, 0) for m in set(before) | set(after)}
    await AggregateRepository(session).add(
        answer.round_id,
        institution=answer.institution_number,
        municipality=answer.municipality_code,
        grade=answer.grade,
        deltas=deltas,
    )
