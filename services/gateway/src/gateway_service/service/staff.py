"""What an administrator needs to grant staff roles: a person found by personal code (as VIIS
knows them), and grants with the names of whom they name (never a personal code)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.config import GatewaySettings
from gateway_service.exceptions import (
    AdminForbidden,
    InvalidPersonalCode,
    PersonNotFound,
    ViisUnavailableProblem,
)
from gateway_service.models import RoleGrant
from gateway_service.repository import PersonRepository
from gateway_service.schemas import GrantRead, PersonFound
from gateway_service.service.common import audit
from gateway_service.service.people import grant_scope, resolve_person
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import actor_of
from shared_kit.viis import ViisDirectory, ViisError, ViisPerson, normalise_personal_code

PERSON_ACTOR = "person:"


async def find_person(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    principal: Principal,
    viis: ViisDirectory,
    personal_code: str,
    client_address: str | None,
    now: dt.datetime,
) -> PersonFound | None:
    """The person VIIS knows by this code, registered here on first sight (so that a role can
    be granted before their first login, or a school record a child's paper answer): platform
    and municipality administrators; a school's admin only for learners of their own schools
    (anyone else is None, as a person VIIS does not know is a 404). Every lookup audited."""
    school_only = _school_admin_only(principal)
    try:
        found = await _in_viis(viis, personal_code)
    except PersonNotFound:
        if not school_only:
            raise
        found = None
    if school_only and not _learner_of(found, principal):
        _audit(session, principal, now, None, client_address, outcome="refused")
        return None
    assert found is not None  # VIIS knew them: a school's admin's learner, or _in_viis returned
    person = await resolve_person(
        session=session,
        settings=settings,
        personal_code=personal_code,
        now=now,
        given_name=found.given_name,
        family_name=found.family_name,
        viis_id=found.viis_id,
    )
    _audit(session, principal, now, str(person.id), client_address)
    return PersonFound(id=person.id, given_name=found.given_name, family_name=found.family_name)


def _school_admin_only(principal: Principal) -> bool:
    """True for a school's admin (who may look up their learners only); administrators of
    grants are False; everyone else is refused (403)."""
    try:
        grant_scope(principal)  # platform and municipality administrators
    except AdminForbidden:
        if principal.client_id is None and principal.has(Role.INSTITUTION_ADMIN):
            return True
        raise
    return False


def _learner_of(found: ViisPerson | None, principal: Principal) -> bool:
    """Whether VIIS has the person as a learner at one of the principal's schools."""
    enrolment = found.learner if found is not None else None
    return enrolment is not None and enrolment.institution_reg_no in principal.institutions


def _audit(
    session: AsyncSession,
    principal: Principal,
    now: dt.datetime,
    target: str | None,
    client_address: str | None,
    **details: str,
) -> None:
    audit(
        session,
        at=now,
        actor=actor_of(principal),
        action="person.looked_up",
        target=target,
        client_address=client_address,
        **details,
    )


async def _in_viis(viis: ViisDirectory, personal_code: str) -> ViisPerson:
    """VIIS's record of the person (the messages never repeat the code)."""
    try:
        code = normalise_personal_code(personal_code)
    except ValueError:
        raise InvalidPersonalCode("This is not a personal code (DDMMYY-NNNNN)") from None
    try:
        found = await viis.person_by_personal_code(code)
    except ViisError:
        raise ViisUnavailableProblem("VIIS cannot be asked about the person now") from None
    if found is None:
        raise PersonNotFound("VIIS knows nobody with this personal code")
    return found


async def named(session: AsyncSession, grants: Sequence[RoleGrant]) -> list[GrantRead]:
    """The grants as read, with the names of their holders and of who granted them."""
    granters = {g.id: _person_of(g.granted_by) for g in grants}
    ids = [g.person_id for g in grants] + [p for p in granters.values() if p is not None]
    names = await PersonRepository(session).names(ids)
    return [
        GrantRead.model_validate(g).model_copy(
            update={
                "person_name": names.get(g.person_id),
                "granted_by_name": names.get(granter) if (granter := granters[g.id]) else None,
            }
        )
        for g in grants
    ]


def _person_of(actor: str) -> uuid.UUID | None:
    """The person an audit name (`person:<id>`) names, if it names one."""
    if not actor.startswith(PERSON_ACTOR):
        return None
    try:
        return uuid.UUID(actor.removeprefix(PERSON_ACTOR))
    except ValueError:
        return None
