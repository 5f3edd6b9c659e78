"""The rules' forms: the reservation policy and one severity's SLA targets, as a municipal IT
person states them (a day and a month, "4 hours"), and both in words for the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from babel.dates import format_skeleton
from babel.support import Translations
from pydantic import Field, field_validator, model_validator

from portal_service.i18n import N_, Lang, format_duration
from portal_service.municipality.editing import Described, Editing
from portal_service.web.forms import Form

Count = Annotated[int, Field(ge=0, le=100_000)]

# The reservation policy's fields, in the page's order.
RESERVATION_LABELS = {
    "auto_approve": N_("How requests are decided"),
    "max_active_per_learner": N_("Requests a pupil may have at once"),
    "max_period_days": N_("Longest loan"),
    "pickup_days": N_("Time to collect a device"),
    "school_year_end": N_("Loans end by default on"),
}
RESERVATION_MESSAGES = {
    "auto_approve": N_("Select how requests are decided"),
    "max_active_per_learner": N_("Enter a whole number from 1 to 20"),
    "max_period_days": N_("Enter a number of days from 1 to 800"),
    "pickup_days": N_("Enter a number of days from 1 to 90"),
    "school_year_end": N_("Enter a real date as a day and a month, like 1 and 6 (not 29 February)"),
}
AUTO = N_("Automatically, when a matching device is free")
BY_SCHOOL = N_("By the school's administrator")


class ReservationPolicyForm(Form):
    """Every field of the reservation policy, and the version it was read at."""

    version: Count
    auto_approve: Literal["yes", "no"]
    max_active_per_learner: Count
    max_period_days: Count
    pickup_days: Count
    school_year_end: Annotated[str, Field(pattern=r"^[0-9]{2}-[0-9]{2}$")]
    messages: ClassVar[dict[str, str]] = RESERVATION_MESSAGES

    @model_validator(mode="before")
    @classmethod
    def _month_day(cls, data: Any) -> Any:
        """The day and the month as typed become the service's MM-DD."""
        if isinstance(data, dict):
            day, month = str(data.get("end_day", "")), str(data.get("end_month", ""))
            both = day.strip().isdigit() and month.strip().isdigit()
            data = {**data, "school_year_end": f"{int(month):02}-{int(day):02}" if both else ""}
        return data

    @field_validator("school_year_end")
    @classmethod
    def _real_day(cls, value: str) -> str:
        month, day = (int(part) for part in value.split("-"))
        dt.date(2001, month, day)  # a year without 29 February, as the service checks
        return value

    def body(self) -> dict[str, Any]:
        """The policy as the reservations service takes it."""
        return self.model_dump(exclude={"version"}) | {"auto_approve": self.auto_approve == "yes"}


def reservation_values(policy: Mapping[str, Any]) -> dict[str, str]:
    """A stored policy as the form's values."""
    month, day = str(policy.get("school_year_end") or "06-01").split("-")
    values = {k: str(policy.get(k, "")) for k in RESERVATION_LABELS if k != "school_year_end"}
    auto = "yes" if policy.get("auto_approve") else "no"
    extra = {"auto_approve": auto, "version": str(policy.get("version", 0))}
    return values | extra | {"end_day": str(int(day)), "end_month": str(int(month))}


def day_of_year(month_day: str, lang: Lang) -> str:
    """A MM-DD as people say it, e.g. `1 June` / `1. jūnijs`."""
    month, day = (int(part) for part in month_day.split("-"))
    return format_skeleton("MMMMd", dt.date(2001, month, day), locale=lang)


