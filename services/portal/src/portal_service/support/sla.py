"""The SLA clocks as the pages show them: the service's deadlines and breach flags, with the
time left from now (no target is computed here: the tickets service sets every deadline)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

DONE = ("resolved", "closed")


@dataclass(frozen=True)
class Deadline:
    """A ticket's next SLA deadline in the queue: which clock, when, and how long from now."""

    clock: str | None  # "response", "resolution", or None (done, or the clock is paused)
    due_at: dt.datetime | None
    left: dt.timedelta | None
    breached: bool  # flagged by the service (either clock)
    paused: bool

    @property
    def late(self) -> bool:
        """The deadline has passed (the service flags it shortly after)."""
        return self.left is not None and self.left < dt.timedelta(0)


def _at(value: str | dt.datetime | None) -> dt.datetime | None:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _on(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def with_times(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource of the API with its moments (`*_at`) as datetimes and its days (`*_on`,
    `*_until`) as dates, also in nested objects."""
    return {
        k: with_times(v)
        if isinstance(v, dict)
        else _at(v)
        if k.endswith("_at")
        else _on(v)
        if k.endswith(("_on", "_until"))
        else v
        for k, v in resource.items()
    }


def deadline(ticket: dict[str, Any], now: dt.datetime) -> Deadline:
    """The deadline that runs now: the response until support has answered, then the
    resolution (none while it is paused for the reporter or once the ticket is done)."""
    sla = ticket["sla"]
    breached = bool(sla["response_breached"] or sla["resolution_breached"])
    if ticket["state"] in DONE:
        return Deadline(None, None, None, breached, paused=False)
    if ticket["first_response_at"] is None:
        clock, due = "response", _at(sla["response_due_at"])
    else:
        clock, due = "resolution", _at(sla["resolution_due_at"])
    if due is None:
        return Deadline(None, None, None, breached, paused=True)
    return Deadline(clock, due, due - now, breached, paused=False)


def by_deadline(item: tuple[dict[str, Any], Deadline]) -> tuple[int, dt.datetime, int]:
    """Sort key of the queue: the earliest deadline first (overdue ones lead), then the
    tickets without a running clock, oldest first."""
    ticket, due = item
    opened = _at(ticket["opened_at"])
    assert opened is not None
    if due.due_at is None:
        return (1, opened, ticket["number"])
    return (0, due.due_at, ticket["number"])


def clock_view(clock: dict[str, Any]) -> dict[str, Any]:
    """One clock of `GET /tickets/{id}/sla` with its durations as timedeltas."""
    return {
        **clock,
        "due_at": _at(clock["due_at"]),
        "breached_at": _at(clock["breached_at"]),
        "remaining": dt.timedelta(seconds=clock["remaining_seconds"]),
        "elapsed": dt.timedelta(seconds=clock["elapsed_seconds"]),
        "target": dt.timedelta(minutes=clock["target_minutes"]),
    }
