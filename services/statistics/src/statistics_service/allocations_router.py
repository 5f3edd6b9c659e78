"""HTTP endpoints of planning's allocation rounds under `/api/v1/statistics/allocations`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from shared_kit.deps import SessionDep
from shared_kit.fields import ATVK_PATTERN
from shared_kit.problems import problem_responses
from statistics_service.deps import Reader
from statistics_service.router import PREFIX
from statistics_service.schemas import AllocationRoundList, AllocationView
from statistics_service.service import allocation_views

router = APIRouter(
    prefix=f"{PREFIX}/allocations",
    tags=["allocations"],
    responses=problem_responses(400, 401, 403, 422, 503),
)
Municipality = Annotated[
    str | None, Query(pattern=ATVK_PATTERN, description="Per school in this municipality")
]


@router.get("", response_model=AllocationRoundList)
async def allocation_rounds(session: SessionDep, principal: Reader) -> AllocationRoundList:
    """Published allocation rounds with allocated, ordered and delivered devices (in tenancy)."""
    return await allocation_views.list_rounds(session, principal=principal)


@router.get("/{round_id}", response_model=AllocationView, responses=problem_responses(404))
async def allocation_round(
    round_id: uuid.UUID, session: SessionDep, principal: Reader, municipality: Municipality = None
) -> AllocationView:
    """One round per municipality, and per school with `?municipality=` (or a school's own)."""
    return await allocation_views.round_view(
        session, principal=principal, round_id=round_id, municipality=municipality
    )
