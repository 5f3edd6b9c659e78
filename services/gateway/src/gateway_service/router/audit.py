"""The audit log (platform administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway_service import service
from gateway_service.router.base import PlatformAdmin
from gateway_service.schemas import AuditRead
from shared_kit.deps import SessionDep
from shared_kit.pagination import CursorParam, LimitParam, Page, page_of

router = APIRouter(tags=["audit"], dependencies=[PlatformAdmin])


@router.get("/audit", response_model=Page[AuditRead])
async def list_audit(
    session: SessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """The audit log, oldest first (platform administrators)."""
    rows = await service.list_audit(
        session=session, action=action, actor=actor, cursor=cursor, limit=limit
    )
    items, nxt = page_of(rows, limit, lambda a: (a.seq,))
    return Page(items=[AuditRead.model_validate(a) for a in items], next_cursor=nxt)
