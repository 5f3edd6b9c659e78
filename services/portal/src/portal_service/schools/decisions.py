"""The school's requests: the approvals queue, one request (approve with a device, or reject
with a reason) and the waitlist. The reservations service decides; these pages ask it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.schools.common import (
    INVENTORY,
    PAGE_SIZE,
    RESERVATIONS,
    School,
    SchoolPath,
    catalogue_names,
    not_found_on_refusal,
    pages,
    render_school,
    school_name,
    together,
)
from portal_service.schools.forms import ApproveForm, RejectForm
from portal_service.schools.models import Device, Reservation, WaitlistEntry
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.pages import page_router

router = page_router()

Cursor = Annotated[str | None, Query(max_length=500)]
Outcome = Literal["approved", "waitlisted", "rejected"]
Ref = Annotated[str | None, Query(pattern=r"^[0-9A-F]{8}$")]
# Requests per page of the queue: a phone screen or two, and cheap to render (the queue is the
# page a school opens most, and is benchmarked at 50 concurrent sessions).
QUEUE_PAGE = 10
# Devices offered to choose from on a request's page (the service's own choice comes first).
DEVICE_CHOICES = 5
STALE = N_("Someone changed this request while you were looking at it. Check it and decide again.")
DECIDED = N_("This request has already been decided.")
# A refused approval without field errors: where to say it, and what.
APPROVE_PROBLEMS = {
    "no-device-free": (
        "device",
        N_(
            "No matching device is free for this period. Choose another device, or put the "
            "request on the waitlist."
        ),
    ),
    "device-taken": ("device", N_("This device is already lent for that period. Choose another.")),
    "device-unavailable": ("device", N_("This device cannot be lent now. Choose another.")),
    "device-mismatch": (
        "device",
        N_("This device is not what the family asked for. Choose another."),
    ),
    "device-not-at-institution": ("device", N_("This device is not at this school.")),
    "device-not-found": ("device", N_("This device is not at this school.")),
    "illegal-transition": ("form", DECIDED),
    "precondition-failed": ("form", STALE),
}
REJECT_PROBLEMS = {
    "illegal-transition": ("form", DECIDED),
    "precondition-failed": ("form", STALE),
}


@router.get("/schools/{number}/approvals")
async def approvals(
    request: Request,
    school: School,
    apis: PersonApis,
    cursor: Cursor = None,
    outcome: Outcome | None = None,
    ref: Ref = None,
) -> Response:
    """Requests waiting for the school's decision, oldest first, with their priority."""
    query = {"state": "requested", "institution_number": school.number, "limit": QUEUE_PAGE}
    name, page = await together(
        school_name(apis, school.number),
        apis.reservations.get(RESERVATIONS, cursor=cursor, **query),
    )
    requests = [Reservation.model_validate(item) for item in page["items"]]
    return render_school(
        request,
        "approvals.html",
        school,
        name,
        requests=requests,
        links=pages(request, page.get("next_cursor")),
        outcome=outcome,
        ref=ref,
    )


@router.get("/schools/{number}/waitlist")
async def waitlist(
    request: Request, school: School, apis: PersonApis, cursor: Cursor = None
) -> Response:
    """Requests waiting for a device to become free, in the order they will get one."""
    path = f"{RESERVATIONS}/institutions/{school.number}/waitlist"
    name, page = await together(
        school_name(apis, school.number),
        apis.reservations.get(path, cursor=cursor, limit=PAGE_SIZE),
    )
    entries = [WaitlistEntry.model_validate(item) for item in page["items"]]
    return render_school(
        request,
        "waitlist.html",
        school,
        name,
        entries=entries,
        links=pages(request, page.get("next_cursor")),
    )


