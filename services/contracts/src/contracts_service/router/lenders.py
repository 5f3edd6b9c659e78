"""Lenders' legal details (`/lenders`)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from contracts_service.deps import Cipher, PressDep, Settings
from contracts_service.models import LenderKind
from contracts_service.router.base import COMMON, PREFIX
from contracts_service.schemas import LenderCreate, LenderRead, LenderUpdate
from contracts_service.service import lenders
from shared_kit.auth import CurrentPrincipal
from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import NowDep, SessionDep
from shared_kit.idempotency import IdempotencyDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses

router = APIRouter(prefix=f"{PREFIX}/lenders", tags=["lenders"], responses=COMMON)


@router.post("", status_code=201, response_model=LenderRead, responses=problem_responses(409))
async def create_lender(
    body: LenderCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: Settings,
    cipher: Cipher,
    press: PressDep,
    now: NowDep,
    idem: IdempotencyDep,
):
    """Register a lender's legal details (municipality or platform administrators).

    Contracts waiting for these details get a new version that can be signed."""
    if replay := await idem.replay(body):
        return replay
    lender = await lenders.create(
        session=session,
        settings=settings,
        cipher=cipher,
        press=press,
        principal=principal,
        data=body,
        now=now,
    )
    return idem.respond(201, LenderRead.model_validate(lender), {"ETag": etag(lender.version)})


@router.get("", response_model=Page[LenderRead])
async def list_lenders(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Lenders of the municipalities you administer (all for platform administrators)."""
    rows = await lenders.page(session, principal, cursor, limit)
    items, nxt = page_of(rows, limit, lambda lender: (lender.kind.value, lender.code))
    return page_response([LenderRead.model_validate(r) for r in items], nxt)


@router.get("/{kind}/{code}", response_model=LenderRead, responses=problem_responses(404))
async def get_lender(
    kind: LenderKind,
    code: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
):
    """One lender."""
    lender = await lenders.get(session, principal, kind, code)
    response.headers["ETag"] = etag(lender.version)
    return lender


@router.patch("/{kind}/{code}", response_model=LenderRead, responses=problem_responses(404, 412))
async def update_lender(
    kind: LenderKind,
    code: str,
    body: LenderUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: Settings,
    cipher: Cipher,
    press: PressDep,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change a lender's details; contracts not yet signed get a new version."""
    lender = await lenders.get(session, principal, kind, code)
    lender = await lenders.update(
        session=session,
        settings=settings,
        cipher=cipher,
        press=press,
        principal=principal,
        lender=lender,
        data=body,
        if_match=if_match,
        now=now,
    )
    response.headers["ETag"] = etag(lender.version)
    return lender
