"""The API client of the gateway: token exchange and refresh, logout, and who-am-I."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel

from portal_service.exceptions import GatewayUnavailable, LoginFailed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint answered."""

    access_token: str
    refresh_token: str
    expires_in: int


class School(BaseModel):
    """A child's school."""

    registration_number: str
    name: str | None = None


class Child(BaseModel):
    """A guardian's child as the gateway has them from VIIS."""

    id: str
    given_name: str
    family_name: str
    school: School
    grade: int
    class_name: str


class Profile(BaseModel):
    """The person themself (`GET /api/v1/gateway/me`); never a personal code."""

    id: str
    given_name: str | None = None
    family_name: str | None = None
    roles: list[str] = []
    children: list[Child] = []

    @property
    def name(self) -> str:
        """Given and family name as one string."""
        return " ".join(n for n in (self.given_name, self.family_name) if n)


class RefreshRefused(Exception):
    """The gateway refused the refresh token: the gateway session has ended."""


class GatewayClient:
    """Calls the gateway over the portal's shared HTTP client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http, self._base = http, base_url.rstrip("/")

    async def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.post(self._base + path, **kwargs)
        except httpx.TransportError as exc:
            logger.warning("gateway unreachable: %s", type(exc).__name__)
            raise GatewayUnavailable("the gateway did not answer") from exc

    async def redeem_code(self, code: str, verifier: str, redirect_uri: str) -> Tokens:
        """Authorization code + PKCE verifier → tokens (LoginFailed when refused)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        answer = await self._post("/oauth/token", data=form)
        if answer.status_code != 200:
            logger.info("gateway refused a code: %s", answer.status_code)
            raise LoginFailed("the gateway refused the login's code")
        return _tokens(answer)

    async def refresh(self, refresh_token: str) -> Tokens:
        """A rotated token pair (RefreshRefused when the gateway session has ended)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        answer = await self._post("/oauth/token", data=form)
        if answer.status_code in (400, 401):
            raise RefreshRefused
        if answer.status_code != 200:
            raise GatewayUnavailable(f"token refresh answered {answer.status_code}")
        return _tokens(answer)

    async def logout(self, refresh_token: str, return_to: str) -> str:
        """End the gateway session; where to send the browser (Latvija.lv's SLO or return_to)."""
        body = {"refresh_token": refresh_token, "return_to": return_to}
        answer = await self._post("/logout", json=body)
        if answer.status_code != 200:
            raise GatewayUnavailable(f"logout answered {answer.status_code}")
        return str(answer.json()["redirect_to"])

    async def me(self, access_token: str) -> Profile:
        """Who the token's person is: name, roles, children."""
        try:
            answer = await self._http.get(
                f"{self._base}/api/v1/gateway/me",
                headers={"Authorization": f"Bearer {access_token}"},
            )
        except httpx.TransportError as exc:
            raise GatewayUnavailable("the gateway did not answer") from exc
        if answer.status_code != 200:
            raise GatewayUnavailable(f"who-am-I answered {answer.status_code}")
        return Profile.model_validate_json(answer.content)


def _tokens(answer: httpx.Response) -> Tokens:
    body = answer.json()
    return Tokens(body["access_token"], body["refresh_token"], int(body["expires_in"]))
