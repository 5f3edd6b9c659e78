"""Who may see and do what with a contract.

- Platform administrators see every contract; ministry analysts none (they get aggregates
  from the statistics service).
- Municipality administrators, and machine clients with `contracts:read`, see their
  municipalities' contracts; institution administrators their institutions'.
- Every person sees the contracts they borrow under (`borrower_id` is their `sub`). The other
  guardian does not: the PDF carries the borrower's personal code.
- Only the borrower signs, in person (no machine token). The lender countersigns through a
  person: an administrator of the institution, or of the municipality (a municipality may be
  the legal lender).
- Returns and early terminations: the institution's or municipality's administrators, and
  municipal platforms with `contracts:write`.
"""

from __future__ import annotations

import uuid

from contracts_service.exceptions import NotTheBorrower, NotTheLender
from contracts_service.models import Contract
from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope, TenantForbidden

READ_SCOPE = "contracts:read"
WRITE_SCOPE = "contracts:write"


def _person_id(principal: Principal) -> uuid.UUID | None:
    if principal.client_id is not None:
        return None
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        return None


def scope_for(principal: Principal) -> Scope:
    """The contracts the principal may see."""
    if principal.has(Role.PLATFORM_ADMIN):
        return Scope.all()
    municipal = principal.has(Role.MUNICIPALITY_ADMIN) or (
        principal.has(Role.SERVICE) and principal.has_scope(READ_SCOPE)
    )
    person = _person_id(principal)
    return Scope.of(
        municipalities=principal.municipalities if municipal else (),
        institutions=principal.institutions if principal.has(Role.INSTITUTION_ADMIN) else (),
        persons=[person] if person is not None else (),
    )


def can_read(principal: Principal, contract: Contract) -> bool:
    """Whether the contract is inside the principal's scope."""
    return scope_for(principal).allows(
        municipality=contract.municipality_code,
        institution=contract.institution_number,
        person=contract.borrower_id,
    )


def check_read(principal: Principal, contract: Contract) -> None:
    """Raise 403 unless the principal may see the contract."""
    if not can_read(principal, contract):
        raise TenantForbidden("You may not see this contract")


def check_borrower(principal: Principal, contract: Contract) -> uuid.UUID:
    """The borrower's person id, when the principal is the borrower in person."""
    person = _person_id(principal)
    if person is None or person != contract.borrower_id:
        raise NotTheBorrower("Only the borrower named in the contract may sign it, in person")
    return person


def check_lender(principal: Principal, contract: Contract) -> None:
    """Raise 403 unless a person administers the contract's institution or municipality."""
    if principal.client_id is None and _administers(principal, contract):
        return
    raise NotTheLender(
        "Only an administrator of the lending institution or municipality may countersign"
    )


def check_manager(principal: Principal, contract: Contract) -> None:
    """Raise 403 unless the principal manages the contract's loans (returns, termination)."""
    if principal.client_id is not None:
        allowed = (
            principal.has(Role.SERVICE)
            and principal.has_scope(WRITE_SCOPE)
            and contract.municipality_code in principal.municipalities
        )
    else:
        allowed = _administers(principal, contract)
    if not allowed:
        raise NotTheLender("Only the lending institution or municipality may do this")


def _administers(principal: Principal, contract: Contract) -> bool:
    return (
        principal.has(Role.INSTITUTION_ADMIN)
        and contract.institution_number in principal.institutions
    ) or (
        principal.has(Role.MUNICIPALITY_ADMIN)
        and contract.municipality_code in principal.municipalities
    )


def manages_lender(principal: Principal, municipality_code: str) -> bool:
    """Whether the principal may register or change lenders of that municipality."""
    return principal.has(Role.PLATFORM_ADMIN) or (
        principal.has(Role.MUNICIPALITY_ADMIN) and municipality_code in principal.municipalities
    )
