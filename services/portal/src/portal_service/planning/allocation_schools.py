"""A round's schools for the programme manager: a municipality's lines, a school's "Explain"
page, the stored inputs, the lines as CSV, and adjustments between any two schools (with the
reason, audited by the planning service)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.planning.allocation_data import (
    ROUNDS,
    by_band,
    every_page,
    explain,
    line_of,
    lines_of,
    round_of,
    total_of,
    with_times,
)
from portal_service.planning.allocation_forms import (
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
# API problem types of a transfer shown at a field.
TRANSFER_TYPES = {
    "insufficient-allocation": ("quantity", TOO_MANY),
    "not-enough-devices": ("quantity", TOO_MANY),
    "same-institution": ("to_institution", TRANSFER_MESSAGES["to_institution"]),
}
CSV_COLUMNS = [
    "municipality_code",
    "institution_number",
    "name",
    *(f"pupils_{b}" for b in BANDS),
    "pupils",
    *(f"held_{b}" for b in BANDS),
    "need",
    "survey_need",
    "weight",
    "share",
    "floor",
    "remainder",
    "rounded_up",
    "capped",
    "pooled",
    "computed",
    "adjustments",
    "moves",
    "allocated",
]


def _rows_for_csv(lines: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        pupils, held = by_band(line.get("eligible_pupils")), by_band(line.get("devices_held"))
        row = {**line, "pupils": total_of(line.get("eligible_pupils"))}
        row |= {f"pupils_{b}": pupils.get(b, "") for b in BANDS}
        row |= {f"held_{b}": held.get(b, "") for b in BANDS}
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
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
    return render_area(
        request,
        "planning/allocation/schools.html",
        SECTION,
        round=found,
        code=code,
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
        pupils=by_band(line.get("eligible_pupils")),
        held=by_band(line.get("devices_held")),
        **LABELS,
    )


@router.get(f"{BASE}/{{round_id}}/inputs")
async def inputs(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId
) -> Response:
    """The inputs the round stored (what its numbers can be explained from, years later)."""
    found = await round_of(apis, round_id)
    stored = await apis.planning.get(f"{ROUNDS}/{round_id}/inputs")
    tables = {
        k: v for k, v in stored.items() if isinstance(v, list) and v and isinstance(v[0], dict)
    }
    facts = {k: v for k, v in stored.items() if k not in tables and not isinstance(v, (dict, list))}
    return render_area(
        request, "planning/allocation/inputs.html", SECTION, round=found, tables=tables, facts=facts
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
        fields = {"/from_institution": "from_institution", "/to_institution": "to_institution"}
        # The form checked the number itself: the service refuses it only for being too many.
        messages = TRANSFER_MESSAGES | {"quantity": TOO_MANY}
        errors = problem_errors(problem, messages, fields=fields, by_type=TRANSFER_TYPES)
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
