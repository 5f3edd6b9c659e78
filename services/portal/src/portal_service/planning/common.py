"""What every planning page shares: who may open the national pages (the programme manager;
the results also a ministry analyst), the planning API's base, and the area's navigation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from portal_service.deps import Person, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.web.forms import FormErrors
from portal_service.web.pages import render_form

PLANNING = "/api/v1/planning"
PROGRAMME_ROLE = "programme_manager"
ANALYST_ROLE = "ministry_analyst"
BASE = "/planning"

BOTH = frozenset({PROGRAMME_ROLE, ANALYST_ROLE})
# The area's sections, in the side navigation's order: (path under /planning, label, the roles
# that see it).
SECTIONS: list[tuple[str, str, frozenset[str]]] = [
    ("", N_("Overview"), BOTH),
    ("/surveys", N_("Needs surveys"), BOTH),
    ("/allocations", N_("Allocations"), BOTH),
]


async def programme_manager(person: Person) -> SignedIn:
    """The programme manager; anyone else finds no such page."""
    if PROGRAMME_ROLE not in person.profile.roles:
        raise PageNotFound("not a programme manager")
    return person


ProgrammeManager = Annotated[SignedIn, Depends(programme_manager)]


async def results_reader(person: Person) -> SignedIn:
    """The programme manager or a ministry analyst (national aggregates only)."""
    if not BOTH & set(person.profile.roles):
        raise PageNotFound("neither a programme manager nor an analyst")
    return person


ResultsReader = Annotated[SignedIn, Depends(results_reader)]


def render_area(
    request: Request,
    name: str,
    section: str,
    errors: FormErrors | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page of the planning area (`planning/area.html`) in `section` (a path of `SECTIONS`);
    400 when `errors` refuse a form."""
    roles = set(request.state.profile.roles)
    shown = [(path, label) for path, label, who in SECTIONS if who & roles]
    return render_form(request, name, errors, sections=shown, section=section, **context)
