"""Who sees which allocation rounds, lines and transfers.

The programme manager sees and does everything; ministry analysts read every round, the
municipalities table and the lines (aggregates, nothing personal) and the transfers without
their reasons and authors; a municipality administrator sees published rounds only, and in
them only their own municipality's lines, transfers and stored inputs (another's → 404).
Everyone else: 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from planning_service.exceptions import NotFound, RoundNotFound
from planning_service.models.allocation import AllocationRound, AllocationState
from shared_kit.auth import Principal, Role
from shared_kit.problems import Forbidden

PROGRAMME_MANAGER = "programme_manager"
READ_ROLES = (PROGRAMME_MANAGER, Role.MINISTRY_ANALYST.value, Role.MUNICIPALITY_ADMIN.value)


@dataclass(frozen=True, slots=True)
class View:
    """What one caller may read of allocation rounds."""

    every_round: bool  # else published rounds only
    municipalities: frozenset[str] | None  # None: every municipality
    reasons: bool  # may read transfers' reasons and authors


def view_of(principal: Principal) -> View:
    """The caller's view; 403 for a role without one."""
    if principal.has(PROGRAMME_MANAGER):
        return View(every_round=True, municipalities=None, reasons=True)
    if principal.has(Role.MINISTRY_ANALYST):
        return View(every_round=True, municipalities=None, reasons=False)
    if principal.has(Role.MUNICIPALITY_ADMIN):
        return View(every_round=False, municipalities=principal.municipalities, reasons=True)
    raise Forbidden("Allocation rounds are for the programme, analysts and municipalities")


def visible_states(view: View) -> list[AllocationState]:
    """The round states the view lists."""
    return list(AllocationState) if view.every_round else [AllocationState.PUBLISHED]


def check_round(view: View, round_: AllocationRound | None) -> AllocationRound:
    """The round when the view may see it; 404 otherwise."""
    if round_ is None or round_.state not in visible_states(view):
        raise RoundNotFound("No such allocation round")
    return round_


def municipalities_filter(view: View, municipality: str | None) -> frozenset[str] | None:
    """The municipalities to read: the one asked for (404 outside the view), or the view's."""
    if municipality is None:
        return view.municipalities
    if view.municipalities is not None and municipality not in view.municipalities:
        raise NotFound("No such municipality among yours")
    return frozenset({municipality})


def allows(view: View, municipality: str) -> bool:
    """Whether the view covers a municipality."""
    return view.municipalities is None or municipality in view.municipalities
