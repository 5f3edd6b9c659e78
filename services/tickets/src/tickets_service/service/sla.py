"""SLA arithmetic: pure functions over a ticket's clock columns, no database.

Two clocks run from the moment a ticket is opened, in wall-clock time (evenings, weekends and
holidays count; a municipality that wants working hours sets longer targets):

- **response**: stops at the first response by support staff (any move out of `new` that they
  make, or their first public comment). It never pauses.
- **resolution**: stops when the ticket is resolved. It is *paused* while the ticket waits for
  the reporter (`waiting_for_reporter`); a reopened ticket's clock goes on from where it
  stopped, so the time between the resolution and the reopening counts as paused too.

`elapsed = (stop or now) - opened_at - paused`; `remaining = target - elapsed`; a clock is
breached once `elapsed > target`. The columns hold the same facts as instants so that the
database can find due clocks by index: `response_due_at = opened_at + response target`,
`resolution_due_at = opened_at + resolution target + paused` while the clock runs (NULL while
it is paused or stopped). A breach is flagged once (`*_breached_at`, the instant the target
was exceeded) by the SLA job or, when a clock stops late before the job saw it, by the change
that stopped it; each flag publishes one `ticket.sla_breached` event.

Default targets (response / resolution) per severity, used while a municipality has not set
its own: critical 4 h / 2 days, high 1 day / 5 days, normal 2 days / 10 days, low 5 days /
20 days. A ticket keeps the targets it was opened with unless its severity changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypedDict

from tickets_service.models import Severity

HOUR, DAY = 60, 24 * 60
DEFAULT_TARGETS: dict[Severity, tuple[int, int]] = {
    Severity.CRITICAL: (4 * HOUR, 2 * DAY),
    Severity.HIGH: (1 * DAY, 5 * DAY),
    Severity.NORMAL: (2 * DAY, 10 * DAY),
    Severity.LOW: (5 * DAY, 20 * DAY),
}
ZERO = dt.timedelta(0)


class ClockName(StrEnum):
    """The two SLA clocks."""

    RESPONSE = "response"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    """Whether a clock is counting."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Clocked(Protocol):
    """The clock columns of a ticket."""

    opened_at: dt.datetime
    response_target_minutes: int
    resolution_target_minutes: int
    first_response_at: dt.datetime | None
    response_due_at: dt.datetime
    response_breached_at: dt.datetime | None
    paused_total: dt.timedelta
    paused_since: dt.datetime | None
    resolution_due_at: dt.datetime | None
    resolution_breached_at: dt.datetime | None
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class ClockView:
    """One clock as the SLA view shows it."""

    target: dt.timedelta
    elapsed: dt.timedelta
    remaining: dt.timedelta
    paused: dt.timedelta
    state: ClockState
    due_at: dt.datetime | None
    breached: bool
    breached_at: dt.datetime | None


def _minutes(value: int) -> dt.timedelta:
    return dt.timedelta(minutes=value)


class Opening(TypedDict):
    """The clock columns of a ticket just opened."""

    opened_at: dt.datetime
    response_target_minutes: int
    resolution_target_minutes: int
    paused_total: dt.timedelta
    paused_since: dt.datetime | None
    response_due_at: dt.datetime
    resolution_due_at: dt.datetime | None


def opening(now: dt.datetime, targets: tuple[int, int]) -> Opening:
    """The clocks of a ticket opened at `now` with (response, resolution) targets in minutes."""
    return {
        "opened_at": now,
        "response_target_minutes": targets[0],
        "resolution_target_minutes": targets[1],
        "paused_total": ZERO,
        "paused_since": None,
        "response_due_at": now + _minutes(targets[0]),
        "resolution_due_at": now + _minutes(targets[1]),
    }


def start(ticket: Clocked, now: dt.datetime, targets: tuple[int, int]) -> None:
    """Open both clocks at `now` with (response, resolution) targets in minutes."""
    for name, value in opening(now, targets).items():
        setattr(ticket, name, value)


def retarget(ticket: Clocked, targets: tuple[int, int]) -> None:
    """New targets (the severity changed): the deadlines move, flags already raised stay."""
    ticket.response_target_minutes, ticket.resolution_target_minutes = targets
    ticket.response_due_at = ticket.opened_at + _minutes(targets[0])
    if ticket.resolution_due_at is not None:
        ticket.resolution_due_at = _resolution_due(ticket)


