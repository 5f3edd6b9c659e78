"""Granting a role to a person an administrator names by personal code.

The code is typed once by the administrator: VIIS says whom it names (the name is what the
administrator confirms), and the grant finds or creates the person's record from it, so the
person need not have logged in yet. A role already held is answered as it stands, so a
repeated request grants nothing twice. No answer, log or audit record carries the code.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import crypto
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import (
    InvalidPersonalCode,
    PersonNotFound,
    ViisUnavailableProblem,
)
from gateway_service.models import RoleGrant
from gateway_service.repository import GrantRepository
from gateway_service.schemas import GrantByCode, GrantTarget
from gateway_service.service.people import (
    _check_target,
    _ensure_may_grant,
    _grant,
    administered,
    resolve_person,
)
from shared_kit.auth import Principal
from shared_kit.tenancy import actor_of
from shared_kit.viis import ViisDirectory, ViisError, ViisPerson, ViisPersonRegister


async def grant_by_personal_code(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    principal: Principal,
    viis: ViisDirectory,
    register: ViisPersonRegister,
    data: GrantByCode,
    client_address: str | None,
    now: dt.datetime,
) -> tuple[RoleGrant, bool]:
    """The grant (and whether this request created it) of a role to the person VIIS knows by
    this code; a role they already hold there is returned as it is."""
    target = GrantTarget(
        role=data.role,
        municipality_code=data.municipality_code,
        institution_number=data.institution_number,
    )
    _check_target(target)
    _ensure_may_grant(await administered(principal, register), target)
    found = await _in_viis(viis, data.personal_code)
    person = await resolve_person(
        session=session,
        settings=settings,
        personal_code=data.personal_code,
        now=now,
        given_name=found.given_name,
        family_name=found.family_name,
        viis_id=found.viis_id,
    )
    held = await GrantRepository(session).live(
        person.id, target.role, target.municipality_code, target.institution_number
    )
    if held is not None:
        return held, False
    grant = await _grant(session, person.id, target, actor_of(principal), client_address, now)
    return grant, True


async def _in_viis(viis: ViisDirectory, personal_code: str) -> ViisPerson:
    """The person VIIS knows by this code: 422 for a malformed code, 404 for an unknown one."""
    try:
        code = crypto.normalise_personal_code(personal_code)
    except ValueError:
        raise InvalidPersonalCode("Not a personal code: expected DDMMYY-NNNNN") from None
    try:
        person = await viis.person_by_personal_code(code)
    except ViisError:
        raise ViisUnavailableProblem("VIIS cannot be asked about this person now") from None
    if person is None:
        raise PersonNotFound("VIIS knows no person with this personal code")
    return person
