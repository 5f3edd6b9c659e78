"""The planning area's start (`/planning`): the needs surveys and the allocations."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from portal_service.planning.common import BASE, PROGRAMME_ROLE, ResultsReader, render_area
from portal_service.web.pages import page_router

router = page_router()


@router.get(BASE)
async def landing(request: Request, person: ResultsReader) -> Response:
    """Where the programme's work starts: surveys of the families' needs, and allocations."""
    manager = PROGRAMME_ROLE in person.profile.roles
    return render_area(request, "planning/landing.html", "", manager=manager)
