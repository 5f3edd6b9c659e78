"""The survey pages a school and a municipality share, and the round forms a municipality and
the programme share: each made once, for a base address and a dependency that gives the place
(its frame, its filters) or the round forms (with their guard)."""

# No `from __future__ import annotations` here: the handlers' annotations name the factories'
# arguments, so FastAPI must see them evaluated, not as strings to look up in this module.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from portal_service.deps import PersonApis
from portal_service.planning import survey_paper as paper_answer
from portal_service.planning import survey_staff as staff
from portal_service.planning.survey_rounds import RoundForms
from portal_service.planning.survey_staff import LEARNER_PATTERN, Place
from portal_service.web.pages import page_router

RoundId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{32,36}$")]
LearnerId = Annotated[str, Path(pattern=LEARNER_PATTERN)]
Filter = Annotated[str | None, Query(max_length=40)]
Cursor = Annotated[str | None, Query(max_length=500)]


def staff_pages(base: str, place_of: Callable[..., Any]) -> APIRouter:
    """A round's results, its answers, one answer with its checks, and a paper answer."""
    router = page_router()
    ThePlace = Annotated[Place, Depends(place_of)]

    @router.get(base + "/{round_id}")
    async def round_page(
        request: Request, place: ThePlace, apis: PersonApis, round_id: RoundId
    ) -> Response:
        """A round's results for the place."""
        return await staff.round_page(request, place, apis, round_id)

    @router.get(base + "/{round_id}/answers")
    async def answers(
        request: Request,
        place: ThePlace,
        apis: PersonApis,
        round_id: RoundId,
        criterion: Filter = None,
        status: Filter = None,
        cursor: Cursor = None,
    ) -> Response:
        """The answers of the place's children, filtered by criterion and status."""
        return await staff.answers_page(request, place, apis, round_id, criterion, status, cursor)

    @router.get(base + "/{round_id}/answers/{learner_id}")
    async def answer(
        request: Request,
        place: ThePlace,
        apis: PersonApis,
        round_id: RoundId,
        learner_id: LearnerId,
    ) -> Response:
        """One child's answer, with a form per declared criterion."""
        return await staff.answer_page(request, place, apis, round_id, learner_id)

    @router.post(base + "/{round_id}/answers/{learner_id}/verify")
    async def verify(
        request: Request,
        place: ThePlace,
        apis: PersonApis,
        round_id: RoundId,
        learner_id: LearnerId,
    ) -> Response:
        """The place confirms (or not) a declared criterion (the source follows the role)."""
        return await staff.verify(request, place, apis, round_id, learner_id)

    @router.get(base + "/{round_id}/paper")
    async def paper(
        request: Request, place: ThePlace, apis: PersonApis, round_id: RoundId
    ) -> Response:
        """Record an answer a family gave on paper: first the child's personal code."""
        return await paper_answer.code_page(request, place, apis, round_id)

    @router.post(base + "/{round_id}/paper")
    async def paper_find(
        request: Request, place: ThePlace, apis: PersonApis, round_id: RoundId
    ) -> Response:
        """Find the child; their name and the paper answer's questions."""
        return await paper_answer.find(request, place, apis, round_id)

    @router.post(base + "/{round_id}/paper/answer")
    async def paper_post(
        request: Request, place: ThePlace, apis: PersonApis, round_id: RoundId
    ) -> Response:
        """Send the paper answer."""
        return await paper_answer.record(request, place, apis, round_id)

    return router


def round_form_pages(base: str, forms_of: Callable[..., Any]) -> APIRouter:
    """Start a round, change it (over the version read), close it early."""
    router = page_router()
    Forms = Annotated[RoundForms, Depends(forms_of)]

    @router.get(base + "/new")
    async def new_round(request: Request, forms: Forms) -> Response:
        """Start a survey round."""
        return await forms.new_page(request)

    @router.post(base + "/new")
    async def new_round_post(request: Request, forms: Forms) -> Response:
        """Create the round (a resent form is applied once)."""
        return await forms.create(request)

    @router.get(base + "/{round_id}/edit")
    async def edit_round(request: Request, forms: Forms, round_id: RoundId) -> Response:
        """Change the round (over the version it was read at)."""
        return await forms.edit_page(request, round_id)

    @router.post(base + "/{round_id}/edit")
    async def edit_round_post(request: Request, forms: Forms, round_id: RoundId) -> Response:
        """Save the change; someone else's change meanwhile shows both versions."""
        return await forms.save(request, round_id)

    @router.get(base + "/{round_id}/close")
    async def close_round(request: Request, forms: Forms, round_id: RoundId) -> Response:
        """Close the round early? (a POST closes it)."""
        return await forms.close_page(request, round_id)

    @router.post(base + "/{round_id}/close")
    async def close_round_post(request: Request, forms: Forms, round_id: RoundId) -> Response:
        """Close the round: families can no longer answer."""
        return await forms.close(request, round_id)

    return router
