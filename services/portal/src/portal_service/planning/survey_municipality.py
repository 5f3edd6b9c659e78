"""The municipality's survey pages (`/municipality/<code>/survey`, a console section): its own
rounds and the national ones covering its schools, starting and changing a round, closing it
early, the results with every school's response rate, the answers to confirm from welfare
data, and a paper answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from portal_service.deps import PersonApis
from portal_service.municipality.common import INVENTORY, Municipality, MunicipalityPath
from portal_service.municipality.console import render_console
from portal_service.planning.survey_rounds import RoundForms
from portal_service.planning.survey_staff import Place, rounds_of
from portal_service.planning.survey_staff_pages import round_form_pages, staff_pages
from portal_service.web.forms import FormErrors
from portal_service.web.pages import page_router

router = page_router()
SECTION = "/survey"
BASE = "/municipality/{code}/survey"
FRAME = "planning/survey/staff/municipality_frame.html"


def _place(municipality: MunicipalityPath, apis: PersonApis) -> Place:
    async def render(
        request: Request, name: str, errors: FormErrors | None, **context: Any
    ) -> Response:
        return await render_console(
            request, municipality, apis, name, SECTION, errors, frame=FRAME, **context
        )

    return Place("municipality", municipality.code, f"{municipality.base}/survey", render)


async def municipality_place(municipality: Municipality, apis: PersonApis) -> Place:
    """The municipality's survey pages, in its console (another municipality's: not found)."""
    return _place(municipality, apis)


async def schools_of(apis: PersonApis, code: str) -> dict[str, str]:
    """The municipality's schools: registration number → name, by number."""
    body = await apis.inventory.get(f"{INVENTORY}/institutions", municipality=code, limit=200)
    found = {str(i["registration_number"]): str(i["name"]) for i in body.get("items") or []}
    return dict(sorted(found.items()))


async def municipality_forms(municipality: Municipality, apis: PersonApis) -> RoundForms:
    """The round forms of the municipality: its own rounds, for a choice of its schools."""

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


# Starting, changing and closing a round (`/new` before the round's own pages); a round's
# results school by school, the answers to confirm from welfare data, and a paper answer.
router.include_router(round_form_pages(BASE, municipality_forms))
router.include_router(staff_pages(BASE, municipality_place))
