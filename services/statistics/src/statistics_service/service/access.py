"""Who may see which statistics, from the token alone.

- ministry analysts, programme managers (planning's survey and allocation rounds) and platform
  administrators see every aggregate (national, any municipality or institution, the whole
  feed);
- municipality administrators see their municipalities and the institutions in them;
- institution administrators see their institutions;
- machine clients (client-credentials grant) need the scope `statistics:read` for the views
  and `statistics:feed` for the VIIS feed. A client scoped to municipalities sees those; a
  client scoped to none (VIIS itself, the ministry's systems) sees everything, like an analyst.

Nothing here is personal data: loans by social criterion are published with small counts
suppressed (see `figures.suppressed`).
"""

from __future__ import annotations

from shared_kit.auth import Principal, Role
from shared_kit.tenancy import Scope, TenantForbidden

READ_SCOPE = "statistics:read"
FEED_SCOPE = "statistics:feed"

NATIONAL_ROLES = (Role.PLATFORM_ADMIN, Role.MINISTRY_ANALYST, Role.PROGRAMME_MANAGER)
READ_ROLES = (*NATIONAL_ROLES, Role.MUNICIPALITY_ADMIN, Role.INSTITUTION_ADMIN, Role.SERVICE)
FEED_ROLES = (*NATIONAL_ROLES, Role.SERVICE)
OPERATOR_ROLES = (Role.PLATFORM_ADMIN,)


def sees_all(principal: Principal) -> bool:
    """Whether the principal sees every aggregate."""
    if principal.has(*NATIONAL_ROLES):
        return True
    return (
        principal.has(Role.SERVICE)
        and principal.client_id is not None
        and not (principal.municipalities or principal.institutions)
    )


def scope_of(principal: Principal) -> Scope:
    """What the principal sees: everything, whole municipalities, or single institutions."""
    if sees_all(principal):
        return Scope.all()
    return Scope.of(
        municipalities=principal.municipalities
        if principal.has(Role.MUNICIPALITY_ADMIN, Role.SERVICE)
        else (),
        institutions=principal.institutions if principal.has(Role.INSTITUTION_ADMIN) else (),
    )


def check_national(principal: Principal) -> None:
    """The national view and export: analysts, platform admins, national clients."""
    if not scope_of(principal).everything:
        raise TenantForbidden("The national view is for ministry analysts")


def check_municipality(principal: Principal, municipality: str) -> None:
    """A municipality's view."""
    if not scope_of(principal).allows(municipality=municipality):
        raise TenantForbidden("That municipality is outside your tenancy")


def check_institution(principal: Principal, institution: str, municipality: str) -> None:
    """An institution's view."""
    if not scope_of(principal).allows(municipality=municipality, institution=institution):
        raise TenantForbidden("That institution is outside your tenancy")
