"""Families: tell us about computers at home for a child, one question per page.

device access → internet → the round's criteria (only those it asks) → check your answers →
confirmation. The answers wait in the web session between the pages; the planning service
decides when the last page is sent, and what it refuses is shown on the page of that answer.
Once answered, the child's page shows what the family told us (see `survey_family_answer`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Person, PersonApis, Settings, SignedIn
from portal_service.planning import survey_family_answer as answers
from portal_service.planning.survey_family_answer import Child, Task, child_and_task
from portal_service.planning.survey_family_forms import (
    MESSAGES,
    PROBLEM_FIELDS,
    PROBLEM_TYPES,
    STEP_OF_FIELD,
    answer_body,
    base_of,
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


def _page(
    request: Request,
    name: str,
    child: Child,
    task: Task,
    errors: FormErrors | None,
    **context: Any,
) -> Response:
    return render_form(
        request,
        f"planning/survey/family/{name}.html",
        errors,
        child=child,
        task=task,
        base=base_of(task.round_id, child.id),
        **context,
    )


@router.get(CHILD + "/start")
async def start(
    round_id: str, learner_id: str, person: Person, apis: PersonApis, settings: Settings
) -> Response:
    """Start answering (or, once answered, change the answer from the check page)."""
    child, task = await child_and_task(person, apis, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if not task.open:
        return RedirectResponse(base, status_code=303)
    draft: dict[str, Any] = {}
    if task.answered:
        draft = draft_of_answer(await answers.answer_of(apis, task.round_id, child.id))
    keep_draft(person, settings, task.round_id, child.id, draft)
    return to_step(base, "check" if draft else "device")


async def _open_draft(
    person: SignedIn, apis: PersonApis, settings: Settings, round_id: str, learner_id: str
) -> tuple[Child, Task, dict[str, Any]]:
    child, task = await child_and_task(person, apis, round_id, learner_id)
    return child, task, read_draft(person, settings, task.round_id, child.id)


@router.get(CHILD + "/device")
async def device_page(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """Which computer the child can use at home."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    if not task.open:
        return RedirectResponse(base_of(task.round_id, child.id), status_code=303)
    value = draft.get("device_access") or ""
    return _page(request, "device", child, task, None, value=value, options=DEVICE_ACCESS)


@router.post(CHILD + "/device")
async def device_post(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """Keep the answer about the computer."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    value, errors = one_of(await chosen(request, "device_access"), DEVICE_ACCESS, "device_access")
    if value is None:
        return _page(request, "device", child, task, errors, value="", options=DEVICE_ACCESS)
    draft["device_access"] = value
    keep_draft(person, settings, task.round_id, child.id, draft)
    return next_step(base_of(task.round_id, child.id), draft, "device", task.criteria)


@router.get(CHILD + "/internet")
async def internet_page(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """What internet the child has at home."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if missing := missing_step(draft, "internet", task.criteria):
        return to_step(base, missing)
    value = draft.get("internet") or ""
    return _page(request, "internet", child, task, None, value=value, options=INTERNET)


@router.post(CHILD + "/internet")
async def internet_post(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """Keep the answer about the internet."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if missing := missing_step(draft, "internet", task.criteria):
        return to_step(base, missing)
    value, errors = one_of(await chosen(request, "internet"), INTERNET, "internet")
    if value is None:
        return _page(request, "internet", child, task, errors, value="", options=INTERNET)
    draft["internet"] = value
    keep_draft(person, settings, task.round_id, child.id, draft)
    return next_step(base, draft, "internet", task.criteria)


def _criteria_page(
    request: Request, child: Child, task: Task, values: list[str], errors: FormErrors | None
) -> Response:
    options = {c: CRITERIA[c] for c in task.criteria if c in CRITERIA}
    return _page(request, "criteria", child, task, errors, values=values, options=options)


@router.get(CHILD + "/criteria")
async def criteria_page(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """The round's circumstances, with "None of these"; why we ask and who sees it."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if not task.criteria:
        return to_step(base, "check")
    if missing := missing_step(draft, "criteria", task.criteria):
        return to_step(base, missing)
    given = draft.get("criteria")
    values = ["none"] if given == [] else list(given or [])
    return _criteria_page(request, child, task, values, None)


@router.post(CHILD + "/criteria")
async def criteria_post(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """Keep the declared circumstances ("None of these" is an answer too)."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if missing := missing_step(draft, "criteria", task.criteria):
        return to_step(base, missing)
    values = await chosen(request, "criteria")
    declared, errors = criteria_of(values, task.criteria)
    if declared is None:
        return _criteria_page(request, child, task, values, errors)
    draft["criteria"] = declared
    keep_draft(person, settings, task.round_id, child.id, draft)
    return next_step(base, draft, "criteria", task.criteria)


def _check(
    request: Request, child: Child, task: Task, draft: dict[str, Any], errors: FormErrors | None
) -> Response:
    return _page(
        request,
        "check",
        child,
        task,
        errors,
        device=DEVICE_ACCESS.get(draft["device_access"], ""),
        internet=INTERNET.get(draft["internet"], ""),
        criteria=[CRITERIA_SHORT[c] for c in draft.get("criteria") or [] if c in CRITERIA_SHORT],
        changing=bool(task.answered),
        form_key=new_form_key(),
    )


@router.get(CHILD + "/check")
async def check_page(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """Check your answers, with a link to change each."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if missing := missing_step(draft, "check", task.criteria):
        return to_step(base, missing)
    draft["checking"] = True
    keep_draft(person, settings, task.round_id, child.id, draft)
    return _check(request, child, task, draft, None)


@router.post(CHILD + "/check")
async def check_post(
    request: Request,
    round_id: str,
    learner_id: str,
    person: Person,
    apis: PersonApis,
    settings: Settings,
) -> Response:
    """Send the answer; a refusal is shown on the page of the answer it concerns."""
    child, task, draft = await _open_draft(person, apis, settings, round_id, learner_id)
    base = base_of(task.round_id, child.id)
    if missing := missing_step(draft, "check", task.criteria):
        return to_step(base, missing)
    try:
        await apis.planning.put(
            f"{SURVEY_API}/{task.round_id}/answers/{child.id}",
            answer_body(draft),
            idempotency_key=await posted_form_key(request),
        )
    except ApiProblem as problem:
        errors = problem_errors(problem, MESSAGES, fields=PROBLEM_FIELDS, by_type=PROBLEM_TYPES)
        return _refused(request, child, task, draft, errors)
    keep_draft(person, settings, task.round_id, child.id, None)
    return RedirectResponse(f"{base}/done", status_code=303)


def _refused(
    request: Request, child: Child, task: Task, draft: dict[str, Any], errors: FormErrors
) -> Response:
    """The page of the first refused answer, with the service's message."""
    step = next((STEP_OF_FIELD[f] for f in errors.fields if f in STEP_OF_FIELD), "check")
    if step == "device":
        return _page(
            request, "device", child, task, errors,
            value=draft["device_access"], options=DEVICE_ACCESS,
        )  # fmt: skip
    if step == "internet":
        return _page(
            request, "internet", child, task, errors, value=draft["internet"], options=INTERNET
        )
    if step == "criteria":
        return _criteria_page(request, child, task, list(draft.get("criteria") or []), errors)
    return _check(request, child, task, draft, errors)


router.include_router(answers.router)
