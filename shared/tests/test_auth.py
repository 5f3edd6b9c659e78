"""Token verification against a JWKS served over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from shared_kit.auth import JWKSVerifier, Principal
from shared_kit.problems import ServiceUnavailable, Unauthorized
from shared_kit.testing.clock import TestClock
from shared_kit.testing.infra import free_port
from shared_kit.testing.tokens import JWKSServer, TokenIssuer


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture
def server(issuer: TokenIssuer) -> Iterator[JWKSServer]:
    jwks = JWKSServer(issuer).start()
    yield jwks
    jwks.stop()


def verifier(server: JWKSServer, **kwargs: float) -> JWKSVerifier:
    return JWKSVerifier(server.jwks_url, audience="datori", issuer=server.issuer.issuer, **kwargs)


class TestVerifier:
    async def test_valid_token_gives_principal(
        self, server: JWKSServer, issuer: TokenIssuer
    ) -> None:
        token = issuer.mint(
            "p-1",
            roles=["municipality_admin"],
            municipalities=["0010000"],
            scope="inventory:read",
            client_id="c",
        )
        principal = await verifier(server).verify(token)
        assert principal.subject == "p-1"
        assert principal.municipalities == {"0010000"}
        assert principal.has_scope("inventory:read") and not principal.has_scope("x")

    async def test_wrong_issuer_is_refused(self, server: JWKSServer) -> None:
        other = TokenIssuer(issuer="https://evil.example")
        with pytest.raises(Unauthorized):
            await verifier(server).verify(other.mint(roles=["platform_admin"]))

    async def test_token_signed_by_unknown_key_is_refused(self, server: JWKSServer) -> None:
        stranger = TokenIssuer()  # same issuer name, key not in the JWKS
        with pytest.raises(Unauthorized):
            await verifier(server).verify(stranger.mint())

    async def test_unknown_kid_refetch_is_rate_limited(
        self, server: JWKSServer, issuer: TokenIssuer
    ) -> None:
        slow = verifier(server, min_refresh_interval_s=3600)
        await slow.verify(issuer.mint())
        issuer.rotate()
        with pytest.raises(Unauthorized):
            await slow.verify(issuer.mint())  # no refetch yet: keys fetched a moment ago
        eager = verifier(server, min_refresh_interval_s=0)
        await eager.verify(issuer.mint())

    async def test_old_key_still_verifies_after_rotation(
        self, server: JWKSServer, issuer: TokenIssuer
    ) -> None:
        old_token = issuer.mint()
        issuer.rotate()
        await verifier(server).verify(old_token)

    async def test_unreachable_jwks_is_503(self) -> None:
        dead = JWKSVerifier(f"http://127.0.0.1:{free_port()}/jwks", audience="datori")
        with pytest.raises(ServiceUnavailable):
            await dead.verify(TokenIssuer().mint())


class TestPrincipal:
    def test_machine_client_scopes_are_space_separated(self) -> None:
        machine = Principal.from_claims(
            {"sub": "c", "client_id": "c", "scope": "a b", "roles": ["service"]}
        )
        assert machine.scopes == {"a", "b"} and machine.has("service")
        assert machine.has_scope("a") and not machine.has_scope("c")

    def test_people_are_not_limited_by_scopes(self) -> None:
        person = Principal.from_claims({"sub": "p", "roles": ["guardian"]})
        assert person.has_scope("anything") and not person.has("platform_admin")


async def test_cached_token_is_refused_once_expired(
    server: JWKSServer, issuer: TokenIssuer
) -> None:
    clock = TestClock(dt.datetime.now(dt.UTC))
    strict = JWKSVerifier(server.jwks_url, audience="datori", leeway_s=0, clock=clock)
    token = issuer.mint(ttl_s=60)
    await strict.verify(token)
    await strict.verify(token)  # served from the cache
    clock.advance(seconds=61)
    with pytest.raises(Unauthorized):
        await strict.verify(token)


async def test_unknown_kid_refetches_once_the_interval_has_passed(
    server: JWKSServer, issuer: TokenIssuer
) -> None:
    seconds = [1000.0]
    slow = JWKSVerifier(
        server.jwks_url, audience="datori", min_refresh_interval_s=60, monotonic=lambda: seconds[0]
    )
    await slow.verify(issuer.mint())
    issuer.rotate()
    with pytest.raises(Unauthorized):
        await slow.verify(issuer.mint())
    seconds[0] += 61
    await slow.verify(issuer.mint())
