"""What the tickets service's codes are called on the pages (translated where shown)."""

from __future__ import annotations

from typing import TypedDict

from portal_service.i18n import N_
from portal_service.web.labels import DEVICE_STATUSES, SEVERITIES, TICKET_CATEGORIES

STATES: dict[str, str] = {
    "new": N_("New"),
    "acknowledged": N_("Acknowledged"),
    "in_progress": N_("In progress"),
    "in_repair": N_("In repair"),
    "waiting_for_parts": N_("Waiting for parts"),
    "waiting_for_reporter": N_("Waiting for the reporter"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
# What moving to a status means, as the radios' hints say it.
STATE_HINTS: dict[str, str] = {
    "acknowledged": N_("You have seen the report; work has not started."),
    "in_progress": N_("Someone works on the problem; the device stays with the child."),
    "in_repair": N_("You took the device in; the inventory shows it in repair."),
    "waiting_for_parts": N_("The repair waits for a part."),
    "waiting_for_reporter": N_("You asked the family a question; the resolution time pauses."),
    "resolved": N_("The problem is solved; a device in repair goes back to the child."),
    "closed": N_("Nothing more to do."),
}
# The design system's tag colour of each status.
STATE_COLOURS: dict[str, str] = {
    "new": "govuk-tag--blue",
    "acknowledged": "govuk-tag--light-blue",
    "in_progress": "govuk-tag--purple",
    "in_repair": "govuk-tag--purple",
    "waiting_for_parts": "govuk-tag--yellow",
    "waiting_for_reporter": "govuk-tag--yellow",
    "resolved": "govuk-tag--green",
    "closed": "govuk-tag--grey",
}
REPORTERS: dict[str, str] = {
    "guardian": N_("Parent or guardian"),
    "learner": N_("Pupil"),
    "school_staff": N_("School staff"),
    "support": N_("Support"),
    "institution": N_("The school (a damaged return)"),
}
CLAIM_STATUSES: dict[str, str] = {
    "filed": N_("Filed"),
    "in_review": N_("In review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "paid": N_("Paid"),
    "withdrawn": N_("Withdrawn"),
}


class Labels(TypedDict):
    """Every table of labels the support pages' templates read."""

    states: dict[str, str]
    state_hints: dict[str, str]
    state_colours: dict[str, str]
    categories: dict[str, str]
    severities: dict[str, str]
    reporters: dict[str, str]
    claim_statuses: dict[str, str]
    device_statuses: dict[str, str]


def labels() -> Labels:
    """Every table of labels, for the templates."""
    return {
        "states": STATES,
        "state_hints": STATE_HINTS,
        "state_colours": STATE_COLOURS,
        "categories": TICKET_CATEGORIES,
        "severities": SEVERITIES,
        "reporters": REPORTERS,
        "claim_statuses": CLAIM_STATUSES,
        "device_statuses": DEVICE_STATUSES,
    }
