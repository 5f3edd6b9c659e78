"""Events planning publishes on `planning.events`, as versioned payload models.

`survey` (rounds, answers as counts only, verified criteria) and `allocation` (rounds,
results, adjustments, publication, moves, orders). No event carries a family's answers:
a verified criterion names the learner's opaque id, the criterion and its source only.
"""

from __future__ import annotations

from pydantic import BaseModel

from planning_service.events import allocation, survey
from planning_service.events.common import PREFIX, SOURCE, publish

PAYLOADS: dict[str, type[BaseModel]] = {**survey.PAYLOADS, **allocation.PAYLOADS}

__all__ = ["PAYLOADS", "PREFIX", "SOURCE", "publish"]
