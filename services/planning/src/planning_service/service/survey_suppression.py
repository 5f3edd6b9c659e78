"""Which counts of a table of results to hide, so no small count can be seen or worked out.

A table is a set of cells (counts ≥ 0) and partitions: a parent cell that is the sum of its part
cells (a municipality's count is the sum of its schools', a school's responses the sum of its
grade bands'). Primary suppression hides every count from 1 to 4. That alone is not enough: when
one part of a partition is hidden, the parent minus the shown parts gives it back. So
complementary (secondary) suppression hides more cells until every partition is *protected*:

- nothing in it is hidden; or
- its parent is hidden and at least one of its parts is too (two unknowns in one sum, neither
  of which the sum gives away); or
- its parent is shown, at least two parts are hidden, and the hidden parts add up to 5 or more
  (all the parent and the shown parts reveal is a total no smaller than a shown count may be).

Only non-zero cells are ever hidden, so a hidden total is never 0. To repair a partition, hide
its smallest shown non-zero part (ties: the first in the partition's order); when there is none
(its only non-zero part is already hidden), hide the parent. Hiding a cell may leave another
partition it belongs to unprotected; that one is repaired in turn until all are (the hidden set
only grows, so this ends). The same table always hides the same cells.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

SMALLEST_SHOWN = 5
Cell = TypeVar("Cell", bound=Hashable)


def published(count: int) -> int | None:
    """A count as it may be published on its own: None when it is between 1 and 4."""
    return None if 0 < count < SMALLEST_SHOWN else count


@dataclass(frozen=True, slots=True)
class Partition(Generic[Cell]):
    """A parent cell that equals the sum of its parts."""

    parent: Cell
    parts: tuple[Cell, ...]


def protected(partition: Partition[Cell], values: Mapping[Cell, int], hidden: set[Cell]) -> bool:
    """Whether no hidden count of the partition can be worked out from it (see the module)."""
    parts = [p for p in partition.parts if p in hidden]
    if partition.parent in hidden:
        return bool(parts)
    return not parts or (len(parts) >= 2 and sum(values.get(p, 0) for p in parts) >= SMALLEST_SHOWN)


def _complement(
    partition: Partition[Cell], values: Mapping[Cell, int], hidden: set[Cell]
) -> Cell | None:
    """The cell to hide next: the smallest shown non-zero part, else the parent (None when
    there is nothing left to hide, which a table whose parents are their parts' sums never
    comes to)."""
    shown = [
        (values.get(p, 0), n)
        for n, p in enumerate(partition.parts)
        if p not in hidden and values.get(p, 0) > 0
    ]
    if shown:
        return partition.parts[min(shown)[1]]
    return None if partition.parent in hidden else partition.parent


def suppress(values: Mapping[Cell, int], partitions: Sequence[Partition[Cell]]) -> set[Cell]:
    """The cells to hide: every count of 1-4, and enough others to protect every partition."""
    hidden = {cell for cell, value in values.items() if published(value) is None}
    member: dict[Cell, list[int]] = defaultdict(list)
    for n, partition in enumerate(partitions):
        for cell in (partition.parent, *partition.parts):
            member[cell].append(n)
    queue = deque(sorted(set(_touching(hidden, member))))
    waiting = set(queue)
    while queue:
        n = queue.popleft()
        waiting.discard(n)
        partition = partitions[n]
        while not protected(partition, values, hidden):
            chosen = _complement(partition, values, hidden)
            if chosen is None:
                break
            hidden.add(chosen)
            for other in member[chosen]:
                if other != n and other not in waiting:
                    waiting.add(other)
                    queue.append(other)
    return hidden


def _touching(cells: Iterable[Cell], member: Mapping[Cell, list[int]]) -> Iterable[int]:
    for cell in cells:
        yield from member.get(cell, ())
