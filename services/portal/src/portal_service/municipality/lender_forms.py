"""The lenders' forms: a lender's legal details as the loan agreements print them, changed or
registered; and a lender in words for the pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from portal_service.i18n import N_
from portal_service.municipality.editing import Described, Editing
from portal_service.web.forms import Form

Text = Annotated[str, Field(min_length=1, max_length=1000)]
KINDS = {"municipality": N_("The municipality"), "institution": N_("A school")}

# The details a lender's agreement prints, in the page's order.
LENDER_LABELS = {
    "name": N_("Legal name"),
    "registration_number": N_("Registration number"),
    "address": N_("Legal address"),
    "representative": N_("Signs for the lender"),
}
LENDER_MESSAGES = {
    "kind": N_("Select whose details these are"),
    "code": N_("Enter the school's registration number in VIIS: 7 to 10 digits"),
    "name": N_("Enter the lender's legal name, 2 to 300 characters"),
    "registration_number": N_(
        "Enter the registration number: 5 to 30 digits or capital letters, like 90000012345"
    ),
    "address": N_("Enter the legal address, 5 to 500 characters"),
    "representative": N_("Enter who signs for the lender, 3 to 300 characters"),
}
DUPLICATE = N_("This lender is registered already: change its details instead")


class LenderForm(Form):
    """A lender's legal details, and the version they were read at."""

    version: Annotated[int, Field(ge=0)]
    name: Text
    registration_number: Text
    address: Text
    representative: Text
    messages: ClassVar[dict[str, str]] = LENDER_MESSAGES

    def body(self) -> dict[str, Any]:
        """The details as the contracts service takes them."""
        return self.model_dump(exclude={"version"})


class NewLenderForm(Form):
    """A lender to register: the municipality itself or one of its schools."""

    kind: Literal["municipality", "institution"]
    code: Annotated[str, Field(max_length=20)] = ""
    name: Text
    registration_number: Text
    address: Text
    representative: Text
    messages: ClassVar[dict[str, str]] = LENDER_MESSAGES

    def body(self, municipality_code: str) -> dict[str, Any]:
        """The lender as the contracts service registers it (the municipality's code is its
        own ATVK code)."""
        code = municipality_code if self.kind == "municipality" else self.code
        return self.model_dump() | {"code": code, "municipality_code": municipality_code}


def lender_values(lender: Mapping[str, Any]) -> dict[str, str]:
    """A lender as the change form's values."""
    return {k: str(lender.get(k) or "") for k in (*LENDER_LABELS, "version")}


def describe_lender(lender: Mapping[str, Any]) -> Described:
    """A lender's details as the pages show them."""
    return {k: str(lender.get(k) or "") for k in LENDER_LABELS}


LENDER_EDITING = Editing(
    labels=LENDER_LABELS,
    describe=describe_lender,
    messages=LENDER_MESSAGES,
)
