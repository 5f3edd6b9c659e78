"""Who may do what in the survey, from the token.

- Programme managers run national rounds (and may run a municipality's); municipality
  administrators run their own municipality's rounds. Both, ministry analysts and platform
  administrators see rounds and results (aggregates); nobody national reads a family's answer.
- Municipality administrators see the rounds of their municipality and the national rounds
  covering its schools; institution administrators the rounds covering their school.
- A child's answer is read, recorded (paper) and verified by the administrators of the child's
  school and municipality (every read audited); guardians answer, read, change and withdraw
  for the learners in their token.
"""

from __future__ import annotations

from collections.abc import Iterable

from planning_service.models.survey import RoundScope, SurveyRound, VerificationSource
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope

PROGRAMME_MANAGER = "programme_manager"
NATIONAL_ROLES = (PROGRAMME_MANAGER, Role.MINISTRY_ANALYST, Role.PLATFORM_ADMIN)
STAFF_ROLES = (Role.INSTITUTION_ADMIN, Role.MUNICIPALITY_ADMIN)
ROUND_READERS = (*NATIONAL_ROLES, *STAFF_ROLES)
ANSWER_ROLES = (Role.GUARDIAN, *STAFF_ROLES)
RESULT_READERS = ROUND_READERS


def person(principal: Principal) -> bool:
    """Whether the caller is a person (machine clients have no part in the survey)."""
    return principal.client_id is None and not principal.has(Role.SERVICE)


def sees_all_rounds(principal: Principal) -> bool:
    """Programme managers, analysts and platform administrators see every round."""
    return person(principal) and principal.has(*NATIONAL_ROLES)


def round_scope(principal: Principal) -> Scope:
    """The rounds a caller sees: all, or those touching their municipalities / school."""
    if sees_all_rounds(principal):
        return Scope.all()
    munis = principal.municipalities if principal.has(Role.MUNICIPALITY_ADMIN) else ()
    schools = principal.institutions if principal.has(Role.INSTITUTION_ADMIN) else ()
    return Scope.of(municipalities=munis, institutions=schools)


def sees_round(
    principal: Principal, round_: SurveyRound, schools: Iterable[tuple[str, str]]
) -> bool:
    """Whether the caller sees the round; `schools` are its (registration number, municipality)."""
    scope = round_scope(principal)
    if scope.everything or round_.municipality_code in scope.municipality_codes:
        return True
    return any(scope.allows(municipality=m, institution=r) for r, m in schools)


def may_create(principal: Principal, scope: RoundScope, municipality: str | None) -> bool:
    """National rounds are the programme manager's; a municipality's also its administrators'."""
    if not person(principal):
        return False
    if principal.has(PROGRAMME_MANAGER):
        return True
    return (
        scope is RoundScope.MUNICIPALITY
        and principal.has(Role.MUNICIPALITY_ADMIN)
        and municipality in principal.municipalities
    )


def may_manage(principal: Principal, round_: SurveyRound) -> bool:
    """Whether the caller may change or close the round (whoever may create such a round)."""
    return may_create(principal, round_.scope, round_.municipality_code)


def guardian_of(principal: Principal, learner_id: str) -> bool:
    """Whether the caller is a guardian of the learner (by the token's learners)."""
    return person(principal) and principal.has(Role.GUARDIAN) and learner_id in principal.learners


def staff_role(principal: Principal, institution: str, municipality: str) -> str | None:
    """The caller's staff role for a child of this school, or None."""
    if not person(principal):
        return None
    if principal.has(Role.INSTITUTION_ADMIN) and institution in principal.institutions:
        return Role.INSTITUTION_ADMIN.value
    if principal.has(Role.MUNICIPALITY_ADMIN) and municipality in principal.municipalities:
        return Role.MUNICIPALITY_ADMIN.value
    return None


def verification_source(role: str) -> VerificationSource:
    """The school attests; the municipality verifies from welfare data."""
    if role == Role.INSTITUTION_ADMIN:
        return VerificationSource.SCHOOL
    return VerificationSource.WELFARE


def staff_scope(principal: Principal) -> Scope:
    """The answers a staff member reads: their school's, their municipality's."""
    if not person(principal):
        return Scope()
    munis = principal.municipalities if principal.has(Role.MUNICIPALITY_ADMIN) else ()
    schools = principal.institutions if principal.has(Role.INSTITUTION_ADMIN) else ()
    return Scope.of(municipalities=munis, institutions=schools)
