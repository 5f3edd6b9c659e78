"""Families: tell us about computers at home for a child, one question per page.

device access → internet → the round's criteria (only those it asks) → check your answers →
confirmation. The answers wait in the web session between the pages; the planning service
decides when the last page is sent, and what it refuses is shown on the page of that answer.
Once answered, the child's page shows what the family told us (see `survey_family_answer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.config import PortalSettings
from portal_service.deps import Person, PersonApis, Settings, SignedIn
from portal_service.planning import survey_family_answer as answers
from portal_service.planning.survey_family_answer import ChildTask, SurveyChild
from portal_service.planning.survey_family_forms import (
    MESSAGES,
    PROBLEM_FIELDS,
    PROBLEM_TYPES,
    STEP_OF_FIELD,
    answer_body,
    chosen,
    criteria_of,
    draft_of_answer,
    keep_draft,
    missing_step,
    next_step,
    one_of,
    read_draft,
    to_step,
)
from portal_service.planning.survey_labels import (
    CRITERIA,
    CRITERIA_SHORT,
    DEVICE_ACCESS,
    INTERNET,
    SURVEY_API,
)
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import FormErrors, posted_form_key, problem_errors
from portal_service.web.pages import page_router, render_form

router = page_router()
CHILD = "/survey/{round_id}/children/{learner_id}"
# The radio questions: the page (the step) → the answer's field and its options.
QUESTIONS = {"device": ("device_access", DEVICE_ACCESS), "internet": ("internet", INTERNET)}


@dataclass(frozen=True)
class DraftContext(ChildTask):
    """A child's round with the family's answers so far (kept in the web session)."""

    draft: dict[str, Any]
    person: SignedIn
    settings: PortalSettings

    def keep(self, draft: dict[str, Any] | None) -> None:
        """Replace the answers so far (None forgets them)."""
        keep_draft(self.person, self.settings, self.task.round_id, self.child.id, draft)

    def missing(self, step: str) -> Response | None:
        """To the first earlier page without an answer, if any."""
        missing = missing_step(self.draft, step, self.task.criteria)
        return to_step(self.base, missing) if missing else None


async def open_draft(survey: SurveyChild, person: Person, settings: Settings) -> DraftContext:
    """The child, the round and the family's answers so far."""
    draft = read_draft(person, settings, survey.task.round_id, survey.child.id)
    return DraftContext(survey.child, survey.task, draft, person, settings)


SurveyDraft = Annotated[DraftContext, Depends(open_draft)]


def _page(
    request: Request, name: str, survey: ChildTask, errors: FormErrors | None, **context: Any
) -> Response:
    return render_form(
        request,
        f"planning/survey/family/{name}.html",
        errors,
        child=survey.child,
        task=survey.task,
        base=survey.base,
        **context,
    )


@router.get(CHILD + "/start")
async def start(survey: SurveyDraft, apis: PersonApis) -> Response:
    """Start answering (or, once answered, change the answer from the check page)."""
    task = survey.task
    if not task.open:
        return RedirectResponse(survey.base, status_code=303)
    draft: dict[str, Any] = {}
    if task.answered:
        draft = draft_of_answer(await answers.answer_of(apis, task.round_id, survey.child.id))
    survey.keep(draft)
    return to_step(survey.base, "check" if draft else "device")


def _question(
    request: Request, survey: DraftContext, step: str, errors: FormErrors | None, value: str
) -> Response:
    """A radio question's page (its field and options by the step)."""
    options = QUESTIONS[step][1]
    return _page(request, step, survey, errors, value=value, options=options)


def _question_page(request: Request, survey: DraftContext, step: str) -> Response:
    if missing := survey.missing(step):
        return missing
    return _question(request, survey, step, None, survey.draft.get(QUESTIONS[step][0]) or "")


async def _question_post(request: Request, survey: DraftContext, step: str) -> Response:
    if missing := survey.missing(step):
        return missing
    field, options = QUESTIONS[step]
    value, errors = one_of(await chosen(request, field), options, field)
    if value is None:
        return _question(request, survey, step, errors, "")
    survey.draft[field] = value
    survey.keep(survey.draft)
    return next_step(survey.base, survey.draft, step, survey.task.criteria)


