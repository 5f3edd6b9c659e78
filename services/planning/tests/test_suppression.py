"""Complementary suppression: no hidden count can be read or worked out from what is shown."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from planning_service.service.survey_suppression import Partition, published, suppress

BANDS = ("1-3", "4-6", "7-9", "10-12")
Counts = dict[Hashable, int]


@given(st.integers(min_value=0, max_value=10**9))
def test_no_published_count_is_between_one_and_four(count: int) -> None:
    shown = published(count)
    assert shown is None or shown == count
    assert (shown is None) == (1 <= count <= 4)


# A table as the results build it: a nation of municipalities of schools, each place's count
# per band and in total. Small counts are likely, so suppression has work to do.
band_counts = st.lists(st.integers(0, 12) | st.just(0), min_size=1, max_size=4)
municipality = st.lists(band_counts, min_size=1, max_size=6)
nation = st.lists(municipality, min_size=1, max_size=5)


def table(tree: list[list[list[int]]]) -> tuple[Counts, list[Partition]]:
    """The cells (place, field) and partitions of a nation → municipality → school tree."""
    values: Counts = defaultdict(int)
    bands = BANDS[: max(len(s) for m in tree for s in m)]
    children: dict[str, list[str]] = defaultdict(list)
    for m, schools in enumerate(tree):
        children["n"].append(f"m{m}")
        for s, counts in enumerate(schools):
            school = f"m{m}s{s}"
            children[f"m{m}"].append(school)
            for band, count in zip(bands, counts, strict=False):
                for place in (school, f"m{m}", "n"):
                    values[(place, band)] += count
                    values[(place, "total")] += count
    fields = ("total", *bands)
    partitions = [
        Partition((parent, f), tuple((kid, f) for kid in kids))
        for parent, kids in children.items()
        for f in fields
    ]
    places = ["n", *children["n"], *(k for m in children["n"] for k in children[m])]
    partitions += [Partition((p, "total"), tuple((p, b) for b in bands)) for p in places]
    return dict(values), partitions


def derivable(partition: Partition, values: Counts, hidden: set[Hashable]) -> bool:
    """Whether one sum gives a hidden count away: the only hidden cell of the sum, or a shown
    parent minus the shown parts leaving a hidden total of 1-4."""
    cells = [partition.parent, *partition.parts]
    unknown = [c for c in cells if c in hidden]
    if len(unknown) == 1:
        return True
    if partition.parent in hidden or not unknown:
        return False
    return 0 < sum(values[c] for c in unknown) < 5


@settings(max_examples=400)
@given(nation)
def test_no_hidden_count_can_be_worked_out(tree: list[list[list[int]]]) -> None:
    """Every sum of the table is protected: nothing hidden; or its parent and at least one part
    hidden; or its parent shown and two or more parts hidden whose total is at least 5. Nothing
    shown is between 1 and 4, and nothing hidden is 0."""
    values, partitions = table(tree)
    hidden = suppress(values, partitions)
    assert all(published(v) is not None for c, v in values.items() if c not in hidden)
    assert all(values[c] > 0 for c in hidden)
    for partition in partitions:
        assert not derivable(partition, values, hidden), partition
        parts = [p for p in partition.parts if p in hidden]
        if partition.parent in hidden:
            assert parts
        elif parts:
            assert len(parts) >= 2 and sum(values[p] for p in parts) >= 5


@given(nation, st.randoms(use_true_random=False))
def test_the_same_table_hides_the_same_cells(
    tree: list[list[list[int]]], rnd: random.Random
) -> None:
    values, partitions = table(tree)
    shuffled = list(values.items())
    rnd.shuffle(shuffled)
    assert suppress(dict(shuffled), partitions) == suppress(values, partitions)


class TestChoices:
    def test_one_small_school_hides_the_next_smallest_too(self) -> None:
        values: Counts = {"m": 30, "a": 3, "b": 12, "c": 9, "d": 6}
        hidden = suppress(values, [Partition("m", ("a", "b", "c", "d"))])
        assert hidden == {"a", "d"}

    def test_two_small_ones_adding_up_to_less_than_five_hide_a_third(self) -> None:
        values: Counts = {"m": 20, "a": 1, "b": 2, "c": 17, "d": 0}
        hidden = suppress(values, [Partition("m", ("a", "b", "c", "d"))])
        assert hidden == {"a", "b", "c"}
        assert "d" not in hidden  # zeros are never hidden: a 0 gives nothing away

    def test_two_small_ones_adding_up_to_five_are_enough(self) -> None:
        values: Counts = {"m": 25, "a": 1, "b": 4, "c": 20}
        assert suppress(values, [Partition("m", ("a", "b", "c"))]) == {"a", "b"}

    def test_a_lone_hidden_part_with_nothing_else_to_hide_hides_its_parent(self) -> None:
        # b is hidden by the second sum; in the first it is the only non-zero part.
        values: Counts = {"m": 8, "a": 0, "b": 8, "t": 11, "x": 3}
        partitions = [Partition("m", ("a", "b")), Partition("t", ("b", "x"))]
        assert suppress(values, partitions) == {"b", "x", "m"}
