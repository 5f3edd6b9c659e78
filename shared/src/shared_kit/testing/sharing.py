"""Test modules that share one whole-system stack, and an xdist scheduler that keeps them on one
worker.

A test module that sets `SHARED_STACK = "<name>"` (a plain string literal at module level) shares
one stack with every other module of that name (and the same `STACK_ENV`), instead of starting
its own (see the portal tests' `system` fixture). `--dist loadfile` hands out one file at a time;
with this plugin's scheduler, the modules of one shared name are one unit of work, so they run
one after another on the same worker and start their stack once.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

DECLARATION = re.compile(r"^SHARED_STACK\s*(?::\s*str\s*)?=\s*[\"']([\w.-]+)[\"']", re.MULTILINE)
UNIT_PREFIX = "shared-stack:"


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


def make_scheduler(config: Any, log: Any) -> Any:
    """`--dist loadfile`, with the files of one shared stack as one unit of work."""
    from xdist.scheduler import LoadFileScheduling

    class SharedStackScheduling(LoadFileScheduling):
        """Load-file scheduling that keeps a shared stack's modules together."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(Path(config.rootpath), nodeid)

    return SharedStackScheduling(config, log)
