"""The command line: `gateway-token` against the running gateway app, `gateway-admin` on its
database, and both by name through `python -m gateway_service.cli`."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import cli
from gateway_service.cli import TokenError, run_token, token_args
from gateway_service.config import GatewaySettings
from gateway_service.repository import GrantRepository
from gateway_service.service.people import resolve_person
from shared_kit.problems import ProblemError
from shared_kit.testing.clock import TestClock

from .conftest import PERSON_CODE, RIGA, Tokens, client_token, make_client, verifier


class TestGatewayToken:
    async def test_client_credentials_token_verifies(
        self, client: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        made = await make_client(client, tokens.platform, scopes=["inventory:read"])
        monkeypatch.setenv("GATEWAY_CLIENT_SECRET", made["client_secret"])
        args = token_args(["--client-id", made["client_id"], "--scope", "inventory:read"])
        token = await run_token(args, client)
        principal = await verifier(client, "inventory").verify(token)
        assert principal.client_id == made["client_id"]

    async def test_wrong_secret_is_the_gateways_error(
        self, client: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        made = await make_client(client, tokens.platform, scopes=["inventory:read"])
        monkeypatch.setenv("GATEWAY_CLIENT_SECRET", "not-the-secret")
        with pytest.raises(TokenError, match="invalid_client"):
            await run_token(token_args(["--client-id", made["client_id"]]), client)

    async def test_secret_must_come_from_the_environment(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("GATEWAY_CLIENT_SECRET", raising=False)
        with pytest.raises(TokenError, match="GATEWAY_CLIENT_SECRET"):
            await run_token(token_args(["--client-id", "cl_x"]), client)


class TestGatewayAdmin:
    """`gateway-admin` on the test database: provisioning before anyone can log in."""

    async def test_grant_by_personal_code_reaches_the_first_login(
        self,
        db: AsyncSession,
        settings: GatewaySettings,
        clock: TestClock,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("GATEWAY_ADMIN_PERSONAL_CODE", PERSON_CODE)
        args = cli.admin_args(["grant", "--role", "technician", "--municipality", RIGA])
        first = json.loads(await cli.execute(settings, args.run, args))
        again = json.loads(await cli.execute(settings, args.run, args))
        assert first["created"] and not again["created"]
        assert again["person_id"] == first["person_id"]
        assert PERSON_CODE not in json.dumps(first) + capsys.readouterr().out
        person = await resolve_person(
            session=db, settings=settings, personal_code=PERSON_CODE, now=clock()
        )
        grants = await GrantRepository(db).live_for(person.id)
        assert str(person.id) == first["person_id"]
        assert [(g.role.value, g.municipality_code) for g in grants] == [("technician", RIGA)]

    async def test_grant_needs_the_right_target(
        self, settings: GatewaySettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("GATEWAY_ADMIN_PERSONAL_CODE", PERSON_CODE)
        args = cli.admin_args(["grant", "--role", "technician"])
        with pytest.raises(ProblemError, match="needs municipality_code"):
            await cli.execute(settings, args.run, args)

    async def test_client_create_gives_working_credentials(
        self, client: httpx.AsyncClient, settings: GatewaySettings
    ) -> None:
        args = cli.admin_args(
            ["client", "create", "--name", "Rīgas platforma", "--scope", "inventory:read",
             "--municipality", RIGA]
        )  # fmt: skip
        made = json.loads(await cli.execute(settings, args.run, args))
        r = await client_token(client, made["client_id"], made["client_secret"])
        assert r.status_code == 200, r.text
        principal = await verifier(client, "inventory").verify(r.json()["access_token"])
        assert principal.municipalities == frozenset({RIGA})

    def test_personal_code_is_read_from_stdin(self) -> None:
        assert cli.personal_code({}, io.StringIO(f"{PERSON_CODE}\n")) == PERSON_CODE
        with pytest.raises(ValueError, match="stdin"):
            cli.personal_code({}, io.StringIO(""))


class TestByName:
    def test_each_command_runs_by_its_short_name(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("GATEWAY_CLIENT_SECRET", raising=False)
        assert cli.main(["token", "--client-id", "cl_x"]) == 1
        assert "gateway-token: give --client-id" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            cli.main(["admin", "--help"])
        assert "gateway-admin" in capsys.readouterr().out

    def test_an_unknown_command_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main([]) == 2 and cli.main(["tokens"]) == 2
        assert "{token,admin}" in capsys.readouterr().err
