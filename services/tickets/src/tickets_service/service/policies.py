"""Municipal SLA policies: per municipality and severity, the defaults where none is stored."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.tenancy import actor_of
from tickets_service.models import Severity, SlaPolicy
from tickets_service.repository import PolicyRepository
from tickets_service.schemas import SlaTargets
from tickets_service.service import access
from tickets_service.service.sla import DEFAULT_TARGETS


def default_policy(municipality_code: str, severity: Severity) -> SlaPolicy:
    """An unsaved policy with the default targets (version 0: nothing stored)."""
    response, resolution = DEFAULT_TARGETS[severity]
    return SlaPolicy(
        municipality_code=municipality_code,
        severity=severity,
        response_minutes=response,
        resolution_minutes=resolution,
        updated_by="default",
        version=0,
    )


async def targets(
    session: AsyncSession, municipality_code: str, severity: Severity
) -> tuple[int, int]:
    """(response, resolution) minutes for a new ticket of this municipality and severity."""
    stored = await PolicyRepository(session).get(municipality_code, severity)
    if stored is None:
        return DEFAULT_TARGETS[severity]
    return stored.response_minutes, stored.resolution_minutes


async def policies(session: AsyncSession, municipality_code: str) -> list[SlaPolicy]:
    """Every severity's policy of a municipality, stored or default, most severe first."""
    stored = {
        p.severity: p for p in await PolicyRepository(session).of_municipality(municipality_code)
    }
    return [stored.get(s) or default_policy(municipality_code, s) for s in Severity]


async def put_policy(
    *,
    session: AsyncSession,
    principal: Principal,
    municipality_code: str,
    severity: Severity,
    data: SlaTargets,
    if_match: str | None,
) -> SlaPolicy:
    """Replace one severity's targets (new tickets use them; open ones keep theirs)."""
    access.ensure_manages_policy(principal, municipality_code)
    repo = PolicyRepository(session)
    policy = await repo.get(municipality_code, severity, for_update=True)
    check_if_match(if_match, policy.version if policy else 0)
    if policy is None:
        policy = SlaPolicy(municipality_code=municipality_code, severity=severity)
        repo.add(policy)
    policy.response_minutes = data.response_minutes
    policy.resolution_minutes = data.resolution_minutes
    policy.updated_by = actor_of(principal)
    await session.flush()
    return policy
