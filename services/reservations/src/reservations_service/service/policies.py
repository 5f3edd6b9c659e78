"""Municipal policies: approval mode, limits, pickup deadline and the default period end.

A municipality without a stored policy uses the defaults (auto-approve, one active
reservation per learner, at most 366 days, seven days to pick up, school year ending on
1 June). The default period ends at local midnight (settings `timezone`, Europe/Riga) at the
start of the policy's `school_year_end` day, the first such moment after the start; the
Latvian school year's lessons end in late May or June, and devices come back before summer.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from reservations_service.models import Policy
from reservations_service.repository import PolicyRepository
from reservations_service.schemas import PolicyWrite
from reservations_service.service.access import ensure_manages_policy
from shared_kit.auth import Principal
from shared_kit.concurrency import check_if_match
from shared_kit.tenancy import actor_of

DEFAULTS = PolicyWrite()


def default_policy(municipality_code: str) -> Policy:
    """A transient policy with the defaults (version 0: never stored)."""
    return Policy(
        municipality_code=municipality_code,
        version=0,
        updated_by="default",
        **DEFAULTS.model_dump(),
    )


async def effective_policy(session: AsyncSession, municipality_code: str) -> Policy:
    """The municipality's policy, or the defaults."""
    stored = await PolicyRepository(session).get(municipality_code)
    return stored if stored is not None else default_policy(municipality_code)


async def put_policy(
    *,
    session: AsyncSession,
    principal: Principal,
    municipality_code: str,
    data: PolicyWrite,
    if_match: str | None,
) -> Policy:
    """Replace a municipality's policy (If-Match `"0"` for one that was never stored)."""
    ensure_manages_policy(principal, municipality_code)
    repo = PolicyRepository(session)
    policy = await repo.get(municipality_code, for_update=True)
    check_if_match(if_match, policy.version if policy else 0)
    if policy is None:
        policy = Policy(municipality_code=municipality_code, updated_by=actor_of(principal))
        repo.add(policy)
    for name, value in data.model_dump().items():
        setattr(policy, name, value)
    policy.updated_by = actor_of(principal)
    await session.flush()
    return policy


def school_year_end_after(start: dt.datetime, month_day: str, timezone: str) -> dt.datetime:
    """The first local midnight of `month_day` (MM-DD) strictly after `start`."""
    zone = ZoneInfo(timezone)
    month, day = (int(p) for p in month_day.split("-"))
    local = start.astimezone(zone)
    for year in (local.year, local.year + 1):
        candidate = dt.datetime(year, month, day, tzinfo=zone)
        if candidate > start:
            return candidate.astimezone(dt.UTC)
    raise AssertionError("unreachable: next year's date is always later")
