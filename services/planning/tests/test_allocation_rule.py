"""The allocation rule's properties (Hypothesis), and the 2020 rule on the national register."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType

from hypothesis import given, settings
from hypothesis import strategies as st

from planning_service.service.allocation_rule import (
    BANDS,
    Parameters,
    Result,
    SchoolInput,
    SizeBand,
    SurveyFigures,
    allocate,
    decimal_string,
)

REPO = Path(__file__).resolve().parents[3]
MUNICIPALITIES = ("0010000", "0940200", "0420200")
CRITERIA = ("low_income", "single_parent", "large_family", "disabled_child")
FEW = settings(max_examples=120, deadline=None)


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@st.composite
def surveys(draw: st.DrawFn) -> SurveyFigures | None:
    """A school's survey figures, or none."""
    if not draw(st.booleans()):
        return None
    responses = draw(st.integers(0, 30))
    counts = st.integers(0, responses)
    return SurveyFigures(
        responses=responses,
        without_suitable_device={b: draw(counts) for b in BANDS},
        criteria={c: draw(counts) for c in CRITERIA},
    )


@st.composite
def schools(draw: st.DrawFn, number: int) -> SchoolInput:
    """One school with pupils in some grades, devices held and maybe survey figures."""
    return SchoolInput(
        institution_number=f"{4_000_000_000 + number:010d}",
        municipality_code=draw(st.sampled_from(MUNICIPALITIES)),
        pupils={g: draw(st.integers(0, 60)) for g in range(1, 13) if draw(st.booleans())},
        devices_held={b: draw(st.integers(0, 20)) for b in BANDS},
        survey=draw(surveys()),
    )


@st.composite
def school_lists(draw: st.DrawFn) -> list[SchoolInput]:
    """One to ten schools with distinct registration numbers."""
    numbers = draw(st.lists(st.integers(0, 999), min_size=1, max_size=10, unique=True))
    return [draw(schools(n)) for n in numbers]


@st.composite
def parameters(draw: st.DrawFn, *, capped: bool = True) -> Parameters:
    """Rule parameters over a non-empty set of bands."""
    bands = tuple(draw(st.lists(st.sampled_from(list(BANDS)), min_size=1, unique=True)))
    return Parameters(
        devices=draw(st.integers(0, 600)),
        bands=bands,
        target_ratio={b: Fraction(draw(st.integers(1, 5))) for b in bands},
        subtract_devices_held=draw(st.booleans()),
        survey_weight=Fraction(draw(st.integers(0, 10)), 10),
        social_weights={c: Fraction(draw(st.integers(0, 20)), 10) for c in CRITERIA},
        min_eligible_pupils=draw(st.sampled_from([0, 0, 20, 60])),
        cap_per_school=draw(st.none() | st.integers(1, 80)) if capped else None,
    )


def computed(result: Result) -> dict[str, int]:
    """School → devices."""
    return {line.institution_number: line.computed for line in result.lines}


class TestTotals:
    @FEW
    @given(parameters(), school_lists())
    def test_allocated_and_unallocated_make_the_devices(
        self, params: Parameters, inputs: list[SchoolInput]
    ) -> None:
        result = allocate(params, inputs)
        assert result.allocated + result.unallocated == params.devices
        assert result.unallocated >= 0
        assert sum(computed(result).values()) == result.allocated

    @FEW
    @given(parameters(), school_lists())
    def test_nobody_negative_above_the_cap_or_above_need(
        self, params: Parameters, inputs: list[SchoolInput]
    ) -> None:
        for line in allocate(params, inputs).lines:
            assert 0 <= line.computed <= line.limit <= line.assessment.need
            if params.cap_per_school is not None:
                assert line.computed <= params.cap_per_school
            if line.assessment.pooled:
                assert line.computed == 0
            assert abs(line.share - line.computed) < 1


class TestDeterminism:
    @FEW
    @given(parameters(), school_lists(), st.randoms(use_true_random=False))
    def test_same_inputs_in_any_order_give_the_same_result(
        self, params: Parameters, inputs: list[SchoolInput], rng: object
    ) -> None:
        shuffled = list(inputs)
        rng.shuffle(shuffled)  # type: ignore[attr-defined]
        assert allocate(params, shuffled) == allocate(params, inputs)


