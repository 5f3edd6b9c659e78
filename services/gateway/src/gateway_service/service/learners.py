"""A learner's enrolment as VIIS has it now, for those who may know it (never a personal code).

Who may ask: the learner themself, a guardian whose token names the learner, the admins of
the learner's school or of its municipality. Everyone else gets the answer a person who is not
a learner gets (None here, 404 at the API), so the answer reveals nothing. Staff reads are
audited, refused ones too: the caller commits the audit with the 404.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.exceptions import ViisUnavailableProblem
from gateway_service.repository import PersonRepository
from gateway_service.schemas import EnrolmentRead
from gateway_service.service.common import audit
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import actor_of
from shared_kit.viis import ViisError, ViisPerson, ViisPersonRegister

STAFF_ROLES = (Role.INSTITUTION_ADMIN, Role.MUNICIPALITY_ADMIN)


async def learner_enrolment(
    *,
    session: AsyncSession,
    principal: Principal,
    viis: ViisPersonRegister,
    person_id: uuid.UUID,
    client_address: str | None,
    now: dt.datetime,
) -> EnrolmentRead | None:
    """The learner's school, municipality, grade and class, or None (not theirs to know)."""
    own = _own(principal, person_id)
    staff = principal.client_id is None and principal.has(*STAFF_ROLES)
    enrolment = await _enrolment(session, viis, person_id) if own or staff else None
    allowed = enrolment is not None and (own or _administers(principal, enrolment))
    if staff and not own:
        audit(
            session,
            at=now,
            actor=actor_of(principal),
            action="learner.enrolment_read",
            target=str(person_id),
            client_address=client_address,
            outcome="shown" if allowed else "refused",
        )
    return enrolment if allowed else None


def _own(principal: Principal, person_id: uuid.UUID) -> bool:
    """The learner themself, or a guardian whose token names them."""
    if principal.client_id is not None:
        return False
    person = str(person_id)
    return principal.subject == person or (
        principal.has(Role.GUARDIAN) and person in principal.learners
    )


def _administers(principal: Principal, enrolment: EnrolmentRead) -> bool:
    """An admin of the learner's school, or of the school's municipality."""
    school = principal.has(Role.INSTITUTION_ADMIN) and (
        enrolment.institution_number in principal.institutions
    )
    municipality = principal.has(Role.MUNICIPALITY_ADMIN) and (
        enrolment.municipality_code in principal.municipalities
    )
    return bool(school or municipality)


async def _enrolment(
    session: AsyncSession, viis: ViisPersonRegister, person_id: uuid.UUID
) -> EnrolmentRead | None:
    """The person's enrolment as VIIS has it now, or None when they are no learner there."""
    person = await PersonRepository(session).get(person_id)
    if person is None or person.viis_id is None:
        return None
    try:
        found = await viis.person_by_viis_id(person.viis_id)
        if found is None or found.learner is None:
            return None
        schools = {i.registration_number: i for i in await viis.institutions()}
    except ViisError:
        raise ViisUnavailableProblem("VIIS cannot be asked about the learner now") from None
    school = schools.get(found.learner.institution_reg_no)
    return _read(person_id, found, school.municipality_code if school else None)


def _read(person_id: uuid.UUID, found: ViisPerson, municipality: str | None) -> EnrolmentRead:
    assert found.learner is not None
    return EnrolmentRead(
        person_id=person_id,
        given_name=found.given_name,
        family_name=found.family_name,
        institution_number=found.learner.institution_reg_no,
        municipality_code=municipality,
        grade=found.learner.grade,
        class_name=found.learner.class_name,
    )
