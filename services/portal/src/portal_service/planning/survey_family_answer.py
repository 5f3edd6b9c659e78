"""Families: what you told us about a child (each criterion with its status), the confirmation,
withdrawing the answer, and who has looked at it (the access log)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis, Person, PersonApis, SignedIn
from portal_service.exceptions import PageNotFound
from portal_service.planning.survey_family_forms import base_of
from portal_service.planning.survey_labels import (
    CHANNELS,
    CRITERIA_SHORT,
    DEVICE_ACCESS,
    INTERNET,
    STATUSES,
    SURVEY_API,
    TASKS_API,
    access_rows,
    status_of,
)
from portal_service.web.api import ApiProblem
from portal_service.web.gateway import Child
from portal_service.web.pages import page_router, render_page

router = page_router()
CHILD = "/survey/{round_id}/children/{learner_id}"
__all__ = ["Child", "ChildTask", "SurveyChild", "Task", "child_and_task", "router"]


@dataclass
class Task:
    """A round as one child's family sees it: open or not, what it asks, whether answered."""

    round_id: str
    title: str
    closes_on: dt.date | None
    criteria: list[str] = field(default_factory=list)
    answered: bool = False
    open: bool = False


async def tasks_of(apis: Apis) -> list[dict[str, Any]]:
    """The family's survey tasks (the planning service says which rounds ask about which child)."""
    body = await apis.planning.get(TASKS_API)
    items = body.get("items") if isinstance(body, dict) else body
    return [t for t in items or [] if isinstance(t, dict)]


def task_of(found: dict[str, Any]) -> Task:
    """A task as the pages use it."""
    closes = found.get("closes_on")
    return Task(
        round_id=str(found["round_id"]),
        title=str(found.get("title") or ""),
        closes_on=dt.date.fromisoformat(closes) if closes else None,
        criteria=[str(c) for c in found.get("criteria") or []],
        answered=bool(found.get("answered")),
        open=True,
    )


def child_of(person: SignedIn, learner_id: str) -> Child:
    """One of the person's children; anyone else's child is not found."""
    child = next((c for c in person.profile.children if c.id == learner_id), None)
    if child is None or "guardian" not in person.profile.roles:
        raise PageNotFound("not the person's child")
    return child


async def child_and_task(
    person: SignedIn, apis: Apis, round_id: str, learner_id: str
) -> tuple[Child, Task]:
    """The child and the round as their family sees it (a closed round: only the answer)."""
    child = child_of(person, learner_id)
    try:
        round_key = str(uuid.UUID(round_id))
    except ValueError as exc:
        raise PageNotFound("not a round's id") from exc
    for found in await tasks_of(apis):
        if str(found.get("round_id")) == round_key and found.get("learner_id") == child.id:
            return child, task_of(found)
    return child, Task(round_key, "", None, answered=True)


@dataclass(frozen=True)
class ChildTask:
    """One of the person's children in a round, and where the child's pages of it start."""

    child: Child
    task: Task

    @property
    def base(self) -> str:
        """The child's pages of the round start here."""
        return base_of(self.task.round_id, self.child.id)


async def child_task(round_id: str, learner_id: str, person: Person, apis: PersonApis) -> ChildTask:
    """The child and the round from the address (someone else's child: not found)."""
    return ChildTask(*await child_and_task(person, apis, round_id, learner_id))


SurveyChild = Annotated[ChildTask, Depends(child_task)]


async def answer_of(apis: Apis, round_id: str, learner_id: str) -> dict[str, Any]:
    """The child's answer in the round (none: not found)."""
    answer: dict[str, Any] = await apis.planning.get(
        f"{SURVEY_API}/{round_id}/answers/{learner_id}"
    )
    return answer


def answer_view(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as the pages show it: its words, each criterion's status as a tag."""
    claims = []
    for claim in answer.get("criteria") or []:
        if not claim.get("declared") and claim.get("status") == "declared":
            continue
        text, colour = STATUSES.get(status_of(claim), (str(claim.get("status")), ""))
        claims.append(
            {
                "criterion": claim["criterion"],
                "label": CRITERIA_SHORT.get(claim["criterion"], claim["criterion"]),
                "tag": {"text": text, "classes": colour},
                "verified_at": _moment(claim.get("verified_at")),
                "status": claim.get("status"),
            }
        )
    return {
        **answer,
        "device": DEVICE_ACCESS.get(str(answer.get("device_access")), ""),
        "internet_text": INTERNET.get(str(answer.get("internet")), ""),
        "claims": claims,
        "channel_text": CHANNELS.get(str(answer.get("channel")), ""),
        "submitted": _moment(answer.get("submitted_at")),
        "updated": _moment(answer.get("updated_at")),
    }


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


@router.get(CHILD)
async def child_page(request: Request, survey: SurveyChild, apis: PersonApis) -> Response:
    """Not answered yet: the start page; answered: what the family told us."""
    child, task, base = survey.child, survey.task, survey.base
    if task.open and not task.answered:
        return render_page(
            request, "planning/survey/family/start.html", child=child, task=task, base=base
        )
    answer = answer_view(await answer_of(apis, task.round_id, child.id))
    return render_page(
        request,
        "planning/survey/family/answer.html",
        child=child,
        task=task,
        base=base,
        answer=answer,
        done=request.query_params.get("done") == "1",
    )


@router.get(CHILD + "/done")
async def done_page(round_id: str, learner_id: str, person: Person) -> Response:
    """The confirmation is the answer's page with a banner."""
    child = child_of(person, learner_id)
    return RedirectResponse(f"{base_of(round_id, child.id)}?done=1", status_code=303)


@router.get(CHILD + "/withdraw")
async def withdraw_page(request: Request, survey: SurveyChild, apis: PersonApis) -> Response:
    """Are you sure? (a POST deletes the answer and its checks)."""
    await answer_of(apis, survey.task.round_id, survey.child.id)
    return render_page(
        request,
        "planning/survey/family/withdraw.html",
        child=survey.child,
        task=survey.task,
        base=survey.base,
    )


@router.post(CHILD + "/withdraw")
async def withdraw_post(request: Request, survey: SurveyChild, apis: PersonApis) -> Response:
    """Delete the answer at the planning service (already gone: the same outcome)."""
    path = f"{SURVEY_API}/{survey.task.round_id}/answers/{survey.child.id}"
    try:
        await apis.planning.request("DELETE", path, allow=(404,))
    except ApiProblem as problem:
        if problem.status == 403:
            raise PageNotFound("not the person's answer") from problem
        raise
    return render_page(
        request, "planning/survey/family/withdrawn.html", child=survey.child, task=survey.task
    )


@router.get(CHILD + "/access-log")
async def access_log(request: Request, survey: SurveyChild, apis: PersonApis) -> Response:
    """Who has looked at the child's answer, and when."""
    path = f"{SURVEY_API}/{survey.task.round_id}/access-log"
    reads = access_rows(await apis.planning.get(path, learner_id=survey.child.id))
    return render_page(
        request,
        "planning/survey/family/access_log.html",
        child=survey.child,
        task=survey.task,
        base=survey.base,
        reads=reads,
    )
