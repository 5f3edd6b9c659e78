"""Test modules that share one whole-system stack, and an xdist scheduler that keeps them on one
worker.

A test module that sets `SHARED_STACK = "<name>"` (a plain string literal at module level) shares
one stack with every other module of that name (and the same `STACK_ENV`), instead of starting
its own (see the portal tests' `system` fixture). `--dist loadfile` hands out one file at a time;
with this plugin's scheduler, the modules of one shared name are one unit of work, so they run
one after another on the same worker and start their stack once.

The scheduler hands out the longest unit of work left first (longest-processing-time first),
by the seconds each took in a recorded run (`DURATIONS`, refreshed with `--record-durations`;
a unit not in it counts `UNKNOWN_TEST_S` per test). xdist's own order, most tests first, left
the single-test whole-system drills (a minute each) for the end, one worker running them while
the other had finished.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DECLARATION = re.compile(r"^SHARED_STACK\s*(?::\s*str\s*)?=\s*[\"']([\w.-]+)[\"']", re.MULTILINE)
UNIT_PREFIX = "shared-stack:"
DURATIONS = "tests/durations.json"  # seconds per unit of work, from a recorded run
UNKNOWN_TEST_S = 0.5


@functools.cache
def declared_shared_stack(path: Path) -> str | None:
    """The `SHARED_STACK` name a test file declares, read from its source (the scheduler runs in
    the controller, which does not import test modules); None when it declares none."""
    try:
        found = DECLARATION.search(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return found[1] if found else None


def work_unit(rootpath: Path, nodeid: str) -> str:
    """The unit of work of a test: its file, or its shared stack's name."""
    file = nodeid.split("::", 1)[0]
    name = declared_shared_stack(rootpath / file)
    return f"{UNIT_PREFIX}{name}" if name else file


def recorded_durations(rootpath: Path) -> dict[str, float]:
    """Seconds per unit of work of the recorded run; empty when there is none."""
    try:
        found = json.loads((rootpath / DURATIONS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in found.items()} if isinstance(found, dict) else {}


def longest_first(queue: Mapping[str, Mapping[str, bool]], durations: Mapping[str, float]) -> str:
    """The unit of `queue` expected to take longest."""
    return max(queue, key=lambda unit: durations.get(unit, UNKNOWN_TEST_S * len(queue[unit])))


def make_scheduler(config: Any, log: Any) -> Any:
    """`--dist loadfile`, with the files of one shared stack as one unit of work, the longest
    unit left first."""
    from xdist.scheduler import LoadFileScheduling

    durations = recorded_durations(Path(config.rootpath))

    class SharedStackScheduling(LoadFileScheduling):  # type: ignore[misc]
        """Load-file scheduling that keeps a shared stack's modules together."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(Path(config.rootpath), nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if self.workqueue:  # the parent takes the first: make it the longest
                self.workqueue.move_to_end(longest_first(self.workqueue, durations), last=False)
            super()._assign_work_unit(node)

    return SharedStackScheduling(config, log)


class DurationRecorder:
    """`--record-durations`: sums each unit's setup, call and teardown times over the run (in
    the controller, which sees every worker's reports) and writes `DURATIONS` at the end."""

    def __init__(self, rootpath: Path) -> None:
        self.rootpath = rootpath
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        unit = work_unit(self.rootpath, report.nodeid)
        self.seconds[unit] = self.seconds.get(unit, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        rounded = {unit: round(s, 1) for unit, s in sorted(self.seconds.items())}
        (self.rootpath / DURATIONS).write_text(json.dumps(rounded, indent=1) + "\n")
