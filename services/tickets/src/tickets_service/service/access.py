"""Who may do what with tickets, from the token and the read models.

Reporting needs a relation to the device:
- a guardian: the device is on loan to them (`borrower_id` = their subject) or to one of the
  learners in their token (`learners`);
- a learner: the device is on loan to them;
- school staff (institution administrators, teachers): the device belongs to their
  institution;
- support (technicians, municipality administrators): the device belongs to their
  municipality; platform administrators: any device; machine clients (municipal platforms):
  their municipalities, with the scope `tickets:write`.

Seeing tickets: reporters see the tickets they reported; school staff those of their
institution; support and machine clients (`tickets:read`) those of their municipalities;
platform administrators all. Internal comments are for support and institution
administrators; teachers, guardians and learners never see them.

Working tickets (assign, any transition, re-triage, SLA policies, the queue) is support's;
school administrators and support confirm losses, request loaners and record insurance
claims; a reporter may answer a question (`waiting_for_reporter`), close a resolved ticket or
reopen it.
"""

from __future__ import annotations

from typing import Protocol

from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope, TenantForbidden
from tickets_service.exceptions import (
    ActionForbidden,
    InternalCommentsForbidden,
    NoRelationToDevice,
)
from tickets_service.models import ReporterKind, Ticket


class Located(Protocol):
    """Where a device belongs (a read-model device, or the report's facts row)."""

    @property
    def municipality_code(self) -> str: ...

    @property
    def institution_number(self) -> str | None: ...


class Lent(Protocol):
    """To whom a device is lent (a read-model loan, or the report's current loan)."""

    @property
    def borrower_id(self) -> str: ...

    @property
    def learner_id(self) -> str: ...


READ_SCOPE = "tickets:read"
WRITE_SCOPE = "tickets:write"

SCHOOL_ROLES = (Role.INSTITUTION_ADMIN, Role.TEACHER)
SUPPORT_ROLES = (Role.TECHNICIAN, Role.MUNICIPALITY_ADMIN)
READ_ROLES = (
    Role.PLATFORM_ADMIN,
    *SUPPORT_ROLES,
    *SCHOOL_ROLES,
    Role.GUARDIAN,
    Role.LEARNER,
    Role.SERVICE,
)
POLICY_ROLES = (Role.PLATFORM_ADMIN, Role.MUNICIPALITY_ADMIN)


def reporter_id(principal: Principal) -> str:
    """The id a ticket keeps for its reporter: the machine client's id, or the person's."""
    # Callers are compared with it (a reporter sees and moves their own tickets), so it stays
    # the plain id; who changed what is recorded in the kit's `actor_of` form.
    return principal.client_id or principal.subject


def supports(principal: Principal, municipality: str, *, write: bool) -> bool:
    """Whether the principal works the municipality's support queue."""
    if principal.has(Role.PLATFORM_ADMIN):
        return True
    if principal.has(*SUPPORT_ROLES) and municipality in principal.municipalities:
        return True
    scope = WRITE_SCOPE if write else READ_SCOPE
    return (
        principal.has(Role.SERVICE)
        and principal.has_scope(scope)
        and municipality in principal.municipalities
    )


def school_staff(principal: Principal, institution: str | None) -> bool:
    """Whether the principal is staff (administrator or teacher) of the institution."""
    return (
        institution is not None
        and principal.has(*SCHOOL_ROLES)
        and institution in principal.institutions
    )


def school_admin(principal: Principal, institution: str | None) -> bool:
    """Whether the principal administers the institution."""
    return (
        institution is not None
        and principal.has(Role.INSTITUTION_ADMIN)
        and institution in principal.institutions
    )


def relation(principal: Principal, device: Located, loan: Lent | None) -> ReporterKind | None:
    """In which capacity the principal may report a problem with the device (None: none)."""
    if supports(principal, device.municipality_code, write=True):
        return ReporterKind.SUPPORT
    if school_staff(principal, device.institution_number):
        return ReporterKind.SCHOOL_STAFF
    lent_to_family = loan is not None and (
        loan.borrower_id == principal.subject or loan.learner_id in principal.learners
    )
    if lent_to_family and principal.has(Role.GUARDIAN):
        return ReporterKind.GUARDIAN
    if loan is not None and principal.has(Role.LEARNER) and loan.learner_id == principal.subject:
        return ReporterKind.LEARNER
    return None


