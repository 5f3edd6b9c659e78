"""Shared by the service modules: the audit log and the scope catalogue."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.models import AuditEvent
from gateway_service.repository import AuditRepository
from shared_kit.auth import Principal
from shared_kit.housekeeping import Purge
from shared_kit.observability import correlation_id
from shared_kit.tenancy import actor_of

PERSONAL_CODE_SCOPE = "people:personal-code"
# Every scope a machine client can hold; `<audience>:<action>` names the service it is for.
SCOPES: dict[str, str] = {
    "inventory:read": "Read devices, the catalogue and reference data",
    "inventory:write": "Register and change devices of the client's municipality",
    "reservations:read": "Read reservations",
    "reservations:write": "Create and change reservations",
    "contracts:read": "Read loan contracts",
    "contracts:write": "Create and change loan contracts",
    "tickets:read": "Read problem reports",
    "tickets:write": "File and change problem reports",
    "statistics:read": "Read aggregated statistics",
    "statistics:feed": "Consume the VIIS statistics feed",
    PERSONAL_CODE_SCOPE: "Fetch a person's name and personal code (contracts only)",
}
# Scopes only platform administrators may hand out.
PRIVILEGED_SCOPES = frozenset({PERSONAL_CODE_SCOPE})


def person_actor(person_id: uuid.UUID) -> str:
    """How the audit log names a person acting for themselves (as `actor_of` names callers)."""
    return actor_of(Principal(subject=str(person_id)))


def client_actor(client_id: str) -> str:
    """How the audit log names a machine client before it has a token (as `actor_of` does)."""
    return actor_of(Principal(subject=client_id, client_id=client_id))


def audit(
    session: AsyncSession,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str | None = None,
    client_address: str | None = None,
    **details: Any,
) -> None:
    """Add an audit record to the caller's transaction (never pass personal codes)."""
    AuditRepository(session).add(
        AuditEvent(
            at=at,
            actor=actor,
            action=action,
            target=target,
            client_address=client_address,
            details=details,
            correlation_id=correlation_id.get(),
        )
    )


async def list_audit(
    *, session: AsyncSession, action: str | None, actor: str | None, cursor: str | None, limit: int
) -> Sequence[AuditEvent]:
    """A page of the audit log, oldest first, of one action or actor when given."""
    return await AuditRepository(session).page(action, actor, cursor, limit)


def audit_purge(retention_days: int) -> Purge:
    """Housekeeping: delete audit records older than the retention (kept for inspections)."""

    async def purge(session: AsyncSession, at: dt.datetime) -> dict[str, int]:
        cutoff = at - dt.timedelta(days=retention_days)
        return {"audit_events": await AuditRepository(session).delete_before(cutoff)}

    return purge
