"""Staff: who holds which role where (from the gateway), and the schools' daily digest.

The gateway publishes a person's whole current staff role set when it changes; the roster
keeps the newest. Every morning at `DIGEST_HOUR` (Europe/Riga) each school with requests
waiting for approval (`requested`, from the reservation events) gets one notice per school
admin, cause `approvals_waiting:<school>:<day>`; the day's run is claimed by one row, so a
second replica or a second scan makes nothing again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from notifications_service.repository.readmodels import RosterRepository, TrackingRepository
from notifications_service.service.notices import Tell, tell_each
from notifications_service.service.reminders import local_day

DIGEST = "approvals_waiting"
DIGEST_HOUR = 8


async def roles_changed(
    session: AsyncSession, person_id: str, roles: list[dict[str, Any]], changed_at: dt.datetime
) -> None:
    """Keep a person's current staff roles (an older change than the one kept is ignored)."""
    await RosterRepository(session).set_roles(person_id, roles, changed_at)


def approvals_link(school: str) -> str:
    """A school's page of requests waiting for approval."""
    return f"/schools/{school}/approvals"


async def approvals_digest(session: AsyncSession, *, now: dt.datetime, timezone: str) -> int:
    """Today's digest to the admins of every school with waiting requests; notices made."""
    day = local_day(now, timezone)
    if now.astimezone(ZoneInfo(timezone)).hour < DIGEST_HOUR:
        return 0
    roster = RosterRepository(session)
    if not await roster.claim_digest(DIGEST, day):
        return 0
    made = 0
    for _, school, waiting in await TrackingRepository(session).waiting_by_school():
        admins = await roster.holders("institution_admin", institution_number=school)
        params = {"school": school, "count": waiting, "day_on": day.isoformat()}
        cause = f"{DIGEST}:{school}:{day.isoformat()}"
        message = Tell(DIGEST, "", cause, params, approvals_link(school))
        made += await tell_each(session, admins, message, now=now)
    return made
