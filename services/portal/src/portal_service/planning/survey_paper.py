"""A paper answer (`…/survey/<round>/paper`): the child's personal code, typed once, goes to
the gateway (`POST /people/lookup`, which registers the child on first sight, so the id is the
one the family's login will carry; a school admin finds only their own school's learners); the
next page shows the child's name to check, with the paper answer's questions for that child
(by the platform's person id). The code travels in a POST body only: never a page, a URL or a
log; a form that comes back asks for it again."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import field_validator

from portal_service.deps import Apis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.planning.survey_labels import (
    CRITERIA_SHORT,
    DEVICE_ACCESS,
    INTERNET,
    SURVEY_API,
)
from portal_service.planning.survey_staff import Place, round_of
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import (
    REFUSED,
    Form,
    FormErrors,
    posted_form_key,
    problem_errors,
    read_form,
)
from shared_kit.fields import PERSONAL_CODE

LOOKUP = "/api/v1/gateway/people/lookup"
CODE_MESSAGE = N_("Enter a personal code in the correct format, like 123456-12345")
NO_CHILD = N_(
    "The education register (VIIS) has no pupil with this personal code whose answer you may "
    "record. Check it and enter it again"
)
START_AGAIN = N_("Enter the child's personal code again")
PAPER_MESSAGES = {
    "device_access": N_("Select which computer the child can use at home"),
    "internet": N_("Select what internet the child has at home"),
    "criteria": N_("Check the circumstances you selected"),
}
PAPER_TYPES = {
    "learner-not-in-round": (
        "form",
        N_("This child does not learn in this round's schools and grades"),
    ),
    "survey-round-not-open": ("form", N_("The survey is not open: answers cannot be recorded now")),
    "survey-round-closed": ("form", N_("The survey is not open: answers cannot be recorded now")),
}
NAME_MAX = 200


class ChildCodeForm(Form):
    """Whose paper answer: the child's personal code (read once, never shown back)."""

    personal_code: str
    messages = {"personal_code": CODE_MESSAGE}

    @field_validator("personal_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if PERSONAL_CODE.fullmatch(value.strip()) is None:
            raise ValueError("not a personal code")
        return value.strip()


async def _open_round(apis: Apis, round_id: str) -> dict[str, Any]:
    found = await round_of(apis, round_id)
    if found.get("state") != "open":
        raise PageNotFound("the round is not open")
    return found


async def code_page(
    request: Request, place: Place, apis: Apis, round_id: str, errors: FormErrors | None = None
) -> Response:
    """Ask for the child's personal code (the field is always empty)."""
    found = await _open_round(apis, round_id)
    return await place.render(
        request, "planning/survey/staff/paper_code.html", errors, place=place, round=found
    )


async def find(request: Request, place: Place, apis: Apis, round_id: str) -> Response:
    """Find the child by personal code through the gateway; their name and the questions."""
    form, errors = await read_form(request, ChildCodeForm)
    if form is None:
        return await code_page(request, place, apis, round_id, errors)
    try:
        child = await apis.gateway.post(LOOKUP, {"personal_code": form.personal_code})
    except ApiProblem as problem:
        return await code_page(request, place, apis, round_id, _lookup_errors(problem))
    name = f"{child.get('given_name') or ''} {child.get('family_name') or ''}".strip()
    values = {"learner_id": str(child["id"]), "learner_name": name, "criteria": []}
    return await answer_page(request, place, apis, round_id, values)


def _lookup_errors(problem: ApiProblem) -> FormErrors:
    """The gateway's refusal of a lookup, at the code field (nothing tells who exists)."""
    if problem.type in ("invalid-personal-code", "validation"):
        return FormErrors().add("personal_code", CODE_MESSAGE)
    if problem.status == 404:
        return FormErrors().add("personal_code", NO_CHILD)
    return FormErrors().add("form", REFUSED)


async def answer_page(
    request: Request,
    place: Place,
    apis: Apis,
    round_id: str,
    values: dict[str, Any],
    errors: FormErrors | None = None,
) -> Response:
    """The child's name to check, and the paper answer's questions."""
    found = await _open_round(apis, round_id)
    return await place.render(
        request, "planning/survey/staff/paper.html", errors,
        place=place, round=found, values=values,
        devices=DEVICE_ACCESS, internets=INTERNET, criteria=CRITERIA_SHORT,
        form_key=values.get("form_key") or new_form_key(),
    )  # fmt: skip


async def record(request: Request, place: Place, apis: Apis, round_id: str) -> Response:
    """Send the paper answer for the child found (the service checks the child is the place's)."""
    form = await request.form()
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    values: dict[str, Any] = {
        "learner_id": text.get("learner_id", "").strip(),
        "learner_name": text.get("learner_name", "").strip()[:NAME_MAX],
        "device_access": text.get("device_access", ""),
        "internet": text.get("internet", ""),
        "criteria": [c for c in form.getlist("criteria") if isinstance(c, str)],
        "form_key": await posted_form_key(request) or "",
    }
    if not _person_id(values["learner_id"]):  # not a form this page made: start again
        errors = FormErrors().add("personal_code", START_AGAIN)
        return await code_page(request, place, apis, round_id, errors)
    errors = _answer_errors(values)
    if errors:
        return await answer_page(request, place, apis, round_id, values, errors)
    body = {k: values[k] for k in ("device_access", "internet", "criteria")}
    learner = values["learner_id"]
    try:
        await apis.planning.put(
            f"{SURVEY_API}/{round_id}/answers/{learner}", body, idempotency_key=values["form_key"]
        )
    except ApiProblem as problem:
        errors = problem_errors(problem, PAPER_MESSAGES, by_type=PAPER_TYPES)
        if problem.status in (403, 404) and not problem.errors:
            errors = FormErrors().add("form", PAPER_TYPES["learner-not-in-round"][1])
        return await answer_page(request, place, apis, round_id, values, errors)
    return RedirectResponse(f"{place.base}/{round_id}/answers/{learner}", status_code=303)


def _person_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return re.fullmatch(r"[0-9a-fA-F-]{36}", value) is not None


def _answer_errors(values: dict[str, Any]) -> FormErrors:
    errors = FormErrors()
    if values["device_access"] not in DEVICE_ACCESS:
        errors.add("device_access", PAPER_MESSAGES["device_access"])
    if values["internet"] not in INTERNET:
        errors.add("internet", PAPER_MESSAGES["internet"])
    if any(c not in CRITERIA_SHORT for c in values["criteria"]):
        errors.add("criteria", PAPER_MESSAGES["criteria"])
    return errors