def _resolution_due(ticket: Clocked) -> dt.datetime:
    return ticket.opened_at + _minutes(ticket.resolution_target_minutes) + ticket.paused_total


def respond(ticket: Clocked, now: dt.datetime) -> bool:
    """Stop the response clock (first response only); True when that was late and unflagged."""
    if ticket.first_response_at is not None:
        return False
    ticket.first_response_at = now
    late = now > ticket.response_due_at and ticket.response_breached_at is None
    if late:
        ticket.response_breached_at = ticket.response_due_at
    return late


def pause(ticket: Clocked, now: dt.datetime) -> None:
    """Pause the resolution clock (waiting for the reporter)."""
    if ticket.paused_since is None and ticket.resolved_at is None:
        ticket.paused_since = now
        ticket.resolution_due_at = None


def resume(ticket: Clocked, now: dt.datetime) -> None:
    """Resume a paused resolution clock; the pause moves its deadline later."""
    if ticket.paused_since is None:
        return
    ticket.paused_total += max(now - ticket.paused_since, ZERO)
    ticket.paused_since = None
    ticket.resolution_due_at = _resolution_due(ticket)


def stop(ticket: Clocked, now: dt.datetime) -> bool:
    """Stop the resolution clock (resolved); True when that was late and unflagged."""
    resume(ticket, now)
    ticket.resolved_at = now
    ticket.resolution_due_at = None
    due = _resolution_due(ticket)
    late = now > due and ticket.resolution_breached_at is None
    if late:
        ticket.resolution_breached_at = due
    return late


def restart(ticket: Clocked, now: dt.datetime) -> None:
    """Reopened: the resolution clock goes on; the time it stood still counts as paused."""
    if ticket.resolved_at is None:
        return
    ticket.paused_total += max(now - ticket.resolved_at, ZERO)
    ticket.resolved_at = None
    ticket.resolution_due_at = _resolution_due(ticket)


def due_breaches(ticket: Clocked, now: dt.datetime) -> list[ClockName]:
    """Clocks past their target at `now` whose breach is not flagged yet."""
    due = []
    if (
        ticket.first_response_at is None
        and ticket.response_breached_at is None
        and now > ticket.response_due_at
    ):
        due.append(ClockName.RESPONSE)
    if (
        ticket.resolution_due_at is not None
        and ticket.resolution_breached_at is None
        and now > ticket.resolution_due_at
    ):
        due.append(ClockName.RESOLUTION)
    return due


def flag(ticket: Clocked, clock: ClockName) -> dt.datetime:
    """Flag a due clock as breached at its deadline; returns that deadline."""
    if clock is ClockName.RESPONSE:
        ticket.response_breached_at = ticket.response_due_at
        return ticket.response_due_at
    assert ticket.resolution_due_at is not None
    ticket.resolution_breached_at = ticket.resolution_due_at
    return ticket.resolution_due_at


def response_view(ticket: Clocked, now: dt.datetime) -> ClockView:
    """The response clock at `now`."""
    target = _minutes(ticket.response_target_minutes)
    end = ticket.first_response_at or now
    elapsed = max(end - ticket.opened_at, ZERO)
    return ClockView(
        target=target,
        elapsed=elapsed,
        remaining=target - elapsed,
        paused=ZERO,
        state=ClockState.RUNNING if ticket.first_response_at is None else ClockState.STOPPED,
        due_at=ticket.response_due_at,
        breached=ticket.response_breached_at is not None or elapsed > target,
        breached_at=ticket.response_breached_at,
    )


def resolution_view(ticket: Clocked, now: dt.datetime) -> ClockView:
    """The resolution clock at `now`."""
    target = _minutes(ticket.resolution_target_minutes)
    paused = ticket.paused_total
    if ticket.resolved_at is not None:
        end, state = ticket.resolved_at, ClockState.STOPPED
    elif ticket.paused_since is not None:
        paused += max(now - ticket.paused_since, ZERO)
        end, state = now, ClockState.PAUSED
    else:
        end, state = now, ClockState.RUNNING
    elapsed = max(end - ticket.opened_at - paused, ZERO)
    return ClockView(
        target=target,
        elapsed=elapsed,
        remaining=target - elapsed,
        paused=paused,
        state=state,
        due_at=ticket.resolution_due_at,
        breached=ticket.resolution_breached_at is not None or elapsed > target,
        breached_at=ticket.resolution_breached_at,
    )