def ensure_relation(principal: Principal, device: Located, loan: Lent | None) -> ReporterKind:
    """403 unless the principal has a relation to the device."""
    kind = relation(principal, device, loan)
    if kind is None:
        raise NoRelationToDevice(
            "You may report problems only for a device lent to you or your child, or one of "
            "your institution or municipality"
        )
    return kind


def is_reporter(principal: Principal, ticket: Ticket) -> bool:
    """Whether the principal reported the ticket."""
    return ticket.reporter_id == reporter_id(principal)


def may_see(principal: Principal, ticket: Ticket) -> bool:
    """Reporters see their own tickets; staff and support those of their tenancy."""
    return (
        is_reporter(principal, ticket)
        or supports(principal, ticket.municipality_code, write=False)
        or school_staff(principal, ticket.institution_number)
    )


def ensure_may_see(principal: Principal, ticket: Ticket) -> None:
    """403 unless the ticket is visible to the principal."""
    if not may_see(principal, ticket):
        raise TenantForbidden("This ticket is outside your tenancy")


def is_support(principal: Principal, ticket: Ticket) -> bool:
    """Whether the principal works this ticket's queue (write access)."""
    return supports(principal, ticket.municipality_code, write=True)


def ensure_support(principal: Principal, ticket: Ticket, action: str) -> None:
    """403 unless the principal works the ticket's queue."""
    if not is_support(principal, ticket):
        raise ActionForbidden(f"Only support staff of the municipality may {action}")


def sees_internal(principal: Principal, ticket: Ticket) -> bool:
    """Internal comments: support staff, and administrators of the ticket's institution."""
    return supports(principal, ticket.municipality_code, write=False) or school_admin(
        principal, ticket.institution_number
    )


def ensure_sees_internal(principal: Principal, ticket: Ticket) -> None:
    """403 for anyone else asking for (or writing) internal comments."""
    if not sees_internal(principal, ticket):
        raise InternalCommentsForbidden(
            "Internal comments are visible to support staff and school administrators only"
        )


def ensure_staff_action(principal: Principal, ticket: Ticket, action: str) -> None:
    """Loss confirmation, loaners, insurance: support or the school's administrators."""
    if not (is_support(principal, ticket) or school_admin(principal, ticket.institution_number)):
        raise ActionForbidden(f"Only support staff or the school's administrators may {action}")


def ensure_sees_queue(principal: Principal, municipality: str) -> None:
    """The queue summary: support of the municipality."""
    if not supports(principal, municipality, write=False):
        raise TenantForbidden(f"You do not work the support queue of municipality {municipality}")


def ensure_manages_policy(principal: Principal, municipality: str) -> None:
    """SLA policies: platform administrators, or the municipality's own administrators."""
    if principal.has(Role.PLATFORM_ADMIN):
        return
    if principal.has(Role.MUNICIPALITY_ADMIN) and municipality in principal.municipalities:
        return
    raise TenantForbidden(f"You may not change the SLA policy of municipality {municipality}")


def scope_for(principal: Principal) -> Scope:
    """Which tickets a list may show."""
    if principal.has(Role.PLATFORM_ADMIN):
        return Scope.all()
    municipalities: set[str] = set()
    if principal.has(*SUPPORT_ROLES):
        municipalities |= principal.municipalities
    if principal.has(Role.SERVICE) and principal.has_scope(READ_SCOPE):
        municipalities |= principal.municipalities
    # Support reports only in the municipalities it supports, so for a caller with no other
    # capacity its own reports are already in scope: leaving the reporter branch out keeps the
    # queue listing a single index range (`ix_ticket_open_queue`).
    other_capacity = principal.has(Role.GUARDIAN, Role.LEARNER, *SCHOOL_ROLES)
    return Scope.of(
        municipalities=municipalities,
        institutions=principal.institutions if principal.has(*SCHOOL_ROLES) else (),
        persons=[reporter_id(principal)] if other_capacity or not municipalities else (),
    )
