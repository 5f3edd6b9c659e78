"""The onboarding flow's answers between its steps and its forms.

The answers wait in the web session's encrypted secrets (as the reserve flow's do), the first
administrator's personal code among them until "Create" has granted the role: then it is
dropped, and only what was done stays for the confirmation page.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import RedirectResponse, Response
from pydantic import Field

from portal_service.config import PortalSettings
from portal_service.deps import SignedIn
from portal_service.i18n import N_
from portal_service.service import SessionCipher
from portal_service.web.forms import Form, FormErrors
from shared_kit.fields import ATVK_PATTERN

LIST = "/platform/municipalities"
BASE = f"{LIST}/new"
DRAFT = "onboard"
STEPS = ("municipality", "schools", "reservations", "sla", "lender", "admin", "check")
# What each step's answer is stored as (a step is answered when its key is in the draft).
ANSWER_OF = {
    "municipality": "code",
    "schools": "schools_seen",
    "reservations": "reservations",
    "sla": "sla",
    "lender": "lender",
    "admin": "admin_name",
}
SEVERITIES: list[tuple[str, str]] = [
    ("critical", N_("Critical")),
    ("high", N_("High")),
    ("normal", N_("Normal")),
    ("low", N_("Low")),
]
OTHER = "other"
FAILED = "failed"  # a step "Create" could not do (`onboarding_create`)
UNKNOWN_PERSON = N_("VIIS knows no person with this personal code. Check it and enter it again")
RETYPE = N_("Enter the personal code again: it is not kept on a refused form")
CREATE_FAILED = N_(
    "Not everything could be done: a service did not answer. What was done is kept; "
    "select Create again to finish the rest."
)


# The answers between the steps --------------------------------------------------------------


def read_draft(person: SignedIn, settings: PortalSettings) -> dict[str, Any]:
    """The flow's answers so far, from the session's encrypted secrets."""
    cipher = SessionCipher(settings.session_key.get_secret_value())
    draft = (cipher.open(person.session.secrets_encrypted).get("drafts") or {}).get(DRAFT)
    return dict(draft) if isinstance(draft, dict) else {}


def keep_draft(person: SignedIn, settings: PortalSettings, answers: dict[str, Any] | None) -> None:
    """Replace the answers (None forgets them); saved with the request's session."""
    cipher = SessionCipher(settings.session_key.get_secret_value())
    data = cipher.open(person.session.secrets_encrypted)
    drafts = dict(data.get("drafts") or {})
    if answers is None:
        drafts.pop(DRAFT, None)
    else:
        drafts[DRAFT] = answers
    person.session.secrets_encrypted = cipher.seal({**data, "drafts": drafts})


def draft_for(admin: SignedIn, settings: PortalSettings, step: str) -> dict[str, Any] | Response:
    """The answers so far, or where to go instead (the start, or a skipped step)."""
    draft = read_draft(admin, settings)
    if "flow_key" not in draft or draft.get("outcomes"):
        return RedirectResponse(BASE, status_code=303)
    missing = missing_step(draft, step)
    return to_step(missing) if missing else draft


def missing_step(draft: dict[str, Any], step: str) -> str | None:
    """The first earlier step without an answer (where to send someone who skipped it)."""
    for earlier in STEPS[: STEPS.index(step)]:
        if ANSWER_OF[earlier] not in draft:
            return earlier
    return None


def to_step(step: str) -> RedirectResponse:
    """Post/redirect/get to a step."""
    return RedirectResponse(f"{BASE}/{step}", status_code=303)


def next_step(draft: dict[str, Any], step: str) -> RedirectResponse:
    """After a step: back to the check page when changing an answer, else the next step."""
    if draft.get("checking") and missing_step(draft, "check") is None:
        return to_step("check")
    return to_step(STEPS[STEPS.index(step) + 1])


def back_of(draft: dict[str, Any], step: str) -> str:
    """Where a step's back link goes: the check page when changing an answer, else the step
    before (the list before the first)."""
    if draft.get("checking") and missing_step(draft, "check") is None:
        return f"{BASE}/check"
    index = STEPS.index(step)
    return f"{BASE}/{STEPS[index - 1]}" if index else LIST


# Forms --------------------------------------------------------------------------------------


class MunicipalityForm(Form):
    """Which municipality: one VIIS lists (its ATVK code), or another one."""

    messages = {"choice": N_("Select the municipality, or choose another one")}
    choice: str = Field(pattern=rf"^([0-9]{{7}}|{OTHER})$")


class OtherMunicipalityForm(Form):
    """A municipality VIIS does not list: its ATVK code and name."""

    messages = {
        "code": N_("Enter the municipality's ATVK code: 7 digits, like 0420200"),
        "name": N_("Enter the municipality's name"),
    }
    code: str = Field(pattern=ATVK_PATTERN)
    name: str = Field(min_length=1, max_length=200)


class ReservationsForm(Form):
    """The municipality's reservation rules to start with."""

    messages = {
        "auto_approve": N_("Select whether reservations are approved by themselves"),
        "max_period_days": N_("Enter the longest loan in days: a whole number from 1 to 800"),
        "pickup_days": N_("Enter the days to pick a computer up: a whole number from 1 to 90"),
    }
    auto_approve: Literal["yes", "no"]
    max_period_days: int = Field(ge=1, le=800)
    pickup_days: int = Field(ge=1, le=90)


class LenderForm(Form):
    """The municipality as the lender named in loan contracts."""

    messages = {
        "name": N_("Enter the lender's legal name"),
        "registration_number": N_(
            "Enter the registration number: 5 to 30 digits or capital letters"
        ),
        "address": N_("Enter the lender's legal address"),
        "representative": N_("Enter who signs for the lender, for example its director"),
    }
    name: str = Field(min_length=2, max_length=300)
    registration_number: str = Field(pattern=r"^[0-9A-Z]{5,30}$")
    address: str = Field(min_length=5, max_length=500)
    representative: str = Field(min_length=3, max_length=300)


class AdminForm(Form):
    """The first municipality administrator's personal code (typed once, never shown back)."""

    messages = {
        "personal_code": N_("Enter a personal code in the correct format, like 010101-10000"),
    }
    personal_code: str = Field(pattern=r"^[0-9]{6}-?[0-9]{5}$")


def read_sla(values: dict[str, str]) -> tuple[dict[str, list[int]], FormErrors]:
    """SLA targets in hours per severity (response, resolution) from the posted form, or the
    messages of those that are not whole numbers in range or resolve before they respond."""
    targets: dict[str, list[int]] = {}
    errors = FormErrors()
    for severity, _label in SEVERITIES:
        response = _hours(values.get(f"{severity}_response", ""), 24 * 90)
        resolution = _hours(values.get(f"{severity}_resolution", ""), 24 * 365)
        if response is None:
            errors.add(f"{severity}_response", SLA_HOURS)
        if resolution is None:
            errors.add(f"{severity}_resolution", SLA_HOURS)
        elif response is not None and resolution < response:
            errors.add(f"{severity}_resolution", SLA_ORDER)
        if response is not None and resolution is not None:
            targets[severity] = [response, resolution]
    return targets, errors


SLA_HOURS = N_("Enter a whole number of hours, at least 1")
SLA_ORDER = N_("The time to resolve must not be shorter than the time to respond")


def _hours(text: str, most: int) -> int | None:
    value = text.strip()
    if not value.isdigit():
        return None
    hours = int(value)
    return hours if 1 <= hours <= most else None


def failed(draft: dict[str, Any]) -> bool:
    """Whether "Create" ran and a step failed."""
    return any(o["state"] == FAILED for o in draft.get("outcomes") or [])