def describe_reservations(policy: Mapping[str, Any], words: Translations, lang: Lang) -> Described:
    """The policy in words (the view page and the comparison after a conflict)."""
    active, longest, pickup = (
        int(policy[k]) for k in ("max_active_per_learner", "max_period_days", "pickup_days")
    )
    return {
        "auto_approve": words.gettext(AUTO if policy["auto_approve"] else BY_SCHOOL),
        "max_active_per_learner": words.ngettext("%(num)d request", "%(num)d requests", active)
        % {"num": active},
        "max_period_days": days(longest, words),
        "pickup_days": days(pickup, words),
        "school_year_end": day_of_year(str(policy["school_year_end"]), lang),
    }


def days(count: int, words: Translations) -> str:
    """`3 days`, `1 day`."""
    return words.ngettext("%(num)d day", "%(num)d days", count) % {"num": count}


def reservation_editing(words: Translations, lang: Lang) -> Editing:
    """The helper's knowledge of the reservation policy's form."""
    return Editing(
        labels=RESERVATION_LABELS,
        describe=lambda policy: describe_reservations(policy, words, lang),
        messages=RESERVATION_MESSAGES,
        anchors={"school_year_end": "school_year_end-end_day", "auto_approve": "auto_approve"},
    )


# SLA targets ------------------------------------------------------------------------------

UNITS: dict[str, int] = {"minutes": 1, "hours": 60, "days": 24 * 60}
SLA_LABELS = {
    "response_minutes": N_("Respond within"),
    "resolution_minutes": N_("Resolve within"),
}
SLA_MESSAGES = {
    "response_minutes": N_("Enter a time to respond from 1 minute to 90 days"),
    "resolution_minutes": N_(
        "Enter a time to resolve from 1 minute to 365 days, no shorter than the time to respond"
    ),
}


class SlaForm(Form):
    """One severity's targets as a number and a unit each, and the version they were read at."""

    version: Count
    response_minutes: Annotated[int, Field(ge=1)]
    resolution_minutes: Annotated[int, Field(ge=1)]
    messages: ClassVar[dict[str, str]] = SLA_MESSAGES

    @model_validator(mode="before")
    @classmethod
    def _in_minutes(cls, data: Any) -> Any:
        """`4` `hours` becomes 240 minutes (a number or unit that is not one becomes 0)."""
        if isinstance(data, dict):
            data = {**data}
            for name in ("response", "resolution"):
                count, unit = str(data.get(f"{name}_count", "")), data.get(f"{name}_unit")
                valid = count.isdigit() and unit in UNITS
                data[f"{name}_minutes"] = int(count) * UNITS[str(unit)] if valid else 0
        return data

    def body(self) -> dict[str, int]:
        """The targets as the tickets service takes them."""
        return {
            "response_minutes": self.response_minutes,
            "resolution_minutes": self.resolution_minutes,
        }


def in_largest_unit(minutes: int) -> tuple[int, str]:
    """Minutes as the largest unit that holds them whole: 240 → (4, "hours")."""
    for unit in ("days", "hours"):
        if minutes % UNITS[unit] == 0:
            return minutes // UNITS[unit], unit
    return minutes, "minutes"


def sla_values(policy: Mapping[str, Any]) -> dict[str, str]:
    """A severity's targets as the form's values."""
    values = {"version": str(policy.get("version", 0))}
    for name in ("response", "resolution"):
        count, unit = in_largest_unit(int(policy[f"{name}_minutes"]))
        values |= {f"{name}_count": str(count), f"{name}_unit": unit}
    return values


def describe_sla(policy: Mapping[str, Any], lang: Lang) -> Described:
    """A severity's targets in words, e.g. `4 hours`, `2 days`."""
    return {
        name: format_duration(dt.timedelta(minutes=int(policy[name])), lang) for name in SLA_LABELS
    }


def sla_editing(lang: Lang) -> Editing:
    """The helper's knowledge of the SLA form."""
    return Editing(
        labels=SLA_LABELS,
        describe=lambda policy: describe_sla(policy, lang),
        messages=SLA_MESSAGES,
        fields={"/": "resolution_minutes"},
        anchors={"response_minutes": "response_count", "resolution_minutes": "resolution_count"},
    )
