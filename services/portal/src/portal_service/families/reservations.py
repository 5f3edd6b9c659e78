"""Families: a reservation's page (status, place in the queue, what happens next), the
confirmation after reserving, and cancelling (a confirm page, then a POST)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis, SignedIn
from portal_service.families import labels
from portal_service.i18n import N_, RIGA
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import FormErrors, posted_form_key
from portal_service.web.gateway import Child
from portal_service.web.pages import page_router, render_form, render_page

router = page_router()

API = "/api/v1/reservations"


def child_of(person: SignedIn, child_id: str | None) -> Child | None:
    """One of the person's children (from the gateway's who-am-I), by id."""
    return next((c for c in person.profile.children if c.id == child_id), None)


async def _reservation(apis: PersonApis, reservation_id: uuid.UUID) -> dict[str, Any]:
    answer: dict[str, Any] = await apis.reservations.get(f"{API}/{reservation_id}")
    return answer


def reservation_view(person: SignedIn, reservation: dict[str, Any]) -> dict[str, Any]:
    """A reservation as the pages show it: the child, the kind, the period's days, the state."""
    text, colour = labels.RESERVATION_STATES.get(reservation["state"], (reservation["state"], ""))
    pickup = reservation.get("pickup_deadline")
    return {
        **reservation,
        "child": child_of(person, reservation["learner_id"]),
        "kind": labels.kind(reservation.get("criteria")),
        "first_day": dt.datetime.fromisoformat(reservation["start"]).astimezone(RIGA).date(),
        "last_day": labels.last_day(dt.datetime.fromisoformat(reservation["end"])),
        "pickup_by": dt.datetime.fromisoformat(pickup) if pickup else None,
        "requested_on": dt.datetime.fromisoformat(reservation["requested_at"]),
        "tag": {"text": text, "classes": colour},
        "cancellable": reservation["state"] in labels.CANCELLABLE,
        "criteria_labels": [
            labels.CRITERIA_SHORT.get(c["criterion"], c["criterion"])
            for c in reservation.get("social_criteria") or []
        ],
    }


@router.get("/families/reserve/done/{reservation_id}")
async def done_page(
    request: Request, reservation_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """The confirmation: approved, sent to the school, or on the waiting list at a place."""
    reservation = await _reservation(apis, reservation_id)
    return render_page(
        request,
        "families/reserve/done.html",
        reservation=reservation_view(person, reservation),
    )


@router.get("/families/reservations/{reservation_id}")
async def reservation_page(
    request: Request,
    reservation_id: uuid.UUID,
    person: Person,
    apis: PersonApis,
    cancelled: bool = False,
) -> Response:
    """A reservation: its status, the waiting list place, what happens next; cancel."""
    reservation = await _reservation(apis, reservation_id)
    return render_page(
        request,
        "families/reservations/show.html",
        reservation=reservation_view(person, reservation),
        cancelled=cancelled,
    )


@router.get("/families/reservations/{reservation_id}/cancel")
async def cancel_page(
    request: Request, reservation_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Are you sure? (a POST cancels)."""
    reservation = await _reservation(apis, reservation_id)
    return _cancel(request, person, reservation, FormErrors())


def _cancel(
    request: Request, person: SignedIn, reservation: dict[str, Any], errors: FormErrors
) -> Response:
    return render_form(
        request,
        "families/reservations/cancel.html",
        errors,
        reservation=reservation_view(person, reservation),
        form_key=new_form_key(),
    )


@router.post("/families/reservations/{reservation_id}/cancel")
async def cancel_post(
    request: Request, reservation_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Cancel through the service; it says whether this reservation can still be cancelled."""
    reservation = await _reservation(apis, reservation_id)
    try:
        await apis.reservations.post(
            f"{API}/{reservation_id}/cancel",
            {},
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem:
        message = N_("This reservation can no longer be cancelled")
        return _cancel(request, person, reservation, FormErrors().add("form", message))
    return RedirectResponse(
        f"/families/reservations/{reservation_id}?cancelled=true", status_code=303
    )
