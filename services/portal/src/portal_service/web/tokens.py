"""What the person's own access token says about them (for choosing what to show, never to
decide: the services check the token themselves on every call)."""

from __future__ import annotations

import base64
import json
from typing import Any


def token_claims(access_token: str) -> dict[str, Any]:
    """The claims of a JWT the gateway gave us directly (not verified here: the services do)."""
    try:
        payload = access_token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def claim_list(access_token: str, name: str) -> list[str]:
    """A list claim (`institutions`, `municipalities`, `learners`), as a sorted list of strings."""
    value = token_claims(access_token).get(name) or []
    items = value.split() if isinstance(value, str) else value
    return sorted({str(item) for item in items})