@router.get(CHILD + "/device")
async def device_page(request: Request, survey: SurveyDraft) -> Response:
    """Which computer the child can use at home."""
    if not survey.task.open:
        return RedirectResponse(survey.base, status_code=303)
    return _question_page(request, survey, "device")


@router.post(CHILD + "/device")
async def device_post(request: Request, survey: SurveyDraft) -> Response:
    """Keep the answer about the computer."""
    return await _question_post(request, survey, "device")


@router.get(CHILD + "/internet")
async def internet_page(request: Request, survey: SurveyDraft) -> Response:
    """What internet the child has at home."""
    return _question_page(request, survey, "internet")


@router.post(CHILD + "/internet")
async def internet_post(request: Request, survey: SurveyDraft) -> Response:
    """Keep the answer about the internet."""
    return await _question_post(request, survey, "internet")


def _criteria_page(
    request: Request, survey: ChildTask, values: list[str], errors: FormErrors | None
) -> Response:
    options = {c: CRITERIA[c] for c in survey.task.criteria if c in CRITERIA}
    return _page(request, "criteria", survey, errors, values=values, options=options)


@router.get(CHILD + "/criteria")
async def criteria_page(request: Request, survey: SurveyDraft) -> Response:
    """The round's circumstances, with "None of these"; why we ask and who sees it."""
    if not survey.task.criteria:
        return to_step(survey.base, "check")
    if missing := survey.missing("criteria"):
        return missing
    given = survey.draft.get("criteria")
    values = ["none"] if given == [] else list(given or [])
    return _criteria_page(request, survey, values, None)


@router.post(CHILD + "/criteria")
async def criteria_post(request: Request, survey: SurveyDraft) -> Response:
    """Keep the declared circumstances ("None of these" is an answer too)."""
    if missing := survey.missing("criteria"):
        return missing
    values = await chosen(request, "criteria")
    declared, errors = criteria_of(values, survey.task.criteria)
    if declared is None:
        return _criteria_page(request, survey, values, errors)
    survey.draft["criteria"] = declared
    survey.keep(survey.draft)
    return next_step(survey.base, survey.draft, "criteria", survey.task.criteria)


def _check(request: Request, survey: DraftContext, errors: FormErrors | None) -> Response:
    draft = survey.draft
    return _page(
        request,
        "check",
        survey,
        errors,
        device=DEVICE_ACCESS.get(draft["device_access"], ""),
        internet=INTERNET.get(draft["internet"], ""),
        criteria=[CRITERIA_SHORT[c] for c in draft.get("criteria") or [] if c in CRITERIA_SHORT],
        changing=bool(survey.task.answered),
        form_key=new_form_key(),
    )


@router.get(CHILD + "/check")
async def check_page(request: Request, survey: SurveyDraft) -> Response:
    """Check your answers, with a link to change each."""
    if missing := survey.missing("check"):
        return missing
    survey.draft["checking"] = True
    survey.keep(survey.draft)
    return _check(request, survey, None)


@router.post(CHILD + "/check")
async def check_post(request: Request, survey: SurveyDraft, apis: PersonApis) -> Response:
    """Send the answer; a refusal is shown on the page of the answer it concerns."""
    if missing := survey.missing("check"):
        return missing
    try:
        await apis.planning.put(
            f"{SURVEY_API}/{survey.task.round_id}/answers/{survey.child.id}",
            answer_body(survey.draft),
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        errors = problem_errors(problem, MESSAGES, fields=PROBLEM_FIELDS, by_type=PROBLEM_TYPES)
        return _refused(request, survey, errors)
    survey.keep(None)
    return RedirectResponse(f"{survey.base}/done", status_code=303)


def _refused(request: Request, survey: DraftContext, errors: FormErrors) -> Response:
    """The page of the first refused answer, with the service's message."""
    step = next((STEP_OF_FIELD[f] for f in errors.fields if f in STEP_OF_FIELD), "check")
    if step in QUESTIONS:
        return _question(request, survey, step, errors, survey.draft[QUESTIONS[step][0]])
    if step == "criteria":
        return _criteria_page(request, survey, list(survey.draft.get("criteria") or []), errors)
    return _check(request, survey, errors)


router.include_router(answers.router)
