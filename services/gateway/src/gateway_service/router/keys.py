"""Signing keys: the published ones and their rotation (platform administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway_service import service
from gateway_service.deps import Settings
from gateway_service.router.base import PlatformAdmin
from gateway_service.schemas import SigningKeyRead
from shared_kit.auth import CurrentPrincipal
from shared_kit.deps import ClientAddress, ClockDep, NowDep, SessionDep
from shared_kit.problems import problem_responses

router = APIRouter(tags=["keys"])


@router.get("/keys", response_model=list[SigningKeyRead], dependencies=[PlatformAdmin])
async def list_keys(session: SessionDep, settings: Settings, now: NowDep) -> Any:
    """The published signing keys and their states."""
    return await service.published_keys(session=session, settings=settings, now=now)


@router.post(
    "/keys/rotate",
    response_model=list[SigningKeyRead],
    responses=problem_responses(409),
)
async def rotate_keys(
    session: SessionDep,
    settings: Settings,
    principal: CurrentPrincipal,
    address: ClientAddress,
    clock: ClockDep,
    force: Annotated[
        bool, Query(description="Rotate even if the next key may not be in every cache yet")
    ] = False,
) -> Any:
    """Rotate: next → active, active → retired (published until its tokens expire), new next."""
    return await service.rotate_keys(
        session=session,
        settings=settings,
        principal=principal,
        client_address=address,
        clock=clock,
        force=force,
    )
