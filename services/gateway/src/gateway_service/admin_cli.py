"""`gateway-admin`: operator commands that work on the gateway's database directly.

For the first steps of a new installation, before anyone can log in to use the admin API:

    echo "$CODE" | gateway-admin grant --role municipality_admin --municipality 0010000
    gateway-admin client create --name "Rīgas platforma" --scope inventory:read \
        --municipality 0010000

Settings come from the gateway's environment (`GATEWAY_DATABASE_URL`, the key-encryption key,
the pepper…). A personal code is read from standard input (or `GATEWAY_ADMIN_PERSONAL_CODE`),
never from the command line where other users of the machine could see it. Each command prints
one JSON object; every action is in the audit log with the actor `ops-cli`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.config import GatewaySettings
from gateway_service.schemas import ClientCreate, GrantTarget
from gateway_service.service import clients, people
from shared_kit.clock import system_clock
from shared_kit.db import create_engine, create_session_factory, session_scope
from shared_kit.problems import ProblemError

ACTOR = "ops-cli"

Command = Callable[[AsyncSession, GatewaySettings, argparse.Namespace], Awaitable[dict[str, Any]]]


def personal_code(environ: dict[str, str], stdin: Any) -> str:
    """The personal code from `GATEWAY_ADMIN_PERSONAL_CODE` or the first line of stdin."""
    code = environ.get("GATEWAY_ADMIN_PERSONAL_CODE") or stdin.readline()
    if not code.strip():
        raise ValueError("give the personal code on stdin or in GATEWAY_ADMIN_PERSONAL_CODE")
    return code.strip()


async def grant(
    session: AsyncSession, settings: GatewaySettings, args: argparse.Namespace
) -> dict[str, Any]:
    """Grant a role to a person by personal code (created if they never logged in)."""
    target = GrantTarget(
        role=args.role,
        municipality_code=args.municipality,
        institution_number=args.institution,
    )
    created, person = await people.provision_grant(
        session=session,
        settings=settings,
        personal_code=personal_code(dict(os.environ), sys.stdin),
        data=target,
        granted_by=ACTOR,
        now=system_clock(),
    )
    return {
        "person_id": str(person.id),
        "grant_id": str(created.id) if created else None,
        "created": created is not None,
        **target.model_dump(mode="json"),
    }


async def create_client(
    session: AsyncSession, settings: GatewaySettings, args: argparse.Namespace
) -> dict[str, Any]:
    """Register a machine client; prints its secret (shown only this once)."""
    data = ClientCreate(name=args.name, municipality_code=args.municipality, scopes=args.scope)
    client, secret = await clients.provision_client(
        session=session, data=data, registered_by=ACTOR, now=system_clock()
    )
    return {
        "client_id": client.client_id,
        "client_secret": secret,
        "municipality_code": client.municipality_code,
        "scopes": client.scopes,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="gateway-admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    grant_cmd = commands.add_parser("grant", help="grant a role to a person by personal code")
    grant_cmd.add_argument("--role", required=True)
    grant_cmd.add_argument("--municipality", help="ATVK code (municipality_admin, technician)")
    grant_cmd.add_argument("--institution", help="registration number (institution_admin)")
    grant_cmd.set_defaults(run=grant)
    client_cmd = commands.add_parser("client", help="machine clients")
    client_sub = client_cmd.add_subparsers(dest="action", required=True)
    create_cmd = client_sub.add_parser("create", help="register a client-credentials client")
    create_cmd.add_argument("--name", required=True)
    create_cmd.add_argument("--scope", action="append", required=True, help="repeat per scope")
    create_cmd.add_argument("--municipality", help="ATVK code the client is bound to")
    create_cmd.set_defaults(run=create_client)
    return parser.parse_args(argv)


async def execute(settings: GatewaySettings, command: Command, args: argparse.Namespace) -> str:
    """Run one command in one transaction; its JSON output."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async for session in session_scope(create_session_factory(engine)):
            result = await command(session, settings, args)
    finally:
        await engine.dispose()
    return json.dumps(result, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 and JSON on stdout, 1 when refused (the reason on stderr)."""
    args = parse_args(argv)
    try:
        settings = GatewaySettings()
        print(asyncio.run(execute(settings, args.run, args)))
    except ProblemError as exc:
        print(f"gateway-admin: {exc.detail}", file=sys.stderr)
        return 1
    except (ValueError, ValidationError) as exc:  # pydantic's messages never echo secrets here
        print(f"gateway-admin: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
