"""The service's notion of "now", injectable so that tests can move time.

`create_app(settings, clock=...)` puts the clock on `app.state.clock`; views (warranty state,
"today"), the daily snapshot job and the pupil refresh read time through it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)
