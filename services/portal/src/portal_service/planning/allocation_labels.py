"""The allocation's codes in words (message ids, translated when shown)."""

from __future__ import annotations

from portal_service.i18n import N_

# The grade bands an allocation round may cover, in their order.
BANDS: dict[str, str] = {
    "1-3": N_("Grades 1-3"),
    "4-6": N_("Grades 4-6"),
    "7-9": N_("Grades 7-9"),
    "10-12": N_("Grades 10-12"),
}
# The programme's 2025 target is one device per three pupils in grades 1-3; the other bands
# have no national target, so the form starts them at the same ratio.
DEFAULT_RATIO = 3
STATES: dict[str, str] = {
    "draft": N_("Draft"),
    "computed": N_("Computed"),
    "published": N_("Published"),
}
STATE_COLOURS: dict[str, str] = {
    "draft": "govuk-tag--grey",
    "computed": "govuk-tag--blue",
    "published": "govuk-tag--green",
}
# The survey's priority criteria (the seed's 01-03).
CRITERIA: dict[str, str] = {
    "low_income": N_("Low-income family"),
    "single_parent": N_("Single-parent family"),
    "large_family": N_("Family with three or more children"),
    "disabled_child": N_("Family raising a disabled child"),
}
# The grades of each band (a stored input counts pupils per grade).
GRADES: dict[str, range] = {
    "1-3": range(1, 4),
    "4-6": range(4, 7),
    "7-9": range(7, 10),
    "10-12": range(10, 13),
}
