"""HTTP endpoints of reservations under `/api/v1/reservations`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from reservations_service.deps import (
    AggregateReader,
    PolicyAdmin,
    ReadableReservation,
    Reader,
    Settings,
    ValidReservation,
    Writer,
)
from reservations_service.models import Reservation, ReservationState
from reservations_service.schemas import (
    PRIORITY_DESCRIPTION,
    ApproveBody,
    Availability,
    CancelBody,
    DeviceCriteria,
    Instant,
    Offer,
    OfferItem,
    PolicyRead,
    PolicyWrite,
    RegNumber,
    RejectBody,
    ReservationCreate,
    ReservationFilters,
    ReservationRead,
    WaitlistEntry,
)
from reservations_service.service import offer as offer_service
from reservations_service.service import reservations as service
from reservations_service.service.policies import effective_policy, put_policy
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import NowDep, ReadSessionDep, SessionDep
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN, AsciiDecimal
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses

PREFIX = "/api/v1/reservations"
router = APIRouter(prefix=PREFIX, responses=problem_responses(400, 401, 403, 422, 503))
READ = problem_responses(404)
WRITE = problem_responses(404, 409, 412)

AtvkPath = Annotated[str, Path(pattern=ATVK_PATTERN)]
RegNumberPath = Annotated[str, Path(pattern=REG_NUMBER_PATTERN)]


def _read(reservation: Reservation, position: int | None = None) -> ReservationRead:
    read = ReservationRead.model_validate(reservation)
    return read.model_copy(update={"waitlist_position": position}) if position else read


def _headers(reservation: Reservation) -> dict[str, str]:
    return {"ETag": etag(reservation.version)}


# Availability (before `/{reservation_id}`, which would otherwise match its path) --------


def criteria_query(
    category: str | None = None,
    os: str | None = None,
    touch: bool | None = None,
    catalogue_item_code: str | None = None,
    screen_inches: AsciiDecimal | None = None,
    min_screen_inches: AsciiDecimal | None = None,
    max_screen_inches: AsciiDecimal | None = None,
) -> DeviceCriteria:
    """Device criteria from query parameters, validated like the request body's."""
    try:
        return DeviceCriteria(
            category=category,
            os=os,
            touch=touch,
            catalogue_item_code=catalogue_item_code,
            screen_inches=screen_inches,
            min_screen_inches=min_screen_inches,
            max_screen_inches=max_screen_inches,
        )
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


@router.get("/availability", response_model=Availability, tags=["waitlists"], responses=READ)
async def get_availability(
    session: SessionDep,
    _: AggregateReader,
    settings: Settings,
    now: NowDep,
    institution_number: Annotated[RegNumber, Query()],
    criteria: Annotated[DeviceCriteria, Depends(criteria_query)],
    start: Annotated[Instant | None, Query(description="Default: now")] = None,
    end: Annotated[Instant | None, Query(description="Default: school year end")] = None,
):
    """How many devices matching the criteria are free at an institution for a period."""
    start, end, matching, free = await service.availability(
        session=session,
        number=institution_number,
        criteria=criteria,
        start=start,
        end=end,
        now=now,
        settings=settings,
    )
    return Availability(
        institution_number=institution_number, start=start, end=end, matching=matching, free=free
    )


@router.get("/availability/offer", response_model=Offer, tags=["waitlists"], responses=READ)
async def get_offer(
    session: SessionDep,
    _: AggregateReader,
    settings: Settings,
    now: NowDep,
    institution_number: Annotated[RegNumber, Query()],
    start: Annotated[Instant | None, Query(description="Default: now")] = None,
    end: Annotated[Instant | None, Query(description="Default: school year end")] = None,
):
    """What an institution lends: per catalogue item, its kind and how many devices are free
    for the period (what a family chooses from)."""
    start, end, items = await offer_service.offer(
        session=session,
        number=institution_number,
        start=start,
        end=end,
        now=now,
        settings=settings,
    )
    return Offer(
        institution_number=institution_number,
        start=start,
        end=end,
        items=[
            OfferItem(
                catalogue_item_code=i.kind.catalogue_item_code,
                category=i.kind.category,
                os=i.kind.os,
                screen_inches=i.kind.screen_inches,
                touch=i.kind.touch,
                matching=i.matching,
                free=i.free,
            )
            for i in items
        ],
    )


# Reservations -------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=ReservationRead,
    tags=["reservations"],
    responses=problem_responses(404, 409),
    description="Reserve a device for a period, for a learner (guardians: their own child) "
    "or, for school staff, a teacher or class. With the municipality's auto-approval the "
    "answer is already `approved` (a device is allocated) or `waitlisted`. " + PRIORITY_DESCRIPTION,
)
async def create_reservation(
    body: ReservationCreate,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    settings: Settings,
    now: NowDep,
):
    """Request a reservation."""
    if replay := await idem.replay(body):
        return replay
    reservation = await service.create_reservation(
        session=session, principal=principal, data=body, now=now, settings=settings
    )
    headers = {**_headers(reservation), "Location": f"{PREFIX}/{reservation.id}"}
    return idem.respond_fast(201, _read(reservation).model_dump(mode="json"), headers)


