"""What the school's and the municipality's survey pages share: where they are (a school or a
municipality, each in its own frame), the rounds covering it, a round's results, the answers
(reading them is audited by the planning service), one answer with "confirm" / "not
confirmed" per declared criterion (a paper answer: `survey_paper`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_
from portal_service.planning.survey_family_answer import answer_view
from portal_service.planning.survey_labels import (
    CRITERIA_SHORT,
    STATUS_FILTERS,
    SURVEY_API,
    round_tag,
)
from portal_service.planning.survey_results import rate, results_view, school_names
from portal_service.web.api import ApiProblem
from portal_service.web.forms import FormErrors, posted_form_key

PAGE_SIZE = 25
LEARNER_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
VERIFY_REFUSED = N_("This could not be recorded. Reload the page and try again.")

Render = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class Place:
    """A school's or a municipality's survey pages: where they start, how the API filters for
    them, and how a page is put in their frame."""

    kind: str  # "school" or "municipality"
    code: str
    base: str  # …/survey
    render: Render  # (request, template, errors, **context) → the page in the place's frame

    @property
    def filters(self) -> dict[str, str]:
        """The API's filter for this place."""
        return {"institution" if self.kind == "school" else "municipality": self.code}


def _items(body: Any) -> list[dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else body
    return [x for x in items or [] if isinstance(x, dict)]


async def rounds_of(apis: Apis, place: Place) -> list[dict[str, Any]]:
    """The rounds covering the place, newest first, each with its state's tag."""
    body = await apis.planning.get(SURVEY_API, limit=100, **place.filters)
    rounds = [round_view(r) for r in _items(body)]
    return sorted(rounds, key=lambda r: r["opens_on"], reverse=True)


def round_view(found: dict[str, Any]) -> dict[str, Any]:
    """A round as the pages show it."""
    return {
        **found,
        "opens_on": dt.date.fromisoformat(found["opens_on"]),
        "closes_on": dt.date.fromisoformat(found["closes_on"]),
        "tag": round_tag(str(found.get("state"))),
        "criteria_labels": [CRITERIA_SHORT.get(c, c) for c in found.get("criteria") or []],
    }


async def round_of(apis: Apis, round_id: str) -> dict[str, Any]:
    """One round (another tenant's: not found)."""
    return round_view(await apis.planning.get(f"{SURVEY_API}/{round_id}"))


async def results_of(apis: Apis, round_id: str, **scope: str) -> dict[str, Any] | None:
    """A round's results for a scope (None while the service cannot count them)."""
    try:
        found: dict[str, Any] = await apis.planning.get(f"{SURVEY_API}/{round_id}/results", **scope)
    except PageNotFound:
        return None
    return found


async def round_page(request: Request, place: Place, apis: Apis, round_id: str) -> Response:
    """A round with its results for the place."""
    found = await round_of(apis, round_id)
    results = await results_of(apis, round_id, **place.filters)
    return await place.render(
        request, "planning/survey/staff/round.html", None,
        place=place, round=found,
        results=results_view(results, school_names(found)) if results else None,
        rate=rate, saved=request.query_params.get("saved"),
        closed=request.query_params.get("closed"),
    )  # fmt: skip


async def answers_page(
    request: Request,
    place: Place,
    apis: Apis,
    round_id: str,
    criterion: str | None,
    status: str | None,
    cursor: str | None,
) -> Response:
    """The answers of the place's children (each shown one is recorded as read)."""
    found = await round_of(apis, round_id)
    chosen = {
        "criterion": criterion if criterion in CRITERIA_SHORT else None,
        "status": status if status in STATUS_FILTERS else None,
    }
    scope = place.filters if place.kind == "school" else {}
    body = await apis.planning.get(
        f"{SURVEY_API}/{round_id}/answers", cursor=cursor, limit=PAGE_SIZE, **scope, **chosen
    )
    answers = [answer_view(a) for a in _items(body)]
    return await place.render(
        request, "planning/survey/staff/answers.html", None,
        place=place, round=found, answers=answers, chosen=chosen,
        criteria=CRITERIA_SHORT, statuses=STATUS_FILTERS,
        links=_pages(request, body.get("next_cursor") if isinstance(body, dict) else None),
    )  # fmt: skip


def _pages(request: Request, cursor: str | None) -> dict[str, str]:
    here = dict(request.query_params)
    links: dict[str, str] = {}
    if cursor:
        links["next"] = f"{request.url.path}?{urlencode({**here, 'cursor': cursor})}"
    if "cursor" in here:
        first = {k: v for k, v in here.items() if k != "cursor"}
        links["first"] = request.url.path + (f"?{urlencode(first)}" if first else "")
    return links


async def answer_page(
    request: Request,
    place: Place,
    apis: Apis,
    round_id: str,
    learner_id: str,
    errors: FormErrors | None = None,
) -> Response:
    """One child's answer with a small form per declared criterion (the read is recorded)."""
    found = await round_of(apis, round_id)
    answer = answer_view(await apis.planning.get(f"{SURVEY_API}/{round_id}/answers/{learner_id}"))
    return await place.render(
        request, "planning/survey/staff/answer.html", errors,
        place=place, round=found, answer=answer, done=request.query_params.get("done"),
    )  # fmt: skip


async def verify(
    request: Request, place: Place, apis: Apis, round_id: str, learner_id: str
) -> Response:
    """Confirm or not one declared criterion; back to the answer (post/redirect/get)."""
    form = await request.form()
    criterion, outcome = form.get("criterion"), form.get("outcome")
    if criterion not in CRITERIA_SHORT or outcome not in ("verified", "rejected"):
        errors = FormErrors().add("form", VERIFY_REFUSED)
        return await answer_page(request, place, apis, round_id, learner_id, errors)
    path = f"{SURVEY_API}/{round_id}/answers/{learner_id}/verifications"
    try:
        await apis.planning.post(
            path, {"criterion": criterion, "outcome": outcome},
            idempotency_key=await posted_form_key(request),
        )  # fmt: skip
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise PageNotFound("not the place's answer") from problem
        errors = FormErrors().add("form", VERIFY_REFUSED)
        return await answer_page(request, place, apis, round_id, learner_id, errors)
    where = f"{place.base}/{round_id}/answers/{learner_id}?done={outcome}"
    return RedirectResponse(where, status_code=303)
