"""A ticket's comments, photos and insurance claims."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from shared_kit import uploads
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import NowDep, SessionDep
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses
from tickets_service.deps import Reader, Settings, ValidTicket, Writer
from tickets_service.models import Visibility
from tickets_service.router.base import COMMON, PREFIX, READ, WRITE
from tickets_service.schemas import (
    ClaimCreate,
    ClaimRead,
    ClaimUpdate,
    CommentCreate,
    CommentRead,
    PhotoRead,
)
from tickets_service.service import claims, discussion
from tickets_service.service.tickets import local_today

router = APIRouter(prefix=PREFIX, responses=COMMON)
NO_STORE = {"Cache-Control": "private, no-store"}


# Comments -----------------------------------------------------------------------------------


@router.get(
    "/{ticket_id}/comments", response_model=Page[CommentRead], tags=["comments"], responses=READ
)
async def list_comments(
    ticket: ValidTicket,
    session: SessionDep,
    principal: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    visibility: Annotated[
        Visibility | None,
        Query(description="Only public or only internal comments (internal: support staff)"),
    ] = None,
):
    """The comments you may see, oldest first (internal ones only for support staff and the
    school's administrators)."""
    rows = await discussion.comments(
        session=session,
        principal=principal,
        ticket=ticket,
        visibility=visibility,
        cursor=cursor,
        limit=limit,
    )
    items, nxt = page_of(rows, limit, lambda c: (c.created_at, c.id))
    return page_response([CommentRead.model_validate(c) for c in items], nxt)


@router.post(
    "/{ticket_id}/comments",
    status_code=201,
    response_model=CommentRead,
    tags=["comments"],
    responses=WRITE,
    description="Comment on a ticket. Support's first public comment is their response (the "
    "response clock stops); the reporter's public comment answers a ticket waiting for them. "
    "Internal comments: support staff and the school's administrators only (403 "
    "`internal-comments-forbidden` for anyone else).",
)
async def add_comment(
    body: CommentCreate,
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    now: NowDep,
):
    """Add a comment."""
    if replay := await idem.replay(body):
        return replay
    comment = await discussion.add_comment(
        session=session, principal=principal, ticket=ticket, data=body, now=now
    )
    return idem.respond(201, CommentRead.model_validate(comment))


# Photos -------------------------------------------------------------------------------------


@router.post(
    "/{ticket_id}/photos",
    status_code=201,
    response_model=list[PhotoRead],
    tags=["photos"],
    responses=problem_responses(404, 409, 413, 415, 422),
    description="Add photos of the problem (multipart, field `photos`, one or more): JPEG, "
    "PNG or WebP that decode as such, each at most `TICKETS_PHOTO_MAX_BYTES` (413), at most "
    "`TICKETS_PHOTO_MAX_COUNT` per ticket (422 `too-many-photos`); anything else is 415 "
    "`invalid-photo`, a truncated image 422 `unreadable-photo`, one of too many pixels 422 "
    "`photo-dimensions-too-large`. Each is stored re-encoded, upright and without metadata "
    "(EXIF with GPS, XMP, ICC profile, comments); its size and sha256 are the stored bytes'.",
)
async def add_photos(
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
    photos: Annotated[list[UploadFile], File(description="JPEG, PNG or WebP")],
):
    """Add photos."""
    received = await uploads.receive(photos, settings.photo_max_bytes)
    if replay := await idem.replay([hashlib.sha256(p.content).hexdigest() for p in received]):
        return replay
    rows = await discussion.add_photos(
        session=session,
        settings=settings,
        principal=principal,
        ticket=ticket,
        photos=received,
        now=now,
    )
    return idem.respond(201, [PhotoRead.model_validate(r) for r in rows])


@router.get("/{ticket_id}/photos", response_model=list[PhotoRead], tags=["photos"], responses=READ)
async def list_photos(ticket: ValidTicket, session: SessionDep):
    """The ticket's photos (metadata), in upload order."""
    return [PhotoRead(**row._asdict()) for row in await discussion.photo_listing(session, ticket)]


@router.get(
    "/{ticket_id}/photos/{photo_id}",
    tags=["photos"],
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}, **READ},
    response_class=Response,
)
async def download_photo(photo_id: uuid.UUID, ticket: ValidTicket, session: SessionDep):
    """One photo, as stored (inline, `nosniff`)."""
    photo = await discussion.photo(session, ticket, photo_id)
    return uploads.photo_response(
        content=photo.content,
        media_type=photo.media_type,
        filename=photo.filename,
        headers=NO_STORE,
    )


# Insurance claims ---------------------------------------------------------------------------


@router.get(
    "/{ticket_id}/insurance-claims",
    response_model=list[ClaimRead],
    tags=["insurance"],
    responses=READ,
)
async def list_claims(ticket: ValidTicket, session: SessionDep):
    """The ticket's insurance claims."""
    return [ClaimRead.model_validate(c) for c in await claims.list_claims(session, ticket)]


@router.post(
    "/{ticket_id}/insurance-claims",
    status_code=201,
    response_model=ClaimRead,
    tags=["insurance"],
    responses=WRITE,
    description="Record a claim filed with the insurer, for a `damage` or `stolen` ticket of "
    "an insured device (support or the school's administrators). A claim number is unique "
    "per insurer (409 `duplicate-insurance-claim`).",
)
async def create_claim(
    body: ClaimCreate,
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
):
    """Record an insurance claim."""
    if replay := await idem.replay(body):
        return replay
    claim = await claims.create_claim(
        session=session,
        principal=principal,
        ticket=ticket,
        data=body,
        today=local_today(now, settings.timezone),
        now=now,
    )
    return idem.respond(201, ClaimRead.model_validate(claim), {"ETag": etag(claim.version)})


@router.patch(
    "/{ticket_id}/insurance-claims/{claim_id}",
    response_model=ClaimRead,
    tags=["insurance"],
    responses=WRITE,
    description="Status: filed → in_review → approved → paid, or rejected / withdrawn.",
)
async def update_claim(
    claim_id: uuid.UUID,
    body: ClaimUpdate,
    ticket: ValidTicket,
    session: SessionDep,
    principal: Writer,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Record the claim's progress and outcome."""
    claim = await claims.update_claim(
        session=session,
        principal=principal,
        ticket=ticket,
        claim_id=claim_id,
        data=body,
        if_match=if_match,
        now=now,
    )
    response.headers["ETag"] = etag(claim.version)
    return ClaimRead.model_validate(claim)
