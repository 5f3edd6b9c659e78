"""A ticket's page: its facts and SLA clocks, assign to me, status changes and comments."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, Person, PersonApis
from portal_service.i18n import N_
from portal_service.support import sla
from portal_service.support.forms import CommentForm, StatusForm
from portal_service.support.labels import labels
from portal_service.support.queue import school_names
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    FormErrors,
    form_values,
    posted_form_key,
    problem_errors,
    read_form,
)
from portal_service.web.pages import page_router, render_form

router = page_router()
TICKETS = "/api/v1/tickets"
STALE = N_(
    "Someone changed this ticket while you had it open. Check the ticket as it is now and try "
    "again."
)
CLOSED = N_("The ticket is closed. Reopen it first by choosing a new status.")
# What a refusal without field errors says, and where (per problem type).
STATUS_PROBLEMS = {
    "illegal-transition": (
        "to",
        N_("The ticket cannot move to this status from its current one. Choose another status."),
    ),
    "not-applicable": ("to", N_("A lost or stolen device cannot go in for repair")),
    "action-forbidden": ("to", N_("You may not change the status of this ticket")),
    "precondition-failed": ("form", STALE),
}
COMMENT_PROBLEMS = {
    "internal-comments-forbidden": (
        "visibility",
        N_("You may not write internal comments on this ticket"),
    ),
    "ticket-closed": ("body", CLOSED),
}
ASSIGN_PROBLEMS = {
    "illegal-transition": ("assign", N_("A closed ticket cannot be assigned. Reopen it first.")),
    "action-forbidden": ("assign", N_("Only the municipality's support staff can take tickets")),
    "precondition-failed": ("form", STALE),
}
# The notification after a change, by the `done` the redirect carries.
DONE = {
    "assigned": N_("The ticket is assigned to you."),
    "unassigned": N_("The ticket is no longer assigned to you."),
    "status": N_("The status is changed."),
    "comment": N_("Your comment is added."),
    "claim": N_("The insurance claim is recorded."),
    "claim-updated": N_("The insurance claim is updated."),
    "loaner": N_(
        "A replacement device is requested. The school will get a reservation for the pupil."
    ),
    "loss": N_("The loss is confirmed. The inventory and the loan agreement record it."),
}


def ticket_path(ticket_id: uuid.UUID) -> str:
    """The ticket's page."""
    return f"/support/tickets/{ticket_id}"


def done(ticket_id: uuid.UUID, what: str) -> RedirectResponse:
    """Back to the ticket's page, which says what was done (post/redirect/get)."""
    return RedirectResponse(f"{ticket_path(ticket_id)}?done={what}", status_code=303)


async def send_action(
    request: Request,
    apis: Apis,
    path: str,
    body: dict[str, Any] | None,
    messages: Mapping[str, str],
    problems: Mapping[str, tuple[str, str]],
    *,
    if_match: str | None = None,
) -> FormErrors:
    """POST one of the ticket's actions (`<ticket id>/<action>`) with the form's idempotency
    key: no messages when it is done, else the form's messages for the refusal."""
    try:
        await apis.tickets.post(
            f"{TICKETS}/{path}",
            body,
            if_match=if_match,
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        return problem_errors(problem, messages, by_type=problems)
    return FormErrors()


async def load_ticket(apis: Apis, ticket_id: uuid.UUID) -> dict[str, Any]:
    """The ticket with its SLA clocks, comments and insurance claims (not the person's
    ticket, or no such ticket: the not-found page)."""
    base = f"{TICKETS}/{ticket_id}"
    ticket = await apis.tickets.get(base)  # first: another municipality's stops here
    clocks, comments, claims = await asyncio.gather(
        apis.tickets.get(f"{base}/sla"),
        apis.tickets.get(f"{base}/comments", limit=200),
        apis.tickets.get(f"{base}/insurance-claims"),
    )
    schools = await school_names(apis.inventory, {ticket["institution_number"]})
    return {
        "ticket": sla.with_times(ticket),
        "school": schools.get(ticket["institution_number"], ticket["institution_number"]),
        "clocks": {name: sla.clock_view(clocks[name]) for name in ("response", "resolution")},
        "comments": [sla.with_times(c) for c in comments["items"]],
        "claims": [sla.with_times(c) for c in claims],
    }


async def render_ticket(
    request: Request,
    person: Person,
    apis: Apis,
    ticket_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    form: str = "",
) -> Response:
    """The ticket's page; with a refused form's messages and what the person typed."""
    data = await load_ticket(apis, ticket_id)
    return render_form(
        request,
        "support/ticket.html",
        errors,
        **data,
        me=person.profile.id,
        values=values or {},
        refused=form,
        form_key=new_form_key(),
        done=DONE.get(request.query_params.get("done", "")),
        path_of=ticket_path(ticket_id),
        **labels(),
    )


@router.get("/support/tickets/{ticket_id}")
async def ticket_page(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """One ticket."""
    return await render_ticket(request, person, apis, ticket_id)


@router.post("/support/tickets/{ticket_id}/assign")
async def assign(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Take the ticket (or give it back: `assignee` is empty)."""
    values = await form_values(request)
    take = values.get("assignee") == "me"
    version = values.get("version", "")
    try:
        await apis.tickets.post(
            f"{TICKETS}/{ticket_id}/assign",
            {"assignee_id": person.profile.id if take else None},
            if_match=f'"{version}"' if version.isdigit() else None,
        )
    except ApiProblem as problem:
        errors = problem_errors(
            problem, {}, fields={"assignee_id": "assign"}, by_type=ASSIGN_PROBLEMS
        )
        return await render_ticket(request, person, apis, ticket_id, errors=errors, form="assign")
    return done(ticket_id, "assigned" if take else "unassigned")


@router.post("/support/tickets/{ticket_id}/status")
async def change_status(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Move the ticket to the status the person chose; the service says whether it can."""
    form, errors = await read_form(request, StatusForm)
    if form is not None:
        body = form.model_dump(include={"to", "resolution", "note"}, exclude_none=True)
        path = f"{ticket_id}/transitions"
        errors = await send_action(
            request, apis, path, body, StatusForm.messages, STATUS_PROBLEMS, if_match=form.if_match
        )
        if not errors:
            return done(ticket_id, "status")
    values = await form_values(request)
    return await render_ticket(
        request, person, apis, ticket_id, errors=errors, values=values, form="status"
    )


@router.post("/support/tickets/{ticket_id}/comments")
async def add_comment(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """A public comment (the family sees it) or an internal one (staff only)."""
    form, errors = await read_form(request, CommentForm)
    if form is not None:
        body = form.model_dump(include={"body", "visibility"})
        path = f"{ticket_id}/comments"
        errors = await send_action(
            request, apis, path, body, CommentForm.messages, COMMENT_PROBLEMS
        )
        if not errors:
            return done(ticket_id, "comment")
    values = await form_values(request)
    return await render_ticket(
        request, person, apis, ticket_id, errors=errors, values=values, form="comment"
    )
