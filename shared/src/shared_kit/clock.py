"""The service's notion of "now", injectable so that tests can move time.

The app factory puts the service's clock on `app.state.clock` (`ServiceSpec.clock`); requests,
consumers and background jobs read time through it, never through `datetime.now` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)
