"""The support pages' forms and the messages their fields show."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field

from portal_service.i18n import N_
from portal_service.web.forms import Form


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


MaybeText = Annotated[str | None, BeforeValidator(_blank_is_none)]
Required = Annotated[str, Field(min_length=1)]


class Versioned(Form):
    """A form about the ticket as the page showed it (its version, sent as If-Match)."""

    version: Annotated[int | None, BeforeValidator(_blank_is_none)] = None

    @property
    def if_match(self) -> str | None:
        """The ETag of the version the person saw."""
        return None if self.version is None else f'"{self.version}"'


class StatusForm(Versioned):
    """Move the ticket to another status."""

    to: Required
    resolution: MaybeText = None
    note: MaybeText = None
    messages: ClassVar[dict[str, str]] = {
        "to": N_("Choose the new status"),
        "resolution": N_("Say what was done, in at most 2,000 characters"),
        "note": N_("The note can be at most 2,000 characters"),
    }


class CommentForm(Form):
    """A public or internal comment."""

    body: Required
    visibility: Required
    messages: ClassVar[dict[str, str]] = {
        "body": N_("Enter the comment"),
        "visibility": N_("Choose who can see the comment"),
    }


class ClaimForm(Form):
    """An insurance claim filed with the insurer."""

    insurer: Required
    claim_number: Required
    messages: ClassVar[dict[str, str]] = {
        "insurer": N_("Enter the insurer's name"),
        "claim_number": N_("Enter the claim number the insurer gave"),
    }


class ClaimUpdateForm(Versioned):
    """The claim moved on."""

    status: Required
    outcome: MaybeText = None
    payout_amount: MaybeText = None
    messages: ClassVar[dict[str, str]] = {
        "status": N_("Choose the claim's status"),
        "outcome": N_("The outcome can be at most 2,000 characters"),
        "payout_amount": N_("Enter the payout in euros, for example 120.50"),
    }


class LossForm(Versioned):
    """Confirm a loss or theft."""

    police_report_number: MaybeText = None
    messages: ClassVar[dict[str, str]] = {
        "police_report_number": N_(
            "Enter the police report number as the State Police gave it (letters, digits, "
            "dots, slashes and dashes)"
        ),
    }
