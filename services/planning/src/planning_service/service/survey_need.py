"""What an allocation round reads from a survey round: each school's survey need.

The survey part implements `need_by_institution`; the allocation part stores its answer among a
round's inputs. Counts are exact here (the inputs are not published; results pages suppress).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class SchoolSurveyNeed:
    """A school's answers in a round: how many, how many children lack a suitable device (by
    grade band), and per criterion how many children have it declared or verified."""

    institution_number: str
    responses: int
    without_suitable_device: dict[str, int] = field(default_factory=dict)  # band → children
    criteria: dict[str, int] = field(default_factory=dict)  # criterion → children


async def need_by_institution(
    session: AsyncSession, round_id: uuid.UUID
) -> dict[str, SchoolSurveyNeed]:
    """Every school's survey need in the round (from its answers, or its stored aggregates)."""
    raise NotImplementedError("the survey part provides this")
