"""Taking an allocation round's inputs, and turning stored inputs into the rule's.

Pupils per school and grade come from VIIS (the institutions list, then each school's pupils with
bounded concurrency; any VIIS failure → 503 and nothing stored). Devices held come from
planning's own copy of the inventory's devices: every device not lost, stolen or written off
counts once, at its school, in the **lowest eligible band among its school levels** (a device
for grades 1-6 in a round of bands 1-3 and 4-6 counts in 1-3: counting it in both would
subtract it twice); a device without readable levels counts in the lowest eligible band in
which its school has pupils. Survey figures come from the survey round's results per school.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planning_service.exceptions import UnknownInstitutions, ViisUnreachable
from planning_service.models.allocation import AllocationInput, AllocationRound
from planning_service.repository.allocation import HeldDeviceRepository, InputRepository
from planning_service.service import survey_need
from planning_service.service.allocation_rule import (
    BANDS,
    Parameters,
    SchoolInput,
    SizeBand,
    SurveyFigures,
)
from planning_service.viis import PlanningViis, ViisFactory
from shared_kit.viis import UnknownInstitution, ViisError, ViisInstitution


@dataclass(frozen=True, slots=True)
class ViisFigures:
    """What VIIS said for a round: its schools, their pupils per grade, municipality names."""

    schools: list[ViisInstitution]
    pupils: dict[str, dict[int, int]]
    municipality_names: dict[str, str]


async def read_viis(
    round_: AllocationRound, open_viis: ViisFactory, concurrency: int
) -> ViisFigures:
    """The round's schools and pupils from VIIS; 503 when VIIS fails, 422 for unknown schools."""
    try:
        async with open_viis() as viis:
            listed = await _listed(viis, round_.municipalities, concurrency)
            schools = _chosen(round_, listed)
            pupils = await _pupils(viis, schools, concurrency)
            names = {m.code: m.name for m in await viis.municipalities()}
    except ViisError as exc:
        raise ViisUnreachable(f"VIIS could not be asked ({exc}); nothing was stored") from exc
    return ViisFigures(schools, pupils, names)


async def _listed(
    viis: PlanningViis, municipalities: list[str], concurrency: int
) -> list[ViisInstitution]:
    if not municipalities:
        return await viis.institutions()
    limit = asyncio.Semaphore(concurrency)

    async def of(code: str) -> list[ViisInstitution]:
        async with limit:
            return await viis.institutions(code)

    lists = await asyncio.gather(*(of(code) for code in sorted(set(municipalities))))
    return [school for schools in lists for school in schools]


def _chosen(round_: AllocationRound, listed: list[ViisInstitution]) -> list[ViisInstitution]:
    """The listed schools the round covers that teach one of its grades."""
    by_number = {s.registration_number: s for s in listed}
    if missing := set(round_.institutions) - set(by_number):
        raise UnknownInstitutions(
            f"VIIS does not list these schools (in the round's municipalities): "
            f"{', '.join(sorted(missing))}"
        )
    grades = {g for band in round_.grade_bands for g in BANDS[band]}
    wanted = set(round_.institutions) or set(by_number)
    return [
        by_number[n]
        for n in sorted(wanted)
        if not by_number[n].grades or grades & set(by_number[n].grades)
    ]


async def _pupils(
    viis: PlanningViis, schools: list[ViisInstitution], concurrency: int
) -> dict[str, dict[int, int]]:
    limit = asyncio.Semaphore(concurrency)

    async def of(number: str) -> dict[int, int]:
        async with limit:
            try:
                counts = await viis.institution_pupils(number)
            except UnknownInstitution:
                return {}  # listed but without counts: no pupils to allocate for
        return {c.grade: c.pupils for c in counts}

    counts = await asyncio.gather(*(of(s.registration_number) for s in schools))
    return {s.registration_number: c for s, c in zip(schools, counts, strict=True)}


def band_of(mask: int, bands: list[str], pupils: dict[int, int]) -> str | None:
    """The band a device counts in (see the module's docstring); None outside the round."""
    eligible = [b for b in BANDS if b in bands]
    if mask == 0:
        taught = [b for b in eligible if any(pupils.get(g, 0) > 0 for g in BANDS[b])]
        return next(iter(taught or eligible), None)
    return next((b for b in eligible if any(mask >> g & 1 for g in BANDS[b])), None)


async def held_by_band(
    session: AsyncSession, bands: list[str], pupils: dict[str, dict[int, int]]
) -> dict[str, dict[str, int]]:
    """School → band → devices held."""
    held: dict[str, dict[str, int]] = {n: {} for n in pupils}
    for number, mask, count in await HeldDeviceRepository(session).counts(pupils):
        band = band_of(mask, bands, pupils[number])
        if band is not None:
            held[number][band] = held[number].get(band, 0) + count
    return held


async def survey_figures(session: AsyncSession, round_: AllocationRound) -> dict[str, Any]:
    """School → its survey figures (JSON), from the round's survey round (none without one)."""
    if round_.survey_round_id is None:
        return {}
    needs = await survey_need.need_by_institution(session, round_.survey_round_id)
    return {
        number: {
            "responses": need.responses,
            "without_suitable_device": dict(need.without_suitable_device),
            "criteria": dict(need.criteria),
        }
        for number, need in needs.items()
    }


async def store_inputs(
    session: AsyncSession, round_: AllocationRound, figures: ViisFigures
) -> None:
    """Store the round's inputs: VIIS's figures, the devices held now, the survey's figures."""
    held = await held_by_band(session, round_.grade_bands, figures.pupils)
    survey = await survey_figures(session, round_)
    rows = [
        {
            "round_id": round_.id,
            "institution_number": s.registration_number,
            "municipality_code": s.municipality_code,
            "name": s.name,
            "pupils": {str(g): n for g, n in sorted(figures.pupils[s.registration_number].items())},
            "devices_held": held[s.registration_number],
            "survey": survey.get(s.registration_number),
        }
        for s in figures.schools
    ]
    await InputRepository(session).replace(round_.id, rows)
    round_.municipality_names = figures.municipality_names


def school_input(row: AllocationInput) -> SchoolInput:
    """A stored input as the rule reads it."""
    survey = row.survey
    return SchoolInput(
        institution_number=row.institution_number,
        municipality_code=row.municipality_code,
        pupils={int(g): int(n) for g, n in row.pupils.items()},
        devices_held=dict(row.devices_held),
        survey=SurveyFigures(
            responses=int(survey["responses"]),
            without_suitable_device=dict(survey.get("without_suitable_device") or {}),
            criteria=dict(survey.get("criteria") or {}),
        )
        if survey
        else None,
    )


def parameters(round_: AllocationRound) -> Parameters:
    """The round's parameters as the rule reads them (exact: decimals become fractions)."""
    return Parameters(
        devices=round_.devices,
        bands=tuple(round_.grade_bands),
        target_ratio={b: _exact(v) for b, v in round_.target_ratio.items()},
        subtract_devices_held=round_.subtract_devices_held,
        survey_weight=_exact(round_.survey_weight),
        social_weights={c: _exact(v) for c, v in round_.social_weights.items()},
        min_eligible_pupils=round_.min_eligible_pupils,
        size_bands=tuple(
            SizeBand(b["min_pupils"], b["max_pupils"], _exact(b["weight"]))
            for b in round_.size_bands
        ),
        cap_per_school=round_.cap_per_school,
    )


def _exact(value: str | Decimal) -> Fraction:
    return Fraction(Decimal(value))
