"""Allocation endpoints under `/api/v1/planning`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from planning_service.deps import Settings, Viis
from planning_service.exceptions import SchoolNotInRound
from planning_service.models.allocation import AllocationRound, AllocationState, TransferKind
from planning_service.repository.allocation import InputRepository, LineRepository
from planning_service.repository.allocation import TransferRepository as Transfers
from planning_service.router.base import COMMON, PREFIX, READ, WRITE
from planning_service.schemas.allocation import (
    AllocationRoundCreate,
    AllocationRoundRead,
    InputRead,
    LineRead,
    MunicipalityRead,
    OrderBody,
    TransferBody,
    TransferRead,
)
from planning_service.service import allocation as service
from planning_service.service import allocation_changes as changes
from planning_service.service import allocation_views as views
from planning_service.service.allocation_access import (
    PROGRAMME_MANAGER,
    READ_ROLES,
    View,
    municipalities_filter,
    view_of,
)
from shared_kit.auth import Principal, Role, require_roles
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import NowDep, SessionDep
from shared_kit.fields import ATVK_PATTERN, REG_NUMBER_PATTERN
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response

router = APIRouter(
    prefix=PREFIX + "/allocation-rounds", tags=["allocation rounds"], responses=COMMON
)

Reader = Annotated[Principal, require_roles(*READ_ROLES)]
Manager = Annotated[Principal, require_roles(PROGRAMME_MANAGER)]
MunicipalityAdmin = Annotated[Principal, require_roles(Role.MUNICIPALITY_ADMIN.value)]
OrderTaker = Annotated[Principal, require_roles(PROGRAMME_MANAGER, Role.MUNICIPALITY_ADMIN.value)]
Municipality = Annotated[str | None, Query(pattern=ATVK_PATTERN)]
Institution = Annotated[str | None, Query(pattern=REG_NUMBER_PATTERN)]


def caller_view(principal: Reader) -> View:
    """What the caller may read."""
    return view_of(principal)


CallerView = Annotated[View, Depends(caller_view)]


async def valid_round(
    round_id: uuid.UUID, session: SessionDep, view: CallerView
) -> AllocationRound:
    """The round in the path, if it exists and the caller may see it."""
    return await service.get_round(session, view=view, round_id=round_id)


ValidRound = Annotated[AllocationRound, Depends(valid_round)]
RULE = (
    "The rule: per school, eligible pupils per band; need = ceil(pupils / target ratio) (minus "
    "devices held when subtracted, never below 0), blended with the survey's children without "
    "a suitable device by `survey_weight`; weight = need * (1 + Σ social weight * share of "
    "answering children with the criterion), or the size band's weight (the 2020 rule); "
    "schools below `min_eligible_pupils` get none (their weight pooled at their municipality); "
    "shares pro rata, no school above min(cap, need); largest remainder, ties by weight then "
    "registration number; devices beyond every need are `unallocated`."
)


@router.post("", status_code=201, response_model=AllocationRoundRead, description=RULE)
async def create_round(
    body: AllocationRoundCreate, session: SessionDep, principal: Manager, idem: IdempotencyDep
):
    """Set up an allocation round (the programme manager)."""
    if replay := await idem.replay(body):
        return replay
    round_ = await service.create_round(session, principal=principal, data=body)
    answer = await views.round_read(session, round_)
    headers = {"ETag": etag(round_.version), "Location": f"{router.prefix}/{round_.id}"}
    return idem.respond(201, answer, headers)


@router.get("", response_model=Page[AllocationRoundRead])
async def list_rounds(
    session: SessionDep,
    view: CallerView,
    state: AllocationState | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Rounds you may see (municipalities: published ones), oldest first."""
    rows = await service.list_rounds(session, view=view, state=state, cursor=cursor, limit=limit)
    items, nxt = page_of(rows, limit, lambda r: (r.created_at, r.id))
    return page_response([await views.round_read(session, r) for r in items], nxt)


@router.get("/{round_id}", response_model=AllocationRoundRead, responses=READ)
async def get_round(round_: ValidRound, session: SessionDep, response: Response):
    """A round with its parameters, state and totals."""
    response.headers["ETag"] = etag(round_.version)
    return await views.round_read(session, round_)


@router.post("/{round_id}/compute", response_model=AllocationRoundRead, responses=WRITE)
async def compute_round(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: Manager,
    idem: IdempotencyDep,
    settings: Settings,
    open_viis: Viis,
    now: NowDep,
    if_match: IfMatch = None,
    refresh_inputs: Annotated[bool, Query(description="Take the inputs again")] = False,
):
    """Take (or reuse) the stored inputs, run the rule, store the lines."""
    if replay := await idem.replay({"refresh_inputs": refresh_inputs}):
        return replay
    round_ = await service.compute(
        session,
        round_id=round_id,
        if_match=if_match,
        refresh_inputs=refresh_inputs,
        open_viis=open_viis,
        concurrency=settings.viis_concurrency,
        now=now,
    )
    answer = await views.round_read(session, round_)
    return idem.respond(200, answer, {"ETag": etag(round_.version)})


