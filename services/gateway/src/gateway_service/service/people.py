"""People, role grants, the bootstrap admin, and the internal personal-code lookup."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import crypto
from gateway_service.config import GatewaySettings
from gateway_service.exceptions import (
    AdminForbidden,
    AlreadyRevoked,
    DuplicateGrant,
    GrantNotFound,
    InvalidGrantTarget,
    InvalidPersonalCode,
    PersonNotFound,
    ViisUnavailableProblem,
)
from gateway_service.models import GrantedRole, Person, RoleGrant
from gateway_service.repository import GrantRepository, PersonRepository
from gateway_service.schemas import GrantCreate, GrantTarget, PersonIdentity
from gateway_service.service import roles
from gateway_service.service.common import PERSONAL_CODE_SCOPE, audit
from shared_kit.auth import Principal, Role
from shared_kit.crypto import RotatingCipher
from shared_kit.tenancy import Scope, actor_of
from shared_kit.viis import ViisError, ViisPersonRegister

MUNICIPAL_ROLES = frozenset({GrantedRole.MUNICIPALITY_ADMIN, GrantedRole.TECHNICIAN})


async def resolve_person(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    personal_code: str,
    now: dt.datetime,
    given_name: str | None = None,
    family_name: str | None = None,
    viis_id: str | None = None,
) -> Person:
    """The person with this personal code, created on first sight (names kept current).

    A person already known by `viis_id` alone (a guardian's child) gets the code attached.
    """
    try:
        code = crypto.normalise_personal_code(personal_code)
    except ValueError as exc:
        raise InvalidPersonalCode(str(exc)) from None  # the message never repeats the code
    code_hmac = crypto.personal_code_hmac(code, settings.personal_code_pepper.get_secret_value())
    repo = PersonRepository(session)
    kek = RotatingCipher(settings.key_encryption_key)
    person = await repo.by_code_hmac(code_hmac)
    if person is None and viis_id is not None:
        person = await repo.by_viis_id(viis_id)
        if person is not None and person.personal_code_hmac is None:
            person.personal_code_hmac = code_hmac
            person.personal_code_encrypted = kek.encrypt(code).decode()
        elif person is not None:
            person, viis_id = None, None  # that VIIS id has another code: keep them apart
    if person is not None:
        person.given_name = given_name or person.given_name
        person.family_name = family_name or person.family_name
        person.viis_id = person.viis_id or viis_id
        await session.flush()
        return person
    person, created = await repo.insert_or_get(
        {
            "personal_code_hmac": code_hmac,
            "personal_code_encrypted": kek.encrypt(code).decode(),
            "given_name": given_name,
            "family_name": family_name,
            "viis_id": viis_id,
        }
    )
    if not created:
        return person
    audit(session, at=now, actor="gateway", action="person.created", target=str(person.id))
    if _is_bootstrap_admin(code, settings):
        target = GrantTarget(role=GrantedRole.PLATFORM_ADMIN)
        await _grant(session, person.id, target, "bootstrap", None, now)
    return person


def _is_bootstrap_admin(code: str, settings: GatewaySettings) -> bool:
    configured = settings.bootstrap_admin_personal_code
    if configured is None:
        return False
    wanted = crypto.normalise_personal_code(configured.get_secret_value())  # checked at start
    return secrets.compare_digest(code, wanted)


def grant_scope(principal: Principal) -> Scope:
    """The municipalities whose grants the principal administers."""
    if principal.has(Role.PLATFORM_ADMIN):
        return Scope.all()
    if principal.has(Role.MUNICIPALITY_ADMIN) and principal.client_id is None:
        return Scope.of(municipalities=principal.municipalities)
    raise AdminForbidden("Only platform and municipality administrators manage role grants")


async def administered(principal: Principal, viis: ViisPersonRegister) -> Scope:
    """The grants the principal administers: a platform admin's are all; a municipality
    admin's are their municipalities' roles and the admins of their schools (VIIS's list)."""
    scope = grant_scope(principal)
    if scope.everything:
        return scope
    schools = await schools_of(viis, scope.municipality_codes)
    return Scope.of(municipalities=scope.municipality_codes, institutions=schools)


async def schools_of(viis: ViisPersonRegister, municipalities: Iterable[str]) -> list[str]:
    """The registration numbers of the municipalities' schools, as VIIS lists them."""
    try:
        return [
            school.registration_number
            for code in sorted(municipalities)
            for school in await viis.institutions(code)
        ]
    except ViisError:
        raise ViisUnavailableProblem("VIIS cannot be asked for the schools now") from None


def _ensure_may_grant(scope: Scope, target: GrantTarget) -> None:
    if scope.everything:
        return
    role = target.role
    if role is GrantedRole.TECHNICIAN and scope.allows(municipality=target.municipality_code):
        return
    if role is GrantedRole.INSTITUTION_ADMIN and target.institution_number in (
        scope.institution_numbers
    ):
        return
    raise AdminForbidden(
        "Municipality administrators grant only the technician role in their municipality "
        "and the institution admin role at its schools"
    )


def _check_target(target: GrantTarget) -> None:
    needs_municipality = target.role in MUNICIPAL_ROLES
    needs_institution = target.role is GrantedRole.INSTITUTION_ADMIN
    if needs_municipality != (target.municipality_code is not None):
        raise InvalidGrantTarget(
            f"The role {target.role.value} "
            + ("needs" if needs_municipality else "takes no")
            + " municipality_code"
        )
    if needs_institution != (target.institution_number is not None):
        raise InvalidGrantTarget(
            f"The role {target.role.value} "
            + ("needs" if needs_institution else "takes no")
            + " institution_number"
        )


async def _grant(
    session: AsyncSession,
    person_id: uuid.UUID,
    target: GrantTarget,
    granted_by: str,
    client_address: str | None,
    now: dt.datetime,
) -> RoleGrant:
    repo = GrantRepository(session)
    role = target.role
    municipality, institution = target.municipality_code, target.institution_number
    if await repo.live_exists(person_id, role, municipality, institution):
        raise DuplicateGrant(f"The person already holds {role.value} there")
    grant = RoleGrant(
        person_id=person_id,
        role=role,
        municipality_code=municipality,
        institution_number=institution,
        granted_by=granted_by,
        granted_at=now,
    )
    await repo.add(grant)
    await roles.announce(session, person_id, now)
    audit(
        session,
        at=now,
        actor=granted_by,
        action="grant.created",
        target=str(person_id),
        client_address=client_address,
        grant_id=str(grant.id),
        role=role.value,
        municipality=municipality,
        institution=institution,
    )
    return grant


async def list_grants(
    *,
    session: AsyncSession,
    principal: Principal,
    viis: ViisPersonRegister,
    person_id: uuid.UUID | None,
    role: GrantedRole | None,
    municipality_code: str | None,
    include_revoked: bool,
    cursor: str | None,
    limit: int,
) -> Sequence[RoleGrant]:
    """A page of the grants the principal administers, oldest first; with a municipality,
    only its roles and its schools' admins."""
    within = None
    if municipality_code is not None:
        schools = await schools_of(viis, [municipality_code])
        within = Scope.of(municipalities=[municipality_code], institutions=schools)
    return await GrantRepository(session).page(
        person_id=person_id,
        role=role,
        scope=await administered(principal, viis),
        within=within,
        include_revoked=include_revoked,
        cursor=cursor,
        limit=limit,
    )


async def create_grant(
    *,
    session: AsyncSession,
    principal: Principal,
    viis: ViisPersonRegister,
    data: GrantCreate,
    client_address: str | None,
    now: dt.datetime,
) -> RoleGrant:
    """Grant a role (platform admins: any; municipality admins: technicians of their own and
    admins of its schools)."""
    _check_target(data)
    _ensure_may_grant(await _scope_for(principal, viis, data), data)
    if await PersonRepository(session).get(data.person_id) is None:
        raise PersonNotFound(f"No person with id {data.person_id}")
    return await _grant(session, data.person_id, data, actor_of(principal), client_address, now)


async def _scope_for(principal: Principal, viis: ViisPersonRegister, target: GrantTarget) -> Scope:
    """What the principal administers, as far as this target needs to know (VIIS is asked
    only about a school's admin)."""
    if target.role is GrantedRole.INSTITUTION_ADMIN:
        return await administered(principal, viis)
    return grant_scope(principal)


async def provision_grant(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    personal_code: str,
    data: GrantTarget,
    granted_by: str,
    now: dt.datetime,
) -> tuple[RoleGrant | None, Person]:
    """Grant a role to a person known only by personal code (ops CLI); None if already held.

    The person need not have logged in yet: their record is created from the code, and their
    first login attaches the names.
    """
    _check_target(data)
    person = await resolve_person(
        session=session, settings=settings, personal_code=personal_code, now=now
    )
    repo = GrantRepository(session)
    if await repo.live_exists(
        person.id, data.role, data.municipality_code, data.institution_number
    ):
        return None, person
    grant = await _grant(session, person.id, data, granted_by, None, now)
    return grant, person


async def get_grant(
    *, session: AsyncSession, principal: Principal, viis: ViisPersonRegister, grant_id: uuid.UUID
) -> RoleGrant:
    """A grant the principal administers (404 when missing, 403 when not theirs)."""
    grant = await GrantRepository(session).get(grant_id)
    if grant is None:
        raise GrantNotFound(f"No role grant with id {grant_id}")
    target = GrantTarget(
        role=grant.role,
        municipality_code=grant.municipality_code,
        institution_number=grant.institution_number,
    )
    scope = await administered(principal, viis)
    if not scope.allows(
        municipality=target.municipality_code, institution=target.institution_number
    ):
        raise AdminForbidden("This grant is outside your administration")
    return grant


async def revoke_grant(
    *,
    session: AsyncSession,
    principal: Principal,
    viis: ViisPersonRegister,
    grant_id: uuid.UUID,
    client_address: str | None,
    now: dt.datetime,
) -> RoleGrant:
    """Revoke a grant; it leaves the person's tokens at their next refresh (and is announced)."""
    grant = await GrantRepository(session).get(grant_id, for_update=True)
    if grant is None:
        raise GrantNotFound(f"No role grant with id {grant_id}")
    target = GrantTarget(
        role=grant.role,
        municipality_code=grant.municipality_code,
        institution_number=grant.institution_number,
    )
    _ensure_may_grant(await _scope_for(principal, viis, target), target)
    if grant.revoked_at is not None:
        raise AlreadyRevoked("This grant is already revoked")
    grant.revoked_at, grant.revoked_by = now, actor_of(principal)
    await session.flush()
    await roles.announce(session, grant.person_id, now)
    audit(
        session,
        at=now,
        actor=actor_of(principal),
        action="grant.revoked",
        target=str(grant.person_id),
        client_address=client_address,
        grant_id=str(grant.id),
        role=grant.role.value,
    )
    return grant


async def reveal_person(
    *,
    session: AsyncSession,
    settings: GatewaySettings,
    principal: Principal,
    person_id: uuid.UUID,
    client_address: str | None,
    now: dt.datetime,
) -> PersonIdentity:
    """Name and personal code for a trusted machine client; every lookup is audited."""
    if principal.client_id is None or not principal.has(Role.SERVICE):
        raise AdminForbidden("Only trusted services (machine clients) may read personal codes")
    if PERSONAL_CODE_SCOPE not in principal.scopes:
        raise AdminForbidden(f"This client lacks the scope '{PERSONAL_CODE_SCOPE}'")
    person = await PersonRepository(session).get(person_id)
    if person is None or person.personal_code_encrypted is None:
        raise PersonNotFound(f"No person with id {person_id} and a known personal code")
    kek = RotatingCipher(settings.key_encryption_key)
    audit(
        session,
        at=now,
        actor=actor_of(principal),
        action="person.personal_code_read",
        target=str(person.id),
        client_address=client_address,
    )
    return PersonIdentity(
        id=person.id,
        given_name=person.given_name,
        family_name=person.family_name,
        personal_code=kek.decrypt(person.personal_code_encrypted),
    )
