"""The school pages' forms and what each says when a field is wrong."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import field_validator

from portal_service.i18n import N_
from portal_service.web.forms import Form

AUTO = "auto"  # approve: the reservations service picks the best free device


class ApproveForm(Form):
    """Approve a request: which device (or the service's choice), and whether to waitlist."""

    device: str = AUTO
    waitlist: bool = False
    version: int | None = None

    messages = {
        "device": N_("Choose a device, or let the system choose the best free one"),
        "form": N_("This request could not be approved. Check it and try again."),
    }

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value != AUTO:
            uuid.UUID(value)
        return value

    @property
    def device_id(self) -> str | None:
        """The chosen device's id, or None for the service's choice."""
        return None if self.device == AUTO else self.device


class RejectForm(Form):
    """Reject a request with the reason the family will read."""

    reason: str = ""
    version: int | None = None

    messages = {"reason": N_("Enter the reason the family will see (at most 500 characters)")}


class CountersignForm(Form):
    """The school signs the version the family signed, agreeing to the consent text."""

    document: str = ""
    consent_version: str = ""
    version: int | None = None
    # The person's own confirmation (the box is unticked until they tick it).
    confirm: Literal["yes"]

    messages = {
        "confirm": N_("Confirm that you hand the device over and sign the agreement"),
        "form": N_("The agreement could not be signed. Check it and try again."),
    }


class ReturnForm(Form):
    """A device's return: its condition, what came back with it, notes (photos come as files)."""

    condition: str = ""
    notes: str = ""
    version: int | None = None

    messages = {
        "condition": N_("Choose the condition the device came back in"),
        "notes": N_("Notes can be at most 4000 characters"),
        "photos": N_(
            "The photos could not be added: use up to 5 JPEG, PNG or WebP images of at most "
            "5 MB each, and choose them again"
        ),
    }