@router.post("/{round_id}/publish", response_model=AllocationRoundRead, responses=WRITE)
async def publish_round(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: Manager,
    idem: IdempotencyDep,
    now: NowDep,
    if_match: IfMatch = None,
):
    """Make a computed round final (announces every school's number)."""
    if replay := await idem.replay({}):
        return replay
    round_ = await service.publish(
        session, principal=principal, round_id=round_id, if_match=if_match, now=now
    )
    answer = await views.round_read(session, round_)
    return idem.respond(200, answer, {"ETag": etag(round_.version)})


@router.get("/{round_id}/municipalities", response_model=list[MunicipalityRead], responses=READ)
async def list_municipalities(
    round_: ValidRound, session: SessionDep, view: CallerView, municipality: Municipality = None
):
    """Each municipality's schools, pupils, need, devices and pool."""
    codes = municipalities_filter(view, municipality)
    return await views.municipality_rows(session, round_, codes)


@router.get("/{round_id}/lines", response_model=Page[LineRead], responses=READ)
async def list_lines(
    round_: ValidRound,
    session: SessionDep,
    view: CallerView,
    municipality: Municipality = None,
    institution: Institution = None,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
):
    """Every school's result with its explanation, by municipality and school."""
    codes = municipalities_filter(view, municipality)
    rows = await LineRepository(session).page(
        round_.id, municipalities=codes, institution=institution, cursor=cursor, limit=limit
    )
    if institution is not None and not rows:
        raise SchoolNotInRound(f"School {institution} has no line in this round of yours")
    items, nxt = page_of(rows, limit, lambda r: (r.municipality_code, r.institution_number))
    return page_response([views.line_read(r) for r in items], nxt)


@router.get("/{round_id}/inputs", response_model=Page[InputRead], responses=READ)
async def list_inputs(
    round_: ValidRound,
    session: SessionDep,
    view: CallerView,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
):
    """The stored inputs, per school: what the result was computed from."""
    rows = await InputRepository(session).page(
        round_.id, municipalities=view.municipalities, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda r: (r.institution_number,))
    return page_response([views.input_read(r) for r in items], nxt)


@router.post(
    "/{round_id}/adjustments", status_code=201, response_model=TransferRead, responses=WRITE
)
async def adjust(
    round_id: uuid.UUID,
    body: TransferBody,
    session: SessionDep,
    principal: Manager,
    idem: IdempotencyDep,
    now: NowDep,
):
    """Move devices between two schools of the round, with a reason (the programme manager)."""
    if replay := await idem.replay(body):
        return replay
    transfer = await changes.adjust(
        session, principal=principal, round_id=round_id, body=body, now=now
    )
    full = View(every_round=True, municipalities=None, reasons=True)
    return idem.respond(201, views.transfer_read(transfer, full))


@router.get("/{round_id}/adjustments", response_model=Page[TransferRead], responses=READ)
async def list_adjustments(
    round_: ValidRound,
    session: SessionDep,
    view: CallerView,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
):
    """The programme manager's adjustments, oldest first."""
    return await _transfers(session, round_, TransferKind.ADJUSTMENT, view, None, cursor, limit)


@router.post("/{round_id}/moves", status_code=201, response_model=TransferRead, responses=WRITE)
async def move(
    round_id: uuid.UUID,
    body: TransferBody,
    session: SessionDep,
    principal: MunicipalityAdmin,
    view: CallerView,
    idem: IdempotencyDep,
    now: NowDep,
):
    """Move devices between two of your municipality's schools (a published round)."""
    if replay := await idem.replay(body):
        return replay
    transfer = await changes.move(
        session, principal=principal, view=view, round_id=round_id, body=body, now=now
    )
    return idem.respond(201, views.transfer_read(transfer, view))


@router.get("/{round_id}/moves", response_model=Page[TransferRead], responses=READ)
async def list_moves(
    round_: ValidRound,
    session: SessionDep,
    view: CallerView,
    municipality: Municipality = None,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
):
    """Municipalities' moves, oldest first (analysts: without reasons)."""
    return await _transfers(session, round_, TransferKind.MOVE, view, municipality, cursor, limit)


async def _transfers(
    session: SessionDep,
    round_: AllocationRound,
    kind: TransferKind,
    view: View,
    municipality: str | None,
    cursor: str | None,
    limit: int,
) -> Response:
    codes = municipalities_filter(view, municipality)
    rows = await Transfers(session).page(
        round_.id, kind, municipalities=codes, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda t: (t.at, t.id))
    return page_response([views.transfer_read(t, view) for t in items], nxt)


@router.put("/{round_id}/orders/{institution_number}", response_model=LineRead, responses=WRITE)
async def record_order(
    round_id: uuid.UUID,
    institution_number: Annotated[str, Path(pattern=REG_NUMBER_PATTERN)],
    body: OrderBody,
    session: SessionDep,
    principal: OrderTaker,
    view: CallerView,
    now: NowDep,
):
    """How many devices are ordered for the school under the round's order reference."""
    line = await changes.record_order(
        session,
        principal=principal,
        view=view,
        round_id=round_id,
        institution=institution_number,
        ordered=body.ordered,
        now=now,
    )
    return views.line_read(line)
