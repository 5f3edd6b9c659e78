"""The report flow's forms, its categories, and where each refusal of the tickets service is
shown."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator

from portal_service.i18n import N_
from portal_service.web.forms import Form

# The tickets service's categories, in the order a family meets them, with their labels.
CATEGORIES: dict[str, str] = {
    "screen": N_("The screen is broken or does not show anything"),
    "does_not_start": N_("It does not switch on"),
    "keyboard": N_("The keyboard or touchpad does not work"),
    "battery_charger": N_("The battery or charger does not work"),
    "software": N_("A program, an update or the login does not work"),
    "damage": N_("It is damaged (dropped, got wet, cracked)"),
    "accessory_missing": N_("An accessory is missing (charger, bag, mouse)"),
    "lost": N_("It is lost"),
    "stolen": N_("It was stolen"),
    "other": N_("Something else"),
}
PHOTO_MESSAGES = {
    "payload-too-large": N_("%(file)s is bigger than %(mb)s MB. Choose a smaller photo"),
    "invalid-photo": N_("%(file)s is not a photo we can take. Choose a JPEG, PNG or WebP photo"),
    "unreadable-photo": N_("%(file)s cannot be opened. It may be damaged: choose another photo"),
    "photo-dimensions-too-large": N_("%(file)s has too many pixels. Choose a smaller photo"),
    "too-many-photos": N_("You can add up to %(count)s photos. Remove one to add another"),
}
NO_PHOTO = N_("Select a photo to add")
# Where a problem with each answer is shown when the service refuses the report.
STEP_OF = {
    "device": "device",
    "device_id": "device",
    "asset_tag": "device",
    "category": "category",
    "description": "description",
    "photos": "photos",
}
NOT_YOURS = N_("You can report a problem only with a device lent to you or your child")
NO_SUCH_DEVICE = N_("There is no device with this number. Check the number on the sticker")
AMBIGUOUS = N_("More than one device has this number. Ask the school for help")
DEVICE_PROBLEMS = {
    "no-relation-to-device": ("device", NOT_YOURS),
    "device-not-found": ("device", NO_SUCH_DEVICE),
    "ambiguous-asset-tag": ("device", AMBIGUOUS),
    "too-many-photos": ("photos", N_("A ticket can have up to 5 photos. Remove one")),
    "invalid-photo": ("photos", N_("One of the photos is not a JPEG, PNG or WebP photo")),
    "payload-too-large": ("photos", N_("One of the photos is too big")),
}  # fmt: skip


class DeviceForm(Form):
    """Which device: one of the loans shown (`device`) or the number on its sticker."""

    device: uuid.UUID | None = None
    asset_tag: Annotated[str | None, Field(max_length=60, pattern=r"^[A-Za-z0-9._/-]+$")] = None
    messages: ClassVar[dict[str, str]] = {
        "device": N_("Select the device that has the problem"),
        "asset_tag": N_("Enter the number on the device's sticker, for example RIX-00012"),
    }

    @field_validator("device", "asset_tag", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None


class CategoryForm(Form):
    """What kind of problem."""

    category: str
    messages: ClassVar[dict[str, str]] = {"category": N_("Select what the problem is")}

    @field_validator("category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError("unknown category")
        return value


class DescriptionForm(Form):
    """What happened, in the person's words."""

    description: Annotated[str, Field(min_length=1, max_length=5000)]
    messages: ClassVar[dict[str, str]] = {
        "description": N_("Describe the problem in up to 5000 characters"),
    }
