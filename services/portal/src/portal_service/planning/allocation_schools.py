"""A round's schools for the programme manager: a municipality's lines, a school's "Explain"
page, the stored inputs, the lines as CSV, and adjustments between any two schools (with the
reason, audited by the planning service)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.planning.allocation_data import (
    ROUNDS,
    every_page,
    explain,
    line_of,
    lines_of,
    municipalities_of,
    names_of,
    pupils_by_band,
    round_of,
    with_times,
)
from portal_service.planning.allocation_forms import (
    NOT_IN_ROUND,
    NOT_NOW,
    TOO_MANY,
    TRANSFER_MESSAGES,
    TransferForm,
)
from portal_service.planning.allocation_labels import BANDS
from portal_service.planning.allocation_rounds import BASE, LABELS, SECTION, RoundId
from portal_service.planning.common import ProgrammeManager, render_area
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.pages import page_router
from shared_kit.downloads import download_headers
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN

router = page_router()
Code = Annotated[str, Path(pattern=ATVK_PATTERN)]
Number = Annotated[str, Path(pattern=REG_NUMBER_PATTERN)]
# The planning API's problem types of a transfer, shown at a field.
TRANSFER_TYPES = {
    "not-enough-devices": ("quantity", TOO_MANY),
    "school-not-in-round": ("from_institution", NOT_IN_ROUND),
    "illegal-round-state": ("form", NOT_NOW),
}
CSV_COLUMNS = [
    "municipality_code",
    "institution_number",
    "name",
    *(f"pupils_{b}" for b in BANDS),
    "pupils",
    *(f"held_{b}" for b in BANDS),
    "ratio_need",
    "survey_need",
    "need",
    "social_factor",
    "weight",
    "share",
    "share_exact",
    "floor",
    "remainder",
    "rounded_up",
    "capped",
    "pooled",
    "computed",
    "adjustments",
    "moves",
    "allocated",
    "ordered",
]


def _rows_for_csv(lines: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        pupils, held = line["eligible_pupils"]["by_band"], line["devices_held"]
        row = {**line, "pupils": line["eligible_pupils"]["total"]}
        row |= {f"pupils_{b}": pupils.get(b, "") for b in BANDS}
        row |= {f"held_{b}": held.get(b, "") for b in BANDS}
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


@router.get(f"{BASE}/{{round_id}}/lines.csv")
async def lines_csv(person: ProgrammeManager, apis: PersonApis, round_id: RoundId) -> Response:
    """Every school's line, every figure exact."""
    lines = await lines_of(apis, round_id)
    headers = download_headers(f"allocation-{round_id}.csv")
    return Response(_rows_for_csv(lines), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(f"{BASE}/{{round_id}}/municipalities/{{code}}")
async def municipality(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId, code: Code
) -> Response:
    """One municipality's schools in the round."""
    found = await round_of(apis, round_id)
    lines = await lines_of(apis, round_id, municipality=code)
    places = {x["municipality_code"]: x["name"] for x in await municipalities_of(apis, round_id)}
    return render_area(
        request,
        "planning/allocation/schools.html",
        SECTION,
        round=found,
        code=code,
        place=places.get(code) or code,
        lines=lines,
        base=f"{BASE}/{round_id}",
        **LABELS,
    )


@router.get(f"{BASE}/{{round_id}}/schools/{{number}}")
async def school(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId, number: Number
) -> Response:
    """Explain a school's number: every figure of its line in words, and its stored inputs."""
    found = await round_of(apis, round_id)
    line = await line_of(apis, round_id, number)
    return render_area(
        request,
        "planning/allocation/explain.html",
        SECTION,
        round=found,
        line=line,
        said=explain(line, found),
        base=f"{BASE}/{round_id}",
        **LABELS,
    )


def input_rows(round_: dict[str, Any], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored inputs per school as the table shows them: pupils per band of the round,
    devices held per band, and the survey's figures (none without a survey)."""
    bands = [b for b in BANDS if b in round_["grade_bands"]]
    rows = []
    for item in stored:
        survey = item["survey"] or {}
        rows.append(
            item
            | {
                "pupils": pupils_by_band(item["pupils"], bands),
                "without_device": sum((survey.get("without_suitable_device") or {}).values()),
                "responses": survey.get("responses"),
                "criteria": survey.get("criteria") or {},
            }
        )
    return rows


@router.get(f"{BASE}/{{round_id}}/inputs")
async def inputs(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """The inputs the round stored (what its numbers can be explained from, years later)."""
    found = await round_of(apis, round_id)
    stored = await every_page(apis.planning, f"{ROUNDS}/{round_id}/inputs")
    taken = found["inputs_taken_at"]
    return render_area(
        request,
        "planning/allocation/inputs.html",
        SECTION,
        round=found,
        taken=taken and dt.datetime.fromisoformat(taken),
        rows=input_rows(found, stored),
        shown_bands=[b for b in BANDS if b in found["grade_bands"]],
        **LABELS,
    )


async def _adjust_page(
    request: Request,
    apis: Apis,
    round_id: str,
    values: dict[str, str],
    errors: FormErrors | None = None,
) -> Response:
    found = await round_of(apis, round_id)
    lines = await lines_of(apis, round_id) if found["state"] != "draft" else []
    done = with_times(await every_page(apis.planning, f"{ROUNDS}/{round_id}/adjustments"))
    return render_area(
        request,
        "planning/allocation/adjust.html",
        SECTION,
        errors,
        round=found,
        lines=lines,
        adjustments=done,
        names=names_of(lines),
        values=values,
        form_key=values.get("form_key") or new_form_key(),
    )


@router.get(f"{BASE}/{{round_id}}/adjustments")
async def adjust_form(
    request: Request,
    person: ProgrammeManager,
    apis: PersonApis,
    round_id: RoundId,
    saved: bool = False,
) -> Response:
    """Adjust: devices from one school to another, with the reason; the adjustments so far."""
    return await _adjust_page(request, apis, round_id, {"saved": "yes" if saved else ""})


async def transfer(
    request: Request, api_path: str, send: Any
) -> tuple[TransferForm | None, dict[str, str], FormErrors]:
    """Read a transfer form and send it; what the form shows when it was refused."""
    form, errors = await read_form(request, TransferForm)
    key = await posted_form_key(request)
    values = await form_values(request) | {"form_key": key or ""}
    if form is not None and form.from_institution == form.to_institution:
        errors.add("to_institution", TRANSFER_MESSAGES["to_institution"])
    if form is None or errors:
        return None, values, errors
    try:
        await send(api_path, form.model_dump(), idempotency_key=key)
    except ApiProblem as problem:
        errors = problem_errors(problem, TRANSFER_MESSAGES, by_type=TRANSFER_TYPES)
        return None, values, errors
    return form, values, errors


@router.post(f"{BASE}/{{round_id}}/adjustments")
async def adjust(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """Send the adjustment (the total stays the same)."""
    path = f"{ROUNDS}/{round_id}/adjustments"
    form, values, errors = await transfer(request, path, apis.planning.post)
    if form is None:
        return await _adjust_page(request, apis, round_id, values, errors)
    return RedirectResponse(f"{BASE}/{round_id}/adjustments?saved=true", status_code=303)
