"""The programme's survey pages (`/planning/surveys`): national rounds (start, change, close:
the programme manager) and every round's results, national → municipality → school, with the
table as CSV (the programme manager and the ministry's analysts; aggregates only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from portal_service.deps import PersonApis
from portal_service.i18n import translations
from portal_service.municipality.common import municipality_name
from portal_service.planning import survey_results
from portal_service.planning.common import (
    BASE,
    PROGRAMME_ROLE,
    ProgrammeManager,
    ResultsReader,
    render_area,
)
from portal_service.planning.survey_labels import BANDS, CRITERIA_SHORT, SCOPES, SURVEY_API
from portal_service.planning.survey_rounds import RoundForms
from portal_service.planning.survey_staff import Place, round_of, round_view
from portal_service.planning.survey_staff_pages import RoundId, round_form_pages
from portal_service.web.forms import FormErrors
from portal_service.web.pages import lang_of, page_router
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN

router = page_router()
SURVEYS = BASE + "/surveys"
SECTION = "/surveys"
FRAME = "planning/survey/staff/national_frame.html"
MunicipalityCode = Annotated[str | None, Query(pattern=ATVK_PATTERN)]
SchoolNumber = Annotated[str | None, Query(pattern=REG_NUMBER_PATTERN)]


def _place() -> Place:
    async def render(
        request: Request, name: str, errors: FormErrors | None, **context: Any
    ) -> Response:
        return render_area(request, name, SECTION, errors, frame=FRAME, **context)

    return Place("national", "", SURVEYS, render)


async def national_forms(person: ProgrammeManager, apis: PersonApis) -> RoundForms:
    """The programme's national round forms (the programme manager's only)."""
    return RoundForms(_place(), apis, "national", None, None)


@router.get(SURVEYS)
async def rounds(request: Request, person: ResultsReader, apis: PersonApis) -> Response:
    """Every survey round, newest first."""
    body = await apis.planning.get(SURVEY_API, limit=100)
    items = body.get("items") if isinstance(body, dict) else body
    found = sorted((round_view(r) for r in items or []), key=lambda r: r["opens_on"], reverse=True)
    return await _place().render(
        request, "planning/survey/national/rounds.html", None,
        rounds=found, scopes=SCOPES, manager=PROGRAMME_ROLE in person.profile.roles,
    )  # fmt: skip


# Starting, changing and closing a national round (`/new` before a round's own pages).
router.include_router(round_form_pages(SURVEYS, national_forms))


def _scope(municipality: str | None, institution: str | None) -> dict[str, str]:
    if institution:
        return {"institution": institution}
    return {"municipality": municipality} if municipality else {}


@router.get(SURVEYS + "/{round_id}")
async def round_page(
    request: Request,
    person: ResultsReader,
    apis: PersonApis,
    round_id: RoundId,
    municipality: MunicipalityCode = None,
    institution: SchoolNumber = None,
) -> Response:
    """A round's results at a level, each row leading to the level below."""
    found = await round_of(apis, round_id)
    scope = _scope(municipality, institution)
    results = await apis.planning.get(f"{SURVEY_API}/{round_id}/results", **scope)
    names = await _names(apis, found, results)
    return await _place().render(
        request, "planning/survey/national/round.html", None,
        round=found, results=survey_results.results_view(results, names), scope=scope,
        bands=BANDS, criteria=CRITERIA_SHORT, rate=survey_results.rate,
        manager=PROGRAMME_ROLE in person.profile.roles and found.get("scope") == "national",
        saved=request.query_params.get("saved"), closed=request.query_params.get("closed"),
    )  # fmt: skip


@router.get(SURVEYS + "/{round_id}/results.csv")
async def results_csv(
    request: Request,
    person: ResultsReader,
    apis: PersonApis,
    round_id: RoundId,
    municipality: MunicipalityCode = None,
    institution: SchoolNumber = None,
) -> Response:
    """The results table as CSV (figures only)."""
    scope = _scope(municipality, institution)
    found = await round_of(apis, round_id)
    results = await apis.planning.get(f"{SURVEY_API}/{round_id}/results", **scope)
    names = await _names(apis, found, results)
    gettext = translations(lang_of(request)).gettext
    name = "-".join(["survey", round_id[:8], *scope.values()])
    return survey_results.csv_response(results, names, gettext, name)


async def _names(
    apis: PersonApis, found: dict[str, Any], results: dict[str, Any]
) -> dict[str, str]:
    """The names of the results' rows: municipalities (from the inventory) and schools."""
    names = survey_results.school_names(found)
    codes = {str(r.get("code")) for r in [results, *(results.get("children") or [])]}
    for code in sorted(c for c in codes if len(c) == 7 and c not in names):
        names[code] = await municipality_name(apis, code)
    return names
