"""The allocation rule: a procurement's devices spread over schools by need, exactly.

Pure (no database, no clock) and exact (`fractions.Fraction`, never a float). Per school:

1. **Eligible pupils** per grade band: the pupils of the grades in the round's bands.
2. **Ratio need** per band: ceil(pupils / target ratio) (a band without a ratio: one device per
   pupil), minus the devices the school holds in that band when the round subtracts them, never
   below 0; the school's ratio need is their sum.
3. **Survey need**: the share of the answering children without a suitable device (in the
   eligible bands, over all the school's answers) times the school's eligible pupils, rounded
   up, minus the devices held when the round subtracts them: the answers are a sample of the
   school, so a school where few families answered is not read as one without need.
   Blended: need' = (1 - w) * ratio need + w * survey need. A school without any answer has
   no survey evidence: its need' is its ratio need (it is not punished for silence).
   The school's **need** is ceil(need'): no school gets more than it (see 8).
4. **Social factor**: 1 + Σ social_weights[c] * (answering children with c / answers).
5. **Weight**: need' * social factor, rounded to 6 decimal places (half to even; never to 0 when
   the need is positive), so every stored figure has a short exact form. With size bands (the
   2020 rule) the weight is instead the weight of the band the school's eligible pupils fall in
   (0 when none).
6. **Pooling**: a school below `min_eligible_pupils` gets none; its weight is pooled at its
   municipality and goes to the municipality's other schools pro rata to their weights, or, when
   the municipality has none with a weight, to every school of the round pro rata.
7. **Shares**: devices * effective weight / Σ effective weights, with each school limited to
   min(cap per school, need): a limited school is fixed at its limit and the rest is spread again
   over the others (water-filling, in one pass over the schools sorted by limit / weight).
8. **Why need limits a school**: devices beyond every school's need would only sit in a
   cupboard; they are reported as `unallocated` (allocated + unallocated = devices, always) and
   the programme manager decides (adjust them by hand, or order fewer). So when the supply
   covers every need, every need is met exactly.
9. **Largest remainder**: each share is floored; the devices left go one each to the largest
   remainders, ties broken by weight (larger first), then registration number (smaller first).
   The result does not depend on the order the schools are given in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

BANDS: dict[str, tuple[int, ...]] = {
    "1-3": (1, 2, 3),
    "4-6": (4, 5, 6),
    "7-9": (7, 8, 9),
    "10-12": (10, 11, 12),
}
WEIGHT_PLACES = 6
_ZERO = Fraction(0)
_SMALLEST_WEIGHT = Fraction(1, 10**WEIGHT_PLACES)


@dataclass(frozen=True, slots=True)
class SizeBand:
    """The 2020 rule: schools whose eligible pupils fall in [min, max] weigh `weight`."""

    min_pupils: int
    max_pupils: int | None
    weight: Fraction

    def holds(self, pupils: int) -> bool:
        """Whether `pupils` falls in this band."""
        return self.min_pupils <= pupils and (self.max_pupils is None or pupils <= self.max_pupils)


@dataclass(frozen=True, slots=True)
class Parameters:
    """The round's rule parameters."""

    devices: int
    bands: tuple[str, ...]
    target_ratio: Mapping[str, Fraction] = field(default_factory=dict)
    subtract_devices_held: bool = False
    survey_weight: Fraction = _ZERO
    social_weights: Mapping[str, Fraction] = field(default_factory=dict)
    min_eligible_pupils: int = 0
    size_bands: tuple[SizeBand, ...] = ()
    cap_per_school: int | None = None


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    """A school's survey answers: how many, how many children lack a suitable device (by band),
    and how many children have each criterion."""

    responses: int
    without_suitable_device: Mapping[str, int] = field(default_factory=dict)
    criteria: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SchoolInput:
    """One school's stored inputs."""

    institution_number: str
    municipality_code: str
    pupils: Mapping[int, int]  # grade → pupils (VIIS)
    devices_held: Mapping[str, int] = field(default_factory=dict)  # band → devices
    survey: SurveyFigures | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """A school's figures before the shares: pupils, needs, weight."""

    school: SchoolInput
    eligible_pupils: dict[str, int]
    devices_held: dict[str, int]
    ratio_need: int
    survey_need: int
    blended_need: Fraction
    need: int
    social_factor: Fraction
    weight: Fraction
    pooled: bool

    @property
    def eligible_total(self) -> int:
        """Eligible pupils over every band."""
        return sum(self.eligible_pupils.values())


