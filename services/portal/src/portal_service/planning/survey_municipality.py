"""The municipality's survey pages (`/municipality/<code>/survey`, a console section): its own
rounds and the national ones covering its schools, starting and changing a round, closing it
early, the results with every school's response rate, the answers to confirm from welfare
data, and a paper answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response

from portal_service.deps import PersonApis
from portal_service.municipality.common import INVENTORY, Municipality, MunicipalityPath
from portal_service.municipality.console import render_console
from portal_service.planning import survey_staff as staff
from portal_service.planning.survey_rounds import RoundForms
from portal_service.planning.survey_staff import LEARNER_PATTERN, Place, rounds_of
from portal_service.web.forms import FormErrors
from portal_service.web.pages import page_router

router = page_router()
SECTION = "/survey"
BASE = "/municipality/{code}/survey"
FRAME = "planning/survey/staff/municipality_frame.html"
RoundId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{32,36}$")]
LearnerId = Annotated[str, Path(pattern=LEARNER_PATTERN)]
Filter = Annotated[str | None, Query(max_length=40)]
Cursor = Annotated[str | None, Query(max_length=500)]


def _place(municipality: MunicipalityPath, apis: PersonApis) -> Place:
    async def render(
        request: Request, name: str, errors: FormErrors | None, **context: Any
    ) -> Response:
        return await render_console(
            request, municipality, apis, name, SECTION, errors, frame=FRAME, **context
        )

    return Place("municipality", municipality.code, f"{municipality.base}/survey", render)


async def schools_of(apis: PersonApis, code: str) -> dict[str, str]:
    """The municipality's schools: registration number → name, by number."""
    body = await apis.inventory.get(f"{INVENTORY}/institutions", municipality=code, limit=200)
    found = {str(i["registration_number"]): str(i["name"]) for i in body.get("items") or []}
    return dict(sorted(found.items()))


def _forms(municipality: MunicipalityPath, apis: PersonApis) -> RoundForms:
    async def schools() -> dict[str, str]:
        return await schools_of(apis, municipality.code)

    return RoundForms(
        place=_place(municipality, apis),
        apis=apis,
        scope="municipality",
        municipality_code=municipality.code,
        schools=schools,
    )


@router.get(BASE)
async def rounds(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """The municipality's rounds and the national ones covering its schools."""
    place = _place(municipality, apis)
    return await place.render(
        request, "planning/survey/staff/rounds.html", None,
        place=place, rounds=await rounds_of(apis, place), results={}, can_start=True,
    )  # fmt: skip


@router.get(BASE + "/new")
async def new_round(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """Start a survey round for the municipality's schools."""
    return await _forms(municipality, apis).new_page(request)


@router.post(BASE + "/new")
async def new_round_post(
    request: Request, municipality: Municipality, apis: PersonApis
) -> Response:
    """Create the round (a resent form is applied once)."""
    return await _forms(municipality, apis).create(request)


@router.get(BASE + "/{round_id}")
async def round_page(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """A round's results for the municipality, school by school."""
    return await staff.round_page(request, _place(municipality, apis), apis, round_id)


@router.get(BASE + "/{round_id}/edit")
async def edit_round(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Change the round (over the version it was read at)."""
    return await _forms(municipality, apis).edit_page(request, round_id)


@router.post(BASE + "/{round_id}/edit")
async def edit_round_post(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Save the change; someone else's change meanwhile shows both versions."""
    return await _forms(municipality, apis).save(request, round_id)


@router.get(BASE + "/{round_id}/close")
async def close_round(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Close the round early? (a POST closes it)."""
    return await _forms(municipality, apis).close_page(request, round_id)


@router.post(BASE + "/{round_id}/close")
async def close_round_post(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Close the round: families can no longer answer."""
    return await _forms(municipality, apis).close(request, round_id)


@router.get(BASE + "/{round_id}/answers")
async def answers(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    round_id: RoundId,
    criterion: Filter = None,
    status: Filter = None,
    cursor: Cursor = None,
) -> Response:
    """The answers of the municipality's children (to confirm: declared, not yet checked)."""
    place = _place(municipality, apis)
    return await staff.answers_page(request, place, apis, round_id, criterion, status, cursor)


@router.get(BASE + "/{round_id}/answers/{learner_id}")
async def answer(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    round_id: RoundId,
    learner_id: LearnerId,
) -> Response:
    """One child's answer, with a form per declared criterion."""
    place = _place(municipality, apis)
    return await staff.answer_page(request, place, apis, round_id, learner_id)


@router.post(BASE + "/{round_id}/answers/{learner_id}/verify")
async def verify(
    request: Request,
    municipality: Municipality,
    apis: PersonApis,
    round_id: RoundId,
    learner_id: LearnerId,
) -> Response:
    """The municipality confirms (or not) a criterion from its welfare data."""
    return await staff.verify(request, _place(municipality, apis), apis, round_id, learner_id)


@router.get(BASE + "/{round_id}/paper")
async def paper(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Record an answer a family gave on paper."""
    return await staff.paper_page(request, _place(municipality, apis), apis, round_id)


@router.post(BASE + "/{round_id}/paper")
async def paper_post(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Send the paper answer."""
    return await staff.paper_post(request, _place(municipality, apis), apis, round_id)
