"""The school's start: which school (for someone with several), what waits for it, and the
school's devices and tickets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.schools.common import (
    CONTRACTS,
    INVENTORY,
    PAGE_SIZE,
    RESERVATIONS,
    TICKETS,
    School,
    catalogue_names,
    pages,
    render_school,
    school_name,
    schools_of,
    together,
)
from portal_service.schools.models import Device, Ticket
from portal_service.web.labels import DEVICE_STATUSES
from portal_service.web.pages import page_router, render_page

router = page_router()

Cursor = Annotated[str | None, Query(max_length=500)]
# How far the start page counts what waits (beyond this it says "50 or more").
COUNT_UP_TO = 50


@router.get("/schools")
async def choose(request: Request, person: Person, apis: PersonApis) -> Response:
    """The schools the person administers; straight to the school when there is one."""
    numbers = schools_of(person)
    if not numbers:
        raise PageNotFound("not a school administrator")
    if len(numbers) == 1:
        return RedirectResponse(f"/schools/{numbers[0]}", status_code=303)
    names = await together(*(school_name(apis, n) for n in numbers))
    return render_page(
        request, "schools/choose.html", schools=list(zip(numbers, names, strict=True))
    )


@router.get("/schools/{number}")
async def school_home(request: Request, school: School, apis: PersonApis) -> Response:
    """The school's start page: what waits for the school, and where each thing is done."""
    counted = {"limit": COUNT_UP_TO}
    name, requests, waiting, ready, tickets = await together(
        school_name(apis, school.number),
        apis.reservations.get(
            RESERVATIONS, state="requested", institution_number=school.number, **counted
        ),
        apis.reservations.get(f"{RESERVATIONS}/institutions/{school.number}/waitlist", **counted),
        apis.contracts.get(
            CONTRACTS, state="awaiting_lender", institution=school.number, **counted
        ),
        apis.tickets.get(TICKETS, institution_number=school.number, open=True, **counted),
    )

    def count(page: dict[str, object]) -> tuple[int, bool]:
        items = page.get("items") or []
        return len(items) if isinstance(items, list) else 0, bool(page.get("next_cursor"))

    return render_school(
        request,
        "school.html",
        school,
        name,
        counts={
            "approvals": count(requests),
            "waitlist": count(waiting),
            "handovers": count(ready),
            "tickets": count(tickets),
        },
    )


@router.get("/schools/{number}/devices")
async def devices(
    request: Request,
    school: School,
    apis: PersonApis,
    status: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Cursor = None,
) -> Response:
    """The school's devices, by asset tag, filtered by status."""
    chosen = status if status in DEVICE_STATUSES else None
    name, catalogue, page = await together(
        school_name(apis, school.number),
        catalogue_names(apis.inventory),
        apis.inventory.get(
            f"{INVENTORY}/devices",
            institution=school.number,
            status=chosen,
            cursor=cursor,
            limit=PAGE_SIZE,
        ),
    )
    return render_school(
        request,
        "devices.html",
        school,
        name,
        devices=[Device.model_validate(d) for d in page["items"]],
        catalogue=catalogue,
        status_filter=chosen or "",
        links=pages(request, page.get("next_cursor")),
    )


@router.get("/schools/{number}/tickets")
async def tickets(
    request: Request,
    school: School,
    apis: PersonApis,
    show: Literal["open", "all"] = "open",
    cursor: Cursor = None,
) -> Response:
    """Problem reports about the school's devices: open ones, or all."""
    name, page = await together(
        school_name(apis, school.number),
        apis.tickets.get(
            TICKETS,
            institution_number=school.number,
            open=True if show == "open" else None,
            cursor=cursor,
            limit=PAGE_SIZE,
        ),
    )
    return render_school(
        request,
        "tickets.html",
        school,
        name,
        tickets=[Ticket.model_validate(t) for t in page["items"]],
        show=show,
        links=pages(request, page.get("next_cursor")),
    )