@dataclass(frozen=True, slots=True)
class Line:
    """A school's result with its explanation."""

    assessment: Assessment
    share: Fraction  # exact, after pooling and limits
    floor: int
    remainder: Fraction
    rounded_up: bool
    capped: bool  # fixed at its limit (the cap per school or its need)
    limit: int  # min(cap per school, need)
    computed: int

    @property
    def institution_number(self) -> str:
        """The school's registration number."""
        return self.assessment.school.institution_number


@dataclass(frozen=True, slots=True)
class Pool:
    """What a municipality's schools below the minimum would have had, and where it went."""

    municipality_code: str
    share: Fraction  # devices * pooled weight / Σ weights
    schools: int
    to: str  # "municipality" (its other schools) or "national" (every school)


@dataclass(frozen=True, slots=True)
class Result:
    """Every school's line, the pools, and the totals (allocated + unallocated = devices)."""

    lines: tuple[Line, ...]
    pools: tuple[Pool, ...]
    allocated: int
    unallocated: int


def allocate(params: Parameters, schools: Iterable[SchoolInput]) -> Result:
    """Run the rule (see the module's docstring)."""
    ordered = sorted(schools, key=lambda s: s.institution_number)
    numbers = [s.institution_number for s in ordered]
    if len(set(numbers)) != len(numbers):
        raise ValueError("a school appears twice among the inputs")
    assessed = [assess(params, s) for s in ordered]
    effective, pools = _effective_weights(params.devices, assessed)
    limits = {a.school.institution_number: _limit(params, a) for a in assessed}
    shares, capped = _water_fill(params.devices, effective, limits)
    weights = {a.school.institution_number: a.weight for a in assessed}
    up = _largest_remainder(shares, weights)
    lines = tuple(_line(a, shares, capped, limits, up) for a in assessed)
    allocated = sum(line.computed for line in lines)
    return Result(lines, pools, allocated, params.devices - allocated)


def assess(params: Parameters, school: SchoolInput) -> Assessment:
    """A school's eligible pupils, needs and weight."""
    eligible = {b: sum(school.pupils.get(g, 0) for g in BANDS[b]) for b in params.bands}
    held = {b: max(0, school.devices_held.get(b, 0)) for b in params.bands}
    ratio_need = sum(_band_need(params, b, eligible[b], held[b]) for b in params.bands)
    survey = school.survey if school.survey is not None and school.survey.responses > 0 else None
    total = sum(eligible.values())
    survey_need = _survey_need(params, survey, total, sum(held.values()))
    w = params.survey_weight if survey is not None else _ZERO
    blended = (1 - w) * ratio_need + w * survey_need
    social = _social_factor(params, survey)
    return Assessment(
        school=school,
        eligible_pupils=eligible,
        devices_held=held,
        ratio_need=ratio_need,
        survey_need=survey_need,
        blended_need=blended,
        need=math.ceil(blended),
        social_factor=social,
        weight=_weight(params, blended * social, total),
        pooled=total < params.min_eligible_pupils,
    )


def _survey_need(
    params: Parameters, survey: SurveyFigures | None, eligible_total: int, held: int
) -> int:
    """The answers' share of children without a suitable device, scaled to the eligible
    pupils (a school where few families answered is not read as a school without need)."""
    if survey is None:
        return 0
    without = sum(max(0, survey.without_suitable_device.get(b, 0)) for b in params.bands)
    share = min(Fraction(without, survey.responses), Fraction(1))
    estimate = math.ceil(share * eligible_total)
    return max(0, estimate - held) if params.subtract_devices_held else estimate


def _band_need(params: Parameters, band: str, pupils: int, held: int) -> int:
    ratio = params.target_ratio.get(band, Fraction(1))
    need = math.ceil(Fraction(pupils) / ratio)
    return max(0, need - held) if params.subtract_devices_held else need


def _social_factor(params: Parameters, survey: SurveyFigures | None) -> Fraction:
    if survey is None:
        return Fraction(1)
    extra = sum(
        (
            weight * Fraction(min(max(0, survey.criteria.get(c, 0)), survey.responses))
            for c, weight in sorted(params.social_weights.items())
        ),
        _ZERO,
    )
    return 1 + extra / survey.responses


