"""What the survey pages call the planning service's values: answers, criteria with their
status and source, a round's state and scope, grade bands (message ids, translated in pages)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal_service.i18n import N_

SURVEY_API = "/api/v1/planning/survey-rounds"
TASKS_API = "/api/v1/planning/survey-tasks"

DEVICE_ACCESS: dict[str, str] = {
    "none": N_("No computer at home"),
    "smartphone_only": N_("Only a smartphone"),
    "shared": N_("A computer shared with others in the family"),
    "own": N_("The child has their own computer"),
}
INTERNET: dict[str, str] = {
    "yes": N_("Yes, a home internet connection"),
    "mobile_only": N_("Only mobile data on a phone"),
    "none": N_("No internet at home"),
}
# The question pages say these as the family declares them; the staff pages say the short ones.
CRITERIA: dict[str, str] = {
    "low_income": N_("Our family has a low income or is recognised as needy"),
    "single_parent": N_("I am raising the child alone (a single-parent family)"),
    "large_family": N_("Our family has 3 or more children"),
    "disabled_child": N_("We are raising a child with a disability"),
}
CRITERIA_SHORT: dict[str, str] = {
    "low_income": N_("Low-income or needy family"),
    "single_parent": N_("Single-parent family"),
    "large_family": N_("Family with 3 or more children"),
    "disabled_child": N_("Raising a child with a disability"),
}
# A declared criterion's status, by its source once checked: (text, tag colour).
STATUSES: dict[str, tuple[str, str]] = {
    "declared": (N_("Declared by the family"), "govuk-tag--grey"),
    "verified_by_school": (N_("Confirmed by the school"), "govuk-tag--green"),
    "welfare_data": (N_("Confirmed by the municipality"), "govuk-tag--green"),
    "rejected": (N_("Not confirmed"), "govuk-tag--red"),
}
STATUS_FILTERS: dict[str, str] = {
    "declared": N_("Not checked yet"),
    "verified": N_("Confirmed"),
    "rejected": N_("Not confirmed"),
}
ROUND_STATES: dict[str, tuple[str, str]] = {
    "scheduled": (N_("Not open yet"), "govuk-tag--grey"),
    "open": (N_("Open"), "govuk-tag--green"),
    "closed": (N_("Closed"), "govuk-tag--blue"),
}
SCOPES: dict[str, str] = {"municipality": N_("Municipal"), "national": N_("National")}
CHANNELS: dict[str, str] = {
    "portal": N_("In the portal"),
    "paper": N_("On paper, recorded by staff"),
}
BANDS: dict[str, str] = {
    "1-3": N_("Grades 1 to 3"),
    "4-6": N_("Grades 4 to 6"),
    "7-9": N_("Grades 7 to 9"),
    "10-12": N_("Grades 10 to 12"),
}
GRADES = tuple(range(1, 13))
# What a staff read of an answer went through, as the access log says it.
ENDPOINTS: dict[str, str] = {
    "answer": N_("Opened the answer"),
    "list": N_("Saw it in the list of answers"),
}


ROLES: dict[str, str] = {
    "institution_admin": N_("School administrator"),
    "municipality_admin": N_("Municipality administrator"),
}


def access_rows(body: Any) -> list[dict[str, Any]]:
    """The access log's reads as the table shows them: when, who, through what."""
    items = body.get("items") if isinstance(body, dict) else body
    rows = []
    for read in items or []:
        if not isinstance(read, dict):
            continue
        at = read.get("at")
        rows.append(
            {
                "at_": dt.datetime.fromisoformat(at) if isinstance(at, str) and at else None,
                "who": "",
                "role": ROLES.get(str(read.get("role")), str(read.get("role") or "")),
                "how": ENDPOINTS.get(str(read.get("what")), ""),
            }
        )
    return rows


def status_of(claim: dict[str, Any]) -> str:
    """A criterion's status key: declared, rejected, or the source that confirmed it."""
    if claim.get("status") == "verified":
        return str(claim.get("source") or "verified_by_school")
    return str(claim.get("status") or "declared")


def round_tag(state: str) -> dict[str, str]:
    """A round's state as the design system's tag."""
    text, colour = ROUND_STATES.get(state, (state, ""))
    return {"text": text, "classes": colour}
