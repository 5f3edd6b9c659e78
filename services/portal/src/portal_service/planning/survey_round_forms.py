"""A survey round's form (start or change it): title, the days it is open, grades, schools and
the criteria asked, read from the posted form; the service's refusals at their fields; a round
in words for the comparison after a conflicting change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from portal_service.i18n import N_
from portal_service.municipality.editing import Editing, Prefixes
from portal_service.planning.survey_labels import CRITERIA_SHORT, GRADES
from portal_service.web.forms import FormErrors

MESSAGES = {
    "title": N_("Enter a title for the survey, up to 200 characters"),
    "opens": N_("Enter the day the survey opens, for example 15 3 2027"),
    "closes": N_("Enter the day the survey closes, after the day it opens"),
    "grades": N_("Select at least one grade"),
    "institutions": N_("Select at least one school"),
    "criteria": N_("Check the circumstances to ask about"),
    "shrinking": N_(
        "Families have already answered: grades, schools and circumstances can be added but "
        "not removed"
    ),
}
ANCHORS = {
    "opens": "opens-day",
    "closes": "closes-day",
    "grades": "grades",
    "institutions": "institutions",
    "criteria": "criteria",
}
FIELDS = Prefixes(
    {
        "/title": "title",
        "/opens_on": "opens",
        "/closes_on": "closes",
        "/grades": "grades",
        "/institutions": "institutions",
        "/criteria": "criteria",
        "/municipality_code": "institutions",
    }
)
BY_TYPE = {
    "answers-exist": ("grades", MESSAGES["shrinking"]),
    "unknown-institutions": ("institutions", MESSAGES["institutions"]),
    "invalid-period": ("closes", MESSAGES["closes"]),
}
LABELS = {
    "title": N_("Title"),
    "opens": N_("Opens"),
    "closes": N_("Closes"),
    "grades": N_("Grades"),
    "institutions": N_("Schools"),
    "criteria": N_("Circumstances asked"),
}


@dataclass
class RoundValues:
    """What the form holds (as typed), and the round's request when it is valid."""

    values: dict[str, Any]
    errors: FormErrors = field(default_factory=FormErrors)

    def body(self) -> dict[str, Any]:
        """The planning API's round fields."""
        v = self.values
        return {
            "title": v["title"],
            "opens_on": _day(v, "opens").isoformat(),  # type: ignore[union-attr]
            "closes_on": _day(v, "closes").isoformat(),  # type: ignore[union-attr]
            "grades": sorted(int(g) for g in v["grades"]),
            "institutions": list(v["institutions"]),
            "criteria": list(v["criteria"]),
        }


def _day(values: Mapping[str, Any], name: str) -> dt.date | None:
    try:
        return dt.date(
            int(values[f"{name}-year"]), int(values[f"{name}-month"]), int(values[f"{name}-day"])
        )
    except (KeyError, ValueError, TypeError):
        return None


def read_round(form: FormData, schools: Mapping[str, str] | None) -> RoundValues:
    """The posted round; `schools` None: a national round (no school choice)."""
    text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    picked = {
        n: [v for v in form.getlist(n) if isinstance(v, str)]
        for n in ("grades", "institutions", "criteria")
    }
    values: dict[str, Any] = {
        **{k: text.get(k, "") for k in ("title", "version", "form_key")},
        **{
            f"{n}-{p}": text.get(f"{n}-{p}", "")
            for n in ("opens", "closes")
            for p in ("day", "month", "year")
        },
        "grades": [g for g in picked["grades"] if g.isdigit() and int(g) in GRADES],
        "institutions": [s for s in picked["institutions"] if schools is not None and s in schools],
        "criteria": [c for c in picked["criteria"] if c in CRITERIA_SHORT],
    }
    errors = FormErrors(anchors=dict(ANCHORS))
    if not values["title"] or len(values["title"]) > 200:
        errors.add("title", MESSAGES["title"])
    opens, closes = _day(values, "opens"), _day(values, "closes")
    if opens is None:
        errors.add("opens", MESSAGES["opens"])
    if closes is None or (opens is not None and closes < opens):
        errors.add("closes", MESSAGES["closes"])
    if not values["grades"] or len(values["grades"]) != len(picked["grades"]):
        errors.add("grades", MESSAGES["grades"])
    if schools is not None and not values["institutions"]:
        errors.add("institutions", MESSAGES["institutions"])
    if len(values["criteria"]) != len(picked["criteria"]):
        errors.add("criteria", MESSAGES["criteria"])
    return RoundValues(values, errors)


def values_of(found: Mapping[str, Any]) -> dict[str, Any]:
    """A saved round as the form's values."""
    values: dict[str, Any] = {"title": found["title"], "version": str(found["version"])}
    for name, key in (("opens", "opens_on"), ("closes", "closes_on")):
        day = found[key] if isinstance(found[key], dt.date) else dt.date.fromisoformat(found[key])
        values |= {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}
    values["grades"] = [str(g) for g in found.get("grades") or []]
    values["institutions"] = _numbers(found.get("institutions"))
    values["criteria"] = list(found.get("criteria") or [])
    return values


def _numbers(institutions: Any) -> list[str]:
    return [
        str(i["registration_number"]) if isinstance(i, dict) else str(i) for i in institutions or []
    ]


def describe(found: Mapping[str, Any]) -> dict[str, str]:
    """A round (saved, or the person's request) in words, for the comparison."""
    return {
        "title": str(found.get("title") or ""),
        "opens": str(found.get("opens_on") or ""),
        "closes": str(found.get("closes_on") or ""),
        "grades": ", ".join(str(g) for g in sorted(int(g) for g in found.get("grades") or [])),
        "institutions": ", ".join(sorted(_numbers(found.get("institutions")))),
        "criteria": ", ".join(sorted(found.get("criteria") or [])),
    }


EDITING = Editing(
    labels=LABELS, describe=describe, messages=MESSAGES, fields=FIELDS, anchors=ANCHORS
)
