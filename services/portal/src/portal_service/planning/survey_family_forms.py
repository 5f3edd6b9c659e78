"""The survey's question pages for a family: the answers between the pages (kept in the web
session, never in the address), which page comes next, and reading each page's answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse

from portal_service.config import PortalSettings
from portal_service.deps import SignedIn
from portal_service.i18n import N_
from portal_service.planning.survey_labels import CRITERIA
from portal_service.service import SessionCipher
from portal_service.web.forms import FormErrors

DRAFT = "survey"
STEPS = ("device", "internet", "criteria", "check")
NONE = "none"

MESSAGES = {
    "device_access": N_("Select which computer the child can use at home"),
    "internet": N_("Select what internet the child has at home"),
    "criteria": N_("Select the circumstances that apply, or select 'None of these'"),
    "criteria_both": N_("Select either the circumstances that apply or 'None of these', not both"),
}
# Where each refusal of the planning service is shown: the page's field.
PROBLEM_FIELDS = {"device_access": "device_access", "internet": "internet", "criteria": "criteria"}
STEP_OF_FIELD = {"device_access": "device", "internet": "internet", "criteria": "criteria"}
PROBLEM_TYPES = {
    "survey-round-not-open": (
        "form",
        N_("The survey is closed. Your answers cannot be sent now."),
    ),
    "survey-round-closed": ("form", N_("The survey is closed. Your answers cannot be sent now.")),
}


def base_of(round_id: str, learner_id: str) -> str:
    """Where one child's pages of one round start."""
    return f"/survey/{round_id}/children/{learner_id}"


def read_draft(
    person: SignedIn, settings: PortalSettings, round_id: str, learner_id: str
) -> dict[str, Any]:
    """The answers so far for this child in this round (another child's draft is not theirs)."""
    cipher = SessionCipher(settings.session_key.get_secret_value())
    draft = (cipher.open(person.session.secrets_encrypted).get("drafts") or {}).get(DRAFT)
    if not isinstance(draft, dict) or draft.get("key") != [round_id, learner_id]:
        return {}
    return dict(draft)


def keep_draft(
    person: SignedIn,
    settings: PortalSettings,
    round_id: str,
    learner_id: str,
    answers: dict[str, Any] | None,
) -> None:
    """Replace the answers (None forgets them); saved with the request's session."""
    cipher = SessionCipher(settings.session_key.get_secret_value())
    data = cipher.open(person.session.secrets_encrypted)
    drafts = dict(data.get("drafts") or {})
    if answers is None:
        drafts.pop(DRAFT, None)
    else:
        drafts[DRAFT] = {**answers, "key": [round_id, learner_id]}
    person.session.secrets_encrypted = cipher.seal({**data, "drafts": drafts})


def steps_of(asked: list[str]) -> tuple[str, ...]:
    """The round's pages: no criteria page when the round asks none."""
    return STEPS if asked else tuple(s for s in STEPS if s != "criteria")


def missing_step(draft: dict[str, Any], step: str, asked: list[str]) -> str | None:
    """The first earlier page without an answer."""
    needs = {"device": "device_access", "internet": "internet", "criteria": "criteria"}
    steps = steps_of(asked)
    for earlier in steps[: steps.index(step)]:
        if needs[earlier] not in draft:
            return earlier
    return None


def to_step(base: str, step: str) -> RedirectResponse:
    """Post/redirect/get to a page of the flow."""
    return RedirectResponse(f"{base}/{step}", status_code=303)


def next_step(base: str, draft: dict[str, Any], step: str, asked: list[str]) -> RedirectResponse:
    """After a page: back to the check page when changing an answer, else the next page."""
    steps = steps_of(asked)
    if draft.get("checking") and missing_step(draft, "check", asked) is None:
        return to_step(base, "check")
    return to_step(base, steps[steps.index(step) + 1])


async def chosen(request: Request, name: str) -> list[str]:
    """A form's values of one name (checkboxes and radios)."""
    return [v for v in (await request.form()).getlist(name) if isinstance(v, str)]


def one_of(values: list[str], options: dict[str, str], field: str) -> tuple[str | None, FormErrors]:
    """A radio's answer, or the field's message."""
    if len(values) == 1 and values[0] in options:
        return values[0], FormErrors()
    return None, FormErrors().add(field, MESSAGES[field])


def criteria_of(values: list[str], asked: list[str]) -> tuple[list[str] | None, FormErrors]:
    """The declared criteria ("None of these" is an answer too), or the field's message."""
    known = [c for c in values if c in asked and c in CRITERIA]
    none = NONE in values
    if known and none:
        return None, FormErrors().add("criteria", MESSAGES["criteria_both"])
    if (not known and not none) or len(known) + none != len(values):
        return None, FormErrors().add("criteria", MESSAGES["criteria"])
    return known, FormErrors()


def draft_of_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """A saved answer as a draft to change (what the family declared, not the statuses)."""
    return {
        "device_access": answer.get("device_access"),
        "internet": answer.get("internet"),
        "criteria": [c["criterion"] for c in answer.get("criteria") or [] if c.get("declared")],
        "checking": True,
        "version": answer.get("version"),
    }


def answer_body(draft: dict[str, Any]) -> dict[str, Any]:
    """The planning API's answer from the draft."""
    return {
        "device_access": draft["device_access"],
        "internet": draft["internet"],
        "criteria": list(draft.get("criteria") or []),
    }
