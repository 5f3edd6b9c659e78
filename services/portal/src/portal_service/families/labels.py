"""What the families' pages call the services' values: reservation states, the
programme's priority criteria, contract and ticket states (message ids, translated in pages)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from portal_service.i18n import N_, RIGA
from portal_service.web.labels import DEVICE_CATEGORIES, SYSTEMS

# State → (tag text, tag colour class).
RESERVATION_STATES: dict[str, tuple[str, str]] = {
    # A reservation's own words: Latvian agrees them with "rezervācija" (feminine), where the
    # school's pages speak of a "pieprasījums" and the support pages of a device.
    "requested": (N_("Waiting for the school's decision"), "govuk-tag--blue"),
    "waitlisted": (N_("On the waiting list"), "govuk-tag--yellow"),
    "approved": (N_("Reservation approved"), "govuk-tag--green"),
    "fulfilled": (N_("Computer on loan"), "govuk-tag--turquoise"),
    "cancelled": (N_("Reservation cancelled"), "govuk-tag--grey"),
    "rejected": (N_("Not approved"), "govuk-tag--red"),
    "expired": (N_("Reservation expired"), "govuk-tag--grey"),
}
# Reservations a family may still cancel (the service decides; this only offers the button).
CANCELLABLE = frozenset({"requested", "waitlisted", "approved"})
ACTIVE_RESERVATIONS = ("requested", "waitlisted", "approved")

# The seed's social criteria (the Recovery Fund survey), in its order.
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

TICKET_STATES: dict[str, str] = {
    "new": N_("Received"),
    "acknowledged": N_("Received"),
    "in_progress": N_("Being worked on"),
    "in_repair": N_("In repair"),
    "waiting_for_parts": N_("Waiting for parts"),
    "waiting_for_reporter": N_("Waiting for your answer"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}


def screen(value: Any) -> str:
    """A screen size without trailing zeros (`14.0` → `14`, `11.6` → `11.6`)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    text = format(number.normalize(), "f")
    return text


def kind(item: dict[str, Any] | None) -> dict[str, Any]:
    """A device kind (an offer item or a reservation's criteria) for the pages: category
    message id, operating system, screen size and touch."""
    item = item or {}
    return {
        "category": DEVICE_CATEGORIES.get(str(item.get("category") or ""), ""),
        "os": SYSTEMS.get(str(item.get("os") or ""), ""),
        "screen": screen(item["screen_inches"]) if item.get("screen_inches") else "",
        "touch": bool(item.get("touch")),
    }


def last_day(end: dt.datetime) -> dt.date:
    """The last day of a period that ends (exclusive) at `end`, in Riga."""
    return (end.astimezone(RIGA) - dt.timedelta(microseconds=1)).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The (exclusive) end of a period whose last day is `day`: the next local midnight."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=RIGA)