async def _request_page(
    request: Request,
    school: SchoolPath,
    apis: PersonApis,
    reservation_id: uuid.UUID,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """A request with what the school can do about it (its forms, refused or fresh)."""
    name, body, catalogue = await together(
        school_name(apis, school.number),
        apis.reservations.get(f"{RESERVATIONS}/{reservation_id}"),
        catalogue_names(apis.inventory),
    )
    reservation = Reservation.model_validate(body)
    if reservation.institution_number != school.number:
        raise PageNotFound("a reservation of another school")
    devices = await _device_choices(apis, school, reservation)
    return render_school(
        request,
        "request.html",
        school,
        name,
        status=422 if errors else 200,
        reservation=reservation,
        devices=devices,
        catalogue=catalogue,
        errors=errors,
        values=values or {},
        form_key=new_form_key(),
        open_reject="reason" in (errors.fields if errors else {}),
    )


async def _device_choices(
    apis: PersonApis, school: SchoolPath, reservation: Reservation
) -> list[Device]:
    """Available devices of the school that fit what the request names (the service still
    checks the chosen one: it knows the bookings)."""
    if reservation.state not in ("requested", "waitlisted"):
        return []
    if reservation.requested_device_id is not None:
        body = await apis.inventory.get(f"{INVENTORY}/devices/{reservation.requested_device_id}")
        return [Device.model_validate(body)]
    wish = reservation.criteria
    query: dict[str, Any] = {
        "institution": school.number,
        "status": "available",
        "limit": DEVICE_CHOICES,
        "category": wish.category if wish else None,
        "os": wish.os if wish else None,
        "catalogue_item": wish.catalogue_item_code if wish else None,
    }
    page = await apis.inventory.get(f"{INVENTORY}/devices", **query)
    return [Device.model_validate(item) for item in page["items"]]


@router.get("/schools/{number}/reservations/{reservation_id}")
async def request_page(
    request: Request, school: School, apis: PersonApis, reservation_id: uuid.UUID
) -> Response:
    """One request: who asked for what, its priority and why, and the decision forms."""
    return await _request_page(request, school, apis, reservation_id)


def _done(school: SchoolPath, outcome: str, reservation: dict[str, Any]) -> Response:
    ref = str(reservation["id"])[:8].upper()
    return RedirectResponse(f"{school.base}/approvals?outcome={outcome}&ref={ref}", status_code=303)


@router.post("/schools/{number}/reservations/{reservation_id}/approve")
async def approve(
    request: Request, school: School, apis: PersonApis, reservation_id: uuid.UUID
) -> Response:
    """Approve with the chosen device (or the service's choice); maybe onto the waitlist."""
    form, errors = await read_form(request, ApproveForm)
    if form is not None:
        body: dict[str, Any] = {"waitlist_if_unavailable": form.waitlist}
        if form.device_id:
            body["device_id"] = form.device_id
        try:
            answer = await apis.reservations.post(
                f"{RESERVATIONS}/{reservation_id}/approve",
                json=body,
                idempotency_key=await posted_form_key(request),
                if_match=f'"{form.version}"' if form.version is not None else None,
            )
        except ApiProblem as problem:
            not_found_on_refusal(problem)
            errors = problem_errors(
                problem,
                ApproveForm.messages,
                fields={"device_id": "device"},
                by_type=APPROVE_PROBLEMS,
            )
        else:
            return _done(school, str(answer["state"]), answer)
    values = await form_values(request)
    return await _request_page(request, school, apis, reservation_id, errors, values)


@router.post("/schools/{number}/reservations/{reservation_id}/reject")
async def reject(
    request: Request, school: School, apis: PersonApis, reservation_id: uuid.UUID
) -> Response:
    """Reject with a reason; the reservations service says whether the reason will do."""
    form, errors = await read_form(request, RejectForm)
    if form is not None:
        try:
            answer = await apis.reservations.post(
                f"{RESERVATIONS}/{reservation_id}/reject",
                json={"reason": form.reason},
                idempotency_key=await posted_form_key(request),
                if_match=f'"{form.version}"' if form.version is not None else None,
            )
        except ApiProblem as problem:
            not_found_on_refusal(problem)
            errors = problem_errors(problem, RejectForm.messages, by_type=REJECT_PROBLEMS)
        else:
            return _done(school, "rejected", answer)
    values = await form_values(request)
    return await _request_page(request, school, apis, reservation_id, errors, values)
