"""The reserve flow's answers between its steps (kept in the web session) and its forms, and
where each refusal of the reservations service is shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.responses import RedirectResponse
from pydantic import ValidationError, model_validator

from portal_service.config import PortalSettings
from portal_service.deps import SignedIn
from portal_service.i18n import N_
from portal_service.service import SessionCipher
from portal_service.web.forms import Form, FormErrors

BASE = "/families/reserve"
DRAFT = "reserve"
STEPS = ("child", "device", "period", "priority", "check")


# The answers between the steps --------------------------------------------------------------


def read_draft(person: SignedIn, settings: PortalSettings) -> dict[str, Any]:
    """The reserve form's answers so far, from the session's encrypted secrets."""
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


def missing_step(draft: dict[str, Any], step: str) -> str | None:
    """The first earlier step without an answer (where to send someone who skipped it)."""
    needs = {"child": "child", "device": "item", "period": "end", "priority": "criteria"}
    for earlier in STEPS[: STEPS.index(step)]:
        if needs[earlier] not in draft:
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


# Forms --------------------------------------------------------------------------------------


class ChildForm(Form):
    """Which child the computer is for."""

    messages = {"child": N_("Select the child you are reserving a computer for")}
    child: str


class DeviceForm(Form):
    """Which of the school's computers."""

    messages = {"item": N_("Select the computer you want to reserve")}
    item: str


class PeriodForm(Form):
    """The last day of the loan (the page offers the end of the school year)."""

    messages = {"end": N_("Enter a real date, for example 15 3 2027")}
    end_day: str = ""
    end_month: str = ""
    end_year: str = ""
    end: dt.date | None = None

    @model_validator(mode="after")
    def _end_date(self) -> PeriodForm:
        try:
            self.end = dt.date(int(self.end_year), int(self.end_month), int(self.end_day))
        except ValueError as exc:
            raise ValueError("not a real date") from exc
        return self

    @classmethod
    def errors_of(cls, exc: ValidationError) -> FormErrors:
        """A date that is not real is the end date's message, not the whole form's."""
        errors = FormErrors(anchors={"end": "end-day"})
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "end"
            errors.add(name, cls.messages.get(name, cls.messages["end"]))
        return errors


# Where each refusal of the reservations service is shown: the form's field and its message.
PROBLEM_FIELDS = {
    "learner_id": "child",
    "institution_number": "child",
    "beneficiary": "child",
    "criteria": "item",
    "device_id": "item",
    "catalogue_item_code": "item",
    "category": "item",
    "os": "item",
    "start": "end",
    "end": "end",
    "social_criteria": "criteria",
}
PROBLEM_MESSAGES = {
    "child": N_("You cannot reserve a computer for this child here"),
    "item": N_("Select another computer"),
    "end": N_("Check the date the loan ends"),
    "criteria": N_("Check the circumstances you selected"),
}
PROBLEM_TYPES = {
    "not-your-learner": ("child", N_("You can reserve a computer only for your own child")),
    "institution-not-found": (
        "child",
        N_("This child's school does not lend computers through this service yet"),
    ),
    "active-limit-reached": (
        "child",
        N_("This child already has a reservation. You can cancel it on your home page."),
    ),
    "invalid-period": ("end", N_("The date the loan ends must be after today")),
    "period-in-past": ("end", N_("The date the loan ends must be after today")),
    "period-too-long": (
        "end",
        N_("The loan is longer than your municipality allows. Enter an earlier date."),
    ),
    "device-mismatch": ("item", N_("Select another computer")),
    "device-unavailable": ("item", N_("Select another computer")),
    "criterion-source-forbidden": ("criteria", N_("Check the circumstances you selected")),
}
STEP_OF_FIELD = {"child": "child", "item": "device", "end": "period", "criteria": "priority"}
