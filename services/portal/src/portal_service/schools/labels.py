"""What the services' codes mean to a school administrator (message ids, translated when shown)."""

from __future__ import annotations

from portal_service.i18n import N_
from portal_service.web import labels as web_labels

CRITERIA = {
    "low_income": N_("Poor or low-income family"),
    "single_parent": N_("Single-parent family"),
    "large_family": N_("Family with three or more children"),
    "disabled_child": N_("Family raising a disabled child"),
}
SOURCES = {
    "welfare_data": N_("confirmed by welfare data"),
    "verified_by_school": N_("verified by the school"),
    "declared": N_("declared by the family"),
}
SYSTEMS = {**web_labels.SYSTEMS, "none": N_("no operating system")}
BENEFICIARIES = {
    "learner": N_("Pupil"),
    "teacher": N_("Teacher"),
    "class": N_("Class"),
}
RESERVATION_STATES = {
    "requested": N_("Waiting for a decision"),
    "waitlisted": N_("On the waitlist"),
    "approved": N_("Approved"),
    "fulfilled": N_("Handed over"),
    "cancelled": N_("Cancelled"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
}
CONTRACT_STATES = {
    "drafted": N_("Being prepared"),
    "awaiting_borrower": N_("Waiting for the family to sign"),
    "awaiting_lender": N_("Ready to hand over"),
    "active": N_("On loan"),
    "returned": N_("Returned"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
    "terminated": N_("Ended early"),
}
DEVICE_CONDITIONS = {
    "new": N_("New"),
    "good": N_("Good"),
    "fair": N_("Fair"),
    "damaged": N_("Damaged"),
}
RETURN_CONDITIONS = {
    "good": N_("Good"),
    "damaged": N_("Damaged"),
    "accessories_missing": N_("Accessories missing"),
}
RETURN_HINTS = {
    "good": N_("The device works and everything lent with it came back."),
    "damaged": N_("Something is broken. A repair ticket is opened for the technicians."),
    "accessories_missing": N_("The device works, but something lent with it did not come back."),
}
TICKET_STATES = {
    "new": N_("New"),
    "acknowledged": N_("Seen by support"),
    "in_progress": N_("Being worked on"),
    "in_repair": N_("In repair"),
    "waiting_for_parts": N_("Waiting for parts"),
    "waiting_for_reporter": N_("Waiting for an answer"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
# The design system's tag colours for states worth noticing (others are grey).
TAG_COLOURS = {
    "requested": "blue",
    "waitlisted": "yellow",
    "approved": "green",
    "fulfilled": "green",
    "rejected": "red",
    "awaiting_borrower": "yellow",
    "awaiting_lender": "blue",
    "active": "green",
    "available": "green",
    "reserved": "blue",
    "on_loan": "purple",
    "in_repair": "orange",
    "lost": "red",
    "stolen": "red",
    "new": "blue",
    "in_progress": "yellow",
    "waiting_for_parts": "orange",
    "waiting_for_reporter": "orange",
    "resolved": "green",
}


def tag_classes(state: str) -> str:
    """The tag's colour class for a state."""
    colour = TAG_COLOURS.get(state, "grey")
    return f"govuk-tag--{colour}"


LABELS = {
    "criteria": CRITERIA,
    "sources": SOURCES,
    "categories": web_labels.DEVICE_CATEGORIES,
    "systems": SYSTEMS,
    "beneficiaries": BENEFICIARIES,
    "reservation_states": RESERVATION_STATES,
    "contract_states": CONTRACT_STATES,
    "device_statuses": web_labels.DEVICE_STATUSES,
    "device_conditions": DEVICE_CONDITIONS,
    "return_conditions": RETURN_CONDITIONS,
    "return_hints": RETURN_HINTS,
    "ticket_states": TICKET_STATES,
    "ticket_categories": web_labels.TICKET_CATEGORIES,
    "severities": web_labels.SEVERITIES,
}
