"""The test clock: services read time through it, tests move it."""

from __future__ import annotations

import datetime as dt


class TestClock:
    """Starts at `start` and moves only when told; with `tick`, each reading also advances it
    (so the order of requests is the order of the calls, as with a real clock)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, start: dt.datetime, *, tick: dt.timedelta = dt.timedelta(0)) -> None:
        if start.tzinfo is None:
            raise ValueError("the test clock needs an aware start time")
        self.now = start
        self.tick = tick

    def __call__(self) -> dt.datetime:
        self.now += self.tick
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by a timedelta's keyword arguments (`days=1`, `hours=2`)."""
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, moment: dt.datetime) -> dt.datetime:
        """Jump to a moment (forwards or backwards)."""
        self.now = moment
        return self.now
