"""Who a platform person is: names and personal code, from the gateway's internal endpoint.

`PeopleDirectory` is the interface; `GatewayPeopleDirectory` gets a client-credentials token
from the gateway (`POST /oauth/token`, scope `people:personal-code`), caches it until shortly
before it expires, and calls `GET /api/v1/gateway/internal/people/{id}`. A refused token (401)
is fetched again once. Errors split in two: the gateway being unreachable or failing
(`GatewayUnavailable`, an OSError, so the kit's consumer keeps retrying while it is away) and
the gateway answering that there is no such person (`PersonNotFound`, a business error,
dead-lettered). The personal code travels as a `SecretStr` and is never logged; the gateway
hands it out as 11 digits (the PDF prints it as DDMMYY-NNNNN).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Protocol

import httpx
from pydantic import BaseModel, SecretStr

from contracts_service.config import ContractsSettings
from contracts_service.exceptions import GatewayUnavailable, PersonNotFound

logger = logging.getLogger(__name__)

SCOPE = "people:personal-code"
TOKEN_PATH = "/oauth/token"
PERSON_PATH = "/api/v1/gateway/internal/people/{person_id}"
REFRESH_MARGIN_S = 30.0


class PersonIdentity(BaseModel):
    """A person's names and personal code."""

    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    personal_code: SecretStr

    @property
    def full_name(self) -> str | None:
        """Given and family name, when known."""
        return " ".join(p for p in (self.given_name, self.family_name) if p) or None


class PeopleDirectory(Protocol):
    """Looks people up by their platform id."""

    async def person(self, person_id: uuid.UUID) -> PersonIdentity:
        """The person, or PersonNotFound; GatewayUnavailable when the directory is away."""
        ...


class GatewayPeopleDirectory:
    """The gateway's internal person endpoint, with a cached service token."""

    def __init__(
        self,
        base_url: str,
        client_id: str | None,
        client_secret: SecretStr | None,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._secret = client_secret
        self._timeout = timeout_s
        self._transport = transport
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()
        self._shared: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None

    @classmethod
    def from_settings(cls, settings: ContractsSettings) -> GatewayPeopleDirectory:
        """The directory the settings describe."""
        return cls(
            settings.gateway_url,
            settings.gateway_client_id,
            settings.gateway_client_secret,
            timeout_s=settings.gateway_timeout_s,
        )

    def _client(self) -> httpx.AsyncClient:
        # One client (and its kept-alive connections) per event loop: a client per lookup paid
        # for a new TLS context and a new connection every time.
        loop = asyncio.get_running_loop()
        if self._shared is None or self._shared[0] is not loop or self._shared[1].is_closed:
            client = httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            )
            self._shared = (loop, client)
        return self._shared[1]

    async def person(self, person_id: uuid.UUID) -> PersonIdentity:
        """Names and personal code of the person."""
        client = self._client()
        response = await self._get_person(client, person_id, fresh_token=False)
        if response.status_code == 401:  # revoked or rotated: one retry with a new token
            response = await self._get_person(client, person_id, fresh_token=True)
        if response.status_code == 404:
            raise PersonNotFound(f"The gateway knows no person {person_id} with a personal code")
        if response.status_code >= 500:
            raise GatewayUnavailable(f"the gateway answered {response.status_code}")
        if response.status_code != 200:
            raise RuntimeError(f"the gateway refused the person lookup: {response.status_code}")
        return PersonIdentity.model_validate(response.json())

    async def _get_person(
        self, client: httpx.AsyncClient, person_id: uuid.UUID, *, fresh_token: bool
    ) -> httpx.Response:
        token = await self._access_token(client, fresh=fresh_token)
        try:
            return await client.get(
                PERSON_PATH.format(person_id=person_id),
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TransportError as exc:
            raise GatewayUnavailable(f"the gateway is unreachable: {type(exc).__name__}") from exc

    async def _access_token(self, client: httpx.AsyncClient, *, fresh: bool) -> str:
        async with self._lock:
            if fresh or self._token is None or time.monotonic() >= self._token_expires:
                self._token, lifetime = await self._request_token(client)
                self._token_expires = time.monotonic() + max(lifetime - REFRESH_MARGIN_S, 0)
            return self._token

    async def _request_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        if not self._client_id or self._secret is None:
            raise RuntimeError("CONTRACTS_GATEWAY_CLIENT_ID and _CLIENT_SECRET are not set")
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
            "scope": SCOPE,
        }
        try:
            response = await client.post(TOKEN_PATH, data=form)
        except httpx.TransportError as exc:
            raise GatewayUnavailable(f"the gateway is unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayUnavailable(
                f"the gateway's token endpoint answered {response.status_code}"
            )
        body = response.json() if response.content else {}
        if response.status_code != 200:
            raise RuntimeError(f"the gateway refused our client credentials: {body.get('error')}")
        return str(body["access_token"]), float(body.get("expires_in", 300))