@router.get("", response_model=Page[ReservationRead], tags=["reservations"])
async def list_reservations(
    session: SessionDep,
    principal: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    state: Annotated[list[ReservationState] | None, Query()] = None,
    institution_number: Annotated[RegNumber | None, Query()] = None,
    learner_id: Annotated[str | None, Query(max_length=100)] = None,
    municipality_code: Annotated[str | None, Query(pattern=ATVK_PATTERN)] = None,
):
    """Reservations you may see (guardians: their children's), oldest request first."""
    filters = ReservationFilters(
        states=state or [],
        institution_number=institution_number,
        learner_id=learner_id,
        municipality_code=municipality_code,
    )
    rows = await service.list_reservations(
        session=session, principal=principal, filters=filters, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda r: (r.requested_at, r.id))
    return page_response([_read(r) for r in items], nxt)


@router.get(
    "/{reservation_id}", response_model=ReservationRead, tags=["reservations"], responses=READ
)
async def get_reservation(
    reservation: ReadableReservation, session: ReadSessionDep, response: Response
):
    """One reservation, with its waitlist position while it waits."""
    response.headers["ETag"] = etag(reservation.version)
    return _read(reservation, await service.waitlist_position(session, reservation))


@router.post(
    "/{reservation_id}/approve",
    response_model=ReservationRead,
    tags=["reservations"],
    responses=WRITE,
)
async def approve_reservation(
    reservation: ValidReservation,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    now: NowDep,
    body: ApproveBody | None = None,
    if_match: IfMatch = None,
):
    """Approve a request: allocate the named device, or the best free matching one (409 when
    none is free, unless `waitlist_if_unavailable`)."""
    body = body or ApproveBody()
    if replay := await idem.replay(body):
        return replay
    reservation = await service.approve(
        session=session,
        principal=principal,
        reservation=reservation,
        body=body,
        if_match=if_match,
        now=now,
    )
    return idem.respond(200, _read(reservation), _headers(reservation))


@router.post(
    "/{reservation_id}/reject",
    response_model=ReservationRead,
    tags=["reservations"],
    responses=WRITE,
)
async def reject_reservation(
    body: RejectBody,
    reservation: ValidReservation,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    now: NowDep,
    if_match: IfMatch = None,
):
    """Reject a request that holds no device, with a reason."""
    if replay := await idem.replay(body):
        return replay
    reservation = await service.reject(
        session=session,
        principal=principal,
        reservation=reservation,
        reason=body.reason,
        if_match=if_match,
        now=now,
    )
    return idem.respond(200, _read(reservation), _headers(reservation))


@router.post(
    "/{reservation_id}/cancel",
    response_model=ReservationRead,
    tags=["reservations"],
    responses=WRITE,
)
async def cancel_reservation(
    reservation: ValidReservation,
    session: SessionDep,
    principal: Writer,
    idem: IdempotencyDep,
    now: NowDep,
    body: CancelBody | None = None,
    if_match: IfMatch = None,
):
    """Cancel a request or an approval; a released device goes to the next in line."""
    body = body or CancelBody()
    if replay := await idem.replay(body):
        return replay
    reservation = await service.cancel(
        session=session,
        principal=principal,
        reservation=reservation,
        reason=body.reason,
        if_match=if_match,
        now=now,
    )
    return idem.respond(200, _read(reservation), _headers(reservation))


# Waitlists ---------------------------------------------------------------------------------------


@router.get(
    "/institutions/{number}/waitlist",
    response_model=Page[WaitlistEntry],
    tags=["waitlists"],
    responses=READ,
)
async def get_waitlist(
    number: RegNumberPath,
    session: SessionDep,
    principal: Reader,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """An institution's waitlist in priority order, with positions from 1."""
    rows, first = await service.waitlist(
        session=session, principal=principal, number=number, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda r: (-r.priority_score, r.requested_at, r.id))
    entries = [WaitlistEntry(position=first + i, reservation=_read(r)) for i, r in enumerate(items)]
    return page_response(entries, nxt)


# Policies -----------------------------------------------------------------------------------


@router.get(
    "/policies/{municipality_code}",
    response_model=PolicyRead,
    tags=["policies"],
)
async def get_policy(
    municipality_code: AtvkPath,
    session: SessionDep,
    _: AggregateReader,
    response: Response,
):
    """A municipality's reservation policy (the defaults while none is stored)."""
    policy = await effective_policy(session, municipality_code)
    response.headers["ETag"] = etag(policy.version)
    return PolicyRead.model_validate(policy)


@router.put(
    "/policies/{municipality_code}",
    response_model=PolicyRead,
    tags=["policies"],
    responses=problem_responses(412),
)
async def put_policy_endpoint(
    municipality_code: AtvkPath,
    body: PolicyWrite,
    session: SessionDep,
    principal: PolicyAdmin,
    response: Response,
    if_match: IfMatch = None,
):
    """Replace a municipality's policy (its administrators, platform administrators)."""
    policy = await put_policy(
        session=session,
        principal=principal,
        municipality_code=municipality_code,
        data=body,
        if_match=if_match,
    )
    response.headers["ETag"] = etag(policy.version)
    return PolicyRead.model_validate(policy)
