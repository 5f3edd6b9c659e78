"""The catalogue item's form: what may change after procurement (name, technical details,
options, school levels, whether it is still offered), lists one item a line; and an item in
words for the pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from babel.support import Translations
from pydantic import Field, field_validator

from portal_service.i18n import N_
from portal_service.municipality.editing import Described, Editing, Prefixes
from portal_service.web.forms import Form
from portal_service.web.labels import DEVICE_CATEGORIES, SYSTEMS

# Set when the item was procured: shown, never changed here.
PROCURED_LABELS = {
    "code": N_("Code"),
    "manufacturer": N_("Manufacturer"),
    "model": N_("Model"),
    "category": N_("Category"),
    "os": N_("Operating system"),
    "screen": N_("Screen"),
    "base_warranty_months": N_("Base warranty"),
}
# What may change, in the form's order.
EDITABLE_LABELS = {
    "name": N_("Name"),
    "active": N_("Offered"),
    "school_levels": N_("School levels"),
    "specs": N_("Technical details"),
    "memory_upgrade_gb": N_("Memory upgrade"),
    "adapters": N_("Adapters"),
    "management_software": N_("Management software"),
    "bag": N_("Laptop bag"),
    "mouse": N_("Mouse"),
    "extra_warranty_months": N_("Extra warranty"),
}
MESSAGES = {
    "name": N_("Enter the item's name, up to 300 characters"),
    "active": N_("Select whether the item is still offered"),
    "school_levels": N_("Enter each school level on its own line, up to 200 characters each"),
    "specs": N_("Write each technical detail on its own line as name: value, like ram_gb: 8"),
    "memory_upgrade_gb": N_(
        "Enter the memory upgrade in whole gigabytes from 0 to 256, or leave it empty"
    ),
    "adapters": N_("Enter each adapter on its own line, up to 200 characters each"),
    "extra_warranty_months": N_("Enter the extra warranty in whole months from 0 to 120"),
}
SPEC_LINE = re.compile(r"^\s*([^:]+?)\s*:\s*(.+?)\s*$")
NUMBER = re.compile(r"^-?[0-9]+$")
DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]+$")
Lines = Annotated[list[str], Field(max_length=50)]


def lines(value: Any) -> list[str]:
    """A textarea as its non-empty lines."""
    text = value if isinstance(value, str) else ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def spec_value(text: str) -> str | int | float | bool:
    """A technical detail's value as typed: a whole number, a decimal, true/false, or text."""
    if NUMBER.match(text):
        return int(text)
    if DECIMAL.match(text):
        return float(text)
    return {"true": True, "false": False}.get(text.lower(), text)


def spec_text(value: Any) -> str:
    """A technical detail's value as the form shows it (the way it is typed)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class CatalogueItemForm(Form):
    """What may change in a catalogue item, and the version it was read at."""

    version: Annotated[int, Field(ge=0)]
    name: Annotated[str, Field(min_length=1, max_length=300)]
    active: Literal["yes", "no"]
    school_levels: Lines
    specs: dict[str, str | int | float | bool]
    memory_upgrade_gb: int | None
    adapters: Lines
    management_software: bool = False
    bag: bool = False
    mouse: bool = False
    extra_warranty_months: Annotated[int, Field(ge=0, le=100_000)] = 0
    messages: ClassVar[dict[str, str]] = MESSAGES

    @field_validator("school_levels", "adapters", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> list[str]:
        return lines(value)

    @field_validator("specs", mode="before")
    @classmethod
    def _specs(cls, value: Any) -> dict[str, Any]:
        found = [SPEC_LINE.match(line) for line in lines(value)]
        if not all(found):
            raise ValueError("a line is not name: value")
        return {m.group(1): spec_value(m.group(2)) for m in found if m}

    @field_validator("memory_upgrade_gb", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("management_software", "bag", "mouse", mode="before")
    @classmethod
    def _ticked(cls, value: Any) -> bool:
        return value == "yes"

    def body(self) -> dict[str, Any]:
        """The change as the inventory takes it (the options replace the item's options)."""
        options = self.model_dump(
            include={"memory_upgrade_gb", "adapters", "management_software", "bag", "mouse",
                     "extra_warranty_months"}
        )  # fmt: skip
        return {
            "name": self.name,
            "active": self.active == "yes",
            "school_levels": self.school_levels,
            "specs": self.specs,
            "options": options,
        }


def item_values(item: Mapping[str, Any]) -> dict[str, str]:
    """A catalogue item as the form's values."""
    options = item.get("options") or {}
    memory = options.get("memory_upgrade_gb")
    ticks = {k: "yes" if options.get(k) else "" for k in ("management_software", "bag", "mouse")}
    return ticks | {
        "version": str(item.get("version", 0)),
        "name": str(item.get("name") or ""),
        "active": "yes" if item.get("active") else "no",
        "school_levels": "\n".join(item.get("school_levels") or []),
        "specs": "\n".join(f"{k}: {spec_text(v)}" for k, v in (item.get("specs") or {}).items()),
        "memory_upgrade_gb": "" if memory is None else str(memory),
        "adapters": "\n".join(options.get("adapters") or []),
        "extra_warranty_months": str(options.get("extra_warranty_months") or 0),
    }


def describe_item(item: Mapping[str, Any], words: Translations) -> Described:
    """A catalogue item in words, every field (the item's page and the comparison)."""
    options = item.get("options") or {}
    yes, no = words.gettext("Yes"), words.gettext("No")
    memory = options.get("memory_upgrade_gb")
    return {
        "code": str(item.get("code") or ""),
        "manufacturer": str(item.get("manufacturer") or ""),
        "model": str(item.get("model") or ""),
        "category": words.gettext(DEVICE_CATEGORIES.get(str(item.get("category")), "")) or "",
        "os": SYSTEMS.get(str(item.get("os")), words.gettext("No operating system")),
        "screen": _screen(item, words),
        "base_warranty_months": months(int(item.get("base_warranty_months") or 0), words),
        "name": str(item.get("name") or ""),
        "active": words.gettext("Yes, it can be chosen") if item.get("active") else no,
        "school_levels": ", ".join(item.get("school_levels") or []),
        "specs": "; ".join(f"{k}: {spec_text(v)}" for k, v in (item.get("specs") or {}).items()),
        "memory_upgrade_gb": f"{memory} GB" if memory else words.gettext("None"),
        "adapters": ", ".join(options.get("adapters") or []),
        **{k: yes if options.get(k) else no for k in ("management_software", "bag", "mouse")},
        "extra_warranty_months": months(int(options.get("extra_warranty_months") or 0), words),
    }


def _screen(item: Mapping[str, Any], words: Translations) -> str:
    inches = item.get("screen_inches")
    if inches is None:
        return ""
    touch = words.gettext(", touch") if item.get("touch") else ""
    return f"{inches}″{touch}"


def months(count: int, words: Translations) -> str:
    """`36 months`, `1 month`."""
    return words.ngettext("%(num)d month", "%(num)d months", count) % {"num": count}


def item_editing(words: Translations) -> Editing:
    """The helper's knowledge of the catalogue item's form."""
    return Editing(
        labels=EDITABLE_LABELS,
        describe=lambda item: describe_item(item, words),
        messages=MESSAGES,
        fields=Prefixes({"/school_levels": "school_levels", "/options/adapters": "adapters",
                         "/specs": "specs"}),
        anchors={"active": "active", "management_software": "management_software"},
    )  # fmt: skip
