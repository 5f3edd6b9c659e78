"""Families: follow the tickets they reported (pages under `/families/tickets`).

The list, one ticket (its status, public comments and photos), a reply and more photos. The
tickets service shows a reporter only their own tickets and only public comments; the pages
ask for public comments alone all the same, so nothing internal is ever on a family's page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field

from portal_service.deps import Person, PersonApis, Settings
from portal_service.families.report import photo_errors
from portal_service.families.report_forms import CATEGORIES, PHOTO_MESSAGES
from portal_service.i18n import N_
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.drafts import chosen_files, clean_photos
from portal_service.web.forms import Form, FormErrors, posted_form_key, problem_errors, read_form
from portal_service.web.pages import page_router, render_form, render_page

router = page_router()
BASE = "/families/tickets"
TICKETS = "/api/v1/tickets"

STATES: dict[str, tuple[str, str]] = {
    "new": (N_("Received"), "govuk-tag--blue"),
    "acknowledged": (N_("Accepted"), "govuk-tag--light-blue"),
    "in_progress": (N_("Being worked on"), "govuk-tag--purple"),
    "in_repair": (N_("In repair"), "govuk-tag--purple"),
    "waiting_for_parts": (N_("Waiting for parts"), "govuk-tag--yellow"),
    "waiting_for_reporter": (N_("Waiting for your answer"), "govuk-tag--orange"),
    "resolved": (N_("Resolved"), "govuk-tag--green"),
    "closed": (N_("Closed"), "govuk-tag--grey"),
}
CLOSED = N_("The ticket is closed. To add to it, report the problem again.")


class ReplyForm(Form):
    """A public comment by the reporter."""

    body: Annotated[str, Field(min_length=1, max_length=5000)]
    messages: ClassVar[dict[str, str]] = {"body": N_("Write your reply in up to 5000 characters")}


def moment(value: str | None) -> dt.datetime | None:
    """An API's ISO 8601 time as a datetime (the `when` filter shows it in Riga time)."""
    return dt.datetime.fromisoformat(value) if value else None


def _ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    return {**ticket, "opened_at": moment(ticket["opened_at"])}


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


@router.get(BASE)
async def tickets(request: Request, apis: PersonApis) -> Response:
    """The tickets the person reported, newest first."""
    page = await apis.tickets.get(TICKETS, limit=100)
    items = sorted(map(_ticket, page["items"]), key=lambda t: t["opened_at"], reverse=True)
    return render_page(
        request, "families/report/tickets.html", tickets=items, states=STATES,
        categories=CATEGORIES,
    )  # fmt: skip


async def _ticket_page(
    request: Request,
    person: Person,
    apis: PersonApis,
    ticket_id: uuid.UUID,
    errors: FormErrors | None = None,
    reply: str = "",
) -> Response:
    ticket = await apis.tickets.get(f"{TICKETS}/{ticket_id}")
    comments = await apis.tickets.get(
        f"{TICKETS}/{ticket_id}/comments", visibility="public", limit=200
    )
    photos = await apis.tickets.get(f"{TICKETS}/{ticket_id}/photos")
    children = {child.id: child for child in person.profile.children}
    return render_form(
        request,
        "families/report/ticket.html",
        errors,
        ticket=_ticket(ticket),
        child=children.get(ticket.get("learner_id") or ""),
        comments=[_comment(c, person) for c in comments["items"]],
        photos=photos,
        states=STATES,
        categories=CATEGORIES,
        reply=reply,
        form_key=new_form_key(),
    )


def _comment(comment: dict[str, Any], person: Person) -> dict[str, Any]:
    """A comment as the page shows it: who (you, support), when, what."""
    mine = comment["author_id"] in (f"person:{person.profile.id}", person.profile.id)
    who = N_("You") if mine else N_("Support") if comment["author_is_staff"] else N_("Family")
    lines = comment["body"].splitlines()
    return {**comment, "who": who, "paragraphs": lines, "created_at": moment(comment["created_at"])}


@router.get(f"{BASE}/{{ticket_id}}")
async def ticket(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """One ticket: status, device, what was reported, the conversation and photos."""
    return await _ticket_page(request, person, apis, ticket_id)


@router.post(f"{BASE}/{{ticket_id}}/comments")
async def reply(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis
) -> Response:
    """Answer support (a public comment)."""
    form, errors = await read_form(request, ReplyForm)
    if form is None:
        posted = (await request.form()).get("body")
        text = posted if isinstance(posted, str) else ""
        return await _ticket_page(request, person, apis, ticket_id, errors, text)
    try:
        await apis.tickets.post(
            f"{TICKETS}/{ticket_id}/comments",
            {"body": form.body},
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        errors = _problem_at(problem, "body")
        return await _ticket_page(request, person, apis, ticket_id, errors, form.body)
    return _redirect(f"{BASE}/{ticket_id}#comments")


@router.post(f"{BASE}/{{ticket_id}}/photos")
async def add_photos(
    request: Request, ticket_id: uuid.UUID, person: Person, apis: PersonApis, settings: Settings
) -> Response:
    """Add photos to the ticket (the tickets service checks and keeps them)."""
    files = chosen_files((await request.form()).getlist("photos"))
    if not files:
        errors = FormErrors().add("photos", N_("Select a photo to add"))
        return await _ticket_page(request, person, apis, ticket_id, errors)
    cleaned, refused = await clean_photos(files, max_bytes=settings.photo_max_bytes)
    if refused is not None:
        errors = photo_errors(refused.type, refused.filename, settings)
        return await _ticket_page(request, person, apis, ticket_id, errors)
    sent = [("photos", (p.filename, p.content, p.media_type)) for p in cleaned]
    try:
        await apis.tickets.post(
            f"{TICKETS}/{ticket_id}/photos",
            files=sent,
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        if problem.type in PHOTO_MESSAGES:
            errors = photo_errors(problem.type, "", settings)
        else:
            errors = _problem_at(problem, "photos")
        return await _ticket_page(request, person, apis, ticket_id, errors)
    return _redirect(f"{BASE}/{ticket_id}#photos")


def _problem_at(problem: ApiProblem, name: str) -> FormErrors:
    """A refusal of the ticket's forms, at the form's one field."""
    by_type = {"ticket-closed": (name, CLOSED)}
    errors = problem_errors(problem, ReplyForm.messages, by_type=by_type)
    return FormErrors().add(name, next(iter(errors.fields.values()))[0])


@router.get(f"{BASE}/{{ticket_id}}/photos/{{photo_id}}")
async def photo(ticket_id: uuid.UUID, photo_id: uuid.UUID, apis: PersonApis) -> Response:
    """One of the ticket's photos, as the tickets service keeps it."""
    answer = await apis.tickets.download(f"{TICKETS}/{ticket_id}/photos/{photo_id}")
    headers = {
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": answer.headers.get("content-disposition", "inline"),
    }
    return Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers)
