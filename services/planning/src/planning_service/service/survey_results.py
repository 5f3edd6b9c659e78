"""A round's results from its aggregates: per nation, municipality or school, with every count
from 1 to 4 hidden (null, and named in the row's `suppressed`), so no family can be singled out.
Pupil counts come from VIIS, are not about anyone, and are never hidden."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.exceptions import SurveyForbidden, SurveyRoundNotFound
from planning_service.models.survey import (
    RoundScope,
    SurveyAggregate,
    SurveyRound,
    SurveyRoundInstitution,
)
from planning_service.repository.survey import AggregateRepository
from planning_service.schemas.survey import BandRow, CriterionRow, ResultRow, ResultsRead
from planning_service.service import survey_access as access
from planning_service.service.survey_aggregates import BANDS, band_of
from planning_service.service.survey_rounds import get_round
from shared_kit.auth import Principal, Role

SMALLEST_SHOWN = 5


def published(count: int) -> int | None:
    """A count as it may be published: None when it is between 1 and 4."""
    return None if 0 < count < SMALLEST_SHOWN else count


def _counts(values: dict[str, int], suppressed: list[str]) -> dict[str, int | None]:
    shown: dict[str, int | None] = {}
    for name, value in values.items():
        shown[name] = published(value)
        if shown[name] is None:
            suppressed.append(name)
    return shown


class Figures:
    """The counts of a set of schools in a round."""

    def __init__(self, round_: SurveyRound, schools: Iterable[SurveyRoundInstitution]) -> None:
        self.round = round_
        self.eligible: dict[str, int] = defaultdict(int)
        self.metrics: dict[tuple[str, str], int] = defaultdict(int)  # (band, metric) → count
        for school in schools:
            for grade in round_.grades:
                self.eligible[band_of(grade)] += int(school.pupils.get(str(grade), 0))

    def add(self, row: SurveyAggregate) -> None:
        """Count one aggregate row in."""
        self.metrics[(band_of(row.grade), row.metric)] += row.count

    def total(self, metric: str) -> int:
        """A metric over every band."""
        return sum(c for (_, m), c in self.metrics.items() if m == metric)

    def row(self, level: str, code: str | None) -> ResultRow:
        """The published row of these schools."""
        suppressed: list[str] = []
        eligible = sum(self.eligible.values())
        responses = _counts({"responses": self.total("responses")}, suppressed)["responses"]
        rate = None
        if responses is not None and eligible:
            rate = round(min(responses / eligible, 1.0), 4)
        elif responses is None:
            suppressed.append("response_rate")
        return ResultRow(
            level=level,  # type: ignore[arg-type]
            code=code,
            eligible_pupils=eligible,
            responses=responses,
            response_rate=rate,
            by_grade_band=self._bands(),
            criteria=self._criteria(),
            suppressed=suppressed,
        )

    def _bands(self) -> list[BandRow]:
        bands = sorted({band_of(g) for g in self.round.grades}, key=list(BANDS).index)
        rows = []
        for band in bands:
            suppressed: list[str] = []
            metrics = ("responses", "without_suitable_device", "no_internet")
            shown = _counts({m: self.metrics.get((band, m), 0) for m in metrics}, suppressed)
            rows.append(
                BandRow(
                    band=band,  # type: ignore[arg-type]
                    eligible_pupils=self.eligible.get(band, 0),
                    suppressed=suppressed,
                    **shown,  # type: ignore[arg-type]
                )
            )
        return rows

    def _criteria(self) -> list[CriterionRow]:
        rows = []
        for criterion in self.round.criteria:
            suppressed: list[str] = []
            values = {
                "declared": self.total(f"declared:{criterion}"),
                "verified": self.total(f"verified:{criterion}"),
            }
            shown = _counts(values, suppressed)
            rows.append(CriterionRow(criterion=criterion, suppressed=suppressed, **shown))  # type: ignore[arg-type]
        return rows


async def results(
    session: AsyncSession,
    *,
    principal: Principal,
    round_id: uuid.UUID,
    municipality: str | None,
    institution: str | None,
) -> ResultsRead:
    """The round's results at the level asked (or the caller's own), with the rows below it."""
    if not (access.person(principal) and principal.has(*access.RESULT_READERS)):
        raise SurveyForbidden("Results are for the programme, analysts and school authorities")
    round_, schools = await get_round(session, principal=principal, round_id=round_id)
    level, code = _level(principal, round_, schools, municipality, institution)
    chosen = [s for s in schools if _inside(s, level, code)]
    rows = await AggregateRepository(session).of_round(
        round_id,
        municipality=code if level == "municipality" else None,
        institution=code if level == "institution" else None,
    )
    return _results(round_, chosen, rows, level, code)


def _inside(school: SurveyRoundInstitution, level: str, code: str | None) -> bool:
    if level == "institution":
        return school.registration_number == code
    return level == "national" or school.municipality_code == code


def _level(
    principal: Principal,
    round_: SurveyRound,
    schools: Sequence[SurveyRoundInstitution],
    municipality: str | None,
    institution: str | None,
) -> tuple[str, str | None]:
    """The level and code asked for, if the caller may see it; 404 outside their tenancy."""
    national = access.sees_all_rounds(principal)
    munis = principal.municipalities if principal.has(Role.MUNICIPALITY_ADMIN) else frozenset()
    own = principal.institutions if principal.has(Role.INSTITUTION_ADMIN) else frozenset()
    if institution is not None:
        school = next((s for s in schools if s.registration_number == institution), None)
        if school is None or not (
            national or school.municipality_code in munis or institution in own
        ):
            raise SurveyRoundNotFound("No such school in the round for you")
        return "institution", institution
    if municipality is not None:
        if not (national or municipality in munis) or all(
            s.municipality_code != municipality for s in schools
        ):
            raise SurveyRoundNotFound("No such municipality in the round for you")
        return "municipality", municipality
    if national:
        if round_.scope is RoundScope.NATIONAL:
            return "national", None
        return "municipality", round_.municipality_code
    mine = sorted({s.municipality_code for s in schools} & munis)
    if mine:
        return "municipality", mine[0]
    school_numbers = sorted({s.registration_number for s in schools} & own)
    if school_numbers:
        return "institution", school_numbers[0]
    raise SurveyRoundNotFound()


def _results(
    round_: SurveyRound,
    schools: Sequence[SurveyRoundInstitution],
    rows: Sequence[SurveyAggregate],
    level: str,
    code: str | None,
) -> ResultsRead:
    whole = Figures(round_, schools)
    child_level = {"national": "municipality", "municipality": "institution"}.get(level)
    groups: dict[str, list[SurveyRoundInstitution]] = defaultdict(list)
    for school in schools:
        key = (
            school.municipality_code
            if child_level == "municipality"
            else school.registration_number
        )
        groups[key].append(school)
    children = {key: Figures(round_, members) for key, members in groups.items()}
    for row in rows:
        whole.add(row)
        key = row.municipality_code if child_level == "municipality" else row.institution_number
        if child_level is not None and key in children:
            children[key].add(row)
    top = whole.row(level, code)
    below = [children[k].row(child_level, k) for k in sorted(children)] if child_level else []
    return ResultsRead(round_id=round_.id, children=below, **top.model_dump())
