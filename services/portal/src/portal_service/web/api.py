"""The services' public REST APIs, called with the person's own access token.

The services decide; the portal shows their answers. What a page can do something about (a
refused form, a conflict) comes back as `ApiProblem` with the service's problem+json; what it
cannot becomes an error page: a resource that is not the person's (403/404) is "not found",
a token the service refuses sends the person to log in, a failing service is "unavailable".
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from portal_service.exceptions import LoginRequired, PageNotFound, ServiceUnavailable
from shared_kit.problems import PROBLEM_BASE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldProblem:
    """One member of a problem's `errors`: where (a JSON pointer) and why."""

    pointer: str
    detail: str = ""
    code: str = ""

    @property
    def name(self) -> str:
        """The pointer's last segment: the field's name (`/period/end` → `end`)."""
        return self.pointer.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class ApiProblem(Exception):
    """A service's 4xx answer a page can show next to the form: its problem+json."""

    status: int
    type: str
    title: str = ""
    detail: str = ""
    errors: list[FieldProblem] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.type}"

    @classmethod
    def of(cls, answer: httpx.Response) -> ApiProblem:
        """The problem a response carries (an empty or non-JSON body is still a problem)."""
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        kind = str(body.get("type") or "about:blank").removeprefix(PROBLEM_BASE)
        return cls(
            status=answer.status_code,
            type=kind,
            title=str(body.get("title") or ""),
            detail=str(body.get("detail") or ""),
            errors=[_field_problem(e) for e in body.get("errors") or [] if isinstance(e, dict)],
            body=body,
        )


def _field_problem(error: dict[str, Any]) -> FieldProblem:
    return FieldProblem(
        str(error.get("pointer") or ""),
        str(error.get("detail") or ""),
        str(error.get("code") or ""),
    )


def new_form_key() -> str:
    """A form's idempotency key: rendered into the form, sent with its POST (a double click or a
    resent form is applied once)."""
    return secrets.token_urlsafe(16)


class ServiceApi:
    """One service's API with one person's token."""

    def __init__(self, http: httpx.AsyncClient, name: str, base_url: str, token: str) -> None:
        self.name = name
        self._http, self._base, self._token = http, base_url.rstrip("/"), token

    async def request(
        self,
        method: str,
        path: str,
        *,
        allow: tuple[int, ...] = (),
        idempotency_key: str | None = None,
        if_match: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The service's answer; statuses in `allow` come back as they are. `if_match`: the
        ETag the page was rendered from (a change meanwhile answers 412)."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_match:
            headers["If-Match"] = if_match
        try:
            answer = await self._http.request(method, self._base + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            logger.warning("%s unreachable: %s", self.name, type(exc).__name__)
            raise ServiceUnavailable(f"{self.name} did not answer") from exc
        if answer.status_code < 400 or answer.status_code in allow:
            return answer
        raise _refusal(self.name, method, answer)

    async def get(self, path: str, **params: Any) -> Any:
        """A GET's JSON; `None` parameters are left out."""
        query = {k: v for k, v in params.items() if v is not None}
        return (await self.request("GET", path, params=query)).json()

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """A POST's JSON (None for an empty answer)."""
        return _json(await self.request("POST", path, json=json, **kwargs))

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """A PATCH's JSON."""
        return _json(await self.request("PATCH", path, json=json, **kwargs))

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """A PUT's JSON."""
        return _json(await self.request("PUT", path, json=json, **kwargs))

    async def delete(self, path: str, **kwargs: Any) -> Any:
        """A DELETE's JSON (None for an empty answer)."""
        return _json(await self.request("DELETE", path, **kwargs))

    async def stream(self, path: str, *, accept: str, **params: Any) -> httpx.Response:
        """A GET whose body is read as it arrives (a large export): the caller passes it on
        and closes it. A refusal is raised as `request` raises it."""
        query = {k: v for k, v in params.items() if v is not None}
        headers = {"Authorization": f"Bearer {self._token}", "Accept": accept}
        request = self._http.build_request("GET", self._base + path, params=query, headers=headers)
        try:
            answer = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            logger.warning("%s unreachable: %s", self.name, type(exc).__name__)
            raise ServiceUnavailable(f"{self.name} did not answer") from exc
        if answer.status_code < 400:
            return answer
        await answer.aread()
        await answer.aclose()
        raise _refusal(self.name, "GET", answer)

    async def download(self, path: str) -> httpx.Response:
        """A file (a PDF, a photo) as the service sent it."""
        return await self.request("GET", path)


def _json(answer: httpx.Response) -> Any:
    return answer.json() if answer.content else None


def _refusal(name: str, method: str, answer: httpx.Response) -> Exception:
    status = answer.status_code
    if status == 401:
        logger.info("%s refused the person's token", name)
        return LoginRequired(None)
    if status in (403, 404) and method == "GET":
        # Another family's, school's or municipality's resource is simply not there.
        return PageNotFound(f"{name} answered {status}")
    if status >= 500:
        logger.warning("%s answered %s", name, status)
        return ServiceUnavailable(f"{name} answered {status}")
    return ApiProblem.of(answer)
