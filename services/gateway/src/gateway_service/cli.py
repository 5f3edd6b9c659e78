"""The gateway's command line: `gateway-token` for scripts, `gateway-admin` for operators.

`gateway-token` gets an access token from a running gateway:

    gateway-token --client-id cl_… --scope "inventory:read"   # secret: GATEWAY_CLIENT_SECRET
    gateway-token --refresh-token "$REFRESH"                   # a person's session, refreshed

It prints the access token on stdout (or the whole token response with --json), so scripts can
do `TOKEN=$(gateway-token …)`.

`gateway-admin` works on the gateway's database directly, for the first steps of a new
installation, before anyone can log in to use the admin API:

    echo "$CODE" | gateway-admin grant --role municipality_admin --municipality 0010000
    gateway-admin client create --name "Rīgas platforma" --scope inventory:read \\
        --municipality 0010000

Its settings come from the gateway's environment (`GATEWAY_DATABASE_URL`, the key-encryption
key, the pepper…). Each command prints one JSON object; every action is in the audit log with
the actor `ops-cli`.

Secrets and personal codes come from the environment or standard input, never from the command
line where other users of the machine could read them. Both commands also run as
`python -m gateway_service.cli token|admin …`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.config import GatewaySettings
from gateway_service.schemas import ClientCreate, GrantTarget
from gateway_service.service import clients, people
from shared_kit.clock import system_clock
from shared_kit.db import create_engine, create_session_factory, session_scope
from shared_kit.problems import ProblemError

TOKEN_PATH = "/oauth/token"
ACTOR = "ops-cli"

Command = Callable[[AsyncSession, GatewaySettings, argparse.Namespace], Awaitable[dict[str, Any]]]


# gateway-token ------------------------------------------------------------------------------


class TokenError(Exception):
    """The gateway refused; the message is its RFC 6749 error."""


async def request_token(client: httpx.AsyncClient, form: dict[str, str]) -> dict[str, Any]:
    """POST a token request; the token response, or TokenError with the gateway's reason."""
    response = await client.post(TOKEN_PATH, data=form)
    body = response.json() if response.content else {}
    if response.status_code != 200:
        reason = body.get("error_description") or body.get("error") or response.status_code
        raise TokenError(f"{body.get('error', 'error')}: {reason}")
    return dict(body)


def token_form(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The form of a client-credentials or refresh-token request."""
    if args.refresh_token:
        return {"grant_type": "refresh_token", "refresh_token": args.refresh_token}
    secret = environ.get("GATEWAY_CLIENT_SECRET")
    if not args.client_id or not secret:
        raise TokenError("give --client-id and set GATEWAY_CLIENT_SECRET (or --refresh-token)")
    form = {
        "grant_type": "client_credentials",
        "client_id": args.client_id,
        "client_secret": secret,
    }
    if args.scope:
        form["scope"] = args.scope
    return form


def token_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options of `gateway-token`."""
    parser = argparse.ArgumentParser(
        prog="gateway-token", description="Get an access token for a script."
    )
    parser.add_argument("--url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8100"))
    parser.add_argument("--client-id", default=os.environ.get("GATEWAY_CLIENT_ID"))
    parser.add_argument("--scope", help="space-separated scopes, a subset of the client's")
    parser.add_argument("--refresh-token", help="refresh a person's session instead")
    parser.add_argument("--json", action="store_true", help="print the whole token response")
    return parser.parse_args(argv)


async def run_token(args: argparse.Namespace, client: httpx.AsyncClient) -> str:
    """What to print: the access token, or the token response as JSON."""
    body = await request_token(client, token_form(args, dict(os.environ)))
    return json.dumps(body, indent=2) if args.json else str(body["access_token"])


def token_main(argv: list[str] | None = None) -> int:
    """`gateway-token`: 0 with the token printed, 1 when the gateway refused, 2 on other errors."""
    args = token_args(argv)

    async def go() -> str:
        async with httpx.AsyncClient(base_url=args.url, timeout=15) as client:
            return await run_token(args, client)

    try:
        print(asyncio.run(go()))
    except TokenError as exc:
        print(f"gateway-token: {exc}", file=sys.stderr)
        return 1
    except (httpx.HTTPError, ValueError) as exc:
        print(f"gateway-token: cannot reach the gateway: {exc}", file=sys.stderr)
        return 2
    return 0


# gateway-admin ------------------------------------------------------------------------------


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


def admin_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options of `gateway-admin`; `run` is the chosen command."""
    parser = argparse.ArgumentParser(
        prog="gateway-admin",
        description="Operator commands that work on the gateway's database directly.",
    )
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
        # Grants announce role changes through the outbox, which the running gateway relays.
        sessions = create_session_factory(engine, outbox_topic=settings.events_topic)
        async for session in session_scope(sessions):
            result = await command(session, settings, args)
    finally:
        await engine.dispose()
    return json.dumps(result, ensure_ascii=False)


def admin_main(argv: list[str] | None = None) -> int:
    """`gateway-admin`: 0 and JSON on stdout, 1 when refused (the reason on stderr)."""
    args = admin_args(argv)
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


# python -m gateway_service.cli ---------------------------------------------------------------

COMMANDS: dict[str, Callable[[list[str]], int]] = {"token": token_main, "admin": admin_main}


def main(argv: list[str] | None = None) -> int:
    """`python -m gateway_service.cli token|admin …`: either command by its short name."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m gateway_service.cli {token,admin} …", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
