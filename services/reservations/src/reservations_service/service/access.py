"""Who may do what with reservations, from the token alone.

- guardians act for the learner ids in their token (`learners`: opaque platform ids). The
  token does not say which school each child attends, so a guardian may name any institution
  this service knows (from the inventory's devices); the school can reject a request that
  does not belong to it;
- teachers and institution administrators act at the institutions in their token, for any
  learner, teacher or class (the token carries no class lists, so "a learner of their
  institution" cannot be checked here either); only institution administrators decide
  (approve, reject);
- municipality administrators act in their municipalities; platform administrators
  everywhere;
- machine clients (municipal platforms) act in their municipalities with the scopes
  `reservations:read` / `reservations:write`;
- ministry analysts and programme managers see aggregates only (availability), never
  reservations.
"""

from __future__ import annotations

from reservations_service.exceptions import (
    BeneficiaryForbidden,
    CriterionSourceForbidden,
    NotYourLearner,
)
from reservations_service.models import Beneficiary, Reservation
from reservations_service.service.allocation_rules import Source
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope, TenantForbidden

READ_SCOPE = "reservations:read"
WRITE_SCOPE = "reservations:write"

READ_ROLES = (
    Role.PLATFORM_ADMIN,
    Role.MUNICIPALITY_ADMIN,
    Role.INSTITUTION_ADMIN,
    Role.TEACHER,
    Role.GUARDIAN,
    Role.SERVICE,
)
AGGREGATE_ROLES = (*READ_ROLES, Role.MINISTRY_ANALYST, Role.PROGRAMME_MANAGER)
STAFF_ROLES = (Role.INSTITUTION_ADMIN, Role.TEACHER)
DECIDER_ROLES = (Role.PLATFORM_ADMIN, Role.MUNICIPALITY_ADMIN, Role.INSTITUTION_ADMIN, Role.SERVICE)
POLICY_ROLES = (Role.PLATFORM_ADMIN, Role.MUNICIPALITY_ADMIN)


def acts_at(
    principal: Principal,
    institution: str,
    municipality: str,
    *,
    write: bool,
    roles: tuple[str, ...] = (*STAFF_ROLES, Role.MUNICIPALITY_ADMIN, Role.SERVICE),
) -> bool:
    """Whether the principal acts for this institution in one of `roles` (guardians aside)."""
    if principal.has(Role.PLATFORM_ADMIN):
        return True
    municipal_admin = Role.MUNICIPALITY_ADMIN in roles and principal.has(Role.MUNICIPALITY_ADMIN)
    if municipal_admin and municipality in principal.municipalities:
        return True
    if Role.SERVICE in roles and principal.has(Role.SERVICE):
        scope = WRITE_SCOPE if write else READ_SCOPE
        if principal.has_scope(scope) and municipality in principal.municipalities:
            return True
    staff = tuple(r for r in roles if r in STAFF_ROLES)
    return bool(staff) and principal.has(*staff) and institution in principal.institutions


def guardian_of(principal: Principal, learner_id: str) -> bool:
    """Whether the principal is a guardian of this learner."""
    return principal.has(Role.GUARDIAN) and learner_id in principal.learners


def may_see(principal: Principal, reservation: Reservation) -> bool:
    """Guardians see their children's reservations; others those of their tenancy."""
    return guardian_of(principal, reservation.learner_id) or acts_at(
        principal, reservation.institution_number, reservation.municipality_code, write=False
    )


def ensure_may_see(principal: Principal, reservation: Reservation) -> None:
    """403 unless the reservation is visible to the principal."""
    if not may_see(principal, reservation):
        raise TenantForbidden("This reservation is outside your tenancy")


def ensure_may_request(
    principal: Principal,
    *,
    institution: str,
    municipality: str,
    learner_id: str,
    beneficiary: Beneficiary,
    sources: list[Source],
) -> None:
    """403 unless the principal may reserve for this beneficiary here, with these sources."""
    staff = acts_at(principal, institution, municipality, write=True)
    if not staff:
        if not principal.has(Role.GUARDIAN):
            raise TenantForbidden(f"You may not reserve at institution {institution}")
        if beneficiary is not Beneficiary.LEARNER:
            raise BeneficiaryForbidden("Guardians reserve for their own children only")
        if not guardian_of(principal, learner_id):
            raise NotYourLearner("You may reserve only for your own children")
    ensure_may_attest(principal, institution, municipality, sources)


def ensure_may_attest(
    principal: Principal, institution: str, municipality: str, sources: list[Source]
) -> None:
    """Guardians declare; school staff verify; municipal admins and platforms bring welfare data."""
    municipal = acts_at(
        principal,
        institution,
        municipality,
        write=True,
        roles=(Role.MUNICIPALITY_ADMIN, Role.SERVICE),
    )
    school = municipal or acts_at(principal, institution, municipality, write=True)
    for source in sources:
        if source is Source.WELFARE_DATA and not municipal:
            raise CriterionSourceForbidden(
                "Only the municipality (its administrators or platform) attests welfare data"
            )
        if source is Source.VERIFIED_BY_SCHOOL and not school:
            raise CriterionSourceForbidden("Only school staff verify criteria")


def ensure_may_cancel(principal: Principal, reservation: Reservation) -> None:
    """Guardians cancel their children's reservations; staff and admins those of their tenancy."""
    if guardian_of(principal, reservation.learner_id):
        return
    if not acts_at(
        principal, reservation.institution_number, reservation.municipality_code, write=True
    ):
        raise TenantForbidden("You may not cancel this reservation")


def ensure_may_decide(principal: Principal, reservation: Reservation) -> None:
    """Approve and reject: institution, municipality or platform administrators, or platforms."""
    if not acts_at(
        principal,
        reservation.institution_number,
        reservation.municipality_code,
        write=True,
        roles=(Role.INSTITUTION_ADMIN, Role.MUNICIPALITY_ADMIN, Role.SERVICE),
    ):
        raise TenantForbidden("You may not decide on this reservation")


def ensure_sees_institution(principal: Principal, institution: str, municipality: str) -> None:
    """403 unless the principal is staff or admin of the institution (waitlists)."""
    if not acts_at(principal, institution, municipality, write=False):
        raise TenantForbidden(f"You may not see institution {institution}")


def ensure_manages_policy(principal: Principal, municipality: str) -> None:
    """Policies: platform administrators, or the municipality's own administrators."""
    if principal.has(Role.PLATFORM_ADMIN):
        return
    if principal.has(Role.MUNICIPALITY_ADMIN) and municipality in principal.municipalities:
        return
    raise TenantForbidden(f"You may not change the policy of municipality {municipality}")


def scope_for(principal: Principal) -> Scope:
    """Which reservations a list may show (a guardian's learners are its person ids)."""
    if principal.has(Role.PLATFORM_ADMIN):
        return Scope.all()
    municipalities: set[str] = set()
    if principal.has(Role.MUNICIPALITY_ADMIN):
        municipalities |= principal.municipalities
    if principal.has(Role.SERVICE) and principal.has_scope(READ_SCOPE):
        municipalities |= principal.municipalities
    return Scope.of(
        municipalities=municipalities,
        institutions=principal.institutions if principal.has(*STAFF_ROLES) else (),
        persons=principal.learners if principal.has(Role.GUARDIAN) else (),
    )
