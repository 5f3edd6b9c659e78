"""The programme's allocation rounds (`/planning/allocations`): the list, a new round's form
with its check-your-answers page, and a round's page with its parameters, its result per
municipality and its steps (compute, take the inputs again, publish). Ministry analysts see the
list and the municipalities' table; only programme managers change anything."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.planning.allocation_data import (
    ROUNDS,
    every_page,
    municipalities_of,
    round_of,
    shown,
)
from portal_service.planning.allocation_forms import (
    NOT_NOW,
    ROUND_FIELDS,
    ROUND_MESSAGES,
    round_body,
    round_defaults,
    size_band_lines,
)
from portal_service.planning.allocation_labels import BANDS, CRITERIA, STATE_COLOURS, STATES
from portal_service.planning.common import (
    PLANNING,
    PROGRAMME_ROLE,
    ProgrammeManager,
    ResultsReader,
    render_area,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import FormErrors, posted_form_key, problem_errors
from portal_service.web.pages import page_router

router = page_router()
BASE = "/planning/allocations"
SECTION = "/allocations"
RoundId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]
STALE = N_(
    "Someone changed the round while you were looking at it: the page now shows it as it is. "
    "Check it, then repeat the step"
)
# Where the summary's message of a refused step leads: the round as it is now.
STEP_ANCHORS = {"stale": "round-now", "form": "round-now"}


class Labels(TypedDict):
    """The label tables every allocation page's template reads."""

    bands: dict[str, str]
    criteria: dict[str, str]
    states: dict[str, str]
    colours: dict[str, str]


LABELS: Labels = {"bands": BANDS, "criteria": CRITERIA, "states": STATES, "colours": STATE_COLOURS}


def manages(person: SignedIn) -> bool:
    """Whether the person may change rounds (a programme manager)."""
    return PROGRAMME_ROLE in person.profile.roles


def etag(round_: dict[str, Any]) -> str:
    """The round's version as an If-Match value."""
    return f'"{round_["version"]}"'


@router.get(BASE)
async def rounds(request: Request, person: ResultsReader, apis: PersonApis) -> Response:
    """Every allocation round, newest first, with its state and numbers."""
    found = await every_page(apis.planning, ROUNDS)
    return render_area(
        request,
        "planning/allocation/rounds.html",
        SECTION,
        rounds=found,
        manages=manages(person),
        **LABELS,
    )


async def survey_rounds(apis: Apis) -> list[dict[str, Any]]:
    """The survey rounds a new allocation may use (open or closed ones)."""
    try:
        found = await every_page(apis.planning, f"{PLANNING}/survey-rounds")
    except PageNotFound:
        return []
    return [x for x in found if x.get("state") in ("open", "closed")]


async def _new_page(
    request: Request, apis: Apis, values: dict[str, Any], errors: FormErrors | None = None
) -> Response:
    return render_area(
        request,
        "planning/allocation/new.html",
        SECTION,
        errors,
        values=values,
        surveys=await survey_rounds(apis),
        form_key=values.get("form_key") or new_form_key(),
        **LABELS,
    )


async def posted(request: Request) -> dict[str, Any]:
    """The round's form as posted (the grade bands are several values of one field)."""
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values.pop("csrf_token", None)
    values["grade_bands"] = [v for v in form.getlist("grade_bands") if isinstance(v, str)]
    return values


@router.get(f"{BASE}/new")
async def new_form(request: Request, person: ProgrammeManager, apis: PersonApis) -> Response:
    """Allocate a procurement: the round's parameters."""
    return await _new_page(request, apis, round_defaults())


@router.post(f"{BASE}/new")
async def check(request: Request, person: ProgrammeManager, apis: PersonApis) -> Response:
    """The parameters checked: the check-your-answers page, or the form with its messages."""
    values = await posted(request)
    if values.pop("change", None) is not None:
        return await _new_page(request, apis, values)
    body, errors = round_body(values)
    if body is None:
        return await _new_page(request, apis, values, errors)
    surveys = {x["id"]: x for x in await survey_rounds(apis)}
    return render_area(
        request,
        "planning/allocation/check.html",
        SECTION,
        values=values,
        body=body,
        survey=surveys.get(body.get("survey_round_id", "")),
        sizes=size_band_lines(body.get("size_bands", [])),
        **LABELS,
    )


