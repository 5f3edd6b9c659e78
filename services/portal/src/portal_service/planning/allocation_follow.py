"""After publication: the orders per school (the programme manager records them) and the
deliveries against the allocation (allocated, ordered, delivered per municipality and school, as
the statistics service counts them from the inventory's deliveries with the round's order
reference)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.planning.allocation_data import (
    ROUNDS,
    STATISTICS,
    line_of,
    lines_of,
    municipalities_of,
    names_of,
    round_of,
)
from portal_service.planning.allocation_forms import (
    NOT_IN_ROUND,
    NOT_NOW,
    ORDER_MESSAGES,
    OrderForm,
)
from portal_service.planning.allocation_rounds import BASE, LABELS, SECTION, RoundId
from portal_service.planning.common import ProgrammeManager, render_area
from portal_service.web.api import ApiProblem
from portal_service.web.forms import FormErrors, form_values, problem_errors, read_form
from portal_service.web.pages import page_router
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN

router = page_router()
Number = Annotated[str, Path(pattern=REG_NUMBER_PATTERN)]
ATVK_QUERY = Query(pattern=ATVK_PATTERN)


async def deliveries_of(apis: Apis, round_id: str, municipality: str | None) -> dict[str, Any]:
    """Allocated, ordered and delivered as statistics counts them ({} before it knows the
    round)."""
    try:
        found: dict[str, Any] = await apis.statistics.get(
            f"{STATISTICS}/{round_id}", municipality=municipality
        )
    except PageNotFound:
        return {}
    return found


def published(round_: dict[str, Any]) -> dict[str, Any]:
    """The round, which must be published for orders and deliveries."""
    if round_["state"] != "published":
        raise PageNotFound("the round is not published")
    return round_


@router.get(f"{BASE}/{{round_id}}/orders")
async def orders(
    request: Request,
    person: ProgrammeManager,
    apis: PersonApis,
    round_id: RoundId,
    saved: str | None = None,
) -> Response:
    """Every school's allocation, each with its order to record."""
    found = published(await round_of(apis, round_id))
    lines = [x for x in await lines_of(apis, round_id) if x["allocated"] or x["ordered"]]
    return render_area(
        request,
        "planning/allocation/orders.html",
        SECTION,
        round=found,
        lines=lines,
        saved=saved,
        **LABELS,
    )


# The planning API's refusals of an order, shown at the form.
ORDER_TYPES = {
    "illegal-round-state": ("form", NOT_NOW),
    "school-not-in-round": ("form", NOT_IN_ROUND),
}


async def send_order(
    request: Request, apis: Apis, round_id: str, number: str
) -> tuple[dict[str, str], FormErrors]:
    """Read the order's form and record it; the form's values and messages when refused."""
    form, errors = await read_form(request, OrderForm)
    values = await form_values(request)
    if form is None:
        return values, errors
    path = f"{ROUNDS}/{round_id}/orders/{number}"
    try:
        await apis.planning.put(path, form.model_dump())
    except ApiProblem as problem:
        errors = problem_errors(problem, ORDER_MESSAGES, by_type=ORDER_TYPES)
    return values, errors


async def _order_page(
    request: Request,
    apis: Apis,
    round_id: str,
    number: str,
    values: dict[str, str],
    errors: FormErrors | None = None,
) -> Response:
    found = published(await round_of(apis, round_id))
    line = await line_of(apis, round_id, number)
    return render_area(
        request,
        "planning/allocation/order.html",
        SECTION,
        errors,
        round=found,
        line=line,
        values=values,
    )


@router.get(f"{BASE}/{{round_id}}/orders/{{number}}")
async def order_form(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId, number: Number
) -> Response:
    """How many devices are ordered for the school."""
    return await _order_page(request, apis, round_id, number, {})


@router.post(f"{BASE}/{{round_id}}/orders/{{number}}")
async def order(
    request: Request, person: ProgrammeManager, apis: PersonApis, round_id: RoundId, number: Number
) -> Response:
    """Record the school's order (the latest figure counts)."""
    values, errors = await send_order(request, apis, round_id, number)
    if errors:
        return await _order_page(request, apis, round_id, number, values, errors)
    return RedirectResponse(f"{BASE}/{round_id}/orders?saved={number}", status_code=303)


@router.get(f"{BASE}/{{round_id}}/deliveries")
async def deliveries(
    request: Request,
    person: ProgrammeManager,
    apis: PersonApis,
    round_id: RoundId,
    municipality: Annotated[str | None, ATVK_QUERY] = None,
) -> Response:
    """Deliveries against the allocation, per municipality (and its schools when chosen)."""
    found = published(await round_of(apis, round_id))
    figures = await deliveries_of(apis, round_id, municipality)
    places = {x["municipality_code"]: x["name"] for x in await municipalities_of(apis, round_id)}
    schools = names_of(await lines_of(apis, round_id, municipality=municipality))
    return render_area(
        request,
        "planning/allocation/deliveries.html",
        SECTION,
        round=found,
        figures=figures,
        places=places,
        schools=schools if municipality else {},
        municipality=municipality,
        base=f"{BASE}/{round_id}",
    )
