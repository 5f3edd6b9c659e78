"""A person's staff roles, and `person.roles_changed` when they change (see `events`).

The set is computed from what VIIS named at the person's last login (`Person.viis_staff`) and
their live grants; it is published only when it differs from the last published set
(`Person.published_roles`, compared under the person's row lock, so that concurrent logins,
grants and revocations publish each change once). A person who never held a staff role has
nothing to announce.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import events
from gateway_service.events import HeldRole
from gateway_service.models import Person, RoleGrant
from gateway_service.repository import GrantRepository, PersonRepository
from shared_kit.viis import StaffRole, ViisPerson

_MAPPED = frozenset(r.value for r in StaffRole)


def viis_positions(person: ViisPerson | None) -> list[dict[str, str]]:
    """The staff positions VIIS names that the platform maps (teacher, institution admin)."""
    if person is None:
        return []
    return [
        {"role": p.role, "institution_number": p.institution_reg_no}
        for p in person.staff
        if p.role in _MAPPED
    ]


def staff_roles(
    viis_staff: Iterable[dict[str, Any]], grants: Iterable[RoleGrant]
) -> list[HeldRole]:
    """The whole set of staff roles, each once, in a stable order."""
    held = {
        HeldRole(role=p["role"], municipality_code=None, institution_number=p["institution_number"])
        for p in viis_staff
    }
    held |= {
        HeldRole(
            role=g.role.value,
            municipality_code=g.municipality_code,
            institution_number=g.institution_number,
        )
        for g in grants
    }
    return sorted(
        held, key=lambda r: (r.role, r.municipality_code or "", r.institution_number or "")
    )


async def announce(session: AsyncSession, person_id: uuid.UUID, now: dt.datetime) -> bool:
    """Publish the person's staff roles if they differ from the last published; True if so."""
    person = await PersonRepository(session).lock(person_id)
    if person is None:
        return False
    roles = staff_roles(person.viis_staff, await GrantRepository(session).live_for(person_id))
    current = [r.model_dump() for r in roles]
    if current == (person.published_roles or []):
        return False
    person.published_roles = current
    events.publish_roles_changed(
        session, events.PersonRolesChanged(person_id=person.id, roles=roles, changed_at=now)
    )
    await session.flush()
    return True


async def seen_at_login(
    session: AsyncSession, person: Person, viis_person: ViisPerson | None, now: dt.datetime
) -> bool:
    """Keep what VIIS said of the person's positions at this login and announce a change."""
    person.viis_staff = viis_positions(viis_person)
    await session.flush()
    return await announce(session, person.id, now)
