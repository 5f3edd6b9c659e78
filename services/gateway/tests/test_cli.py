"""`gateway-token` against the running gateway app."""

from __future__ import annotations

import httpx
import pytest

from gateway_service.cli import TokenError, parse_args, run

from .conftest import Tokens, make_client, verifier


class TestGatewayToken:
    async def test_client_credentials_token_verifies(
        self, client: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        made = await make_client(client, tokens.platform, scopes=["inventory:read"])
        monkeypatch.setenv("GATEWAY_CLIENT_SECRET", made["client_secret"])
        args = parse_args(["--client-id", made["client_id"], "--scope", "inventory:read"])
        token = await run(args, client)
        principal = await verifier(client, "inventory").verify(token)
        assert principal.client_id == made["client_id"]

    async def test_wrong_secret_is_the_gateways_error(
        self, client: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        made = await make_client(client, tokens.platform, scopes=["inventory:read"])
        monkeypatch.setenv("GATEWAY_CLIENT_SECRET", "not-the-secret")
        with pytest.raises(TokenError, match="invalid_client"):
            await run(parse_args(["--client-id", made["client_id"]]), client)

    async def test_secret_must_come_from_the_environment(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("GATEWAY_CLIENT_SECRET", raising=False)
        with pytest.raises(TokenError, match="GATEWAY_CLIENT_SECRET"):
            await run(parse_args(["--client-id", "cl_x"]), client)