class TestMonotonic:
    @FEW
    @given(parameters(), school_lists(), st.data())
    def test_more_need_never_gives_fewer_devices(
        self, params: Parameters, inputs: list[SchoolInput], data: st.DataObject
    ) -> None:
        index = data.draw(st.integers(0, len(inputs) - 1))
        school = inputs[index]
        grade = data.draw(st.integers(1, 12))
        more = data.draw(st.integers(1, 60))
        pupils = {**school.pupils, grade: school.pupils.get(grade, 0) + more}
        held = {b: max(0, n - data.draw(st.integers(0, 5))) for b, n in school.devices_held.items()}
        needier = dataclasses.replace(school, pupils=pupils, devices_held=held)
        before = computed(allocate(params, inputs))[school.institution_number]
        after_inputs = [*inputs[:index], needier, *inputs[index + 1 :]]
        after = computed(allocate(params, after_inputs))[school.institution_number]
        assert after >= before


class TestSupplyCoversNeed:
    @FEW
    @given(parameters(capped=False), school_lists(), st.integers(0, 50))
    def test_every_need_is_met_and_the_rest_is_unallocated(
        self, params: Parameters, inputs: list[SchoolInput], spare: int
    ) -> None:
        probe = allocate(params, inputs)
        need = sum(line.assessment.need for line in probe.lines if not line.assessment.pooled)
        params = dataclasses.replace(params, devices=need + spare)
        result = allocate(params, inputs)
        for line in result.lines:
            expected = 0 if line.assessment.pooled else line.assessment.need
            assert line.computed == expected
        assert result.unallocated == spare


def rule_2020(devices: int) -> Parameters:
    """The 2020 rule: grades 7-12, 20 size bands of 25 pupils from 20, under 20 pupils none."""
    bands = tuple(
        SizeBand(20 + 25 * k, None if k == 19 else 44 + 25 * k, Fraction(k + 1)) for k in range(20)
    )
    return Parameters(
        devices=devices, bands=("7-9", "10-12"), min_eligible_pupils=20, size_bands=bands
    )


def check_2020_shape(params: Parameters, result: Result) -> None:
    """Bigger band → at least as many devices; under 20 such pupils none; total exact."""
    assert result.allocated + result.unallocated == params.devices
    lines = [line for line in result.lines if not line.assessment.pooled]
    for line in result.lines:
        if line.assessment.eligible_total < 20:
            assert line.computed == 0
    for a in lines:
        for b in lines:
            if a.assessment.weight > b.assessment.weight:
                assert a.computed >= b.computed


class TestRule2020:
    @FEW
    @given(st.integers(0, 3000), school_lists())
    def test_bigger_bands_get_at_least_as_many(
        self, devices: int, inputs: list[SchoolInput]
    ) -> None:
        params = rule_2020(devices)
        check_2020_shape(params, allocate(params, inputs))

    def test_the_national_register_gets_the_published_shape(self) -> None:
        standin = _load("planning_rule_viis_standin", REPO / "deploy" / "dev" / "viis_standin.py")
        inputs = [
            SchoolInput(s.registration_number, s.municipality_code, dict(s.pupils))
            for s in standin.national_institutions()
        ]
        params = rule_2020(5_000)
        result = allocate(params, inputs)
        check_2020_shape(params, result)
        assert result.unallocated == 0
        served = [line for line in result.lines if line.computed]
        assert len(served) > 300
        assert all(line.assessment.eligible_total >= 20 for line in served)


class TestExamples:
    def test_largest_remainder_breaks_ties_by_weight_then_number(self) -> None:
        inputs = [
            SchoolInput(f"400000000{n}", "0010000", {1: pupils})
            for n, pupils in enumerate([30, 30, 30])
        ]
        result = allocate(Parameters(devices=4, bands=("1-3",)), inputs)
        assert [line.computed for line in result.lines] == [2, 1, 1]
        assert [line.rounded_up for line in result.lines] == [True, False, False]

    def test_a_pool_goes_to_the_municipalitys_other_schools(self) -> None:
        inputs = [
            SchoolInput("4000000001", "0010000", {1: 10}),  # below the minimum: pooled
            SchoolInput("4000000002", "0010000", {1: 30}),
            SchoolInput("4000000003", "0940200", {1: 40}),
        ]
        params = Parameters(devices=8, bands=("1-3",), min_eligible_pupils=20)
        result = allocate(params, inputs)
        assert computed(result) == {"4000000001": 0, "4000000002": 4, "4000000003": 4}
        (pool,) = result.pools
        assert (pool.municipality_code, pool.share, pool.to) == ("0010000", 1, "municipality")

    def test_decimal_strings(self) -> None:
        assert decimal_string(Fraction(37, 3)) == "12.333333"
        assert decimal_string(Fraction(-7, 2), 0) == "-4"
        assert decimal_string(Fraction(5, 2), 2) == "2.50"
