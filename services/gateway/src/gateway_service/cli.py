"""`gateway-token`: get an access token for a script.

    gateway-token --client-id cl_… --scope "inventory:read"   # secret: GATEWAY_CLIENT_SECRET
    gateway-token --refresh-token "$REFRESH"                   # a person's session, refreshed

Prints the access token on stdout (or the whole token response with --json), so scripts can do
`TOKEN=$(gateway-token …)`. Secrets come from the environment, never from the command line
where other users of the machine could read them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import httpx

TOKEN_PATH = "/oauth/token"


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="gateway-token", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8100"))
    parser.add_argument("--client-id", default=os.environ.get("GATEWAY_CLIENT_ID"))
    parser.add_argument("--scope", help="space-separated scopes, a subset of the client's")
    parser.add_argument("--refresh-token", help="refresh a person's session instead")
    parser.add_argument("--json", action="store_true", help="print the whole token response")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, client: httpx.AsyncClient) -> str:
    """What to print: the access token, or the token response as JSON."""
    body = await request_token(client, token_form(args, dict(os.environ)))
    return json.dumps(body, indent=2) if args.json else str(body["access_token"])


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 with the token printed, 1 when the gateway refused, 2 on other errors."""
    args = parse_args(argv)

    async def go() -> str:
        async with httpx.AsyncClient(base_url=args.url, timeout=15) as client:
            return await run(args, client)

    try:
        print(asyncio.run(go()))
    except TokenError as exc:
        print(f"gateway-token: {exc}", file=sys.stderr)
        return 1
    except (httpx.HTTPError, ValueError) as exc:
        print(f"gateway-token: cannot reach the gateway: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
