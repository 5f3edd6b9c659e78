"""What identity provider adapters give the login flow, and their shared OAuth 2.0 client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import OAuthError as ProviderError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from gateway_service.exceptions import (
    IdentityProviderFailed,
    InvalidLoginResponse,
    InvalidLoginState,
    LoginCancelled,
    LoginRefused,
)

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class IdentityAssertion:
    """Who the provider says logged in; the personal code never shows in a repr."""

    personal_code: str = field(repr=False)
    given_name: str | None
    family_name: str | None
    idp: str
    amr: tuple[str, ...]
    auth_time: dt.datetime
    # The provider's school key (VIIS registration number) and its word for the person's role.
    school_reg_no: str | None = None
    person_type: str | None = None


class IdentityProvider(Protocol):
    """An identity provider adapter: where to send the person, and what came back."""

    name: str
    uses_pkce: bool

    def authorization_url(self, state: str, nonce: str, code_verifier: str | None) -> str:
        """The provider's URL that starts this login."""
        ...

    async def complete(
        self,
        params: Mapping[str, str],
        *,
        state: str,
        code_verifier: str | None,
        now: dt.datetime,
    ) -> IdentityAssertion:
        """Check the callback and fetch the person's identity (raises problem errors)."""
        ...


@dataclass(frozen=True)
class OAuthEndpoints:
    """An OAuth 2.0 provider's endpoints and our registration with it."""

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str
    redirect_uri: str


def check_callback(params: Mapping[str, str], state: str) -> str:
    """The authorization code of an RFC 6749 §4.1.2 callback; its errors as 400 problems.

    The callback is what a browser brings, so an `error` in it is not the gateway failing.
    """
    if params.get("state") != state:
        raise InvalidLoginState("The callback's state does not match this login")
    error = params.get("error")
    if error == "access_denied":
        raise LoginCancelled("You cancelled the login at the identity provider (access_denied)")
    if error:
        raise LoginRefused(f"The identity provider refused the login ({error[:60]})")
    code = params.get("code")
    if not code:
        raise InvalidLoginState("The callback carries neither a code nor an error")
    return code


class OAuthProvider:
    """Authorization-code login through Authlib's httpx client; subclasses read the profile."""

    name = "oauth"
    uses_pkce = False
    amr: tuple[str, ...] = ("pwd",)

    def __init__(self, endpoints: OAuthEndpoints) -> None:
        self.endpoints = endpoints

    def _client(self) -> AsyncOAuth2Client:
        e = self.endpoints
        return AsyncOAuth2Client(
            client_id=e.client_id,
            client_secret=e.client_secret,
            redirect_uri=e.redirect_uri,
            code_challenge_method="S256" if self.uses_pkce else None,
            timeout=TIMEOUT_S,
        )

    def authorization_url(self, state: str, nonce: str, code_verifier: str | None) -> str:
        """The provider's authorize URL with our client, state and (when used) PKCE challenge."""
        verifier = code_verifier if self.uses_pkce else None
        url, _ = self._client().create_authorization_url(
            self.endpoints.authorize_url, state=state, code_verifier=verifier
        )
        return str(url)

    async def complete(
        self,
        params: Mapping[str, str],
        *,
        state: str,
        code_verifier: str | None,
        now: dt.datetime,
    ) -> IdentityAssertion:
        """Redeem the code and read the profile; provider failures become a 502 problem."""
        code = check_callback(params, state)
        try:
            async with self._client() as client:
                self.prepare(client)
                await self._redeem(client, code, code_verifier)
                return await self.identity(client, now)
        except (AuthlibBaseError, httpx.HTTPError, KeyError, ValueError) as exc:
            # The message names only the kind of failure: provider bodies may hold personal data.
            raise IdentityProviderFailed(
                f"{self.name} failed during the login ({type(exc).__name__})"
            ) from None

    async def _redeem(
        self, client: AsyncOAuth2Client, code: str, code_verifier: str | None
    ) -> None:
        """Exchange the code; the provider refusing it (invalid_grant) means a bad code: 400."""
        extra = {"code_verifier": code_verifier} if self.uses_pkce and code_verifier else {}
        try:
            await client.fetch_token(self.endpoints.token_url, code=code, **extra)
        except ProviderError as exc:
            if exc.error != "invalid_grant":
                raise
            raise InvalidLoginResponse(
                f"{self.name} does not know the code of this callback (invalid_grant)"
            ) from None

    def prepare(self, client: AsyncOAuth2Client) -> None:
        """Register compliance hooks for a provider's deviations (none by default)."""

    async def identity(self, client: AsyncOAuth2Client, now: dt.datetime) -> IdentityAssertion:
        """Read the person's identity with the access token (they authenticated `now`)."""
        raise NotImplementedError


async def get_ok(client: AsyncOAuth2Client, url: str) -> httpx.Response:
    """GET a protected resource; non-2xx raises httpx.HTTPStatusError."""
    response: httpx.Response = await client.get(url, headers={"Accept": "*/*"})
    response.raise_for_status()
    return response
