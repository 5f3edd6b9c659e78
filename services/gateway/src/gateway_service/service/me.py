"""Who am I: a person's own name and, for a guardian, their children as VIIS has them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.exceptions import NotAPerson, PersonNotFound, ViisUnavailableProblem
from gateway_service.models import Person
from gateway_service.repository import PersonRepository
from gateway_service.schemas import ChildRead, MeRead, SchoolRead
from shared_kit.auth import Principal
from shared_kit.viis import ViisError, ViisInstitution, ViisPersonRegister


def _person_id(principal: Principal) -> uuid.UUID:
    """The caller's person id; a machine client is nobody here (403)."""
    if principal.client_id is not None:
        raise NotAPerson("Only a person's own token can ask who they are")
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise NotAPerson("This token's subject is not a person of this gateway") from None


async def who_am_i(
    *, session: AsyncSession, principal: Principal, viis: ViisPersonRegister
) -> MeRead:
    """The caller's name and roles; for a guardian each child's name, school and grade."""
    repo = PersonRepository(session)
    person = await repo.get(_person_id(principal))
    if person is None:
        raise PersonNotFound("This token's person is not known here")
    children: list[ChildRead] = []
    # The token's learners are the children VIIS named at login; the services enforce those.
    learners = [await repo.get(uuid.UUID(i)) for i in sorted(principal.learners)]
    known = [child for child in learners if child is not None and child.viis_id]
    if known:
        try:
            children = await _children(known, viis)
        except ViisError:
            raise ViisUnavailableProblem("VIIS cannot be asked about your children now") from None
    return MeRead(
        id=person.id,
        given_name=person.given_name,
        family_name=person.family_name,
        roles=sorted(principal.roles),
        children=children,
    )


async def _children(learners: list[Person], viis: ViisPersonRegister) -> list[ChildRead]:
    """Each learner as VIIS has them now (a learner VIIS no longer knows is left out)."""
    schools: dict[str, ViisInstitution] | None = None
    children: list[ChildRead] = []
    for learner in learners:
        assert learner.viis_id is not None
        found = await viis.person_by_viis_id(learner.viis_id)
        if found is None or found.learner is None:
            continue
        if schools is None:
            schools = {i.registration_number: i for i in await viis.institutions()}
        reg_no = found.learner.institution_reg_no
        school = schools.get(reg_no)
        children.append(
            ChildRead(
                id=learner.id,
                given_name=found.given_name,
                family_name=found.family_name,
                school=SchoolRead(registration_number=reg_no, name=school.name if school else None),
                grade=found.learner.grade,
                class_name=found.learner.class_name,
            )
        )
    return sorted(children, key=lambda c: (c.given_name, c.family_name))
