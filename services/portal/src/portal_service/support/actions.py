"""A ticket's less frequent actions, one page each: an insurance claim and its progress, a
replacement device for the pupil, and confirming a loss or theft."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from portal_service.deps import Apis, Person, PersonApis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.support import sla
from portal_service.support.forms import ClaimForm, ClaimUpdateForm, LossForm, Versioned
from portal_service.support.labels import labels
from portal_service.support.ticket import STALE, TICKETS, done, send_action, ticket_path
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    problem_errors,
    read_form,
)
from portal_service.web.pages import page_router, render_form

router = page_router()
CLAIM_PROBLEMS = {
    "not-applicable": (
        "insurer",
        N_("Insurance claims are for damage or theft of an insured device"),
    ),
    "duplicate-insurance-claim": (
        "claim_number",
        N_("This insurer's claim number is already recorded"),
    ),
    "action-forbidden": ("insurer", N_("You may not record insurance claims for this ticket")),
}
CLAIM_UPDATE_PROBLEMS = {
    "illegal-transition": (
        "status",
        N_("The claim cannot move to this status from its current one"),
    ),
    "unprocessable": ("payout_amount", N_("A payout belongs to an approved or paid claim")),
    "precondition-failed": ("form", STALE),
}
LOANER_PROBLEMS = {
    "not-applicable": (
        "loaner",
        N_("A replacement is for a device that is in repair, lost or stolen"),
    ),
    "already-done": ("loaner", N_("A replacement device was requested already")),
    "no-learner": (
        "loaner",
        N_("The device is not on loan to a pupil, so no replacement is needed"),
    ),
    "ticket-closed": ("loaner", N_("The ticket is resolved or closed. Reopen it first.")),
    "action-forbidden": ("loaner", N_("You may not request a replacement for this ticket")),
    "precondition-failed": ("form", STALE),
}
LOSS_PROBLEMS = {
    "not-applicable": (
        "police_report_number",
        N_(
            "Only a lost or stolen device's loss can be confirmed, and a police report number "
            "belongs to a theft"
        ),
    ),
    "already-done": ("police_report_number", N_("The loss was confirmed already")),
    "ticket-closed": (
        "police_report_number",
        N_("The ticket is resolved or closed. Reopen it first."),
    ),
    "action-forbidden": ("police_report_number", N_("You may not confirm a loss for this ticket")),
    "precondition-failed": ("form", STALE),
}


async def action_page(
    request: Request,
    apis: Apis,
    ticket_id: uuid.UUID,
    template: str,
    *,
    errors: FormErrors | None = None,
    **context: Any,
) -> Response:
    """An action's page about the ticket as it is now."""
    ticket = await apis.tickets.get(f"{TICKETS}/{ticket_id}")
    return render_form(
        request,
        f"support/{template}",
        errors,
        ticket=sla.with_times(ticket),
        back=ticket_path(ticket_id),
        values=await form_values(request) if errors else {},
        form_key=new_form_key(),
        **context,
        **labels(),
    )


# Insurance claims ---------------------------------------------------------------------------


@router.get("/support/tickets/{ticket_id}/insurance-claim")
async def claim_page(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Record an insurance claim."""
    return await action_page(request, apis, ticket_id, "claim.html")


@router.post("/support/tickets/{ticket_id}/insurance-claim")
async def record_claim(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """The claim filed with the insurer; the service decides whether the ticket has one."""
    form, errors = await read_form(request, ClaimForm)
    if form is not None:
        body = form.model_dump(include={"insurer", "claim_number"})
        path = f"{ticket_id}/insurance-claims"
        errors = await send_action(request, apis, path, body, ClaimForm.messages, CLAIM_PROBLEMS)
        if not errors:
            return done(ticket_id, "claim")
    return await action_page(request, apis, ticket_id, "claim.html", errors=errors)


async def the_claim(apis: Apis, ticket_id: uuid.UUID, claim_id: uuid.UUID) -> dict[str, Any]:
    """One of the ticket's claims (else the not-found page)."""
    claims = await apis.tickets.get(f"{TICKETS}/{ticket_id}/insurance-claims")
    for claim in claims:
        if claim["id"] == str(claim_id):
            return sla.with_times(claim)
    raise PageNotFound(f"no claim {claim_id} on ticket {ticket_id}")


@router.get("/support/tickets/{ticket_id}/insurance-claims/{claim_id}")
async def claim_update_page(
    request: Request, ticket_id: uuid.UUID, claim_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Record the claim's progress."""
    claim = await the_claim(apis, ticket_id, claim_id)
    return await action_page(request, apis, ticket_id, "claim_update.html", claim=claim)


@router.post("/support/tickets/{ticket_id}/insurance-claims/{claim_id}")
async def update_claim(
    request: Request, ticket_id: uuid.UUID, claim_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """The claim's new status, outcome and payout; the service decides what may follow what."""
    claim = await the_claim(apis, ticket_id, claim_id)
    form, errors = await read_form(request, ClaimUpdateForm)
    if form is not None:
        body = form.model_dump(include={"status", "outcome", "payout_amount"}, exclude_none=True)
        try:
            await apis.tickets.patch(
                f"{TICKETS}/{ticket_id}/insurance-claims/{claim_id}", body, if_match=form.if_match
            )
        except ApiProblem as problem:
            errors = problem_errors(
                problem, ClaimUpdateForm.messages, by_type=CLAIM_UPDATE_PROBLEMS
            )
        else:
            return done(ticket_id, "claim-updated")
    return await action_page(
        request, apis, ticket_id, "claim_update.html", errors=errors, claim=claim
    )


# A replacement device -----------------------------------------------------------------------


@router.get("/support/tickets/{ticket_id}/loaner")
async def loaner_page(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Ask for a replacement device for the pupil."""
    return await action_page(request, apis, ticket_id, "loaner.html")


@router.post("/support/tickets/{ticket_id}/loaner")
async def request_loaner(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """The reservations service makes a top-priority reservation for the pupil."""
    form, _ = await read_form(request, Versioned)
    if_match = form.if_match if form is not None else None
    path = f"{ticket_id}/loaner"
    errors = await send_action(request, apis, path, None, {}, LOANER_PROBLEMS, if_match=if_match)
    if errors:
        return await action_page(request, apis, ticket_id, "loaner.html", errors=errors)
    return done(ticket_id, "loaner")


# A loss or theft ----------------------------------------------------------------------------


@router.get("/support/tickets/{ticket_id}/loss")
async def loss_page(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Confirm that the device is lost or stolen."""
    return await action_page(request, apis, ticket_id, "loss.html")


@router.post("/support/tickets/{ticket_id}/loss")
async def confirm_loss(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """The inventory marks the device lost or stolen; the loan agreement records it."""
    form, errors = await read_form(request, LossForm)
    if form is not None:
        body = form.model_dump(include={"police_report_number"}, exclude_none=True)
        path = f"{ticket_id}/confirm-loss"
        errors = await send_action(
            request, apis, path, body, LossForm.messages, LOSS_PROBLEMS, if_match=form.if_match
        )
        if not errors:
            return done(ticket_id, "loss")
    return await action_page(request, apis, ticket_id, "loss.html", errors=errors)
