"""Mykoob: OAuth 2.0 authorization code with PKCE; JSON resources for the person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client

from gateway_service.login.base import (
    IdentityAssertion,
    OAuthEndpoints,
    OAuthProvider,
    get_ok,
)


class MykoobProvider(OAuthProvider):
    """Mykoob login: `user`, `user/schools` and `user/personal_code` under its API."""

    name = "mykoob"
    uses_pkce = True

    def __init__(self, endpoints: OAuthEndpoints, api_url: str) -> None:
        super().__init__(endpoints)
        self.api_url = api_url.rstrip("/")

    async def _json(self, client: AsyncOAuth2Client, path: str) -> dict[str, Any]:
        body = (await get_ok(client, f"{self.api_url}/{path}")).json()
        if not isinstance(body, dict):
            raise ValueError(f"Mykoob {path} is not a JSON object")
        return body

    async def identity(self, client: AsyncOAuth2Client, now: dt.datetime) -> IdentityAssertion:
        """Read user info, schools and the personal code."""
        user = await self._json(client, "user")
        schools = (await self._json(client, "user/schools")).get("schools") or []
        code = (await self._json(client, "user/personal_code"))["personal_code"]
        # Mykoob lists the school the person chose to act for first.
        school = schools[0] if schools else {}
        roles = school.get("roles") or []
        return IdentityAssertion(
            personal_code=str(code),
            given_name=user.get("first_name"),
            family_name=user.get("last_name"),
            idp=self.name,
            amr=self.amr,
            auth_time=now,
            school_reg_no=school.get("school_reg_no"),
            person_type=str(roles[0]) if roles else None,
        )
