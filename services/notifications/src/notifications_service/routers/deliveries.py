"""Deliveries for platform administrators: the failed ones, and a retry."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from notifications_service.deps import PlatformAdmin
from notifications_service.models import DeliveryState
from notifications_service.schemas.deliveries import DeliveryRead
from notifications_service.service import deliveries as service
from shared_kit.deps import NowDep, SessionDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of, page_response
from shared_kit.problems import problem_responses

router = APIRouter(
    prefix="/deliveries", tags=["deliveries"], responses=problem_responses(400, 401, 403, 422)
)


@router.get("", response_model=Page[DeliveryRead])
async def list_deliveries(
    session: SessionDep,
    _: PlatformAdmin,
    state: DeliveryState = DeliveryState.FAILED,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """Deliveries in a state (failed by default), least recently changed first; no address
    and no text, only what finding the trouble needs."""
    rows = await service.list_deliveries(session=session, state=state, cursor=cursor, limit=limit)
    items, nxt = page_of(rows, limit, lambda row: (row[0].updated_at, row[0].id))
    return page_response([DeliveryRead.of(d, kind) for d, kind in items], nxt)


@router.post("/{delivery_id}/retry", status_code=202, responses=problem_responses(404, 409))
async def retry_delivery(
    delivery_id: uuid.UUID, session: SessionDep, _: PlatformAdmin, now: NowDep
) -> Response:
    """Send a failed delivery again: back to pending now, its attempts reset."""
    await service.retry(session=session, delivery_id=delivery_id, now=now)
    return Response(status_code=202)
