"""A municipality's support queue summary and its SLA policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from shared_kit.concurrency import IfMatch, etag
from shared_kit.deps import NowDep, SessionDep
from shared_kit.fields import ATVK_PATTERN
from shared_kit.problems import problem_responses
from tickets_service.deps import PolicyAdmin, Reader
from tickets_service.models import Severity
from tickets_service.router.base import COMMON, PREFIX
from tickets_service.schemas import OldestOpen, QueueSummary, SlaPolicyRead, SlaTargets
from tickets_service.service import policies
from tickets_service.service import tickets as service

router = APIRouter(prefix=PREFIX, responses=COMMON)
AtvkPath = Annotated[str, Path(pattern=ATVK_PATTERN)]


@router.get("/queues/{municipality_code}/summary", response_model=QueueSummary, tags=["queues"])
async def queue_summary(
    municipality_code: AtvkPath, session: SessionDep, principal: Reader, now: NowDep
):
    """Counts by state, open tickets by severity and assignee, the oldest open ticket and the
    open tickets with a flagged SLA breach (support of the municipality)."""
    counts = await service.queue(
        session=session, principal=principal, municipality_code=municipality_code
    )
    oldest = counts.oldest_open
    return QueueSummary(
        municipality_code=municipality_code,
        at=now,
        by_state=counts.by_state,
        open_total=sum(counts.open_by_severity.values()),
        open_by_severity=counts.open_by_severity,
        open_by_assignee={k or "unassigned": v for k, v in counts.open_by_assignee.items()},
        oldest_open=(
            OldestOpen(
                id=oldest.id,
                number=oldest.number,
                opened_at=oldest.opened_at,
                age_seconds=int((now - oldest.opened_at).total_seconds()),
            )
            if oldest
            else None
        ),
        open_response_breached=counts.response_breached_open,
        open_resolution_breached=counts.resolution_breached_open,
    )


@router.get("/sla-policies/{municipality_code}", response_model=list[SlaPolicyRead], tags=["sla"])
async def get_policies(municipality_code: AtvkPath, session: SessionDep, _: Reader):
    """A municipality's SLA targets per severity (the defaults where none is stored)."""
    return [
        SlaPolicyRead.model_validate(p, from_attributes=True)
        for p in await policies.policies(session, municipality_code)
    ]


@router.put(
    "/sla-policies/{municipality_code}/{severity}",
    response_model=SlaPolicyRead,
    tags=["sla"],
    responses=problem_responses(412),
)
async def put_policy(
    municipality_code: AtvkPath,
    severity: Severity,
    body: SlaTargets,
    session: SessionDep,
    principal: PolicyAdmin,
    response: Response,
    if_match: IfMatch = None,
):
    """Set one severity's targets (municipality or platform administrators). New tickets use
    them; open tickets keep the targets they were opened with."""
    policy = await policies.put_policy(
        session=session,
        principal=principal,
        municipality_code=municipality_code,
        severity=severity,
        data=body,
        if_match=if_match,
    )
    response.headers["ETag"] = etag(policy.version)
    return SlaPolicyRead.model_validate(policy, from_attributes=True)
