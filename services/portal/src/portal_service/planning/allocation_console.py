"""A municipality's allocations in its console (`/municipality/<code>/allocations`): the
published rounds, its schools' lines with their explanations, allocated / ordered / delivered
per school, moving devices between its own schools (within its total, with the reason), and
recording how many devices are ordered for one of its schools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.municipality.common import Municipality, MunicipalityPath
from portal_service.municipality.console import render_console
from portal_service.planning.allocation_data import (
    ROUNDS,
    every_page,
    explain,
    line_of,
    lines_of,
    names_of,
    round_of,
    with_times,
)
from portal_service.planning.allocation_follow import deliveries_of, send_order
from portal_service.planning.allocation_rounds import LABELS, RoundId
from portal_service.planning.allocation_schools import transfer
from portal_service.web.api import new_form_key
from portal_service.web.forms import FormErrors
from portal_service.web.pages import page_router
from shared_kit.fields import REG_NUMBER_PATTERN

router = page_router()
SECTION = "/allocations"
BASE = "/municipality/{code}/allocations"
Number = Annotated[str, Path(pattern=REG_NUMBER_PATTERN)]


async def published_round(apis: Apis, round_id: str) -> dict[str, Any]:
    """A published round (the planning API shows a municipality no other)."""
    found = await round_of(apis, round_id)
    if found["state"] != "published":
        raise PageNotFound("not published")
    return found


async def own_line(
    apis: Apis, municipality: MunicipalityPath, round_id: str, number: str
) -> dict[str, Any]:
    """One of the municipality's schools' line (another municipality's is not found)."""
    line = await line_of(apis, round_id, number)
    if line["municipality_code"] != municipality.code:
        raise PageNotFound("another municipality's school")
    return line


@router.get(BASE)
async def rounds(request: Request, municipality: Municipality, apis: PersonApis) -> Response:
    """The published rounds, each with the municipality's schools."""
    found = await every_page(apis.planning, ROUNDS, state="published")
    return await render_console(
        request, municipality, apis, "planning/allocation/console_rounds.html", SECTION,
        rounds=found, **LABELS,
    )  # fmt: skip


def _delivered(figures: dict[str, Any]) -> dict[str, int]:
    return {x["institution_number"]: x["delivered"] for x in figures.get("institutions") or []}


async def _round_page(
    request: Request, municipality: MunicipalityPath, apis: Apis, round_id: str,
    values: dict[str, str], errors: FormErrors | None = None, **context: Any,
) -> Response:  # fmt: skip
    found = await published_round(apis, round_id)
    lines = await lines_of(apis, round_id, municipality=municipality.code)
    path = f"{ROUNDS}/{round_id}/moves"
    moves = with_times(await every_page(apis.planning, path, municipality=municipality.code))
    figures = await deliveries_of(apis, round_id, municipality.code)
    return await render_console(
        request, municipality, apis, "planning/allocation/console_round.html", SECTION, errors,
        round=found, lines=lines, moves=moves, delivered=_delivered(figures), values=values,
        names=names_of(lines), form_key=values.get("form_key") or new_form_key(),
        total=sum(x["allocated"] for x in lines), **context, **LABELS,
    )  # fmt: skip


@router.get(BASE + "/{round_id}")
async def round_view(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId,
    moved: bool = False,
    ordered: Annotated[str | None, Query(pattern=REG_NUMBER_PATTERN)] = None,
) -> Response:  # fmt: skip
    """The municipality's schools in the round, its moves, and the form to move devices."""
    return await _round_page(
        request, municipality, apis, round_id, {}, moved=moved, ordered=ordered
    )


@router.post(BASE + "/{round_id}/moves")
async def move(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId
) -> Response:
    """Move devices between two of the municipality's schools."""
    await published_round(apis, round_id)
    path = f"{ROUNDS}/{round_id}/moves"
    form, values, errors = await transfer(request, path, apis.planning.post)
    if form is None:
        return await _round_page(request, municipality, apis, round_id, values, errors)
    where = f"{municipality.base}/allocations/{round_id}?moved=true#moves"
    return RedirectResponse(where, status_code=303)


@router.get(BASE + "/{round_id}/schools/{number}")
async def school(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId,
    number: Number,
) -> Response:  # fmt: skip
    """Explain one of the municipality's schools' number."""
    found = await published_round(apis, round_id)
    line = await own_line(apis, municipality, round_id, number)
    return await render_console(
        request, municipality, apis, "planning/allocation/console_explain.html", SECTION,
        round=found, line=line, said=explain(line, found), **LABELS,
    )  # fmt: skip


async def _order_page(
    request: Request, municipality: MunicipalityPath, apis: Apis, round_id: str, number: str,
    values: dict[str, str], errors: FormErrors | None = None,
) -> Response:  # fmt: skip
    found = await published_round(apis, round_id)
    line = await own_line(apis, municipality, round_id, number)
    return await render_console(
        request, municipality, apis, "planning/allocation/console_order.html", SECTION, errors,
        round=found, line=line, values=values,
    )  # fmt: skip


@router.get(BASE + "/{round_id}/orders/{number}")
async def order_form(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId,
    number: Number,
) -> Response:  # fmt: skip
    """How many devices are ordered for one of the municipality's schools."""
    return await _order_page(request, municipality, apis, round_id, number, {})


@router.post(BASE + "/{round_id}/orders/{number}")
async def order(
    request: Request, municipality: Municipality, apis: PersonApis, round_id: RoundId,
    number: Number,
) -> Response:  # fmt: skip
    """Record the school's order (the latest figure counts)."""
    await own_line(apis, municipality, round_id, number)
    values, errors = await send_order(request, apis, round_id, number)
    if errors:
        return await _order_page(request, municipality, apis, round_id, number, values, errors)
    where = f"{municipality.base}/allocations/{round_id}?ordered={number}"
    return RedirectResponse(where, status_code=303)
