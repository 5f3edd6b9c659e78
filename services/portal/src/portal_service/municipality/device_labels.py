"""What the console's device pages call the inventory's values (message ids, translated where
shown): funding programmes, conditions, the search's orders, and a device history's words."""

from __future__ import annotations

from portal_service.i18n import N_
from portal_service.schools.labels import DEVICE_CONDITIONS, TAG_COLOURS
from portal_service.web.labels import DEVICE_CATEGORIES, DEVICE_STATUSES, SYSTEMS

__all__ = ["DEVICE_CATEGORIES", "DEVICE_CONDITIONS", "DEVICE_STATUSES", "SYSTEMS"]

# The programme that paid for a device (see the seed: three EU programmes and budgets).
FUNDING_SOURCES: dict[str, str] = {
    "react_eu": N_("REACT-EU"),
    "recovery_fund": N_("Recovery Fund"),
    "eu_funds_2021_2027": N_("EU funds 2021-2027"),
    "municipal_budget": N_("Municipal budget"),
    "other": N_("Other funding"),
}
# The warranty filter: value → months from today the warranty ends within (0: already ended).
WARRANTY_WINDOWS: dict[str, tuple[int, str]] = {
    "ended": (0, N_("Warranty has ended")),
    "3": (3, N_("Ends within 3 months")),
    "6": (6, N_("Ends within 6 months")),
    "12": (12, N_("Ends within a year")),
}
# The table's sortable columns (a phone's width holds two; every order is in "Sort by"):
# the order → the heading.
SORT_COLUMNS: dict[str, str] = {
    "asset_tag": N_("Device"),
    "status": N_("Status"),
}
# The "Sort by" choices: the order → its words.
SORT_CHOICES: dict[str, str] = {
    "asset_tag": N_("Asset tag, A to Z"),
    "-asset_tag": N_("Asset tag, Z to A"),
    "serial_number": N_("Serial number, A to Z"),
    "-serial_number": N_("Serial number, Z to A"),
    "status": N_("Status, in the life cycle's order"),
    "-status": N_("Status, in reverse order"),
    "warranty_ends_on": N_("Warranty ends, soonest first"),
    "-warranty_ends_on": N_("Warranty ends, latest first"),
}

# What a history entry records.
HISTORY_ACTIONS: dict[str, str] = {
    "registered": N_("Registered"),
    "imported": N_("Imported from a delivery"),
    "updated": N_("Details changed"),
    "status_changed": N_("Status changed"),
}
# The fields a history entry names (others show as the inventory names them).
HISTORY_FIELDS: dict[str, str] = {
    "status": N_("Status"),
    "institution": N_("School"),
    "condition": N_("Condition"),
    "asset_tag": N_("Asset tag"),
    "serial_number": N_("Serial number"),
    "funding_source": N_("Funding"),
    "order_reference": N_("Order"),
    "delivery_date": N_("Delivered"),
    "purchase_price": N_("Price"),
    "extra_warranty_months": N_("Extra warranty (months)"),
    "insurer": N_("Insurer"),
    "insurance_policy": N_("Insurance policy"),
    "insured_until": N_("Insured until"),
    "accessories": N_("Accessories"),
    "notes": N_("Notes"),
}
# Why the platform itself moved a device: the event that did it.
EVENT_REASONS: dict[str, str] = {
    "lv.datori.reservations.reservation.approved.v1": N_("A reservation was approved"),
    "lv.datori.reservations.reservation.cancelled.v1": N_("A reservation was cancelled"),
    "lv.datori.reservations.reservation.expired.v1": N_("A reservation expired"),
    "lv.datori.reservations.reservation.rejected.v1": N_("A reservation was rejected"),
    "lv.datori.contracts.contract.activated.v1": N_("Handed over on a loan agreement"),
    "lv.datori.contracts.contract.returned.v1": N_("Returned at the end of a loan"),
    "lv.datori.tickets.repair.started.v1": N_("A repair started"),
    "lv.datori.tickets.repair.completed.v1": N_("A repair was finished"),
    "lv.datori.tickets.device.lost_confirmed.v1": N_("The loss was confirmed"),
    "lv.datori.tickets.device.stolen_confirmed.v1": N_("The theft was confirmed"),
}
# Who made a change, when it was not a person of the console.
ACTORS = {
    "you": N_("You"),
    "person": N_("A staff member"),
    "client": N_("The municipal platform (%(client)s)"),
    "event": N_("The platform, automatically"),
}
# What came of a form on the device page (the query's `done`, as the success banner says it).
OUTCOMES: dict[str, str] = {
    "status": N_("The status was changed"),
    "school": N_("The device was assigned to the school"),
}


def tag_classes(state: str) -> str:
    """The design system's tag colour class for a device status."""
    return f"govuk-tag--{TAG_COLOURS.get(state, 'grey')}"
