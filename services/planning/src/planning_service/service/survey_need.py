"""What an allocation round reads from a survey round: each school's survey need.

The survey part implements `need_by_institution`; the allocation part stores its answer among a
round's inputs. Counts are exact here (the inputs are not published; results pages suppress).
They come from the round's aggregates, so they are the same before and after the answers'
retention deletion.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.repository.survey import AggregateRepository
from planning_service.service.survey_aggregates import band_of


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
    """Every school's survey need in the round (from its stored aggregates)."""
    rows = await AggregateRepository(session).of_round(
        round_id, municipality=None, institution=None
    )
    responses: dict[str, int] = defaultdict(int)
    devices: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    criteria: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        school = row.institution_number
        if row.metric == "responses":
            responses[school] += row.count
        elif row.metric == "without_suitable_device":
            devices[school][band_of(row.grade)] += row.count
        elif row.metric.startswith("any:"):
            criteria[school][row.metric.removeprefix("any:")] += row.count
    return {
        school: SchoolSurveyNeed(
            institution_number=school,
            responses=count,
            without_suitable_device=dict(devices[school]),
            criteria=dict(criteria[school]),
        )
        for school, count in sorted(responses.items())
        if count > 0
    }
