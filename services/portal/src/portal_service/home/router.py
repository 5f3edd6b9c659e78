"""Home: the person by name, their children (a guardian), and the areas their roles open."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from portal_service.deps import Person, PersonApis
from portal_service.home import overview
from portal_service.i18n import N_
from portal_service.web.pages import page_router, render_page

router = page_router()

# What each role does on the platform; a role's area links here once its pages exist.
ROLE_AREAS: tuple[tuple[str, str, str], ...] = (
    (
        "guardian",
        N_("Parent or guardian"),
        N_("Reserve a computer for your child, sign the loan agreement and report a problem."),
    ),
    (
        "learner",
        N_("Pupil"),
        N_("See the computer you have on loan and report a problem with it."),
    ),
    (
        "institution_admin",
        N_("School administrator"),
        N_("Approve reservations, hand devices over and take them back."),
    ),
    ("teacher", N_("Teacher"), N_("See the computers lent to your pupils.")),
    ("technician", N_("Technician"), N_("Work through the municipality's problem reports.")),
    (
        "municipality_admin",
        N_("Municipality administrator"),
        N_("Run the municipality's computer library and its inventory."),
    ),
    (
        "ministry_analyst",
        N_("Ministry analyst"),
        N_("Follow the national statistics of the computer libraries."),
    ),
    (
        "programme_manager",
        N_("Programme manager"),
        N_("Run the needs survey and allocate procurements by need."),
    ),
    (
        "platform_admin",
        N_("Platform administrator"),
        N_("Look after the platform itself: see the messages it could not send, send them again."),
    ),
)


# Where each role's pages start (roles without pages yet get no link).
AREA_LINKS: dict[str, str] = {
    "institution_admin": "/schools",
    "technician": "/support",
    "platform_admin": "/platform/deliveries",
    "programme_manager": "/planning",
}
FAMILY_ROLES = frozenset({"guardian", "learner"})


@router.get("/home")
async def home(request: Request, person: Person, apis: PersonApis) -> Response:
    """The person's home page: for a family, what is happening for each child, tasks first."""
    roles = set(person.profile.roles)
    areas = [
        (title, what, AREA_LINKS.get(role))
        for role, title, what in ROLE_AREAS
        if role in roles and role not in FAMILY_ROLES
    ]
    family = await overview.load(person, apis) if roles & FAMILY_ROLES else None
    return render_page(
        request,
        "home/index.html",
        person=person.profile,
        areas=areas,
        family=family,
        guardian="guardian" in roles,
        logged_in_at=person.session.authenticated_at,
    )
