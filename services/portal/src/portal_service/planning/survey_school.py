"""The school administrator's survey pages (`/schools/<number>/survey`): the rounds covering
the school with their response counts, the answers (each read recorded), one child's answer
with "confirm" / "not confirmed" per declared criterion, and a paper answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from portal_service.deps import PersonApis
from portal_service.planning import survey_staff as staff
from portal_service.planning.survey_staff import Place, rounds_of
from portal_service.planning.survey_staff_pages import staff_pages
from portal_service.schools.common import School, SchoolPath, school_name
from portal_service.web.forms import FormErrors
from portal_service.web.pages import page_router, render_form

router = page_router()
BASE = "/schools/{number}/survey"
FRAME = "planning/survey/staff/school_frame.html"


def _place(school: SchoolPath, apis: PersonApis) -> Place:
    async def render(
        request: Request, name: str, errors: FormErrors | None, **context: Any
    ) -> Response:
        title = await school_name(apis, school.number)
        return render_form(
            request, name, errors, school=school, school_name=title, frame=FRAME, **context
        )

    return Place("school", school.number, f"{school.base}/survey", render)


async def school_place(school: School, apis: PersonApis) -> Place:
    """The school's survey pages, in the school's frame (another school's: not found)."""
    return _place(school, apis)


@router.get(BASE)
async def rounds(request: Request, school: School, apis: PersonApis) -> Response:
    """The rounds covering the school, with their response counts."""
    place = _place(school, apis)
    found = await rounds_of(apis, place)
    results = {
        r["id"]: await staff.results_of(apis, r["id"], institution=school.number)
        for r in found
        if r["state"] != "scheduled"
    }
    return await place.render(
        request, "planning/survey/staff/rounds.html", None,
        place=place, rounds=found, results=results,
    )  # fmt: skip


# A round's results, the answers (each read recorded), one answer with its checks
# (verified_by_school), and a paper answer.
router.include_router(staff_pages(BASE, school_place))
