"""Starting, changing and closing a survey round: a municipality's (its own schools) and the
programme's national ones share these handlers; the place says where and in which frame."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from portal_service.deps import Apis
from portal_service.exceptions import PageNotFound
from portal_service.i18n import N_, RIGA
from portal_service.municipality.editing import Conflict, if_match, save
from portal_service.planning.survey_labels import CRITERIA_SHORT, GRADES, SURVEY_API
from portal_service.planning.survey_round_forms import (
    BY_TYPE,
    EDITING,
    MESSAGES,
    RoundValues,
    read_round,
    values_of,
)
from portal_service.planning.survey_staff import Place, round_of
from portal_service.web.api import ApiProblem, new_form_key
from portal_service.web.forms import FormErrors, posted_form_key, problem_errors

FORM = "planning/survey/staff/round_form.html"
CLOSE_REFUSED = N_("The survey could not be closed. Reload the page and try again.")


@dataclass(frozen=True)
class RoundForms:
    """The round forms of one place: a municipality's, or the programme's national rounds."""

    place: Place
    apis: Apis
    scope: str  # "municipality" or "national"
    municipality_code: str | None
    schools: Callable[[], Awaitable[dict[str, str]]] | None  # None: no choice (national)

    async def _schools(self) -> dict[str, str] | None:
        return await self.schools() if self.schools is not None else None

    async def _form(
        self,
        request: Request,
        values: dict[str, Any],
        errors: FormErrors | None = None,
        found: dict[str, Any] | None = None,
        conflict: Conflict | None = None,
    ) -> Response:
        return await self.place.render(
            request, FORM, errors,
            place=self.place, values=values, round=found, conflict=conflict,
            schools=await self._schools(), grades=GRADES, criteria=CRITERIA_SHORT,
            form_key=values.get("form_key") or new_form_key(),
        )  # fmt: skip

    async def new_page(self, request: Request) -> Response:
        """An empty round: opens today, for four weeks, every grade and school."""
        today = dt.datetime.now(RIGA).date()
        closes = today + dt.timedelta(days=28)
        schools = await self._schools()
        values: dict[str, Any] = {
            "title": "",
            **{f"opens-{k}": getattr(today, k) for k in ("day", "month", "year")},
            **{f"closes-{k}": getattr(closes, k) for k in ("day", "month", "year")},
            "grades": [str(g) for g in GRADES],
            "institutions": list(schools or {}),
            "criteria": [],
        }
        return await self._form(request, values)

    def _body(self, read: RoundValues, schools: dict[str, str] | None) -> dict[str, Any]:
        body = read.body() | {"scope": self.scope}
        if self.municipality_code:
            body["municipality_code"] = self.municipality_code
        if schools is None or set(body["institutions"]) == set(schools):
            body.pop("institutions")  # every school VIIS lists (for the grades)
        return body

    async def create(self, request: Request) -> Response:
        """Create the round; a refusal at its field."""
        schools = await self._schools()
        read = read_round(await request.form(), schools)
        if read.errors:
            return await self._form(request, read.values, read.errors)
        key = await posted_form_key(request)
        try:
            created = await self.apis.planning.post(
                SURVEY_API, self._body(read, schools), idempotency_key=key
            )
        except ApiProblem as problem:
            errors = problem_errors(problem, MESSAGES, fields=EDITING.fields, by_type=BY_TYPE)
            errors.anchors.update(EDITING.anchors)
            return await self._form(request, read.values | {"form_key": key or ""}, errors)
        return RedirectResponse(f"{self.place.base}/{created['id']}?saved=1", status_code=303)

    async def edit_page(self, request: Request, round_id: str) -> Response:
        """The round in the form, at the version read."""
        found = await round_of(self.apis, round_id)
        self._own(found)
        return await self._form(request, values_of(found), found=found)

    def _own(self, found: dict[str, Any]) -> None:
        if found.get("scope") != self.scope or (
            self.municipality_code and found.get("municipality_code") != self.municipality_code
        ):
            raise PageNotFound("not the place's own round")

    async def save(self, request: Request, round_id: str) -> Response:
        """Change the round over the version the form was read at."""
        found = await round_of(self.apis, round_id)
        self._own(found)
        schools = await self._schools()
        read = read_round(await request.form(), schools)
        if read.errors or not read.values["version"].isdigit():
            return await self._form(request, read.values, read.errors, found)
        body = read.body()
        if schools is None:
            body.pop("institutions")
        refused = await save(
            self.apis.planning.patch(
                f"{SURVEY_API}/{round_id}", body, if_match=if_match(int(read.values["version"]))
            ),
            EDITING,
            yours=body,
            current=lambda: round_of(self.apis, round_id),
            keep_href=f"{self.place.base}/{round_id}",
        )
        if refused is None:
            return RedirectResponse(f"{self.place.base}/{round_id}?saved=1", status_code=303)
        values = read.values
        if refused.version is not None:
            values |= {"version": str(refused.version)}
        return await self._form(request, values, refused.errors, found, refused.conflict)

    async def close_page(
        self, request: Request, round_id: str, errors: FormErrors | None = None
    ) -> Response:
        """Close the round early?"""
        found = await round_of(self.apis, round_id)
        self._own(found)
        if found["state"] == "closed":
            return RedirectResponse(f"{self.place.base}/{round_id}", status_code=303)
        return await self.place.render(
            request, "planning/survey/staff/close.html", errors, place=self.place, round=found
        )

    async def close(self, request: Request, round_id: str) -> Response:
        """Close it (a stale page or a refusal: the confirmation again with why)."""
        found = await round_of(self.apis, round_id)
        self._own(found)
        version = (await request.form()).get("version")
        try:
            await self.apis.planning.post(
                f"{SURVEY_API}/{round_id}/close",
                if_match=if_match(int(version))
                if isinstance(version, str) and version.isdigit()
                else None,
                idempotency_key=await posted_form_key(request),
            )
        except ApiProblem:
            errors = FormErrors().add("form", CLOSE_REFUSED)
            return await self.close_page(request, round_id, errors)
        return RedirectResponse(f"{self.place.base}/{round_id}?closed=1", status_code=303)