@router.post(f"{BASE}/create")
async def create(request: Request, person: ProgrammeManager, apis: PersonApis) -> Response:
    """Create the round (once, however often the form is sent: its key)."""
    values = await posted(request)
    body, errors = round_body(values)
    if body is None:
        return await _new_page(request, apis, values, errors)
    try:
        made = await apis.planning.post(
            ROUNDS, body, idempotency_key=await posted_form_key(request)
        )
    except ApiProblem as problem:
        errors = problem_errors(problem, ROUND_MESSAGES, fields=ROUND_FIELDS)
        return await _new_page(request, apis, values, errors)
    return RedirectResponse(f"{BASE}/{made['id']}?created=true", status_code=303)


async def round_page(
    request: Request,
    person: SignedIn,
    apis: Apis,
    round_id: str,
    errors: FormErrors | None = None,
    **context: Any,
) -> Response:
    """A round's page (with a refused step's message)."""
    found = await round_of(apis, round_id)
    table = await municipalities_of(apis, round_id) if found["state"] != "draft" else []
    for row in table:
        row["pooled_shown"] = shown(row["pooled"])
    return render_area(
        request,
        "planning/allocation/round.html",
        SECTION,
        errors,
        round=found,
        municipalities=table,
        manages=manages(person),
        sizes=size_band_lines(found["size_bands"]),
        form_key=new_form_key(),
        **LABELS,
        **context,
    )


@router.get(f"{BASE}/{{round_id}}")
async def round_view(
    request: Request,
    person: ResultsReader,
    apis: PersonApis,
    round_id: RoundId,
    created: bool = False,
    done: str | None = None,
) -> Response:
    """The round: parameters, steps, and its result per municipality."""
    return await round_page(request, person, apis, round_id, created=created, done=done)


async def step(
    request: Request, person: SignedIn, apis: Apis, round_id: str, path: str, **params: Any
) -> Response:
    """Send a step of the round over the version the page showed; its page again after."""
    version = (await request.form()).get("version")
    try:
        await apis.planning.post(
            f"{ROUNDS}/{round_id}/{path}",
            None,
            if_match=f'"{version}"',
            params=params,
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound("not the person's round") from problem
        stale = problem.status in (412, 428)
        errors = FormErrors(anchors=STEP_ANCHORS)
        errors.add("stale" if stale else "form", STALE if stale else NOT_NOW)
        return await round_page(request, person, apis, round_id, errors, stale=stale)
    return RedirectResponse(f"{BASE}/{round_id}?done={path}", status_code=303)


@router.post(f"{BASE}/{{round_id}}/compute")
async def compute(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """Run the rule (taking the inputs first, unless they are stored)."""
    return await step(request, person, apis, round_id, "compute")


@router.get(f"{BASE}/{{round_id}}/refresh")
async def refresh_page(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """Take the inputs again: the warning first."""
    found = await round_of(apis, round_id)
    if found["state"] == "published":
        raise PageNotFound("a published round keeps its inputs")
    return render_area(
        request, "planning/allocation/refresh.html", SECTION, round=found, form_key=new_form_key()
    )


@router.post(f"{BASE}/{{round_id}}/refresh")
async def refresh(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """Take the inputs again and compute."""
    return await step(request, person, apis, round_id, "compute", refresh_inputs="true")


@router.get(f"{BASE}/{{round_id}}/publish")
async def publish_page(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """Publish: what it does, before it is done."""
    found = await round_of(apis, round_id)
    if found["state"] != "computed":
        raise PageNotFound("only a computed round is published")
    return render_area(
        request, "planning/allocation/publish.html", SECTION, round=found, form_key=new_form_key()
    )


@router.post(f"{BASE}/{{round_id}}/publish")
async def publish(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """Publish the round: every municipality sees its numbers."""
    return await step(request, person, apis, round_id, "publish")
