"""The school administrator's survey pages (`/schools/<number>/survey`): the rounds covering
the school with their response counts, the answers (each read recorded), one child's answer
with "confirm" / "not confirmed" per declared criterion, and a paper answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response

from portal_service.deps import PersonApis
from portal_service.planning import survey_staff as staff
from portal_service.planning.survey_staff import LEARNER_PATTERN, Place, rounds_of
from portal_service.schools.common import School, SchoolPath, school_name
from portal_service.web.forms import FormErrors
from portal_service.web.pages import page_router, render_form

router = page_router()
BASE = "/schools/{number}/survey"
RoundId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{32,36}$")]
LearnerId = Annotated[str, Path(pattern=LEARNER_PATTERN)]
Filter = Annotated[str | None, Query(max_length=40)]
Cursor = Annotated[str | None, Query(max_length=500)]
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


@router.get(BASE + "/{round_id}")
async def round_page(
    request: Request, school: School, apis: PersonApis, round_id: RoundId
) -> Response:
    """A round's results for the school."""
    return await staff.round_page(request, _place(school, apis), apis, round_id)


@router.get(BASE + "/{round_id}/answers")
async def answers(
    request: Request,
    school: School,
    apis: PersonApis,
    round_id: RoundId,
    criterion: Filter = None,
    status: Filter = None,
    cursor: Cursor = None,
) -> Response:
    """The school's children's answers, filtered by criterion and status."""
    place = _place(school, apis)
    return await staff.answers_page(request, place, apis, round_id, criterion, status, cursor)


@router.get(BASE + "/{round_id}/answers/{learner_id}")
async def answer(
    request: Request, school: School, apis: PersonApis, round_id: RoundId, learner_id: LearnerId
) -> Response:
    """One child's answer, with a form per declared criterion."""
    return await staff.answer_page(request, _place(school, apis), apis, round_id, learner_id)


@router.post(BASE + "/{round_id}/answers/{learner_id}/verify")
async def verify(
    request: Request, school: School, apis: PersonApis, round_id: RoundId, learner_id: LearnerId
) -> Response:
    """The school confirms (or does not) a declared criterion."""
    return await staff.verify(request, _place(school, apis), apis, round_id, learner_id)


@router.get(BASE + "/{round_id}/paper")
async def paper(request: Request, school: School, apis: PersonApis, round_id: RoundId) -> Response:
    """Record an answer a family gave on paper."""
    return await staff.paper_page(request, _place(school, apis), apis, round_id)


@router.post(BASE + "/{round_id}/paper")
async def paper_post(
    request: Request, school: School, apis: PersonApis, round_id: RoundId
) -> Response:
    """Send the paper answer."""
    return await staff.paper_post(request, _place(school, apis), apis, round_id)
