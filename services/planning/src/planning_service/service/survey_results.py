"""A round's results from its aggregates: per nation, municipality or school, with the rows below
it, and no count that could single a family out.

Every count from 1 to 4 is hidden (null, and named in its row's `suppressed`); so is, by
complementary suppression (`survey_suppression`), every further count that would let a hidden
one be worked out as a total minus the shown counts beside it: a school's within its
municipality, a municipality's within the nation, a grade band's within its place. The hidden
cells are chosen once over the whole round (nation, municipalities, schools), so every level and
every caller sees the same ones and no two views can be subtracted from each other. Pupil counts
come from VIIS, are not about anyone, and are never hidden.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.exceptions import SurveyForbidden, SurveyRoundNotFound
from planning_service.models.survey import RoundScope, SurveyRound, SurveyRoundInstitution
from planning_service.repository.survey import AggregateRepository
from planning_service.schemas.survey import BandRow, CriterionRow, ResultRow, ResultsRead
from planning_service.service import survey_access as access
from planning_service.service.survey_aggregates import BANDS, band_of
from planning_service.service.survey_rounds import get_round
from planning_service.service.survey_suppression import Partition, suppress
from shared_kit.auth import Principal, Role

BAND_METRICS = ("responses", "without_suitable_device", "no_internet")
BAND_NAMES = tuple(BANDS)
NATION = "n:"
LEVEL_OF = {"n": "national", "m": "municipality", "s": "institution"}


def node_of(level: str, code: str | None) -> str:
    """The table's node of a level and code (`n:`, `m:<ATVK>`, `s:<registration number>`)."""
    return {"national": NATION, "municipality": f"m:{code}", "institution": f"s:{code}"}[level]


@dataclass
class Table:
    """A round's counts per place (node) and field, with the cells to hide.

    Fields: `responses`; per grade band `<band>/<metric>` for responses, without a suitable
    device and no internet; per criterion `declared:<c>` and `verified:<c>`.
    """

    round: SurveyRound
    bands: list[str]
    values: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    eligible: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    children: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    hidden: set[tuple[str, str]] = field(default_factory=set)

    def fields(self) -> list[str]:
        """Every field of a place."""
        per_band = [f"{b}/{m}" for b in self.bands for m in BAND_METRICS]
        per_criterion = [f"{k}:{c}" for c in self.round.criteria for k in ("declared", "verified")]
        return ["responses", *per_band, *per_criterion]

    def partitions(self) -> list[Partition[tuple[str, str]]]:
        """Each place's field as the sum of the places below it; responses as the bands' sum."""
        found = [
            Partition((parent, name), tuple((child, name) for child in kids))
            for parent, kids in sorted(self.children.items())
            for name in self.fields()
        ]
        for node in sorted({n for n, _ in self.values}):
            bands = tuple((node, f"{b}/responses") for b in self.bands)
            found.append(Partition((node, "responses"), bands))
        return found

    def shown(self, node: str, name: str, suppressed: list[str], label: str) -> int | None:
        """A cell as published: None (and its label in `suppressed`) when hidden."""
        if (node, name) in self.hidden:
            suppressed.append(label)
            return None
        return self.values.get((node, name), 0)


def build(
    round_: SurveyRound,
    schools: Sequence[SurveyRoundInstitution],
    counts: Sequence[tuple[str, int, str, int]],
) -> Table:
    """The round's table from its schools and counts per (school, band index, metric), with
    the places summed up and the hidden cells chosen."""
    bands = sorted({band_of(g) for g in round_.grades}, key=BAND_NAMES.index)
    table = Table(round_, bands)
    fields = set(table.fields())
    parents: dict[str, str | None] = {}
    for school in schools:
        node, muni = f"s:{school.registration_number}", f"m:{school.municipality_code}"
        parents[node] = muni
        parents.setdefault(muni, NATION if round_.scope is RoundScope.NATIONAL else None)
        for grade in round_.grades:
            table.eligible[(node, band_of(grade))] += int(school.pupils.get(str(grade), 0))
    for number, band, metric, count in counts:
        node, name = f"s:{number}", metric
        if metric in BAND_METRICS:
            name = f"{BAND_NAMES[band]}/{metric}"
            if metric == "responses" and name in fields and node in parents:
                table.values[(node, "responses")] += count
        if name in fields and node in parents:
            table.values[(node, name)] += count
    _sum_up(table, parents)
    table.hidden = suppress(table.values, table.partitions())
    return table


def _sum_up(table: Table, parents: dict[str, str | None]) -> None:
    """Each municipality's (and the nation's) counts and pupils as the sum of those below."""
    names = table.fields()
    for level in ("s", "m"):  # schools into municipalities, then municipalities into the nation
        for node in sorted(n for n in parents if n[0] == level):
            parent = parents[node]
            if parent is None:
                continue
            table.children[parent].append(node)
            for name in names:
                if value := table.values.get((node, name), 0):
                    table.values[(parent, name)] += value
            for band in table.bands:
                table.eligible[(parent, band)] += table.eligible.get((node, band), 0)


def row(table: Table, node: str) -> ResultRow:
    """The published row of a place."""
    suppressed: list[str] = []
    eligible = sum(table.eligible.get((node, b), 0) for b in table.bands)
    responses = table.shown(node, "responses", suppressed, "responses")
    rate = None
    if responses is None:
        suppressed.append("response_rate")
    elif eligible:
        rate = round(min(responses / eligible, 1.0), 4)
    return ResultRow(
        level=LEVEL_OF[node[0]],
        code=node[2:] or None,
        eligible_pupils=eligible,
        responses=responses,
        response_rate=rate,
        by_grade_band=[_band(table, node, band) for band in table.bands],
        criteria=[_criterion(table, node, c) for c in table.round.criteria],
        suppressed=suppressed,
    )


def _band(table: Table, node: str, band: str) -> BandRow:
    suppressed: list[str] = []
    shown = {m: table.shown(node, f"{band}/{m}", suppressed, m) for m in BAND_METRICS}
    return BandRow(
        band=band,
        eligible_pupils=table.eligible.get((node, band), 0),
        suppressed=suppressed,
        **shown,
    )


def _criterion(table: Table, node: str, criterion: str) -> CriterionRow:
    suppressed: list[str] = []
    shown = {
        k: table.shown(node, f"{k}:{criterion}", suppressed, k) for k in ("declared", "verified")
    }
    return CriterionRow(criterion=criterion, suppressed=suppressed, **shown)


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
    counts = await AggregateRepository(session).by_school_band(round_id)
    table = build(round_, schools, counts)
    node = node_of(level, code)
    top = row(table, node)
    below = [row(table, child) for child in table.children.get(node, [])]
    return ResultsRead(round_id=round_.id, children=below, **top.model_dump())


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
