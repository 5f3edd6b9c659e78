"""The allocation rules: pure functions, no database, so their invariants can be property-tested.

Priority score
--------------
Each social criterion the programme names has a weight, and each source of evidence a factor
(percent); the score is the sum over the criteria a request claims (each at most once) of
`weight * factor / 100`:

    low_income 40, single_parent 30, large_family 20 (three or more children),
    disabled_child 20;
    welfare_data 100 %, verified_by_school 100 %, declared 50 %.

So a low-income family confirmed by welfare data scores 40, the same family declaring it 20,
and a declared single-parent family raising a disabled child 15 + 10 = 25. The score is an
integer with these weights. A **loaner** (a replacement while a learner's own device is
in repair, lost or stolen, requested by the tickets service) scores `LOANER_SCORE` = 1000,
above any combination of the criteria (at most 110): a child who had a computer and lost it
through no choice of their own goes first. Requests are served in the order
`score descending, requested_at ascending, id ascending` (the id only breaks exact ties).

Assignment
----------
`assign` walks the waiting requests in priority order and gives each the first free device
that matches it (devices in id order; a specific-device request matches only its device).
This greedy order gives the three invariants the tests check:

1. no two bookings of a device overlap (each assignment checks the bookings made so far);
2. priority: a request is never left waiting while a device it matches, and that is free for
   it apart from bookings made for lower-priority requests, went to one of those;
3. no request is left waiting while a device it matches is free for its whole period.

An allocation never reaches into the past: a request's effective period starts at
`max(start, now)`, so a request waiting since September can take a device returned in
November without colliding with the earlier loan.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Criterion(StrEnum):
    """Social criteria that give priority (the programme's target groups)."""

    LOW_INCOME = "low_income"
    SINGLE_PARENT = "single_parent"
    LARGE_FAMILY = "large_family"
    DISABLED_CHILD = "disabled_child"


class Source(StrEnum):
    """Where the evidence for a criterion comes from."""

    WELFARE_DATA = "welfare_data"
    VERIFIED_BY_SCHOOL = "verified_by_school"
    DECLARED = "declared"


WEIGHTS: dict[Criterion, int] = {
    Criterion.LOW_INCOME: 40,
    Criterion.SINGLE_PARENT: 30,
    Criterion.LARGE_FAMILY: 20,
    Criterion.DISABLED_CHILD: 20,
}
# Above every possible sum of the weights: loaners come first (see the module doc).
LOANER_SCORE = 1000
SOURCE_PERCENT: dict[Source, int] = {
    Source.WELFARE_DATA: 100,
    Source.VERIFIED_BY_SCHOOL: 100,
    Source.DECLARED: 50,
}


def priority_score(claims: Iterable[tuple[str, str]]) -> int:
    """Score of (criterion, source) claims; a criterion claimed twice counts once, best source."""
    best: dict[Criterion, int] = {}
    for criterion, source in claims:
        c, s = Criterion(criterion), Source(source)
        best[c] = max(best.get(c, 0), WEIGHTS[c] * SOURCE_PERCENT[s] // 100)
    return sum(best.values())


@dataclass(frozen=True, slots=True)
class DeviceView:
    """What matching needs to know about a lendable device."""

    id: uuid.UUID
    category: str
    os: str
    screen_inches: Decimal | None
    touch: bool
    catalogue_item_code: str


@dataclass(frozen=True, slots=True)
class Criteria:
    """What a request accepts; every field left None accepts anything."""

    device_id: uuid.UUID | None = None
    category: str | None = None
    os: str | None = None
    screen_inches: Decimal | None = None
    min_screen_inches: Decimal | None = None
    max_screen_inches: Decimal | None = None
    touch: bool | None = None
    catalogue_item_code: str | None = None

    def matches(self, device: DeviceView) -> bool:
        """Whether the device satisfies every given criterion."""
        if self.device_id is not None:
            return device.id == self.device_id
        screen = device.screen_inches
        wants_screen = (self.screen_inches, self.min_screen_inches, self.max_screen_inches)
        if screen is None and any(v is not None for v in wants_screen):
            return False
        return (
            (self.category is None or device.category == self.category)
            and (self.os is None or device.os == self.os)
            and (self.touch is None or device.touch == self.touch)
            and (
                self.catalogue_item_code is None
                or device.catalogue_item_code == self.catalogue_item_code
            )
            and (self.screen_inches is None or screen == self.screen_inches)
            and (self.min_screen_inches is None or (screen or 0) >= self.min_screen_inches)
            and (self.max_screen_inches is None or (screen or 0) <= self.max_screen_inches)
        )


@dataclass(frozen=True, slots=True)
class Request:
    """A waiting request as the rules see it."""

    id: uuid.UUID
    criteria: Criteria
    start: dt.datetime
    end: dt.datetime
    score: int
    requested_at: dt.datetime

    @property
    def priority_key(self) -> tuple[int, dt.datetime, str]:
        """Sort key: higher score first, then earlier request, then id."""
        return (-self.score, self.requested_at, str(self.id))


@dataclass(frozen=True, slots=True)
class Booking:
    """A device held over [start, end)."""

    device_id: uuid.UUID
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    """A request gets a device from `start` (its own start, or now if that has passed)."""

    request: Request
    device: DeviceView
    start: dt.datetime


def overlaps(
    a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime
) -> bool:
    """Whether [a_start, a_end) and [b_start, b_end) share an instant (empty ranges never do)."""
    return a_start < a_end and b_start < b_end and a_start < b_end and b_start < a_end


def is_free(
    device_id: uuid.UUID, start: dt.datetime, end: dt.datetime, bookings: Iterable[Booking]
) -> bool:
    """Whether no booking of the device overlaps [start, end)."""
    return not any(
        b.device_id == device_id and overlaps(start, end, b.start, b.end) for b in bookings
    )


def effective_start(request: Request, now: dt.datetime) -> dt.datetime:
    """An allocation starts no earlier than now."""
    return max(request.start, now)


def free_device_for(
    request: Request,
    devices: Sequence[DeviceView],
    bookings: Sequence[Booking],
    now: dt.datetime,
) -> DeviceView | None:
    """The first device (id order) that matches the request and is free for it."""
    start = effective_start(request, now)
    if start >= request.end:
        return None  # the period is over: nothing to allocate
    for device in sorted(devices, key=lambda d: str(d.id)):
        if request.criteria.matches(device) and is_free(device.id, start, request.end, bookings):
            return device
    return None


def assign(
    requests: Sequence[Request],
    devices: Sequence[DeviceView],
    bookings: Sequence[Booking],
    now: dt.datetime,
) -> list[Assignment]:
    """Give waiting requests free matching devices, in priority order (see the module doc)."""
    taken = list(bookings)
    result: list[Assignment] = []
    for request in sorted(requests, key=lambda r: r.priority_key):
        device = free_device_for(request, devices, taken, now)
        if device is None:
            continue
        start = effective_start(request, now)
        taken.append(Booking(device.id, start, request.end))
        result.append(Assignment(request, device, start))
    return result
