"""Comments and photos of a ticket.

- Public comments are seen by everyone who sees the ticket; internal ones only by support
  and the school's administrators (`access.sees_internal`); anyone else asking for or
  writing an internal comment gets 403 `internal-comments-forbidden`.
- Support's first public comment is a response: it stops the response clock.
- A public comment publishes `ticket.commented` (without its text); an internal one nothing.
- The reporter's public comment on a ticket waiting for them answers it: the ticket goes back
  to work (`in_repair` while a repair is under way, else `acknowledged`).
- Photos: at most `photo_max_bytes` each and `photo_max_count` per ticket (422), checked and
  stored by the kit's `uploads` (decoded JPEG, PNG or WebP, re-encoded without metadata).
  Anyone who sees the ticket may add photos until it is closed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit import uploads
from shared_kit.auth import Principal
from shared_kit.tenancy import actor_of
from tickets_service import events
from tickets_service.config import TicketsSettings
from tickets_service.exceptions import PhotoNotFound, TicketClosed
from tickets_service.models import Comment, Photo, Ticket, TicketState, Visibility
from tickets_service.repository import CommentRepository, PhotoRepository
from tickets_service.schemas import CommentCreate
from tickets_service.service import access, effects, sla
from tickets_service.service.workflow import lock, move, publish_breach


async def comments(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    visibility: Visibility | None,
    cursor: str | None,
    limit: int,
) -> Sequence[Comment]:
    """The comments the principal may see, oldest first."""
    internal_ok = access.sees_internal(principal, ticket)
    if visibility is Visibility.INTERNAL:
        access.ensure_sees_internal(principal, ticket)
    if visibility is not None:
        wanted = [visibility]
    else:
        wanted = [Visibility.PUBLIC, Visibility.INTERNAL] if internal_ok else [Visibility.PUBLIC]
    return await CommentRepository(session).page(ticket.id, wanted, cursor, limit)


async def add_comment(
    *,
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    data: CommentCreate,
    now: dt.datetime,
) -> Comment:
    """Comment on a ticket; see the module doc for what a comment also does."""
    if data.visibility is Visibility.INTERNAL:
        access.ensure_sees_internal(principal, ticket)
    ticket = await lock(session, ticket)
    if ticket.state is TicketState.CLOSED:
        raise TicketClosed("The ticket is closed; reopen it to comment")
    support = access.is_support(principal, ticket)
    actor = actor_of(principal)
    comment = Comment(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        author_id=actor,
        author_is_staff=support or access.school_staff(principal, ticket.institution_number),
        visibility=data.visibility,
        body=data.body,
        created_at=now,
    )
    CommentRepository(session).add(comment)
    public = data.visibility is Visibility.PUBLIC
    if public:
        events.publish_comment(session, ticket, comment, author_id=_person_id(principal))
    if public and support and sla.respond(ticket, now):
        publish_breach(session, ticket, sla.ClockName.RESPONSE, now)
    if (
        public
        and ticket.state is TicketState.WAITING_FOR_REPORTER
        and access.is_reporter(principal, ticket)
    ):
        back = TicketState.IN_REPAIR if effects.repairing(ticket) else TicketState.ACKNOWLEDGED
        await move(session, ticket, back, actor=actor, support=False, now=now)
    await session.flush()
    return comment


def _person_id(principal: Principal) -> str | None:
    """The commenting person's subject; None for a machine client."""
    return None if principal.client_id else principal.subject


async def add_photos(
    *,
    session: AsyncSession,
    settings: TicketsSettings,
    principal: Principal,
    ticket: Ticket,
    photos: list[uploads.Upload],
    now: dt.datetime,
) -> list[Photo]:
    """Store photos of the problem, after checking the count and every photo."""
    ticket = await lock(session, ticket)  # positions are handed out one upload at a time
    if ticket.state is TicketState.CLOSED:
        raise TicketClosed("The ticket is closed; reopen it to add photos")
    repo = PhotoRepository(session)
    existing = await repo.count(ticket.id)
    if existing + len(photos) > settings.photo_max_count:
        raise uploads.TooManyPhotos(
            f"A ticket may have at most {settings.photo_max_count} photos ({existing} stored)",
            max_count=settings.photo_max_count,
        )
    cleaned = await uploads.clean_all(photos, max_bytes=settings.photo_max_bytes)
    rows = [
        Photo(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            position=existing + i,
            filename=photo.filename,
            media_type=photo.media_type,
            size=photo.size,
            sha256=photo.sha256,
            content=photo.content,
            uploaded_by=actor_of(principal),
            created_at=now,
        )
        for i, photo in enumerate(cleaned)
    ]
    for row in rows:
        repo.add(row)
    await session.flush()
    return rows


async def photo_listing(session: AsyncSession, ticket: Ticket) -> Sequence[Any]:
    """Metadata of the ticket's photos, in upload order."""
    return await PhotoRepository(session).listing(ticket.id)


async def photo(session: AsyncSession, ticket: Ticket, photo_id: uuid.UUID) -> Photo:
    """One photo of the ticket (404 when it has no such photo)."""
    found = await PhotoRepository(session).get(ticket.id, photo_id)
    if found is None:
        raise PhotoNotFound(f"No photo {photo_id} for ticket {ticket.number}")
    return found