def _weight(params: Parameters, raw: Fraction, eligible_total: int) -> Fraction:
    if params.size_bands:
        band = next((b for b in params.size_bands if b.holds(eligible_total)), None)
        return band.weight if band is not None else _ZERO
    if raw <= 0:
        return _ZERO
    return max(round(raw, WEIGHT_PLACES), _SMALLEST_WEIGHT)


def _limit(params: Parameters, a: Assessment) -> int:
    if a.pooled:
        return 0
    cap = params.cap_per_school
    return a.need if cap is None else min(cap, a.need)


def _effective_weights(
    devices: int, assessed: list[Assessment]
) -> tuple[dict[str, Fraction], tuple[Pool, ...]]:
    """Each eligible school's weight with its municipality's pool (and the national one)."""
    total = sum((a.weight for a in assessed), _ZERO)
    pooled: dict[str, list[Assessment]] = {}
    eligible: dict[str, Fraction] = {}
    for a in assessed:
        code = a.school.municipality_code
        if a.pooled:
            pooled.setdefault(code, []).append(a)
        else:
            eligible[code] = eligible.get(code, _ZERO) + a.weight
    effective: dict[str, Fraction] = {}
    for a in assessed:
        if a.pooled:
            continue
        code = a.school.municipality_code
        pool = sum((p.weight for p in pooled.get(code, [])), _ZERO)
        scale = (eligible[code] + pool) / eligible[code] if eligible[code] > 0 else Fraction(1)
        effective[a.school.institution_number] = a.weight * scale
    orphaned = sum(
        (p.weight for code, ps in pooled.items() if eligible.get(code, _ZERO) == 0 for p in ps),
        _ZERO,
    )
    spread = sum(effective.values(), _ZERO)
    if orphaned and spread:
        effective = {r: w * (spread + orphaned) / spread for r, w in effective.items()}
    pools = tuple(
        Pool(
            municipality_code=code,
            share=devices * sum((p.weight for p in ps), _ZERO) / total if total else _ZERO,
            schools=len(ps),
            to="municipality" if eligible.get(code, _ZERO) > 0 else "national",
        )
        for code, ps in sorted(pooled.items())
    )
    return effective, pools


def _water_fill(
    devices: int, weights: dict[str, Fraction], limits: dict[str, int]
) -> tuple[dict[str, Fraction], set[str]]:
    """Shares pro rata to the weights, no school above its limit; the schools fixed at it."""
    active = [r for r, w in weights.items() if w > 0 and limits[r] > 0]
    remaining = Fraction(min(devices, sum(limits[r] for r in active)))
    spread = sum((weights[r] for r in active), _ZERO)
    # The school with the smallest limit per weight reaches its limit first; when it does not,
    # no school does, and the rest share pro rata.
    order = sorted(active, key=lambda r: (Fraction(limits[r]) / weights[r], r))
    shares: dict[str, Fraction] = {}
    capped: set[str] = set()
    for position, r in enumerate(order):
        if limits[r] * spread > remaining * weights[r]:
            for rest in order[position:]:
                shares[rest] = remaining * weights[rest] / spread
            break
        shares[r] = Fraction(limits[r])
        capped.add(r)
        remaining -= limits[r]
        spread -= weights[r]
    return shares, capped


def _largest_remainder(shares: dict[str, Fraction], weights: dict[str, Fraction]) -> set[str]:
    """The schools that get one device more than their floor."""
    total = sum(shares.values(), _ZERO)
    left = int(total) - sum(math.floor(s) for s in shares.values())
    ranked = sorted(shares, key=lambda r: (-(shares[r] - math.floor(shares[r])), -weights[r], r))
    return set(ranked[:left])


def _line(
    a: Assessment,
    shares: dict[str, Fraction],
    capped: set[str],
    limits: dict[str, int],
    up: set[str],
) -> Line:
    number = a.school.institution_number
    share = shares.get(number, _ZERO)
    floor = math.floor(share)
    return Line(
        assessment=a,
        share=share,
        floor=floor,
        remainder=share - floor,
        rounded_up=number in up,
        capped=number in capped,
        limit=limits[number],
        computed=floor + (number in up),
    )


def decimal_string(value: Fraction, places: int = WEIGHT_PLACES) -> str:
    """`value` as a decimal string with `places` decimals (half to even), e.g. "12.333333"."""
    scaled = round(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"
