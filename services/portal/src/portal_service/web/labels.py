"""The services' codes that every area of the portal names the same way (message ids,
translated when shown). An area keeps its own wording where its readers need another one."""

from __future__ import annotations

from portal_service.i18n import N_

# The inventory's device categories.
DEVICE_CATEGORIES: dict[str, str] = {
    "laptop": N_("Laptop"),
    "chromebook": N_("Chromebook"),
    "all_in_one": N_("All-in-one computer"),
    "tablet": N_("Tablet"),
    "accessory": N_("Accessory"),
}
# The inventory's operating systems (names, not translated); a device may also have "none",
# which only the school's pages name.
SYSTEMS: dict[str, str] = {
    "windows": "Windows",
    "chromeos": "ChromeOS",
    "macos": "macOS",
    "linux": "Linux",
}
# The inventory's device statuses, in the order the school's filter offers them.
DEVICE_STATUSES: dict[str, str] = {
    "in_stock": N_("In stock"),
    "available": N_("Available"),
    "reserved": N_("Reserved"),
    "on_loan": N_("On loan"),
    "in_repair": N_("In repair"),
    "lost": N_("Lost"),
    "stolen": N_("Stolen"),
    "written_off": N_("Written off"),
}
# The tickets service's problem categories (a family's report words them its own way).
TICKET_CATEGORIES: dict[str, str] = {
    "does_not_start": N_("Does not start"),
    "screen": N_("Screen"),
    "keyboard": N_("Keyboard"),
    "battery_charger": N_("Battery or charger"),
    "software": N_("Software"),
    "damage": N_("Damage"),
    "lost": N_("Lost"),
    "stolen": N_("Stolen"),
    "accessory_missing": N_("Accessory missing"),
    "other": N_("Other"),
}
# The tickets service's severities.
SEVERITIES: dict[str, str] = {
    "critical": N_("Critical"),
    "high": N_("High"),
    "normal": N_("Normal"),
    "low": N_("Low"),
}
